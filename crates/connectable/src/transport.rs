//! The [`Transport`] handle a protocol gets in every callback: commands out, addresses in.
//!
//! The handle only records what the protocol asked for (bytes to send, a close or an abort);
//! the reactor carries it out once the callback returns. Nothing here blocks or does I/O.

use std::fmt;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use crate::write_queue::WriteQueue;

/// Where one end of a connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Address {
    /// An IP socket address (TCP, TLS over TCP).
    Ip(SocketAddr),
    /// A UNIX domain socket's path (empty for the unnamed connecting side).
    Unix(std::path::PathBuf),
    /// One end of an in-memory pipe.
    Memory(&'static str),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(addr) => write!(f, "{addr}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Memory(end) => write!(f, "memory:{end}"),
        }
    }
}

/// How the protocol asked the connection to end, if it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseRequest {
    /// `lose_connection`: flush pending writes, close cleanly.
    Lose,
    /// `lose_connection_without_close_notify`: flush, then FIN without TLS close_notify.
    LoseWithoutCloseNotify,
    /// `abort_connection`: discard pending writes, reset.
    Abort,
}

/// What kind of producer a protocol registered (Twisted's `registerProducer(p, streaming)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerKind {
    /// Writes on its own until told `pause_producing`; told `resume_producing` once the
    /// write buffer has drained.
    Streaming,
    /// Writes only when told `resume_producing`, which happens each time the write buffer
    /// is empty.
    Pull,
}

/// A timer set with [`Transport::call_later`]; [`Protocol::timer_fired`] gets it back.
///
/// [`Protocol::timer_fired`]: crate::Protocol::timer_fired
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);

/// The write buffer size above which a streaming producer is paused (Twisted's 64 KiB).
pub const HIGH_WATER: usize = 64 * 1024;

/// The command handle a [`Protocol`](crate::Protocol) callback gets (Twisted's `ITransport`).
#[derive(Debug)]
pub struct Transport {
    /// Written bytes the reactor has not sent yet.
    pending: WriteQueue,
    close: Option<CloseRequest>,
    lost: bool,
    half_close: bool,
    write_closed: bool,
    reading_paused: bool,
    producer: Option<ProducerKind>,
    next_timer: u64,
    new_timers: Vec<(TimerId, Duration)>,
    live_timers: Vec<TimerId>,
    host: Address,
    peer: Address,
    reactor: &'static str,
    /// A command the protocol must not give (a second producer): the callback that gave it
    /// fails with this, as if it had returned the error.
    misuse: Option<String>,
    /// The certificate the TLS peer presented (DER), once the handshake has completed.
    peer_certificate: Option<Vec<u8>>,
}

impl Transport {
    /// A transport between `host` (this side) and `peer`, driven by the named reactor.
    pub fn new(host: Address, peer: Address, reactor: &'static str) -> Self {
        Self {
            pending: WriteQueue::default(),
            close: None,
            lost: false,
            half_close: false,
            write_closed: false,
            reading_paused: false,
            producer: None,
            next_timer: 0,
            new_timers: Vec::new(),
            live_timers: Vec::new(),
            host,
            peer,
            reactor,
            misuse: None,
            peer_certificate: None,
        }
    }

    /// Queues `data` to be sent. A no-op once the connection was aborted or lost; data written
    /// after `lose_connection` in the same callback still goes out before the close, as in
    /// Twisted.
    pub fn write(&mut self, data: &[u8]) {
        if self.accepts_writes() {
            self.pending.copy(data);
        }
    }

