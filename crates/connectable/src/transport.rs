//! The [`Transport`] handle a protocol gets in every callback: commands out, addresses in.
//!
//! The handle only records what the protocol asked for (bytes to send, a close or an abort);
//! the reactor carries it out once the callback returns. Nothing here blocks or does I/O.

use std::fmt;
use std::net::SocketAddr;

/// Where one end of a connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Address {
    /// An IP socket address (TCP, TLS over TCP).
    Ip(SocketAddr),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(addr) => write!(f, "{addr}"),
        }
    }
}

/// How the protocol asked the connection to end, if it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseRequest {
    /// `lose_connection`: flush pending writes, close cleanly.
    Lose,
    /// `abort_connection`: discard pending writes, reset.
    Abort,
}

/// The command handle a [`Protocol`](crate::Protocol) callback gets (Twisted's `ITransport`).
#[derive(Debug)]
pub struct Transport {
    pending: Vec<u8>,
    close: Option<CloseRequest>,
    lost: bool,
    host: Address,
    peer: Address,
    reactor: &'static str,
}

impl Transport {
    /// A transport between `host` (this side) and `peer`, driven by the named reactor.
    pub fn new(host: Address, peer: Address, reactor: &'static str) -> Self {
        Self {
            pending: Vec::new(),
            close: None,
            lost: false,
            host,
            peer,
            reactor,
        }
    }

    /// Queues `data` to be sent. A no-op once the connection was aborted or lost; data written
    /// after `lose_connection` in the same callback still goes out before the close, as in
    /// Twisted.
    pub fn write(&mut self, data: &[u8]) {
        if self.accepts_writes() {
            self.pending.extend_from_slice(data);
        }
    }

    /// Queues every buffer in order, as if written one after another.
    pub fn write_sequence<I>(&mut self, buffers: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for buffer in buffers {
            self.write(buffer.as_ref());
        }
    }

    /// Flushes what was written, then closes cleanly (FIN; over TLS close_notify then FIN).
    /// No more data is delivered to the protocol. Calling it again, or after an abort, does
    /// nothing.
    pub fn lose_connection(&mut self) {
        if self.close.is_none() && !self.lost {
            self.close = Some(CloseRequest::Lose);
        }
    }

    /// Discards pending writes and resets the connection. Harmless to call twice, or after
    /// `lose_connection` (the abort wins if the close has not completed).
    pub fn abort_connection(&mut self) {
        if !self.lost {
            self.close = Some(CloseRequest::Abort);
            self.pending.clear();
        }
    }

    /// This side's address.
    pub fn host(&self) -> &Address {
        &self.host
    }

    /// The peer's address.
    pub fn peer(&self) -> &Address {
        &self.peer
    }

    /// The name of the reactor driving this connection (`tokio-ct`, ...).
    pub fn reactor(&self) -> &'static str {
        self.reactor
    }

    /// Whether the protocol has asked to close or abort.
    pub fn close_requested(&self) -> Option<CloseRequest> {
        self.close
    }

    /// Whether the connection has ended (writes are no-ops).
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    fn accepts_writes(&self) -> bool {
        !self.lost && self.close != Some(CloseRequest::Abort)
    }

    // The reactor side of the handle.

    /// Bytes written and not yet taken by the reactor.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.pending
    }

    pub(crate) fn consume(&mut self, sent: usize) {
        self.pending.drain(..sent);
    }

    pub(crate) fn force_abort(&mut self) {
        self.close = Some(CloseRequest::Abort);
        self.pending.clear();
    }

    pub(crate) fn mark_lost(&mut self) {
        self.lost = true;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> Transport {
        let addr = Address::Ip(SocketAddr::from(([127, 0, 0, 1], 1)));
        Transport::new(addr.clone(), addr, "test")
    }

    #[test]
    fn write_sequence_concatenates() {
        let mut t = transport();
        t.write_sequence([&b"Some "[..], b"sequence ", b"splitted"]);
        assert_eq!(t.pending(), b"Some sequence splitted");
    }

    #[test]
    fn close_commands_are_idempotent_and_abort_wins() {
        let mut t = transport();
        t.write(b"kept");
        t.lose_connection();
        t.lose_connection();
        assert_eq!(t.close_requested(), Some(CloseRequest::Lose));
        t.write(b" too");
        assert_eq!(t.pending(), b"kept too");
        t.abort_connection();
        t.abort_connection();
        t.lose_connection();
        assert_eq!(t.close_requested(), Some(CloseRequest::Abort));
        assert_eq!(t.pending(), b"");
        t.write(b"dropped");
        assert_eq!(t.pending(), b"");
    }

    #[test]
    fn writes_after_loss_are_silent() {
        let mut t = transport();
        t.mark_lost();
        t.write(b"x");
        t.lose_connection();
        t.abort_connection();
        assert_eq!(t.pending(), b"");
        assert_eq!(t.close_requested(), None);
    }
}
