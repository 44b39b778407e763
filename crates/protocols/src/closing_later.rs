//! `closing-later`: exchanges one byte with its peer and then disconnects itself.
//!
//! It ports Twisted's `ClosingLaterProtocol` (`twisted/internet/test/connectionmixins.py`), the
//! canonical probe of Twisted's reactor connection tests. It closes only once data has
//! arrived, which over TLS guarantees the handshake is over (`connection_made` fires before
//! it completes). With `send`, it also writes those bytes when the connection is made, so two
//! `closing-later` probes can play both sides of the exchange.

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};
use crate::SEND_ON_MADE;

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "closing-later",
    about: "closes its side cleanly (lose_connection) as soon as the first data arrives",
    arguments: SEND_ON_MADE,
    build: |arguments| build(arguments, ClosingLater::new),
};

/// The arguments of `closing-later`: only `send`, written in `connection_made`.
pub(crate) type Arguments = crate::SendOnMade;

/// The `closing-later` probe.
#[derive(Debug)]
pub(crate) struct ClosingLater {
    send: Option<String>,
    closing: bool,
}

impl ClosingLater {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            send: arguments.send.clone(),
            closing: false,
        }
    }
}

impl Protocol for ClosingLater {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.send {
            transport.write(send.as_bytes());
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        if !self.closing {
            self.closing = true;
            transport.lose_connection();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{LOSE, OPEN, Probe};

    #[test]
    #[rustfmt::skip]
    fn closes_on_first_data() {
        let probe = Probe("closing-later");
        probe.check("",               &[],          b"",   OPEN, ["", ""]);
        probe.check("",               &["x"],       b"",   LOSE, ["x", "x"]);
        probe.check("",               &["abc"],     b"",   LOSE, ["abc", "a"]);
        probe.check("",               &["a", "bc"], b"",   LOSE, ["a", "a"]);
        probe.check(r#"send = "x""#,  &[],          b"x",  OPEN, ["", ""]);
        probe.check(r#"send = "hi""#, &["yz"],      b"hi", LOSE, ["yz", "y"]);
        probe.check(r#"send = """#,   &["y"],       b"",   LOSE, ["y", "y"]);
    }
}
