//! [`Connection`]: the sans-IO core a reactor drives, one per side of a pairing.
//!
//! A reactor owns the socket; the `Connection` owns the protocol, its [`Transport`] handle and
//! the side's record. The reactor reports what happened (`made`, `handshake_completed`,
//! `received`, `wrote`, `peer_half_closed`, `write_closed`, `fire_timer`, `finish`) and carries
//! out what the protocol asked (`pending_writes`, `close_requested`, `half_close_requested`,
//! `wants_read`, `take_new_timers`). Everything the contract promises that does not depend on a
//! socket lives here, so every reactor gets it the same way: callbacks in order and never
//! re-entrant, `connection_lost` exactly once, no data after a close was requested, data held
//! while reading is paused, bytewise delivery, producer notifications at the water marks,
//! panics caught and turned into `error`, the trace.

use std::any::Any;
use std::io::IoSlice;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::side::SideRecord;
use crate::transport::CloseRequest;
use crate::{
    Address, CallbackResult, ConnectableProtocol, Delivery, DisconnectReason, Error, Event,
    HIGH_WATER, ProducerKind, Protocol, TimerId, Transport,
};

/// One side of a connection as a reactor sees it.
pub struct Connection {
    protocol: Box<dyn Protocol>,
    transport: Option<Transport>,
    delivery: Delivery,
    record: Arc<SideRecord>,
    reactor: &'static str,
    failure: Option<String>,
    finished: bool,
    /// Bytes read while reading was paused (or that arrived in the same read as the pause),
    /// delivered once reading resumes.
    held: Vec<u8>,
    /// What the protocol's reading state was after the last callback, to record changes.
    reading_paused: bool,
    /// The producer as last seen, to notice a new registration.
    producer: Option<ProducerKind>,
    producer_paused: bool,
    peer_half_closed: bool,
    /// The state of the split points of [`Delivery::Chunked`].
    chunking: u64,
    /// The close the protocol asked for, as last seen: the trace records when it asks, so a
    /// trial that times out can say what the side was waiting for.
    close_seen: (Option<CloseRequest>, bool),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("reactor", &self.reactor)
            .field("delivery", &self.delivery)
            .field("transport", &self.transport)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Takes the protocol out of `side` for a pairing driven by `reactor`, with times in the
    /// trace counted from `origin`. Fails if the side was already paired.
    pub fn new(
        side: &mut ConnectableProtocol,
        reactor: &'static str,
        origin: Instant,
    ) -> Result<Self, Error> {
        let protocol = side.protocol.take().ok_or(Error::AlreadyPaired)?;
        {
            let mut state = side.record.lock();
            state.reactor = Some(reactor);
            state.origin = Some(origin);
        }
        Ok(Self {
            protocol,
            transport: None,
            delivery: side.delivery,
            record: Arc::clone(&side.record),
            reactor,
            failure: None,
            finished: false,
            held: Vec::new(),
            reading_paused: false,
            producer: None,
            producer_paused: false,
            peer_half_closed: false,
            close_seen: (None, false),
            chunking: match side.delivery {
                Delivery::Chunked(seed) => seed,
                _ => 0,
            },
        })
    }

    /// The connection is established: runs `connection_made`.
    pub fn made(&mut self, host: Address, peer: Address) {
        if self.transport.is_some() || self.finished {
            return;
        }
        self.transport = Some(Transport::new(host, peer, self.reactor));
        self.event(Event::Made);
        self.call(|p, t| p.connection_made(t));
    }

    /// The TLS handshake completed: runs `handshake_completed`.
    pub fn handshake_completed(&mut self) {
        if !self.is_open() {
            return;
        }
        self.event(Event::Handshake);
        self.call(|p, t| p.handshake_completed(t));
    }

    /// Bytes arrived: hands them to `data_received` in chunks as the delivery mode says,
    /// stopping as soon as the protocol asks to close, and holding the rest while reading is
    /// paused.
    pub fn received(&mut self, data: &[u8]) {
        if self.held.is_empty() {
            let delivered = self.deliver(data);
            if self.accepts_data() && delivered < data.len() {
                self.held.extend_from_slice(&data[delivered..]);
            }
        } else {
            self.held.extend_from_slice(data);
            self.deliver_held();
        }
    }

    /// Whether the reactor should read from the socket now: the connection is open, reading
    /// is not paused, and nothing is held back.
    pub fn wants_read(&self) -> bool {
        self.accepts_data() && !self.reading_paused && self.held.is_empty()
    }

    /// The first of the bytes the protocol wrote that the reactor has not sent yet (a
    /// contiguous part of them): empty only when nothing is pending.
    pub fn pending_writes(&self) -> &[u8] {
        self.transport.as_ref().map_or(&[], Transport::pending)
    }

    /// Fills `slices` with the bytes pending, in order, for a vectored write of at most
    /// `limit` bytes; how many slices it filled (0 when nothing is pending).
    pub fn pending_write_slices<'a>(&'a self, slices: &mut [IoSlice<'a>], limit: usize) -> usize {
        self.transport
            .as_ref()
            .map_or(0, |t| t.pending_slices(slices, limit))
    }

