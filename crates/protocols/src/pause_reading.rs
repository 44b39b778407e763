//! `pause-reading`: stops reading, then resumes after a delay (Twisted's `test_stopStartReading`
//! and the `pauseProducing` / `resumeProducing` of a transport).
//!
//! It pauses when the connection is made (`on = "made"`) or when the first data arrives
//! (`on = "data"`, the default), and resumes `resume_after_ms` milliseconds later (never, if
//! not given): bytes that arrive meanwhile must wait, none may be lost, and an EOF must not be
//! seen before reading resumes. With `close_after`, it closes once that many bytes arrived.

use std::time::Duration;

use connectable::{CallbackResult, Protocol, TimerId, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "pause-reading",
    about: "pauses reading when connected or on the first data, resumes after a delay",
    arguments: &[
        Argument {
            name: "on",
            kind: ArgKind::OneOf(&["made", "data"]),
            about: "when to pause: when the connection is made, or when the first data arrives (default)",
        },
        Argument {
            name: "resume_after_ms",
            kind: ArgKind::MILLISECONDS,
            about: "resume reading this many milliseconds after pausing (default: never); at most an hour",
        },
        Argument {
            name: "close_after",
            kind: ArgKind::BYTES,
            about: "close (lose_connection) once this many bytes arrived in all (default: never); at most 1 GiB",
        },
    ],
    build: |arguments| build(arguments, PauseReading::new),
};

/// When `pause-reading` pauses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum On {
    /// In `connection_made`.
    Made,
    /// On the first data.
    #[default]
    Data,
}

/// The arguments of `pause-reading`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// When to pause.
    #[serde(default)]
    pub(crate) on: On,
    /// How long to stay paused.
    pub(crate) resume_after_ms: Option<u64>,
    /// Close after this many bytes.
    pub(crate) close_after: Option<u64>,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        let mut found: Vec<(&'static str, u64)> = Vec::new();
        found.extend(self.resume_after_ms.map(|n| ("resume_after_ms", n)));
        found.extend(self.close_after.map(|n| ("close_after", n)));
        found
    }
}

/// The `pause-reading` probe.
#[derive(Debug)]
pub(crate) struct PauseReading {
    arguments: Arguments,
    paused_once: bool,
    received: u64,
    resume: Option<TimerId>,
}

impl PauseReading {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            paused_once: false,
            received: 0,
            resume: None,
        }
    }

    fn pause(&mut self, transport: &mut Transport) {
        if self.paused_once {
            return;
        }
        self.paused_once = true;
        transport.pause_reading();
        if let Some(ms) = self.arguments.resume_after_ms {
            self.resume = Some(transport.call_later(Duration::from_millis(ms)));
        }
    }
}

impl Protocol for PauseReading {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if self.arguments.on == On::Made {
            self.pause(transport);
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult {
        self.received += data.len() as u64;
        if self
            .arguments
            .close_after
            .is_some_and(|n| self.received >= n)
        {
            transport.lose_connection();
            return Ok(());
        }
        self.pause(transport);
        Ok(())
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        if self.resume == Some(timer) {
            transport.resume_reading();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{Delivery, DisconnectReason};

    use crate::testing::{LOSE, parse_toml};

    /// Rows: arguments, input chunks, then per delivery mode (whole, bytewise) what was
    /// handed over, and whether it asked to close.
    #[test]
    #[rustfmt::skip]
    fn pauses_and_holds_data_until_resumed() {
        let rows: [(&str, &[&str], [&str; 2], bool); 3] = [
            // Paused after the first chunk (whole) or byte (bytewise): the rest is held.
            ("",                &["abc", "d"], ["abc", "a"], false),
            (r#"on = "made""#,  &["abc"],      ["", ""],     false),
            ("close_after = 1", &["ab", "c"],  ["ab", "a"],  true),
        ];
        for (arguments, input, seen, closes) in rows {
            for (delivery, seen) in Delivery::ALL.into_iter().zip(seen) {
                let spec = parse_toml("pause-reading", arguments).unwrap();
                let mut harness = Harness::new(spec.instantiate(), delivery);
                for chunk in input {
                    harness.feed(chunk.as_bytes());
                }
                let context = format!("{arguments} {delivery:?}");
                assert_eq!(harness.trace().received(), seen.as_bytes(), "{context}");
                assert_eq!(harness.close_requested() == LOSE, closes, "{context}");
                assert!(!harness.wants_read(), "{context}: paused or closing");
                assert_eq!(harness.written(), b"", "{context}");
            }
        }
    }

    #[test]
    fn resumes_after_the_timer_and_delivers_everything_in_order() {
        for delivery in Delivery::ALL {
            let spec = parse_toml("pause-reading", "resume_after_ms = 5, close_after = 6").unwrap();
            let mut harness = Harness::new(spec.instantiate(), delivery);
            harness.feed(b"abc").feed(b"def");
            assert!(!harness.wants_read(), "{delivery:?}: paused");
            assert_eq!(harness.timers().len(), 1);
            harness.fire_timers(1);
            assert_eq!(harness.trace().received(), b"abcdef", "{delivery:?}");
            assert_eq!(harness.close_requested(), LOSE, "{delivery:?}");
            harness.end(DisconnectReason::Done);
            let words = harness.trace().words();
            assert_eq!(
                words,
                ["made", "data", "paused", "resumed", "data", "lost"],
                "{delivery:?}"
            );
        }
    }
}
