//! `accumulate`: takes in everything the peer sends, optionally closing after so many bytes.
//!
//! It ports Twisted's `AccumulatingProtocol`: without `close_after` the one in
//! `twisted/internet/testing.py`, which only collects and waits for the peer to close; with it,
//! the one in `twisted/protocols/test/test_tls.py`, which closes its side cleanly
//! (`loseConnection`) once `howMany` bytes have arrived in all. The framework's trace already
//! keeps the bytes received, so the probe only counts them. `close_after = 0` closes when the
//! connection is made (Twisted's would wait for a first chunk). Whole delivery may hand it
//! more than `close_after` bytes in the chunk that crosses the limit; bytewise delivery stops
//! exactly at the limit.

use connectable::{CallbackResult, Protocol, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "accumulate",
    about: "takes in everything the peer sends; with close_after, closes cleanly once that many bytes arrived",
    arguments: &[Argument {
        name: "close_after",
        kind: ArgKind::BYTES,
        about: "close (lose_connection) once this many bytes arrived in all; 0 closes when the connection is made (default: never); at most 1 GiB",
    }],
    build: |arguments| build(arguments, Accumulate::new),
};

/// The arguments of `accumulate`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// Close once this many bytes arrived.
    pub(crate) close_after: Option<u64>,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        self.close_after.map(|n| ("close_after", n)).into_iter().collect()
    }
}

/// The `accumulate` probe.
#[derive(Debug)]
pub(crate) struct Accumulate {
    close_after: Option<u64>,
    received: u64,
    closing: bool,
}

impl Accumulate {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            close_after: arguments.close_after,
            received: 0,
            closing: false,
        }
    }

    fn close_if_due(&mut self, transport: &mut Transport) {
        if let Some(limit) = self.close_after
            && !self.closing
            && self.received >= limit
        {
            self.closing = true;
            transport.lose_connection();
        }
    }
}

impl Protocol for Accumulate {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        self.close_if_due(transport);
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult {
        self.received = self.received.saturating_add(data.len() as u64);
        self.close_if_due(transport);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{LOSE, OPEN, Probe};

    #[test]
    #[rustfmt::skip]
    fn counts_and_closes_at_the_limit() {
        let probe = Probe("accumulate");
        probe.check("",                &[],                   b"", OPEN, ["", ""]);
        probe.check("",                &["abc", "de"],        b"", OPEN, ["abcde", "abcde"]);
        probe.check("close_after = 0", &[],                   b"", LOSE, ["", ""]);
        probe.check("close_after = 0", &["abc"],              b"", LOSE, ["", ""]);
        probe.check("close_after = 3", &["ab"],               b"", OPEN, ["ab", "ab"]);
        probe.check("close_after = 3", &["abc"],              b"", LOSE, ["abc", "abc"]);
        probe.check("close_after = 3", &["abcde"],            b"", LOSE, ["abcde", "abc"]);
        probe.check("close_after = 3", &["ab", "cd", "e"],    b"", LOSE, ["abcd", "abc"]);
        probe.check("close_after = 3", &["a", "b", "c", "d"], b"", LOSE, ["abc", "abc"]);
    }
}
