//! `close-twice`: closes or aborts, then closes or aborts again, in the same callback.
//!
//! It ports Twisted's `ServerAbortsTwice` and `ServerAbortsThenLoses`
//! (`twisted/internet/test/test_tcp.py`, `AbortConnectionMixin.test_serverAbortsConnectionTwice`
//! and `test_serverAbortsConnectionThenLosesConnection`), which call `abortConnection` and then
//! `abortConnection` or `loseConnection` from `dataReceived`, and widens them to every pair of
//! `lose_connection` and `abort_connection`, from `connection_made` or on the first data. The
//! second call must be harmless: two closes are one clean close (`done`), and once an abort is
//! asked for it wins, before or after a close that has not completed (`aborted`, the peer
//! `lost`). With `send`, it writes those bytes when the connection is made: a clean close
//! delivers them, an abort discards them if they were still pending.

use connectable::{CallbackResult, Protocol, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "close-twice",
    about: "closes or aborts twice in a row, when connected or on the first data",
    arguments: &[
        Argument {
            name: "send",
            kind: ArgKind::Text,
            about: "written when the connection is made, before any close (default: nothing)",
        },
        Argument {
            name: "when",
            kind: ArgKind::OneOf(&["made", "data"]),
            about: "in connection_made, or when the first data arrives (default)",
        },
        Argument {
            name: "first",
            kind: ArgKind::OneOf(&["lose", "abort"]),
            about: "the first call: lose_connection or abort_connection",
        },
        Argument {
            name: "second",
            kind: ArgKind::OneOf(&["lose", "abort"]),
            about: "the second call, right after the first",
        },
    ],
    build: |arguments| build(arguments, CloseTwice::new),
};

/// When `close-twice` closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum When {
    /// In `connection_made`.
    Made,
    /// On the first data.
    #[default]
    Data,
}

/// One way to end a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Close {
    /// `lose_connection`.
    Lose,
    /// `abort_connection`.
    Abort,
}

impl Close {
    fn call(self, transport: &mut Transport) {
        match self {
            Self::Lose => transport.lose_connection(),
            Self::Abort => transport.abort_connection(),
        }
    }
}

/// The arguments of `close-twice`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// Written in `connection_made`.
    pub(crate) send: Option<String>,
    /// When to close.
    #[serde(default)]
    pub(crate) when: When,
    /// The first call.
    pub(crate) first: Close,
    /// The second call.
    pub(crate) second: Close,
}

impl crate::ProbeArguments for Arguments {}

/// The `close-twice` probe.
#[derive(Debug)]
pub(crate) struct CloseTwice {
    arguments: Arguments,
    closed: bool,
}

impl CloseTwice {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            closed: false,
        }
    }

    fn close_twice(&mut self, transport: &mut Transport) {
        if !self.closed {
            self.closed = true;
            self.arguments.first.call(transport);
            self.arguments.second.call(transport);
        }
    }
}

impl Protocol for CloseTwice {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.arguments.send {
            transport.write(send.as_bytes());
        }
        if self.arguments.when == When::Made {
            self.close_twice(transport);
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        self.close_twice(transport);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, LOSE, OPEN, Probe};

    #[test]
    #[rustfmt::skip]
    fn closes_twice_on_first_data() {
        let probe = Probe("close-twice");
        let lose_lose = r#"first = "lose", second = "lose""#;
        let abort_abort = r#"first = "abort", second = "abort""#;
        let abort_lose = r#"first = "abort", second = "lose""#;
        let lose_abort = r#"first = "lose", second = "abort""#;
        probe.check(lose_lose,   &[],          b"", OPEN,  ["", ""]);
        probe.check(lose_lose,   &["ab", "c"], b"", LOSE,  ["ab", "a"]);
        probe.check(abort_abort, &["ab", "c"], b"", ABORT, ["ab", "a"]);
        probe.check(abort_lose,  &["ab", "c"], b"", ABORT, ["ab", "a"]);
        // The abort wins over a close that has not completed.
        probe.check(lose_abort,  &["ab", "c"], b"", ABORT, ["ab", "a"]);
        // Written when connected, so sent before the data arrives: an abort cannot take it back.
        let sent = r#"send = "hi", first = "abort", second = "abort""#;
        probe.check(sent,        &["x"],       b"hi", ABORT, ["x", "x"]);
    }

    #[test]
    #[rustfmt::skip]
    fn closes_twice_when_connected() {
        let probe = Probe("close-twice");
        let made = |first: &str, second: &str| {
            format!(r#"send = "hi", when = "made", first = "{first}", second = "{second}""#)
        };
        // A close flushes what was written first; an abort discards it, in either order.
        probe.check(&made("lose", "lose"),   &["x"], b"hi", LOSE,  ["", ""]);
        probe.check(&made("abort", "abort"), &["x"], b"",   ABORT, ["", ""]);
        probe.check(&made("abort", "lose"),  &["x"], b"",   ABORT, ["", ""]);
        probe.check(&made("lose", "abort"),  &["x"], b"",   ABORT, ["", ""]);
    }
}