    /// Queues `data` to be sent, as [`write`](Self::write) does, without copying it: the
    /// reactor sends from `data` itself (a payload of 4 KiB or more; smaller ones are
    /// copied). For large payloads a protocol already holds, or `&'static` ones
    /// (`Bytes::from_static`): copying them into the write buffer would cost as much as
    /// sending them over loopback.
    pub fn write_shared(&mut self, data: impl Into<Bytes>) {
        if self.accepts_writes() {
            self.pending.share(data.into());
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

    /// Like `lose_connection`, but over TLS the TCP connection is closed (FIN) without
    /// sending close_notify first: a disorderly TLS shutdown, which the peer must see as
    /// `lost` (a truncation attack looks the same). Over plain TCP it is `lose_connection`.
    pub fn lose_connection_without_close_notify(&mut self) {
        if self.close.is_none() && !self.lost {
            self.close = Some(CloseRequest::LoseWithoutCloseNotify);
        }
    }

    /// Shuts down writing only, once what was written is flushed (TCP: FIN, and reading goes
    /// on; `write_connection_lost` follows). Over TLS there is no half-close: close_notify
    /// ends the whole connection, so this is `lose_connection`. Calling it twice, or once the
    /// connection is closing or lost, does nothing.
    pub fn half_close(&mut self) {
        if self.close.is_none() && !self.lost {
            self.half_close = true;
        }
    }

    /// Stops delivering data (Twisted's `pauseProducing` on a transport, `stopReading`):
    /// bytes stay in the kernel, and an EOF is not seen, until `resume_reading`.
    pub fn pause_reading(&mut self) {
        self.reading_paused = true;
    }

    /// Delivers data again after `pause_reading`.
    pub fn resume_reading(&mut self) {
        self.reading_paused = false;
    }

    /// Whether reading is paused.
    pub fn is_reading_paused(&self) -> bool {
        self.reading_paused
    }

    /// Registers the protocol as the producer feeding this transport: it gets
    /// `pause_producing` when the write buffer passes [`HIGH_WATER`], `resume_producing` when
    /// it has drained (a pull producer: each time it is empty, starting now), and
    /// `stop_producing` when the connection ends.
    ///
    /// Registering a second producer while one is registered is a mistake (Twisted raises
    /// `RuntimeError`): the callback that does it fails, so the side ends `error` with that
    /// detail, and the first producer stays registered until then. After the connection is
    /// lost it is a silent no-op, as every command is.
    pub fn register_producer(&mut self, kind: ProducerKind) {
        if self.lost {
            return;
        }
        if self.producer.is_some() {
            self.misuse.get_or_insert_with(|| {
                "register_producer: a producer is already registered; unregister it first".into()
            });
            return;
        }
        self.producer = Some(kind);
    }

    /// Stops producer notifications. Harmless without a producer, and after the connection
    /// is lost (Twisted's `test_unregisterProducerAfterDisconnect`).
    pub fn unregister_producer(&mut self) {
        self.producer = None;
    }

    /// The registered producer, if any.
    pub fn producer(&self) -> Option<ProducerKind> {
        self.producer
    }

    /// Calls the protocol's `timer_fired` with the returned id after `delay`, unless it is
    /// cancelled first. Every timer is cancelled when the connection ends.
    pub fn call_later(&mut self, delay: Duration) -> TimerId {
        let id = TimerId(self.next_timer);
        self.next_timer += 1;
        if !self.lost {
            self.new_timers.push((id, delay));
            self.live_timers.push(id);
        }
        id
    }

    /// Cancels a timer; harmless if it already fired or was cancelled.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.live_timers.retain(|t| *t != timer);
        self.new_timers.retain(|(t, _)| *t != timer);
    }

    /// Bytes written and not yet handed to the network: the write buffer.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Discards pending writes and resets the connection. Harmless to call twice, or after
    /// `lose_connection` (the abort wins if the close has not completed).
    pub fn abort_connection(&mut self) {
        if !self.lost {
            self.close = Some(CloseRequest::Abort);
            self.clear_pending();
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

    /// The certificate (DER) the TLS peer presented, from `handshake_completed` on (Twisted's
    /// `getPeerCertificate`); `None` before, over plain streams, or if it presented none.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.peer_certificate.as_deref()
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
        !self.lost && !self.write_closed && self.close != Some(CloseRequest::Abort)
    }

    // The reactor side of the handle.

    /// The first of the bytes written and not yet taken by the reactor (a contiguous part
    /// of them): empty only when nothing is pending.
    pub(crate) fn pending(&self) -> &[u8] {
        self.pending.front()
    }

    /// Fills `slices` with the pending bytes in order, at most `limit` of them; how many
    /// slices it filled.
    pub(crate) fn pending_slices<'a>(&'a self, slices: &mut [IoSlice<'a>], limit: usize) -> usize {
        self.pending.slices(slices, limit)
    }

    fn clear_pending(&mut self) {
        self.pending.clear();
    }

    pub(crate) fn consume(&mut self, sent: usize) {
        self.pending.consume(sent);
    }

    pub(crate) fn set_peer_certificate(&mut self, der: Vec<u8>) {
        self.peer_certificate = Some(der);
    }

    /// The mistake a callback made with this handle, if any (taken: reported once).
    pub(crate) fn take_misuse(&mut self) -> Option<String> {
        self.misuse.take()
    }

    pub(crate) fn force_abort(&mut self) {
        self.close = Some(CloseRequest::Abort);
        self.clear_pending();
    }

    pub(crate) fn mark_lost(&mut self) {
        self.lost = true;
        self.clear_pending();
        self.producer = None;
        self.new_timers.clear();
        self.live_timers.clear();
    }

    pub(crate) fn half_close_requested(&self) -> bool {
        self.half_close && !self.write_closed
    }

    /// The write side is shut: later writes are no-ops.
    pub(crate) fn mark_write_closed(&mut self) {
        self.write_closed = true;
        self.clear_pending();
    }

    pub(crate) fn is_write_closed(&self) -> bool {
        self.write_closed
    }

    pub(crate) fn take_new_timers(&mut self) -> Vec<(TimerId, Duration)> {
        std::mem::take(&mut self.new_timers)
    }

    /// Takes the timer out of the live set; true if it was live (not cancelled).
    pub(crate) fn claim_timer(&mut self, timer: TimerId) -> bool {
        let live = self.live_timers.contains(&timer);
        self.live_timers.retain(|t| *t != timer);
        live
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
    fn partial_sends_leave_the_rest_in_order() {
        let mut t = transport();
        t.write(b"abcdefgh");
        for (sent, left) in [(1, &b"bcdefgh"[..]), (2, b"defgh"), (3, b"gh"), (0, b"gh")] {
            t.consume(sent);
            assert_eq!(t.pending(), left);
            assert_eq!(t.buffered(), left.len());
        }
        t.write(b"ij");
        assert_eq!(t.pending(), b"ghij");
        t.consume(4);
        assert_eq!(t.pending(), b"");
        assert_eq!(t.buffered(), 0);
    }

    #[test]
    fn shared_writes_keep_their_place_and_obey_the_same_rules() {
        let big = vec![b'x'; 8192];
        let mut t = transport();
        t.write(b"a");
        t.write_shared(big.clone());
        t.write(b"b");
        t.write_shared(&b"small"[..]);
        assert_eq!(t.buffered(), 1 + big.len() + 1 + 5);
        let mut sent = Vec::new();
        while !t.pending().is_empty() {
            let n = t.pending().len().min(3000);
            sent.extend_from_slice(&t.pending()[..n]);
            t.consume(n);
        }
        assert_eq!(sent, [&b"a"[..], &big, b"b", b"small"].concat());
        t.abort_connection();
        t.write_shared(big);
        assert_eq!(t.buffered(), 0, "nothing is queued after an abort");
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
