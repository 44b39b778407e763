//! `calls-in-lost`: uses every transport command from inside `connection_lost`.
//!
//! It ports Twisted's `test_writeAfterDisconnect` (`twisted/internet/test/connectionmixins.py`,
//! `ConnectionTestsMixin`), where both sides are `ClosingLaterProtocol`s that, once
//! disconnected, call `write` and `writeSequence`: both must be silent no-ops. It goes further,
//! as Twisted's `BaseAbortingClient` (`twisted/internet/test/test_tcp.py`) does for the
//! re-entrancy of `connectionLost`: from inside `connection_lost` it also writes, closes,
//! closes without close_notify, aborts, half-closes, pauses and resumes reading, registers a
//! producer and sets a timer. None of it may reach the peer, fail, or call the probe back: a
//! callback that runs after `connection_lost` (a second `connection_lost` included) fails
//! with an error, and shows in the trace. (Rust's `&mut self` already rules out a callback
//! running *inside* another, which is what Twisted's `inReactorMethod` flag checks.)
//!
//! Until then it behaves like `closing-later`: it writes `send` when connected and, on the
//! first data, closes (`on_data = "lose"`, the default), aborts (`"abort"`) or does nothing
//! (`"wait"`, for the peer to close).

use std::time::Duration;

use connectable::{CallbackResult, DisconnectReason, ProducerKind, Protocol, TimerId, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "calls-in-lost",
    about: "closes on the first data, then writes, closes and aborts again from connection_lost",
    arguments: &[
        Argument {
            name: "send",
            kind: ArgKind::Text,
            about: "written when the connection is made (default: nothing)",
        },
        Argument {
            name: "on_data",
            kind: ArgKind::OneOf(&["lose", "abort", "wait"]),
            about: "on the first data: lose_connection (default), abort_connection, or nothing",
        },
    ],
    build: |arguments| build(arguments, CallsInLost::new),
};

/// What `calls-in-lost` writes from `connection_lost`: it must never arrive.
const LATE: &[u8] = b"some bytes to get lost";

/// What `calls-in-lost` does on the first data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnData {
    /// `lose_connection`.
    #[default]
    Lose,
    /// `abort_connection`.
    Abort,
    /// Nothing: wait for the peer to close.
    Wait,
}

/// The arguments of `calls-in-lost`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// Written in `connection_made`.
    pub(crate) send: Option<String>,
    /// What to do on the first data.
    #[serde(default)]
    pub(crate) on_data: OnData,
}

impl crate::ProbeArguments for Arguments {}

/// The `calls-in-lost` probe.
#[derive(Debug)]
pub(crate) struct CallsInLost {
    arguments: Arguments,
    reacted: bool,
    lost: bool,
}

impl CallsInLost {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            reacted: false,
            lost: false,
        }
    }

    /// Fails a callback that runs after `connection_lost`.
    fn still_connected(&self, callback: &str) -> CallbackResult {
        if self.lost {
            return Err(format!("{callback} ran after connection_lost").into());
        }
        Ok(())
    }
}

impl Protocol for CallsInLost {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        self.still_connected("connection_made")?;
        if let Some(send) = &self.arguments.send {
            transport.write(send.as_bytes());
        }
        Ok(())
    }

    fn handshake_completed(&mut self, _: &mut Transport) -> CallbackResult {
        self.still_connected("handshake_completed")
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        self.still_connected("data_received")?;
        if !self.reacted {
            self.reacted = true;
            match self.arguments.on_data {
                OnData::Lose => transport.lose_connection(),
                OnData::Abort => transport.abort_connection(),
                OnData::Wait => {}
            }
        }
        Ok(())
    }

    fn read_connection_lost(&mut self, _: &mut Transport) -> CallbackResult {
        self.still_connected("read_connection_lost")
    }

    fn write_connection_lost(&mut self, _: &mut Transport) -> CallbackResult {
        self.still_connected("write_connection_lost")
    }

    fn pause_producing(&mut self, _: &mut Transport) -> CallbackResult {
        self.still_connected("pause_producing")
    }

    fn resume_producing(&mut self, _: &mut Transport) -> CallbackResult {
        self.still_connected("resume_producing")
    }

    fn stop_producing(&mut self, _: &mut Transport) -> CallbackResult {
        self.still_connected("stop_producing")
    }

    fn timer_fired(&mut self, _: &mut Transport, _: TimerId) -> CallbackResult {
        self.still_connected("timer_fired")
    }

    fn connection_lost(
        &mut self,
        transport: &mut Transport,
        _: &DisconnectReason,
    ) -> CallbackResult {
        self.still_connected("connection_lost")?;
        self.lost = true;
        transport.write(LATE);
        transport.write_sequence([&b"some"[..], b"more"]);
        transport.lose_connection();
        transport.lose_connection_without_close_notify();
        transport.abort_connection();
        transport.half_close();
        transport.pause_reading();
        transport.resume_reading();
        transport.register_producer(ProducerKind::Pull);
        transport.call_later(Duration::ZERO);
        transport.write(LATE);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{Delivery, DisconnectReason};

    use crate::testing::{ABORT, LOSE, OPEN, Probe, parse_toml, render};

    #[test]
    #[rustfmt::skip]
    fn closes_like_closing_later_and_writes_nothing_once_lost() {
        // `check` ends each run and checks that nothing more was written and no callback failed.
        let probe = Probe("calls-in-lost");
        probe.check("",                                 &[],          b"",  OPEN,  ["", ""]);
        probe.check("",                                 &["ab", "c"], b"",  LOSE,  ["ab", "a"]);
        probe.check(r#"send = "x""#,                    &["ab", "c"], b"x", LOSE,  ["ab", "a"]);
        probe.check(r#"send = "x", on_data = "abort""#, &["ab", "c"], b"x", ABORT, ["ab", "a"]);
        probe.check(r#"on_data = "wait""#,              &["ab", "c"], b"",  OPEN,  ["abc", "abc"]);
    }

    /// Whatever connection_lost asks for, nothing more happens: one `lost`, no timer, no
    /// producer callback, nothing written, and the reason stays the one the reactor gave.
    #[test]
    fn commands_in_connection_lost_set_nothing_off() {
        for (arguments, reason) in [
            ("", DisconnectReason::Done),
            (r#"on_data = "abort""#, DisconnectReason::Aborted),
            (
                r#"on_data = "wait""#,
                DisconnectReason::Lost("reset".into()),
            ),
        ] {
            for delivery in Delivery::ALL {
                let spec = parse_toml("calls-in-lost", arguments).unwrap();
                let mut harness = Harness::new(spec.instantiate(), delivery);
                harness.feed(b"x");
                harness.end(reason.clone());
                harness.fire_timers(8);
                harness.feed(b"y");
                harness.end(DisconnectReason::Done);
                let context = format!("{{ {arguments} }} {delivery:?}");
                assert_eq!(harness.written(), b"", "{context}");
                assert!(harness.timers().is_empty(), "{context}");
                let shown = render(&harness.trace(), harness.reason().as_ref());
                let expected = format!("made, data, lost => {}", reason.kind());
                assert_eq!(shown, expected, "{context}");
            }
        }
    }
}
