//! `abort-on-data`: resets the connection as soon as the first data arrives.
//!
//! It ports the servers of Twisted's `abortConnection()` tests (`ServerAbortsTwice` and its
//! siblings in `twisted/internet/test/test_tcp.py`), which call `abortConnection` from
//! `dataReceived`. This side ends `aborted` and the peer `lost`; anything this side wrote and
//! had not sent yet is discarded. With `send`, it writes those bytes when the connection is
//! made, as `closing-later` does.

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};
use crate::SEND_ON_MADE;

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "abort-on-data",
    about: "resets the connection (abort_connection) as soon as the first data arrives",
    arguments: SEND_ON_MADE,
    build: |arguments| build(arguments, AbortOnData::new),
};

/// The arguments of `abort-on-data`: only `send`, written in `connection_made`.
pub(crate) type Arguments = crate::SendOnMade;

/// The `abort-on-data` probe.
#[derive(Debug)]
pub(crate) struct AbortOnData {
    send: Option<String>,
    aborted: bool,
}

impl AbortOnData {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            send: arguments.send.clone(),
            aborted: false,
        }
    }
}

impl Protocol for AbortOnData {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.send {
            transport.write(send.as_bytes());
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        if !self.aborted {
            self.aborted = true;
            transport.abort_connection();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, OPEN, Probe};

    #[test]
    #[rustfmt::skip]
    fn aborts_on_first_data() {
        let probe = Probe("abort-on-data");
        probe.check("",              &[],          b"",  OPEN,  ["", ""]);
        probe.check("",              &["abc"],     b"",  ABORT, ["abc", "a"]);
        probe.check("",              &["a", "bc"], b"",  ABORT, ["a", "a"]);
        probe.check(r#"send = "x""#, &[],          b"x", OPEN,  ["", ""]);
        // What was written in connection_made went out before the abort.
        probe.check(r#"send = "x""#, &["yz"],      b"x", ABORT, ["yz", "y"]);
    }
}
