//! `closing`: closes its side cleanly as soon as the connection is made.
//!
//! It ports Twisted's `ClosingProtocol` (`twisted/test/test_tcp.py`), which calls
//! `loseConnection` from `connectionMade`. Over TLS the close waits for the handshake to
//! complete and then goes out cleanly (Twisted aborts instead; see the contract's closing
//! rules). It never sees data.

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "closing",
    about: "closes its side cleanly (lose_connection) as soon as the connection is made",
    arguments: &[],
    build: |arguments| build(arguments, |_: &crate::NoArguments| Closing),
};

/// The `closing` probe.
#[derive(Debug, Default)]
pub(crate) struct Closing;

impl Protocol for Closing {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        transport.lose_connection();
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{LOSE, Probe};

    #[test]
    fn closes_when_made_and_sees_no_data() {
        let probe = Probe("closing");
        probe.check("", &[], b"", LOSE, ["", ""]);
        probe.check("", &["abc", "d"], b"", LOSE, ["", ""]);
    }
}
