//! `producer-at-close`: registers a producer and calls `lose_connection` in `connection_made`,
//! then unregisters it later, or never (Twisted's `test_disconnectWhileProducing` and
//! `test_unregisterProducerAfterDisconnect`); optionally registers a second producer first
//! (an error in Twisted, and here).
//!
//! Its producer writes nothing (Twisted's `Producer.resumeProducing` only logs), so what the
//! case shows is what the transport does with a close under a registered producer: the
//! contract closes without waiting for the producer, which is told `stop_producing` before
//! `connection_lost` if it is still registered then.

use connectable::{CallbackResult, DisconnectReason, ProducerKind, Protocol, TimerId, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "producer-at-close",
    about: "registers a producer and closes when connected; unregisters it on the next turn, in connection_lost, or never",
    arguments: &[
        Argument {
            name: "kind",
            kind: ArgKind::OneOf(&["streaming", "pull"]),
            about: "the producer's kind (default pull, as Twisted's test)",
        },
        Argument {
            name: "unregister",
            kind: ArgKind::OneOf(&["next-turn", "in-lost", "never"]),
            about: "when to unregister it: on a zero-delay timer, from connection_lost, or never (default never)",
        },
        Argument {
            name: "register_twice",
            kind: ArgKind::Boolean,
            about: "register a second producer right after the first, which fails the callback (default false)",
        },
    ],
    build: |arguments| build(arguments, ProducerAtClose::new),
};

/// The producer's kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A streaming producer.
    Streaming,
    /// A pull producer.
    #[default]
    Pull,
}

/// When to unregister.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Unregister {
    /// On a zero-delay timer.
    NextTurn,
    /// From `connection_lost`.
    InLost,
    /// Never.
    #[default]
    Never,
}

/// The arguments of `producer-at-close`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// The producer's kind.
    #[serde(default)]
    pub(crate) kind: Kind,
    /// When to unregister it.
    #[serde(default)]
    pub(crate) unregister: Unregister,
    /// Register a second producer.
    #[serde(default)]
    pub(crate) register_twice: bool,
}

impl crate::ProbeArguments for Arguments {}

/// The `producer-at-close` probe.
#[derive(Debug)]
pub(crate) struct ProducerAtClose {
    arguments: Arguments,
    unregister: Option<TimerId>,
}

impl ProducerAtClose {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            unregister: None,
        }
    }
}

impl Protocol for ProducerAtClose {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        let kind = match self.arguments.kind {
            Kind::Streaming => ProducerKind::Streaming,
            Kind::Pull => ProducerKind::Pull,
        };
        transport.register_producer(kind);
        if self.arguments.register_twice {
            transport.register_producer(kind);
        }
        transport.lose_connection();
        if self.arguments.unregister == Unregister::NextTurn {
            self.unregister = Some(transport.call_later(std::time::Duration::ZERO));
        }
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        if self.unregister == Some(timer) {
            transport.unregister_producer();
        }
        Ok(())
    }

    fn connection_lost(
        &mut self,
        transport: &mut Transport,
        _: &DisconnectReason,
    ) -> CallbackResult {
        if self.arguments.unregister == Unregister::InLost {
            transport.unregister_producer();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{Delivery, DisconnectReason};

    use crate::testing::{LOSE, parse_toml};

    /// Rows: arguments, then the close asked for (a failed callback aborts instead), the
    /// words of the trace once the connection ends (`done`), and the reason recorded.
    #[test]
    #[rustfmt::skip]
    fn closes_under_a_producer_and_a_second_one_fails() {
        let rows: [(&str, bool, &[&str], &str); 4] = [
            ("",                         true,  &["made", "resume-producing", "stop-producing", "lost"], "done"),
            (r#"unregister = "in-lost""#, true,  &["made", "resume-producing", "stop-producing", "lost"], "done"),
            (r#"kind = "streaming""#,     true,  &["made", "stop-producing", "lost"], "done"),
            ("register_twice = true",    false, &["made", "resume-producing", "stop-producing", "lost"], "error"),
        ];
        for (arguments, closes, words, reason) in rows {
            let spec = parse_toml("producer-at-close", arguments).unwrap();
            let mut harness = Harness::new(spec.instantiate(), Delivery::Whole);
            assert_eq!(harness.close_requested() == LOSE, closes, "{arguments}");
            harness.end(DisconnectReason::Done);
            assert_eq!(harness.trace().words(), words, "{arguments}");
            let got = harness.reason().expect("ended");
            assert_eq!(got.kind().word(), reason, "{arguments}: {got}");
            if reason == "error" {
                assert!(got.detail().contains("a producer is already registered"), "{got}");
            }
        }
    }
}