    /// How many bytes are pending in all.
    pub fn buffered_writes(&self) -> usize {
        self.transport.as_ref().map_or(0, Transport::buffered)
    }

    /// The reactor sent the first `n` bytes of [`pending_writes`](Self::pending_writes).
    /// When that empties the write buffer, a producer is told to resume.
    pub fn wrote(&mut self, n: usize) {
        let Some(transport) = &mut self.transport else {
            return;
        };
        transport.consume(n);
        if n > 0 && transport.buffered() == 0 && !self.finished {
            let resume = match self.producer {
                Some(ProducerKind::Pull) => true,
                Some(ProducerKind::Streaming) => self.producer_paused,
                None => false,
            };
            if resume {
                self.producer_paused = false;
                self.event(Event::ResumeProducing);
                self.call(|p, t| p.resume_producing(t));
            }
        }
    }

    /// Whether the protocol asked to close or abort (or a callback failed, which aborts).
    pub fn close_requested(&self) -> Option<CloseRequest> {
        self.transport.as_ref().and_then(Transport::close_requested)
    }

    /// Whether the protocol asked to shut down writing only (and it has not happened yet).
    pub fn half_close_requested(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(Transport::half_close_requested)
    }

    /// The reactor shut down this side's writing (after flushing): runs
    /// `write_connection_lost`.
    pub fn write_closed(&mut self) {
        let Some(transport) = &mut self.transport else {
            return;
        };
        if self.finished || transport.is_write_closed() {
            return;
        }
        transport.mark_write_closed();
        self.event(Event::WriteLost);
        self.call(|p, t| p.write_connection_lost(t));
    }

    /// Whether this side's writing was shut down by a half-close.
    pub fn is_write_closed(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(Transport::is_write_closed)
    }

    /// The peer shut down its writing side (EOF). If the protocol is half-close aware this
    /// runs `read_connection_lost` and returns true: the connection stays open for writing.
    /// Otherwise it returns false and the reactor closes the connection fully.
    pub fn peer_half_closed(&mut self) -> bool {
        if !self.is_open() || !self.protocol.half_close_aware() {
            return false;
        }
        if !self.peer_half_closed {
            self.peer_half_closed = true;
            self.event(Event::ReadLost);
            self.call(|p, t| p.read_connection_lost(t));
        }
        true
    }

    /// Whether the peer has half-closed (the reactor must not read again).
    pub fn is_read_closed(&self) -> bool {
        self.peer_half_closed
    }

    /// Timers the protocol set since the last call, with their delays, for the reactor to
    /// schedule.
    pub fn take_new_timers(&mut self) -> Vec<(TimerId, Duration)> {
        self.transport
            .as_mut()
            .map(Transport::take_new_timers)
            .unwrap_or_default()
    }

    /// A scheduled timer is due: runs `timer_fired` unless it was cancelled.
    pub fn fire_timer(&mut self, timer: TimerId) {
        if !self.is_open() {
            return;
        }
        let live = self
            .transport
            .as_mut()
            .is_some_and(|t| t.claim_timer(timer));
        if live {
            self.event(Event::Timer);
            self.call(|p, t| p.timer_fired(t, timer));
        }
    }

    /// The connection ended: tells a registered producer to stop, runs `connection_lost` once
    /// (unless the connection was never made), records the reason, and completes the side's
    /// `done`. If a callback of this side failed, the reason recorded is
    /// [`DisconnectReason::Error`]. Later calls do nothing.
    pub fn finish(&mut self, reason: DisconnectReason) {
        if self.finished {
            return;
        }
        let reason = match &self.failure {
            Some(message) => DisconnectReason::Error(message.clone()),
            None => reason,
        };
        if self.transport.is_some() {
            if self
                .transport
                .as_ref()
                .and_then(Transport::producer)
                .is_some()
            {
                self.event(Event::StopProducing);
                self.call(|p, t| p.stop_producing(t));
            }
            self.finished = true;
            if let Some(transport) = &mut self.transport {
                transport.mark_lost();
            }
            self.event(Event::Lost(reason.kind()));
            self.call(|p, t| p.connection_lost(t, &reason));
        }
        self.finished = true;
        self.held = Vec::new();
        let reason = match &self.failure {
            Some(message) => DisconnectReason::Error(message.clone()),
            None => reason,
        };
        self.record.end(reason);
    }

