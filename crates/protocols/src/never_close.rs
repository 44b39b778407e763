//! `never-close`: a misbehaving probe that holds its end of the connection open forever.
//!
//! It writes `send` when connected, reads and discards whatever arrives (so the peer's writes
//! never block on it), never calls `lose_connection` or `abort_connection`, and is half-close
//! aware so that the peer's FIN does not end it either: `read_connection_lost` is ignored, as
//! a Twisted `IHalfCloseableProtocol` that forgets to close would. So the connection ends only
//! when the peer resets it (`lost`), or over TLS, where there is no half-close and the peer's
//! close_notify ends the whole connection (`done`); otherwise the side is still open when the
//! pairing's timeout expires. It is how suites prove that such a peer fails its own trial
//! only, by its timeout, and leaves nothing behind.

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};
use crate::SEND_ON_MADE;

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "never-close",
    about: "never closes, not even when the peer does (half-close aware, ignores the FIN): open until a reset, TLS close_notify or the timeout",
    arguments: SEND_ON_MADE,
    build: |arguments| build(arguments, NeverClose::new),
};

/// The arguments of `never-close`: only `send`, written in `connection_made`.
pub(crate) type Arguments = crate::SendOnMade;

/// The `never-close` probe.
#[derive(Debug)]
pub(crate) struct NeverClose {
    send: Option<String>,
}

impl NeverClose {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            send: arguments.send.clone(),
        }
    }
}

impl Protocol for NeverClose {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.send {
            transport.write(send.as_bytes());
        }
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }

    /// Without this, the reactor would close the connection fully on the peer's FIN.
    fn half_close_aware(&self) -> bool {
        true
    }

    fn read_connection_lost(&mut self, _: &mut Transport) -> CallbackResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{Delivery, DisconnectReason};

    use crate::testing::{OPEN, Probe, parse_toml};

    #[test]
    fn writes_then_ignores_everything() {
        let probe = Probe("never-close");
        probe.check("", &[], b"", OPEN, ["", ""]);
        probe.check(
            r#"send = "hi""#,
            &["abc", "de"],
            b"hi",
            OPEN,
            ["abcde", "abcde"],
        );
    }

    /// The point of the probe: the peer's FIN leaves it open, still asking for nothing, and
    /// it then sees no data (the reactor stops reading after an EOF).
    #[test]
    fn the_peers_close_leaves_it_open() {
        for delivery in Delivery::ALL {
            let spec = parse_toml("never-close", r#"send = "x""#).unwrap();
            let mut harness = Harness::new(spec.instantiate(), delivery);
            harness.feed(b"bye");
            assert!(harness.peer_half_closed(), "{delivery:?}: stays open");
            assert_eq!(harness.close_requested(), None, "{delivery:?}");
            assert!(
                !harness.wants_read(),
                "{delivery:?}: reading ends at the EOF"
            );
            assert_eq!(harness.reason(), None, "{delivery:?}: not ended");
            harness.end(DisconnectReason::Lost("reset".into()));
            assert_eq!(
                harness.trace().words(),
                ["made", "data", "read-lost", "lost"],
                "{delivery:?}"
            );
        }
    }
}
