//! `echo`: writes back every chunk it receives, as it receives it.
//!
//! It ports Twisted's `Echo` (`twisted/protocols/wire.py`). It never closes by itself: the
//! peer decides when the exchange is over, which makes it the natural server for scripted
//! clients and for checking that bytes arrive in order whatever the chunking.

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "echo",
    about: "writes back every chunk it receives and waits for the peer to close",
    arguments: &[],
    build: |arguments| build(arguments, |_: &crate::NoArguments| Echo),
};

/// The `echo` probe.
#[derive(Debug, Default)]
pub(crate) struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult {
        transport.write(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{OPEN, Probe};

    #[test]
    #[rustfmt::skip]
    fn writes_back_what_it_gets() {
        let probe = Probe("echo");
        probe.check("", &[],                 b"",           OPEN, ["", ""]);
        probe.check("", &["ping"],           b"ping",       OPEN, ["ping", "ping"]);
        probe.check("", &["pi", "", "ng\n"], b"ping\n",     OPEN, ["ping\n", "ping\n"]);
        probe.check("", &["\u{e9}\0"],       b"\xc3\xa9\0", OPEN, ["\u{e9}\0", "\u{e9}\0"]);
    }
}