    /// Whether [`finish`](Self::finish) has run.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn is_open(&self) -> bool {
        self.transport.is_some() && !self.finished
    }

    /// Whether the protocol may still be handed data.
    fn accepts_data(&self) -> bool {
        self.is_open() && self.close_requested().is_none() && !self.peer_half_closed
    }

    /// Hands `data` over chunk by chunk while the protocol accepts it; returns how many bytes
    /// were handed over.
    fn deliver(&mut self, data: &[u8]) -> usize {
        let mut delivered = 0;
        while delivered < data.len() {
            if !self.accepts_data() || self.reading_paused {
                break;
            }
            let left = data.len() - delivered;
            let size = match self.delivery {
                Delivery::Whole => left,
                Delivery::Bytewise => 1,
                Delivery::Chunked(_) => 1 + (self.next_random() % left as u64) as usize,
            };
            let chunk = &data[delivered..delivered + size];
            {
                let mut state = self.record.lock();
                let at = state.since_origin();
                state.trace.push(at, Event::Data(chunk.len()));
                state.trace.record_received(chunk);
            }
            delivered += size;
            self.call(|p, t| p.data_received(t, chunk));
        }
        delivered
    }

    /// splitmix64: small, fast, and the same sequence for the same seed everywhere.
    fn next_random(&mut self) -> u64 {
        self.chunking = self.chunking.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.chunking;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn deliver_held(&mut self) {
        if self.held.is_empty() || self.reading_paused || !self.accepts_data() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        let delivered = self.deliver(&held);
        if self.accepts_data() {
            // Whatever arrived meanwhile was appended to the (new) held buffer; keep order.
            let mut rest = held[delivered..].to_vec();
            rest.append(&mut self.held);
            self.held = rest;
        }
    }

    fn event(&self, event: Event) {
        let mut state = self.record.lock();
        let at = state.since_origin();
        state.trace.push(at, event);
    }

    /// Runs one callback, then what it set off: reading paused or resumed (held data is
    /// delivered on resume), a producer registered or over the high-water mark.
    fn call(&mut self, callback: impl FnOnce(&mut dyn Protocol, &mut Transport) -> CallbackResult) {
        self.call_once(callback);
        self.settle();
    }

    /// Runs one callback, turning a panic or an error into a recorded failure that aborts
    /// the connection.
    fn call_once(
        &mut self,
        callback: impl FnOnce(&mut dyn Protocol, &mut Transport) -> CallbackResult,
    ) {
        let Some(transport) = self.transport.as_mut() else {
            return;
        };
        let protocol = &mut *self.protocol;
        let message = match catch_unwind(AssertUnwindSafe(|| callback(protocol, transport))) {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(panic) => format!("panicked: {}", panic_message(&*panic)),
        };
        transport.force_abort();
        self.event(Event::CallbackFailed(message.clone()));
        self.failure.get_or_insert(message);
    }

    fn settle(&mut self) {
        let Some(transport) = &self.transport else {
            return;
        };
        let paused = transport.is_reading_paused();
        let producer = transport.producer();
        let buffered = transport.buffered();
        let close = (
            transport.close_requested(),
            transport.half_close_requested(),
        );
        if close != self.close_seen && !self.finished {
            self.close_seen = close;
            self.event(match close {
                (Some(request), _) => Event::CloseRequested(request),
                (None, _) => Event::HalfCloseRequested,
            });
        }
        if paused != self.reading_paused && !self.finished {
            self.reading_paused = paused;
            self.event(if paused {
                Event::Paused
            } else {
                Event::Resumed
            });
            if !paused {
                self.deliver_held();
            }
        }
        if producer != self.producer {
            self.producer = producer;
            self.producer_paused = false;
            if producer == Some(ProducerKind::Pull) && !self.finished {
                // Twisted's registerProducer resumes a pull producer at once.
                self.event(Event::ResumeProducing);
                self.call(|p, t| p.resume_producing(t));
                return;
            }
        }
        if producer == Some(ProducerKind::Streaming)
            && !self.producer_paused
            && buffered > HIGH_WATER
            && !self.finished
        {
            self.producer_paused = true;
            self.event(Event::PauseProducing);
            self.call(|p, t| p.pause_producing(t));
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "a non-string payload"
    }
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;
    use crate::{CallbackResult, Delivery, Event, Protocol, Transport};

    struct Sink;

    impl Protocol for Sink {
        fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
            Ok(())
        }
    }

    /// The chunk sizes `data_received` saw for `input` fed in these reads.
    fn chunks(delivery: Delivery, reads: &[&[u8]]) -> Vec<usize> {
        let mut harness = Harness::new(Sink, delivery);
        for read in reads {
            harness.feed(read);
        }
        let trace = harness.trace();
        assert_eq!(
            trace.received(),
            reads.concat(),
            "{delivery:?} keeps every byte"
        );
        trace
            .events()
            .iter()
            .filter_map(|e| match e.event {
                Event::Data(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn chunked_delivery_is_reproducible_from_its_seed() {
        let reads: &[&[u8]] = &[&[b'x'; 1000], &[b'y'; 37], b"z"];
        let first = chunks(Delivery::Chunked(42), reads);
        assert_eq!(first, chunks(Delivery::Chunked(42), reads));
        assert_ne!(first, chunks(Delivery::Chunked(43), reads));
        assert!(first.len() > reads.len(), "reads are split: {first:?}");
        assert_eq!(chunks(Delivery::Whole, reads), [1000, 37, 1]);
        assert_eq!(chunks(Delivery::Bytewise, reads).len(), 1038);
    }
}
