//! [`Connection`]: the sans-IO core a reactor drives, one per side of a pairing.
//!
//! A reactor owns the socket and the waiting; the `Connection` owns the protocol, its
//! [`Transport`] handle, its timers and the side's record, and decides everything the contract
//! says that needs no socket. It is driven the way quinn-proto's `Connection` is: the reactor
//! hands it events with the time (`made`, `handshake_completed`, `received`, `wrote`,
//! `peer_closed`, `write_shut`, `reset_done`, `failed`, `handle_timeout`), then asks it what to
//! do ([`poll_action`](Connection::poll_action), [`wants_read`](Connection::wants_read),
//! [`pending_write_slices`](Connection::pending_write_slices),
//! [`poll_timeout`](Connection::poll_timeout)). A reactor's loop, in full:
//!
//! ```text
//! made(host, peer, tls, now)
//! loop:
//!   match poll_action(now):
//!     Handshake           run the TLS handshake; handshake_completed(), or failed(error)
//!     Exchange            send pending_write_slices (report wrote(n)); read if wants_read
//!                         (received(bytes), or peer_closed(now) at EOF); wait for either, or
//!                         until poll_timeout, then handle_timeout(now); failed(error) on error
//!     ShutDownWriting     send what the stream still holds, close_notify if asked, then FIN,
//!                         by poll_timeout; write_shut(now), or failed(error), or
//!                         handle_timeout(now) when poll_timeout passes first
//!     Reset               discard what is unsent, close with a reset; reset_done()
//!     Finished            drop the stream: the side has ended
//! ```
//!
//! So every rule lives here, once, for every reactor: callbacks in order and never re-entrant,
//! `connection_made` before anything else, `connection_lost` exactly once, no data after a
//! close was requested, data held while reading is paused, bytewise delivery, producer
//! notifications at the water marks, panics caught and turned into `error`, the trace; and the
//! closing rules: which close to perform (over TLS a half-close is a full close), what the
//! peer's EOF means (`read_connection_lost` for a half-close-aware protocol over plain
//! streams, else flush and close), an abort requested in `connection_made` (a reset, before
//! any handshake), the linger after our FIN (its end counts as `done`), the bound on the last
//! flush, and which reason an I/O error means ([`reason_for`]).

use std::any::Any;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::{self, IoSlice};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::side::SideRecord;
use crate::transport::CloseRequest;
use crate::{
    Address, CallbackResult, ConnectableProtocol, Delivery, DisconnectReason, Error, Event,
    HIGH_WATER, ProducerKind, Protocol, TimerId, Transport,
};

/// How long a closing side waits for the peer's EOF after sending its own, reading and
/// discarding, so that unread bytes in the receive buffer do not turn a clean close into a
/// reset (its end counts as `done`); and how long the last flush before a FIN may take. Part
/// of the contract, so it lives here and not in a reactor. The default: a side may set its own
/// ([`ConnectableProtocol::with_linger`]).
pub const LINGER: Duration = Duration::from_secs(2);

/// What the reactor must do next for one side: [`Connection::poll_action`]'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Run the TLS handshake, without sending the protocol's writes yet; then call
    /// `handshake_completed`, or `failed` with the handshake's error.
    Handshake,
    /// Send what [`Connection::pending_write_slices`] holds and report it with `wrote`; read
    /// if [`Connection::wants_read`], handing the bytes to `received` and an EOF to
    /// `peer_closed`; wait for either, or until [`Connection::poll_timeout`], then call
    /// `handle_timeout`. A failed read or write goes to `failed`.
    Exchange,
    /// Nothing of the protocol's is pending: send what the stream itself still holds (TLS
    /// records), close_notify if `close_notify`, then shut down writing (FIN); then call
    /// `write_shut`, or `failed`. Bounded by [`Connection::poll_timeout`]: if it passes
    /// first, call `handle_timeout`.
    ShutDownWriting {
        /// Over TLS: send close_notify before the FIN (false: a close without it).
        close_notify: bool,
    },
    /// Discard what is unsent and close with a reset where the transport has one (TCP: RST);
    /// then call `reset_done`.
    Reset,
    /// The side has ended (`connection_lost` has run): drop the stream.
    Finished,
}

