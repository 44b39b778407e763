//! `half-close`: shuts down its writing side and goes on reading (Twisted's
//! `IHalfCloseableProtocol` tests in `twisted/test/test_tcp.py`: `HalfCloseTests`,
//! `HalfCloseNoNotificationAndShutdownExceptionTests`).
//!
//! It writes `send`, then calls `half_close` when the connection is made, when the first data
//! arrives, or when the peer half-closes (`when`), optionally twice (Twisted's
//! `testDoubleHalfClose`). It is half-close aware: when the peer half-closes it is told
//! `read_connection_lost` instead of being closed. With `fail`, the named callback returns an
//! error (which must end this side `error` and close the connection fully).

use connectable::{CallbackResult, Protocol, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "half-close",
    about: "writes, then shuts down its writing side (half_close) and goes on reading; half-close aware",
    arguments: &[
        Argument {
            name: "send",
            kind: ArgKind::Text,
            about: "written before the half-close (default: nothing)",
        },
        Argument {
            name: "when",
            kind: ArgKind::OneOf(&["made", "data", "read-lost", "never"]),
            about: "when to half-close: when connected (default), on the first data, when the peer half-closes, or never",
        },
        Argument {
            name: "twice",
            kind: ArgKind::Boolean,
            about: "call half_close twice in a row (default false)",
        },
        Argument {
            name: "close_on_write_lost",
            kind: ArgKind::Boolean,
            about: "call lose_connection when the half-close completes (default false), as Twisted's test_doubleHalfClose does",
        },
        Argument {
            name: "fail",
            kind: ArgKind::OneOf(&["read-lost", "write-lost"]),
            about: "make read_connection_lost or write_connection_lost return an error",
        },
    ],
    build: |arguments| build(arguments, HalfClose::new),
};

/// When `half-close` half-closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum When {
    /// In `connection_made`.
    #[default]
    Made,
    /// On the first data.
    Data,
    /// In `read_connection_lost`.
    ReadLost,
    /// Never (it only listens, half-close aware).
    Never,
}

/// Which callback `half-close` fails in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Fail {
    /// `read_connection_lost`.
    ReadLost,
    /// `write_connection_lost`.
    WriteLost,
}

/// The arguments of `half-close`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// Written before the half-close.
    pub(crate) send: Option<String>,
    /// When to half-close.
    #[serde(default)]
    pub(crate) when: When,
    /// Half-close twice.
    #[serde(default)]
    pub(crate) twice: bool,
    /// `lose_connection` in `write_connection_lost`.
    #[serde(default)]
    pub(crate) close_on_write_lost: bool,
    /// Which callback fails.
    pub(crate) fail: Option<Fail>,
}

impl crate::ProbeArguments for Arguments {}

/// The `half-close` probe.
#[derive(Debug)]
pub(crate) struct HalfClose {
    arguments: Arguments,
    done: bool,
}

impl HalfClose {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            done: false,
        }
    }

    fn half_close(&mut self, transport: &mut Transport) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(send) = &self.arguments.send {
            transport.write(send.as_bytes());
        }
        transport.half_close();
        if self.arguments.twice {
            transport.half_close();
        }
    }
}

impl Protocol for HalfClose {
    fn half_close_aware(&self) -> bool {
        true
    }

    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if self.arguments.when == When::Made {
            self.half_close(transport);
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        if self.arguments.when == When::Data {
            self.half_close(transport);
        }
        Ok(())
    }

    fn read_connection_lost(&mut self, transport: &mut Transport) -> CallbackResult {
        if self.arguments.fail == Some(Fail::ReadLost) {
            return Err("read_connection_lost failed on purpose".into());
        }
        if self.arguments.when == When::ReadLost {
            self.half_close(transport);
        }
        Ok(())
    }

    fn write_connection_lost(&mut self, transport: &mut Transport) -> CallbackResult {
        if self.arguments.fail == Some(Fail::WriteLost) {
            return Err("write_connection_lost failed on purpose".into());
        }
        if self.arguments.close_on_write_lost {
            transport.lose_connection();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{CloseRequest, Delivery, DisconnectReason};

    use crate::testing::{OPEN, Probe, parse_toml};

    #[test]
    #[rustfmt::skip]
    fn writes_before_half_closing() {
        let probe = Probe("half-close");
        probe.check(r#"send = "hello""#,                 &[],      b"hello", OPEN, ["", ""]);
        probe.check(r#"send = "hi", when = "data""#,     &["ab"],  b"hi",    OPEN, ["ab", "ab"]);
        probe.check(r#"send = "hi", when = "never""#,    &["ab"],  b"",      OPEN, ["ab", "ab"]);
    }

    /// Drives a half-close to the end: (arguments, peer half-closes first?, events, reason).
    #[test]
    fn half_close_sequences() {
        let rows: [(&str, bool, &[&str], &str); 5] = [
            (
                r#"send = "hello""#,
                false,
                &["made", "write-lost", "read-lost", "lost"],
                "done",
            ),
            (
                r#"send = "x", twice = true"#,
                false,
                &["made", "write-lost", "read-lost", "lost"],
                "done",
            ),
            (
                r#"when = "read-lost""#,
                true,
                &["made", "read-lost", "write-lost", "lost"],
                "done",
            ),
            (
                r#"when = "never", fail = "read-lost""#,
                true,
                &["made", "read-lost", "lost"],
                "error",
            ),
            (
                r#"fail = "write-lost""#,
                false,
                &["made", "write-lost", "lost"],
                "error",
            ),
        ];
        for (arguments, peer_first, events, reason) in rows {
            for delivery in Delivery::ALL {
                let context = format!("{arguments} {delivery:?}");
                let spec = parse_toml("half-close", arguments).unwrap();
                let mut harness = Harness::new(spec.instantiate(), delivery);
                if peer_first {
                    assert!(harness.peer_half_closed(), "{context}");
                }
                harness.complete_half_close();
                if !peer_first && harness.close_requested() != Some(CloseRequest::Abort) {
                    assert!(harness.peer_half_closed(), "{context}");
                }
                // The reactor ends the connection once both directions are shut, or aborts it.
                let ended = match harness.close_requested() {
                    Some(CloseRequest::Abort) => DisconnectReason::Aborted,
                    _ => DisconnectReason::Done,
                };
                harness.end(ended);
                assert_eq!(harness.trace().words(), events, "{context}");
                let got = harness.reason().unwrap();
                assert_eq!(got.kind().word(), reason, "{context}: {got}");
            }
        }
    }
}
