//! `reject-data`: fails on any byte it was not told to expect.
//!
//! It ports Twisted's `ReadAbortServerProtocol` (`twisted/internet/test/test_tcp.py`), the
//! server of `AbortConnectionMixin.test_dataReceivedAbort` and its siblings: it writes `send`
//! when connected (Twisted's `ready`), and its `data_received` fails (returns an error) on the
//! first byte that is not in `allow`. The framework turns that failure into the reason
//! `error`, so a byte the peer wrote after aborting, which must never arrive, cannot go
//! unnoticed: the peer writes `X`s before its abort, which may arrive, and `Y`s after it,
//! which must not; with `allow = "X"` a single `Y` makes this side `error`.

use connectable::{CallbackResult, Protocol, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "reject-data",
    about: "writes a greeting, then fails on the first byte it was not told to expect",
    arguments: &[
        Argument {
            name: "send",
            kind: ArgKind::Text,
            about: "written when the connection is made (default: nothing)",
        },
        Argument {
            name: "allow",
            kind: ArgKind::Text,
            about: "the bytes that may arrive, in any number and order (default: none)",
        },
    ],
    build: |arguments| build(arguments, RejectData::new),
};

/// The arguments of `reject-data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// Written in `connection_made`.
    pub(crate) send: Option<String>,
    /// The bytes that may arrive.
    #[serde(default)]
    pub(crate) allow: String,
}

impl crate::ProbeArguments for Arguments {}

/// The `reject-data` probe.
#[derive(Debug)]
pub(crate) struct RejectData {
    arguments: Arguments,
    received: u64,
}

impl RejectData {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            received: 0,
        }
    }
}

impl Protocol for RejectData {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.arguments.send {
            transport.write(send.as_bytes());
        }
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, data: &[u8]) -> CallbackResult {
        let allowed = self.arguments.allow.as_bytes();
        if let Some(at) = data.iter().position(|b| !allowed.contains(b)) {
            return Err(format!(
                "unexpected byte {:?} at offset {}",
                char::from(data[at]),
                self.received + at as u64
            )
            .into());
        }
        self.received += data.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, OPEN, Probe, Step};

    #[test]
    #[rustfmt::skip]
    fn takes_allowed_bytes_and_writes_its_greeting() {
        let probe = Probe("reject-data");
        probe.check("",                                &[],            b"",      OPEN, ["", ""]);
        probe.check(r#"send = "ready""#,               &[],            b"ready", OPEN, ["", ""]);
        probe.check(r#"send = "ready", allow = "X""#,  &["XX", "X"],   b"ready", OPEN, ["XXX", "XXX"]);
        probe.check(r#"allow = "ab""#,                 &["abba", "b"], b"",      OPEN, ["abbab", "abbab"]);
    }

    /// A byte that is not allowed fails the callback once: the connection is aborted and the
    /// side ends `error`, with the byte and its offset (counted across chunks) as the detail.
    #[test]
    #[rustfmt::skip]
    fn fails_on_the_first_unexpected_byte() {
        let probe = Probe("reject-data");
        let x_then_y = [Step::Feed("XX"), Step::Feed("XYX")];
        let failed = "made, data, failed(unexpected byte 'Y' at offset 3), lost => error";
        probe.check_trace(r#"allow = "X""#, false, &x_then_y, b"", ABORT, ["XXXYX", "XXXY"], failed);
        let anything = [Step::Feed("a")];
        let failed = "made, data, failed(unexpected byte 'a' at offset 0), lost => error";
        probe.check_trace(r#"send = "hi""#, false, &anything, b"hi", ABORT, ["a", "a"], failed);
    }
}
