//! `write-sequence`: writes a list of buffers with one `write_sequence` call when the connection
//! is made, then waits, closes or aborts.
//!
//! It ports the writing side of Twisted's `WriteSequenceTestsMixin.test_writeSequeceWithoutWrite`
//! (`twisted/internet/test/test_tcp.py`): `writeSequence([b"Some ", b"sequence ", b"splitted"])`
//! without any `write` before it, and the peer must receive the concatenation,
//! `Some sequence splitted`. The parts are separate buffers handed over in one call; nothing
//! about how they were split may show on the wire (Twisted's `test_multipleWrites` in
//! `twisted/protocols/test/test_tls.py` checks the same over TLS).

use connectable::{CallbackResult, Protocol, Transport};
use serde::Deserialize;

use crate::send;
use crate::then::Then;
use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "write-sequence",
    about: "writes a list of text parts with one write_sequence call when the connection is made, then waits for the peer to close, closes or aborts",
    arguments: &[
        Argument {
            name: "parts",
            kind: ArgKind::TextList,
            about: "the buffers, in order, handed to write_sequence together (required)",
        },
        Argument {
            name: "then",
            kind: ArgKind::OneOf(&["wait", "close", "abort"]),
            about: "after writing: wait for the peer to close (default), close cleanly (lose_connection), or abort (abort_connection, which discards the parts)",
        },
    ],
    build: |arguments| build(arguments, WriteSequence::new),
};

/// The arguments of `write-sequence`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// The buffers handed to `write_sequence`.
    pub(crate) parts: Vec<String>,
    /// What to do once they are written.
    #[serde(default = "send::wait", deserialize_with = "send::then")]
    pub(crate) then: Then,
}

impl crate::ProbeArguments for Arguments {}

/// The `write-sequence` probe.
#[derive(Debug)]
pub(crate) struct WriteSequence {
    arguments: Arguments,
}

impl WriteSequence {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
        }
    }
}

impl Protocol for WriteSequence {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        transport.write_sequence(self.arguments.parts.iter().map(String::as_bytes));
        self.arguments.then.apply(transport);
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, LOSE, OPEN, Probe};

    #[test]
    #[rustfmt::skip]
    fn writes_the_concatenation_then_waits_closes_or_aborts() {
        let probe = Probe("write-sequence");
        let twisted = r#"parts = ["Some ", "sequence ", "splitted"]"#;
        probe.check(twisted,                                 &[],         b"Some sequence splitted", OPEN,  ["", ""]);
        probe.check(twisted,                                 &["x", "y"], b"Some sequence splitted", OPEN,  ["xy", "xy"]);
        probe.check("parts = []",                            &["x"],      b"",                       OPEN,  ["x", "x"]);
        probe.check(r#"parts = ["", "a", ""]"#,              &[],         b"a",                      OPEN,  ["", ""]);
        probe.check(r#"parts = ["é", "\u0000"]"#,            &[],         "é\0".as_bytes(),          OPEN,  ["", ""]);
        probe.check(r#"parts = ["ab", "c"], then = "wait""#, &["z"],      b"abc",                    OPEN,  ["z", "z"]);
        probe.check(r#"parts = ["ab", "c"], then = "close""#, &["z"],     b"abc",                    LOSE,  ["", ""]);
        // An abort discards what was written in the same callback: nothing goes out.
        probe.check(r#"parts = ["ab", "c"], then = "abort""#, &["z"],     b"",                       ABORT, ["", ""]);
    }
}
