//! [`Harness`]: drive one protocol by hand, without sockets, for unit tests of probes.
//!
//! It plays the reactor's part for a single side: `connection_made` at construction, then
//! whatever input the test feeds, in the side's delivery mode, collecting what the protocol
//! writes and how it asks to close. Feeding the same input `Whole` and `Bytewise` is how a probe
//! proves it does not depend on chunk boundaries (tokio-util's `framed_read` tests do the same).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use crate::transport::CloseRequest;
use crate::{
    Address, ConnectableProtocol, Connection, Delivery, DisconnectReason, Protocol, Trace,
};

/// One protocol driven by hand. See the module documentation.
#[derive(Debug)]
pub struct Harness {
    connection: Connection,
    side: ConnectableProtocol,
    written: Vec<u8>,
}

impl Harness {
    /// Connects `protocol` (runs `connection_made`) with the given delivery mode.
    pub fn new(protocol: impl Protocol, delivery: Delivery) -> Self {
        let mut side = ConnectableProtocol::new(protocol).with_delivery(delivery);
        let mut connection = Connection::new(&mut side, "harness", Instant::now())
            .expect("a fresh side is not paired yet");
        let addr = |port| Address::Ip(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        connection.made(addr(1), addr(2));
        let mut harness = Self {
            connection,
            side,
            written: Vec::new(),
        };
        harness.collect();
        harness
    }

    /// Completes the TLS handshake (runs `handshake_completed`).
    pub fn handshake(&mut self) -> &mut Self {
        self.connection.handshake_completed();
        self.collect();
        self
    }

    /// Delivers `data` as the delivery mode says.
    pub fn feed(&mut self, data: &[u8]) -> &mut Self {
        self.connection.received(data);
        self.collect();
        self
    }

    /// Ends the connection with `reason` (runs `connection_lost`).
    pub fn end(&mut self, reason: DisconnectReason) -> &mut Self {
        self.connection.finish(reason);
        self
    }

    /// Everything the protocol wrote that would have been sent (writes discarded by an abort
    /// are not here).
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    /// How the protocol asked to end the connection, if it did.
    pub fn close_requested(&self) -> Option<CloseRequest> {
        self.connection.close_requested()
    }

    /// The recorded reason, once ended.
    pub fn reason(&self) -> Option<DisconnectReason> {
        self.side.disconnect_reason()
    }

    /// The side's trace so far.
    pub fn trace(&self) -> Trace {
        self.side.trace()
    }

    fn collect(&mut self) {
        let pending = self.connection.pending_writes();
        self.written.extend_from_slice(pending);
        let n = pending.len();
        self.connection.wrote(n);
    }
}
