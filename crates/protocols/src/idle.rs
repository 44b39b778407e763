//! `idle`: a probe that does nothing, so that only the connection's own lifecycle shows.
//!
//! It ports Twisted's bare `ConnectableProtocol` (`twisted/internet/test/connectionmixins.py`)
//! used as is: it never writes and never closes, and what the framework records about it (how
//! the connection ended, the events, the bytes received) is the whole point. Pair it with a
//! probe that closes, or it waits for the timeout.

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "idle",
    about: "does nothing: a bare ConnectableProtocol that records how the connection ended",
    arguments: &[],
    build: |arguments| build(arguments, |_: &crate::NoArguments| Idle),
};

/// The `idle` probe.
#[derive(Debug, Default)]
pub(crate) struct Idle;

impl Protocol for Idle {
    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{OPEN, Probe};

    #[test]
    fn ignores_everything() {
        let probe = Probe("idle");
        probe.check("", &[], b"", OPEN, ["", ""]);
        probe.check("", &["abc", "de"], b"", OPEN, ["abcde", "abcde"]);
    }
}