/// Where a side is in its life, as far as the contract cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Connected over TLS, the handshake not over yet.
    Handshaking,
    /// Exchanging data (also before `made`, when nothing can happen yet).
    Open,
    /// Sending the protocol's last writes, then shutting down writing. `deadline` bounds the
    /// last flush: it starts once the protocol's writes are all sent, or at once when the
    /// peer closed first or the protocol half-closed.
    ShuttingDown {
        close_notify: bool,
        then: AfterShutdown,
        deadline: Option<Instant>,
    },
    /// Our FIN went out: reading and discarding until the peer's EOF, or `until`.
    Lingering { until: Instant },
    /// `finish` has run.
    Finished,
}

/// What follows a shut-down of writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterShutdown {
    /// The protocol half-closed: `write_connection_lost`, and reading goes on.
    ReadOn,
    /// The protocol closed: linger for the peer's EOF.
    Linger,
    /// The peer had closed first: the side is done.
    Done,
}

/// One side of a connection as a reactor sees it.
pub struct Connection {
    protocol: Box<dyn Protocol>,
    transport: Option<Transport>,
    delivery: Delivery,
    /// How long the last flush and the wait for the peer's EOF may take ([`LINGER`]).
    linger: Duration,
    record: Arc<SideRecord>,
    reactor: &'static str,
    failure: Option<String>,
    finished: bool,
    phase: Phase,
    /// Whether the stream is TLS: it has no half-close, and close_notify matters.
    tls: bool,
    /// The protocol's timers, by deadline.
    timers: BTreeSet<(Instant, TimerId)>,
    /// Bytes read while reading was paused (or that arrived in the same read as the pause),
    /// delivered once reading resumes.
    held: Vec<u8>,
    /// What the protocol's reading state was after the last callback, to record changes.
    reading_paused: bool,
    /// The producer as last seen, to notice a new registration.
    producer: Option<ProducerKind>,
    producer_paused: bool,
    /// The peer half-closed and the protocol was told (`read_connection_lost`).
    peer_half_closed: bool,
    /// The peer's EOF arrived while this side was closing: nothing more to read.
    peer_eof: bool,
    /// The state of the split points of [`Delivery::Chunked`].
    chunking: u64,
    /// How the protocol's writes are split into separate writes to the stream, when the side
    /// asked for it ([`ConnectableProtocol::split_writes`]).
    write_split: Option<WriteSplit>,
    /// The close the protocol asked for, as last seen: the trace records when it asks, so a
    /// trial that times out can say what the side was waiting for.
    close_seen: (Option<CloseRequest>, bool),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("reactor", &self.reactor)
            .field("delivery", &self.delivery)
            .field("phase", &self.phase)
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
            linger: side.linger,
            record: Arc::clone(&side.record),
            reactor,
            failure: None,
            finished: false,
            phase: Phase::Open,
            tls: false,
            timers: BTreeSet::new(),
            held: Vec::new(),
            reading_paused: false,
            producer: None,
            producer_paused: false,
            peer_half_closed: false,
            peer_eof: false,
            close_seen: (None, false),
            chunking: match side.delivery {
                Delivery::Chunked(seed) => seed,
                _ => 0,
            },
            write_split: side
                .split_writes
                .then(|| WriteSplit::new(side.delivery))
                .flatten(),
        })
    }

    /// The connection is established (over TLS: before the handshake): runs
    /// `connection_made`. Timers it sets count from `now`, even if a handshake delays them.
    pub fn made(&mut self, host: Address, peer: Address, tls: bool, now: Instant) {
        if self.transport.is_some() || self.finished {
            return;
        }
        self.tls = tls;
        if tls {
            self.phase = Phase::Handshaking;
        }
        self.record.lock().addresses = Some((host.clone(), peer.clone()));
        self.transport = Some(Transport::new(host, peer, self.reactor));
        self.event(Event::Made);
        self.call(|p, t| p.connection_made(t));
        self.schedule_timers(now);
    }

    /// The TLS handshake agreed on `state`'s version and ALPN protocol, with the peer
    /// presenting `state`'s first certificate, if any: the first two are recorded in the trace
    /// ([`Trace::negotiated`](crate::Trace::negotiated)), the certificate offered by the
    /// transport from now on and kept in the side's record by `handshake_completed` (what the
    /// protocol could see then, [`Transport::peer_certificate`](crate::Transport::peer_certificate)).
    /// A reactor calls it right before [`handshake_completed`](Self::handshake_completed).
    pub fn tls_negotiated(&mut self, state: &rustls::CommonState) {
        self.record
            .lock()
            .trace
            .set_negotiated(crate::Negotiated::of(state));
        if let (Some(transport), Some(certificate)) = (
            &mut self.transport,
            state.peer_certificates().and_then(<[_]>::first),
        ) {
            transport.set_peer_certificate(certificate.to_vec());
        }
    }

    /// The TLS handshake completed: runs `handshake_completed`.
    pub fn handshake_completed(&mut self) {
        if !self.is_open() {
            return;
        }
        if self.phase == Phase::Handshaking {
            self.phase = Phase::Open;
        }
        // What the transport offers as the callback runs: a reactor that reported the peer's
        // certificate late leaves the record without it.
        let certificate = self
            .transport
            .as_ref()
            .and_then(|t| t.peer_certificate().map(<[u8]>::to_vec));
        self.record.lock().peer_certificate = certificate;
        self.event(Event::Handshake);
        self.call(|p, t| p.handshake_completed(t));
    }

    /// What the reactor must do next (see [`Action`]). Call it after every event, with the
    /// time: timers the protocol set since are scheduled from `now`.
    ///
    /// The closing rules live here: an abort (or a failed callback) is a reset, before a
    /// handshake too; a close lets the handshake finish first, then flushes and shuts down
    /// writing, with close_notify over TLS unless the protocol asked for a close without it;
    /// over TLS a half-close is a full close (close_notify ends the whole connection); a
    /// half-close elsewhere shuts down writing only; once both directions are closed the side
    /// is done.
    pub fn poll_action(&mut self, now: Instant) -> Action {
        if self.finished {
            return Action::Finished;
        }
        self.schedule_timers(now);
        loop {
            match self.phase {
                Phase::Finished => return Action::Finished,
                Phase::Handshaking => {
                    return if self.close_requested() == Some(CloseRequest::Abort) {
                        Action::Reset
                    } else {
                        Action::Handshake
                    };
                }
                Phase::Open => {
                    let request = self.close_requested().or_else(|| {
                        (self.tls && self.half_close_requested()).then_some(CloseRequest::Lose)
                    });
                    self.phase = match request {
                        Some(CloseRequest::Abort) => return Action::Reset,
                        Some(request) => Phase::ShuttingDown {
                            close_notify: self.tls
                                && request != CloseRequest::LoseWithoutCloseNotify,
                            then: AfterShutdown::Linger,
                            deadline: None,
                        },
                        None if self.half_close_requested() => Phase::ShuttingDown {
                            close_notify: false,
                            then: AfterShutdown::ReadOn,
                            deadline: Some(now + self.linger),
                        },
                        None if self.is_write_closed() && self.peer_half_closed => {
                            self.finish(DisconnectReason::Done);
                            return Action::Finished;
                        }
                        None => return Action::Exchange,
                    };
                }
                Phase::ShuttingDown {
                    close_notify,
                    then,
                    deadline,
                } => {
                    if self.buffered_writes() > 0 {
                        return Action::Exchange;
                    }
                    if deadline.is_none() {
                        self.phase = Phase::ShuttingDown {
                            close_notify,
                            then,
                            deadline: Some(now + self.linger),
                        };
                    }
                    return Action::ShutDownWriting { close_notify };
                }
                Phase::Lingering { .. } => return Action::Exchange,
            }
        }
    }

    /// When the reactor must call [`handle_timeout`](Self::handle_timeout) at the latest, if
    /// anything is waiting on the clock: the protocol's next timer while open, the bound of
    /// the last flush while shutting down, the end of the linger.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open if !self.finished => self.timers.first().map(|(at, _)| *at),
            Phase::ShuttingDown { deadline, .. } => deadline,
            Phase::Lingering { until } => Some(until),
            _ => None,
        }
    }

    /// The clock reached `now`: fires the protocol's due timers (unless cancelled); ends a
    /// last flush that took longer than the linger ([`LINGER`] by default) `lost`, and a
    /// linger that saw no EOF `done` (our close went out; unread bytes must not make it a
    /// failure).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Open => {
                while let Some(&(at, id)) = self.timers.first() {
                    if at > now || self.finished {
                        break;
                    }
                    self.timers.pop_first();
                    self.fire_timer(id);
                }
            }
            Phase::ShuttingDown {
                deadline: Some(at), ..
            } if at <= now => self.finish(DisconnectReason::Lost(
                "the peer did not take our last writes".into(),
            )),
            Phase::Lingering { until } if until <= now => self.finish(DisconnectReason::Done),
            _ => {}
        }
    }

    /// Bytes arrived: hands them to `data_received` in chunks as the delivery mode says,
    /// stopping as soon as the protocol asks to close, and holding the rest while reading is
    /// paused. Bytes read while closing are discarded.
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

    /// Whether the reactor should read from the stream now: while open, unless reading is
    /// paused, data is held back or the peer half-closed; while closing, to discard what
    /// arrives until the peer's EOF (a peer that writes as much as we do must not deadlock
    /// our last flush), except after a half-close or the peer's EOF.
    pub fn wants_read(&self) -> bool {
        match self.phase {
            Phase::Open => self.delivers_data(),
            Phase::ShuttingDown {
                then: AfterShutdown::Linger,
                ..
            }
            | Phase::Lingering { .. } => !self.peer_half_closed && !self.peer_eof,
            _ => false,
        }
    }

    /// Whether bytes read now would be handed to the protocol (not discarded, not held).
    pub(crate) fn delivers_data(&self) -> bool {
        self.accepts_data() && !self.reading_paused && self.held.is_empty()
    }

    /// The first of the bytes the protocol wrote that the reactor has not sent yet (a
    /// contiguous part of them): empty only when nothing is pending, and before the TLS
    /// handshake is over.
    pub fn pending_writes(&self) -> &[u8] {
        if self.phase == Phase::Handshaking {
            return &[];
        }
        self.transport.as_ref().map_or(&[], Transport::pending)
    }

    /// Fills `slices` with the bytes pending, in order, for a vectored write of at most
    /// `limit` bytes; how many slices it filled (0 when nothing is pending, and before the
    /// TLS handshake is over).
    pub fn pending_write_slices<'a>(&'a self, slices: &mut [IoSlice<'a>], limit: usize) -> usize {
        if self.phase == Phase::Handshaking {
            return 0;
        }
        let Some(transport) = self.transport.as_ref() else {
            return 0;
        };
        let limit = match &self.write_split {
            Some(split) => limit.min(split.piece(transport.buffered())),
            None => limit,
        };
        transport.pending_slices(slices, limit)
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
        if let Some(split) = &self.write_split {
            split.sent(n);
        }
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
    pub(crate) fn half_close_requested(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(Transport::half_close_requested)
    }

    /// The peer shut down its writing side (EOF; over TLS after its close_notify). A
    /// half-close-aware protocol over a plain stream gets `read_connection_lost` and the
    /// connection stays open for writing (Twisted's `IHalfCloseableProtocol`); otherwise the
    /// side flushes what the protocol wrote and closes too, and ends `done`. While this side
    /// closes, it means nothing more is to be read; while it lingers, it ends it `done`.
    pub fn peer_closed(&mut self, now: Instant) {
        if !self.is_open() {
            return;
        }
        match self.phase {
            Phase::Open => {
                if !self.tls && self.protocol.half_close_aware() {
                    if !self.peer_half_closed {
                        self.peer_half_closed = true;
                        self.event(Event::ReadLost);
                        self.call(|p, t| p.read_connection_lost(t));
                    }
                    return;
                }
                self.peer_eof = true;
                self.phase = Phase::ShuttingDown {
                    close_notify: self.tls,
                    then: AfterShutdown::Done,
                    deadline: Some(now + self.linger),
                };
            }
            Phase::ShuttingDown { .. } => self.peer_eof = true,
            Phase::Lingering { .. } => self.finish(DisconnectReason::Done),
            Phase::Handshaking | Phase::Finished => {}
        }
    }

    /// Whether the peer half-closed and the protocol kept the connection open for writing.
    pub fn is_read_closed(&self) -> bool {
        self.peer_half_closed
    }

    /// The reactor shut down this side's writing, as [`Action::ShutDownWriting`] asked. After
    /// a half-close this runs `write_connection_lost` and reading goes on; after a close the
    /// side lingers for the peer's EOF (or is done, if it came already); after the peer's
    /// close the side is done.
    pub fn write_shut(&mut self, now: Instant) {
        let Phase::ShuttingDown { then, .. } = self.phase else {
            return;
        };
        match then {
            AfterShutdown::ReadOn => {
                self.phase = Phase::Open;
                self.write_closed();
            }
            AfterShutdown::Linger if !self.peer_half_closed && !self.peer_eof => {
                self.phase = Phase::Lingering {
                    until: now + self.linger,
                };
            }
            AfterShutdown::Linger | AfterShutdown::Done => self.finish(DisconnectReason::Done),
        }
    }

    /// The reactor reset the connection, as [`Action::Reset`] asked: the side ends `aborted`
    /// (or `error`, if a callback failed).
    pub fn reset_done(&mut self) {
        self.finish(DisconnectReason::Aborted);
    }

    /// Reading or writing failed (a TLS failure included): ends the side with the reason the
    /// error means ([`reason_for`]), except that an EOF without close_notify while lingering
    /// after our own close is still `done`: our close_notify went out.
    pub fn failed(&mut self, error: &io::Error) {
        let reason = match self.phase {
            Phase::Lingering { .. } if error.kind() == io::ErrorKind::UnexpectedEof => {
                DisconnectReason::Done
            }
            _ => reason_for(error),
        };
        self.finish(reason);
    }

    /// The connection ended: tells a registered producer to stop, runs `connection_lost` once
    /// (unless the connection was never made), records the reason, and completes the side's
    /// `done`. If a callback of this side failed, the reason recorded is
    /// [`DisconnectReason::Error`]. Later calls do nothing. Reactors call it for what only
    /// they know (a refused connection); the rest goes through the events above.
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
        self.phase = Phase::Finished;
        self.held = Vec::new();
        self.timers.clear();
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

    /// The protocol's timers not fired yet (cancelled ones included until due), by deadline.
    pub(crate) fn timers(&self) -> impl Iterator<Item = (Instant, TimerId)> + '_ {
        self.timers.iter().copied()
    }

    /// Moves the timers the protocol set since the last call into the schedule.
    fn schedule_timers(&mut self, now: Instant) {
        let Some(transport) = &mut self.transport else {
            return;
        };
        for (id, delay) in transport.take_new_timers() {
            self.timers.insert((now + delay, id));
        }
    }

    /// This side's writing was shut down by a half-close: runs `write_connection_lost`.
    fn write_closed(&mut self) {
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

    fn is_write_closed(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(Transport::is_write_closed)
    }

    /// A scheduled timer is due: runs `timer_fired` unless it was cancelled.
    fn fire_timer(&mut self, timer: TimerId) {
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

    fn is_open(&self) -> bool {
        self.transport.is_some() && !self.finished
    }

    /// Whether the protocol may still be handed data.
    fn accepts_data(&self) -> bool {
        self.is_open()
            && self.phase == Phase::Open
            && self.close_requested().is_none()
            && !self.peer_half_closed
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
        splitmix64(&mut self.chunking)
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
            Ok(Ok(())) => match transport.take_misuse() {
                None => return,
                Some(misuse) => misuse,
            },
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

/// The reason an I/O error means, for every reactor: a TLS failure if rustls produced it
/// (tokio-rustls wraps its errors in an `io::Error`; a reactor driving rustls by hand does the
/// same), an EOF without close_notify over TLS, otherwise a lost connection.
pub fn reason_for(error: &io::Error) -> DisconnectReason {
    if let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return DisconnectReason::Tls(tls.to_string());
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => {
            DisconnectReason::Lost("the peer closed without close_notify".into())
        }
        _ => DisconnectReason::Lost(error.to_string()),
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

/// splitmix64: small, fast, and the same sequence for the same seed everywhere.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The pieces a side's writes are sent in, as its delivery mode splits what it reads: one
/// byte per write (bytewise), or pieces of seeded sizes (chunked), so that a peer in another
/// process reads them split too. A piece is drawn when the reactor asks for the pending
/// bytes, which it does through `&self`, hence the cells.
#[derive(Debug)]
struct WriteSplit {
    bytewise: bool,
    /// The splitmix64 state of the chunked sizes.
    state: Cell<u64>,
    /// What is left of the current piece; 0 when the next one is still to draw.
    piece: Cell<usize>,
}

impl WriteSplit {
    /// The split for `delivery`; `None` for whole delivery, which writes what it can.
    fn new(delivery: Delivery) -> Option<Self> {
        let (bytewise, seed) = match delivery {
            Delivery::Bytewise => (true, 0),
            // Not the reads' own sequence: writes and reads interleave unpredictably, and
            // each should be reproducible from the seed alone.
            Delivery::Chunked(seed) => (false, seed ^ 0x7772_6974_6573),
            _ => return None,
        };
        Some(Self {
            bytewise,
            state: Cell::new(seed),
            piece: Cell::new(0),
        })
    }

    /// The most the next write may send, with `pending` bytes waiting (more than zero).
    fn piece(&self, pending: usize) -> usize {
        if self.piece.get() == 0 && pending > 0 {
            let size = if self.bytewise {
                1
            } else {
                let mut state = self.state.get();
                let draw = splitmix64(&mut state);
                self.state.set(state);
                1 + (draw % pending as u64) as usize
            };
            self.piece.set(size);
        }
        self.piece.get()
    }

    /// `n` bytes of the current piece were sent.
    fn sent(&self, n: usize) {
        self.piece.set(self.piece.get().saturating_sub(n));
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::{Action, Connection, LINGER};
    use crate::harness::Harness;
    use crate::{
        Address, CallbackResult, ConnectableProtocol, Delivery, DisconnectReason, Event, Protocol,
        Transport,
    };

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

    /// The sizes of the writes a reactor makes of what a protocol wrote in `connection_made`
    /// (`writes`), asking for at most `limit` bytes at a time.
    fn write_pieces(side: ConnectableProtocol, limit: usize) -> Vec<usize> {
        let mut side = side;
        let now = Instant::now();
        let mut connection = Connection::new(&mut side, "test", now).unwrap();
        let addr = Address::Ip(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)));
        connection.made(addr.clone(), addr, false, now);
        let mut pieces = Vec::new();
        while connection.buffered_writes() > 0 {
            let mut slices = [std::io::IoSlice::new(&[]); 8];
            let filled = connection.pending_write_slices(&mut slices, limit);
            let n: usize = slices[..filled].iter().map(|s| s.len()).sum();
            assert!(n > 0, "something pending is offered");
            pieces.push(n);
            connection.wrote(n);
        }
        pieces
    }

    /// Writes two buffers when connected.
    struct Writer;

    impl Protocol for Writer {
        fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
            transport.write(&[b'a'; 700]);
            transport.write_shared(vec![b'b'; 338]);
            Ok(())
        }

        fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
            Ok(())
        }
    }

    /// A side told to split its writes sends one byte per write (bytewise) or seeded pieces
    /// (chunked); otherwise, or with whole delivery, what the reactor asks for.
    #[test]
    fn split_writes_follow_the_delivery_mode() {
        let side = |delivery, split| {
            let side = ConnectableProtocol::new(Writer).with_delivery(delivery);
            if split { side.split_writes() } else { side }
        };
        assert_eq!(
            write_pieces(side(Delivery::Bytewise, false), usize::MAX),
            [1038]
        );
        assert_eq!(
            write_pieces(side(Delivery::Chunked(5), false), 400),
            [400, 400, 238]
        );
        assert_eq!(
            write_pieces(side(Delivery::Whole, true), 400),
            [400, 400, 238]
        );
        assert_eq!(
            write_pieces(side(Delivery::Bytewise, true), usize::MAX),
            [1; 1038]
        );
        let chunked = write_pieces(side(Delivery::Chunked(5), true), usize::MAX);
        assert_eq!(chunked.iter().sum::<usize>(), 1038);
        assert!(chunked.len() > 2, "split into pieces: {chunked:?}");
        assert_eq!(
            chunked,
            write_pieces(side(Delivery::Chunked(5), true), usize::MAX)
        );
        assert_ne!(
            chunked,
            write_pieces(side(Delivery::Chunked(6), true), usize::MAX)
        );
        // The reactor's own limit still holds within a piece.
        let limited = write_pieces(side(Delivery::Chunked(5), true), 10);
        assert!(limited.iter().all(|&n| n <= 10), "{limited:?}");
        assert_eq!(limited.iter().sum::<usize>(), 1038);
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

    /// What the protocol of a row does in `connection_made`.
    #[derive(Clone, Copy, Debug)]
    enum Made {
        Nothing,
        Write,
        WriteAndLose,
        Lose,
        LoseWithoutCloseNotify,
        Abort,
        HalfClose,
        /// A timer of this many milliseconds; when it fires, the protocol writes.
        Timer(u64),
    }

    /// A protocol that does one [`Made`] thing, says whether it is half-close aware, and sets
    /// its flag when dropped.
    struct Scripted {
        made: Made,
        aware: bool,
        dropped: Arc<AtomicBool>,
    }

    impl Drop for Scripted {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    impl Protocol for Scripted {
        fn connection_made(&mut self, t: &mut Transport) -> CallbackResult {
            match self.made {
                Made::Nothing => {}
                Made::Write => t.write(b"x"),
                Made::WriteAndLose => {
                    t.write(b"x");
                    t.lose_connection();
                }
                Made::Lose => t.lose_connection(),
                Made::LoseWithoutCloseNotify => t.lose_connection_without_close_notify(),
                Made::Abort => t.abort_connection(),
                Made::HalfClose => t.half_close(),
                Made::Timer(ms) => {
                    t.call_later(Duration::from_millis(ms));
                }
            }
            Ok(())
        }

        fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
            Ok(())
        }

        fn half_close_aware(&self) -> bool {
            self.aware
        }

        fn timer_fired(&mut self, t: &mut Transport, _: crate::TimerId) -> CallbackResult {
            t.write(b"t");
            Ok(())
        }
    }

    /// What a row does to the connection, on a virtual clock.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// The clock moves on this many milliseconds; the connection is told.
        Advance(u64),
        /// The TLS handshake completes.
        Handshake,
        /// The reactor sends everything pending.
        Send,
        /// The peer's EOF.
        PeerClosed,
        /// The reactor shut down writing, as asked.
        WriteShut,
        /// The reactor reset, as asked.
        ResetDone,
        /// What the connection asks for now.
        Expect(Action),
        /// How long until it wants to be woken.
        Timeout(Option<Duration>),
        /// Its reason so far (`None`: still open).
        Reason(Option<&'static str>),
    }

    const NO_NOTIFY: Action = Action::ShutDownWriting {
        close_notify: false,
    };
    const NOTIFY: Action = Action::ShutDownWriting { close_notify: true };

    /// Rows: what they show, over TLS or not, half-close aware or not, what the protocol does
    /// when connected, then the steps. No row sleeps: the clock is the test's.
    #[test]
    #[rustfmt::skip]
    fn the_closing_rules_and_timers_live_in_the_core() {
        use Step::{Advance, Expect, Handshake, PeerClosed, Reason, ResetDone, Send, Timeout, WriteShut};
        let linger = Some(LINGER);
        let rows: &[(&str, bool, bool, Made, &[Step])] = &[
            ("an abort in connection_made is a reset, before any handshake", true, false, Made::Abort,
                &[Expect(Action::Reset), ResetDone, Reason(Some("aborted")), Expect(Action::Finished)]),
            ("a close before the handshake lets it finish, then closes with close_notify", true, false, Made::Lose,
                &[Expect(Action::Handshake), Handshake, Expect(NOTIFY), WriteShut, Timeout(linger), Reason(None)]),
            ("a close without close_notify says so", true, false, Made::LoseWithoutCloseNotify,
                &[Expect(Action::Handshake), Handshake, Expect(NO_NOTIFY)]),
            ("over TLS a half-close is a full close", true, true, Made::HalfClose,
                &[Handshake, Expect(NOTIFY), WriteShut, Timeout(linger)]),
            ("elsewhere a half-close shuts down writing only, and reading goes on", false, true, Made::HalfClose,
                &[Expect(NO_NOTIFY), WriteShut, Expect(Action::Exchange), Reason(None), PeerClosed, Expect(Action::Finished), Reason(Some("done"))]),
            ("the end of the linger counts as done", false, false, Made::Lose,
                &[Expect(NO_NOTIFY), WriteShut, Advance(1999), Reason(None), Advance(1), Reason(Some("done"))]),
            ("the peer's EOF while lingering is done", false, false, Made::Lose,
                &[Expect(NO_NOTIFY), WriteShut, PeerClosed, Reason(Some("done"))]),
            ("writes go out before the close, and its bound starts once they have", false, false, Made::WriteAndLose,
                &[Expect(Action::Exchange), Timeout(None), Send, Expect(NO_NOTIFY), Timeout(linger)]),
            ("the peer's EOF to a protocol not half-close aware: flush, close, done", false, false, Made::Write,
                &[PeerClosed, Expect(Action::Exchange), Timeout(linger), Send, Expect(NO_NOTIFY), WriteShut, Reason(Some("done"))]),
            ("a last flush the peer does not take within the linger is lost", false, false, Made::Write,
                &[PeerClosed, Advance(2000), Reason(Some("lost"))]),
            ("the peer's EOF to a half-close-aware protocol keeps it open for writing", false, true, Made::Nothing,
                &[PeerClosed, Expect(Action::Exchange), Reason(None)]),
            ("over TLS the peer's EOF is a close, aware or not", true, true, Made::Nothing,
                &[Handshake, PeerClosed, Expect(NOTIFY), WriteShut, Reason(Some("done"))]),
            ("a timer fires when the clock reaches it, not before", false, false, Made::Timer(10),
                &[Timeout(Some(Duration::from_millis(10))), Advance(9), Expect(Action::Exchange), Timeout(Some(Duration::from_millis(1))), Advance(1), Timeout(None)]),
            ("timers wait for the handshake", true, false, Made::Timer(10),
                &[Timeout(None), Advance(10), Handshake, Timeout(Some(Duration::ZERO)), Advance(0), Timeout(None)]),
        ];
        for (about, tls, aware, made, steps) in rows {
            let dropped = Arc::new(AtomicBool::new(false));
            let protocol = Scripted { made: *made, aware: *aware, dropped: Arc::clone(&dropped) };
            let mut side = ConnectableProtocol::new(protocol);
            let mut now = Instant::now();
            let mut connection = Connection::new(&mut side, "test", now).unwrap();
            let addr = Address::Ip(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)));
            connection.made(addr.clone(), addr, *tls, now);
            connection.poll_action(now);
            for (at, step) in steps.iter().enumerate() {
                let context = format!("{about}: step {at} {step:?}");
                match *step {
                    Advance(ms) => {
                        now += Duration::from_millis(ms);
                        connection.handle_timeout(now);
                    }
                    Handshake => connection.handshake_completed(),
                    Send => {
                        let n = connection.buffered_writes();
                        connection.wrote(n);
                    }
                    PeerClosed => connection.peer_closed(now),
                    WriteShut => connection.write_shut(now),
                    ResetDone => connection.reset_done(),
                    Expect(_) => {}
                    Timeout(expected) => {
                        let wake = connection.poll_timeout().map(|at| at.saturating_duration_since(now));
                        assert_eq!(wake, expected, "{context}");
                    }
                    Reason(expected) => {
                        let reason = side.disconnect_reason();
                        assert_eq!(reason.as_ref().map(|r| r.kind().word()), expected, "{context}: {reason:?}");
                    }
                }
                let action = connection.poll_action(now);
                if let Expect(expected) = *step {
                    assert_eq!(action, expected, "{context}");
                }
            }
            assert!(!dropped.load(Ordering::SeqCst), "{about}: the protocol lives while its connection does");
            drop(connection);
            assert!(dropped.load(Ordering::SeqCst), "{about}: the protocol is dropped with its connection");
        }
    }

    /// A side's own linger bounds both waits of its close, as [`LINGER`] does by default:
    /// the last flush (then `lost`) and the wait for the peer's EOF (then `done`).
    #[test]
    fn a_side_sets_its_own_linger() {
        let linger = Duration::from_millis(200);
        // (what it shows, what the protocol does when connected, whether our FIN went out
        // (else the peer closed, and our write is still unsent), the reason at the linger's end)
        let rows = [
            (
                "the end of a shorter linger counts as done",
                Made::Lose,
                true,
                "done",
            ),
            (
                "a last flush not taken within a shorter linger is lost",
                Made::Write,
                false,
                "lost",
            ),
        ];
        for (about, made, fin, reason) in rows {
            let dropped = Arc::new(AtomicBool::new(false));
            let protocol = Scripted {
                made,
                aware: false,
                dropped,
            };
            let mut side = ConnectableProtocol::new(protocol).with_linger(linger);
            let mut now = Instant::now();
            let mut connection = Connection::new(&mut side, "test", now).unwrap();
            let addr = Address::Ip(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)));
            connection.made(addr.clone(), addr, false, now);
            connection.poll_action(now);
            if fin {
                connection.write_shut(now);
            } else {
                connection.peer_closed(now);
            }
            let wake = connection
                .poll_timeout()
                .map(|at| at.saturating_duration_since(now));
            assert_eq!(wake, Some(linger), "{about}");
            now += linger - Duration::from_millis(1);
            connection.handle_timeout(now);
            assert_eq!(side.disconnect_reason(), None, "{about}");
            now += Duration::from_millis(1);
            connection.handle_timeout(now);
            let got = side.disconnect_reason();
            assert_eq!(
                got.as_ref().map(|r| r.kind().word()),
                Some(reason),
                "{about}: {got:?}"
            );
        }
    }

    /// The core's one mapping from I/O errors to reasons, for every reactor.
    #[test]
    fn io_errors_mean_one_reason_each() {
        use std::io::{Error, ErrorKind};
        let tls = rustls::Error::General("bad record".into());
        let rows: [(Error, DisconnectReason); 3] = [
            (
                Error::new(ErrorKind::InvalidData, tls.clone()),
                DisconnectReason::Tls(tls.to_string()),
            ),
            (
                ErrorKind::UnexpectedEof.into(),
                DisconnectReason::Lost("the peer closed without close_notify".into()),
            ),
            (
                ErrorKind::ConnectionReset.into(),
                DisconnectReason::Lost(Error::from(ErrorKind::ConnectionReset).to_string()),
            ),
        ];
        for (error, expected) in rows {
            assert_eq!(super::reason_for(&error), expected, "{error:?}");
        }
    }
}
