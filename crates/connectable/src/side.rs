//! [`ConnectableProtocol`]: one side of a pairing, and what was recorded about it.
//!
//! Twisted's `ConnectableProtocol` is a base class that remembers its `reactor`, its
//! `disconnectReason` and fires a `_done` Deferred from `connectionLost`. Ours wraps any
//! [`Protocol`] instead of being inherited from, and records the same three things plus the
//! side's event trace. The record is shared with the reactor, so it survives a timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::{Address, DisconnectReason, ExpectedBytes, Protocol, TimedEvent, Trace};

/// How received bytes are handed to a side's `data_received`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// As the reactor read them: whatever chunks the transport produced.
    #[default]
    Whole,
    /// At most one byte per `data_received` call: proves a protocol buffers correctly.
    Bytewise,
    /// Each read split at pseudo-random points drawn from this seed: the same seed gives the
    /// same split points for the same reads (on the in-memory transports, the same run).
    Chunked(u64),
}

impl Delivery {
    /// Every mode, in documentation order (`Chunked` with seed 0).
    pub const ALL: [Delivery; 3] = [Self::Whole, Self::Bytewise, Self::Chunked(0)];

    /// The word suites and trial names use: `whole`, `bytewise`, `chunked`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Whole => "whole",
            Self::Bytewise => "bytewise",
            Self::Chunked(_) => "chunked",
        }
    }

    /// The mode a suite word names, if any (`chunked` with seed 0).
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.word() == word)
    }
}

/// One side of a pairing: a protocol, how it gets its bytes, and its record.
pub struct ConnectableProtocol {
    pub(crate) protocol: Option<Box<dyn Protocol>>,
    pub(crate) delivery: Delivery,
    /// Whether writes are split as the delivery mode splits reads.
    pub(crate) split_writes: bool,
    /// How long a close waits for its last writes and the peer's EOF ([`crate::LINGER`]).
    pub(crate) linger: Duration,
    pub(crate) record: Arc<SideRecord>,
}

impl std::fmt::Debug for ConnectableProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectableProtocol")
            .field("delivery", &self.delivery)
            .field("reactor", &self.reactor())
            .field("disconnect_reason", &self.disconnect_reason())
            .finish_non_exhaustive()
    }
}

impl ConnectableProtocol {
    /// Wraps `protocol` for a pairing, with [`Delivery::Whole`].
    pub fn new(protocol: impl Protocol) -> Self {
        Self::from_box(Box::new(protocol))
    }

    /// Wraps an already boxed protocol.
    pub fn from_box(protocol: Box<dyn Protocol>) -> Self {
        Self {
            protocol: Some(protocol),
            delivery: Delivery::Whole,
            split_writes: false,
            linger: crate::LINGER,
            record: Arc::new(SideRecord::default()),
        }
    }

    /// Sets how this side gets its bytes.
    pub fn with_delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Splits what this side writes as its delivery mode splits what it reads: with
    /// [`Delivery::Bytewise`] each write to the stream sends one byte, with
    /// [`Delivery::Chunked`] pieces of sizes drawn from its seed; [`Delivery::Whole`] writes
    /// what it can. For a peer in another process, which then reads our bytes split too (the
    /// way to test a server's framing); two sides of one pairing split their reads already,
    /// and writing a byte at a time would only slow them down.
    pub fn split_writes(mut self) -> Self {
        self.split_writes = true;
        self
    }

    /// How long this side's close may wait ([`LINGER`](crate::LINGER), 2 s, by default): for
    /// its last writes to drain before its FIN (longer ends it `lost`), then, reading and
    /// discarding, for the peer's EOF (longer ends it `done`: its close went out). A case
    /// whose peer never closes by design waits it out every trial; a shorter one shortens
    /// the trial, not what is checked.
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Keeps at most `bytes` of what this side receives in its trace (by default
    /// [`RECEIVED_KEPT`](crate::RECEIVED_KEPT), 4 MiB); the count goes on. Keeping costs a
    /// copy of every kept byte: a side whose checks need only the count, or a sample, says
    /// so, and a bulk transfer does not pay for copying 4 MiB it will never look at.
    pub fn keep_received(self, bytes: usize) -> Self {
        self.record.lock().trace.set_received_limit(bytes);
        self
    }

    /// Compares every byte this side receives with `expected` as it arrives, however many
    /// there are: [`Trace::received_comparison`] says whether they matched and where they
    /// first differ, with no copy kept beyond [`keep_received`](Self::keep_received)'s.
    pub fn compare_received(self, expected: ExpectedBytes) -> Self {
        self.record.lock().trace.compare_received(expected);
        self
    }

    /// This side as an event loop outside this process recorded it (a shim in another
    /// language, which runs the probe itself): its reactor's name, its events with their
    /// times, and how it ended (`None`: it had not ended at the timeout). It has no protocol
    /// here and cannot be paired. Set it up as any side ([`keep_received`],
    /// [`compare_received`]), then hand it the received bytes with
    /// [`record_foreign_received`], so that they stream through that comparison and sample;
    /// expectations are then checked on it exactly as on a side our reactors drove.
    ///
    /// [`keep_received`]: Self::keep_received
    /// [`compare_received`]: Self::compare_received
    /// [`record_foreign_received`]: Self::record_foreign_received
    pub fn from_foreign(
        reactor: &'static str,
        delivery: Delivery,
        events: impl IntoIterator<Item = TimedEvent>,
        reason: Option<DisconnectReason>,
    ) -> Self {
        let side = Self {
            protocol: None,
            delivery,
            split_writes: false,
            linger: crate::LINGER,
            record: Arc::new(SideRecord::default()),
        };
        {
            let mut state = side.record.lock();
            state.reactor = Some(reactor);
            for TimedEvent { at, event } in events {
                state.trace.push(at, event);
            }
        }
        if let Some(reason) = reason {
            side.record.end(reason);
        }
        side
    }

    /// Records bytes a foreign side received (after [`from_foreign`](Self::from_foreign)):
    /// counted, compared with the side's expected bytes and kept up to its limit, as bytes
    /// handed to `data_received` are.
    pub fn record_foreign_received(&self, bytes: &[u8]) {
        self.record.lock().trace.record_received(bytes);
    }

    /// Counts bytes a foreign side received but reported only by length and digest: they are
    /// counted, not compared nor kept (a side whose expectation compares content is given
    /// the bytes, see [`record_foreign_received`](Self::record_foreign_received)).
    pub fn count_foreign_received(&self, bytes: u64) {
        self.record.lock().trace.count_received(bytes);
    }

    /// The name of the reactor that drove this side, once it has been paired.
    pub fn reactor(&self) -> Option<&'static str> {
        self.record.lock().reactor
    }

    /// Why the connection ended, once `connection_lost` has run (or the connection was
    /// refused); `None` while it is open or if it never ended (a timeout).
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.record.lock().reason.clone()
    }

    /// This side's host address and its peer's, as the reactor gave them to the transport
    /// when the connection was made (Twisted's `getHost()` and `getPeer()`); `None` if it
    /// never connected.
    pub fn addresses(&self) -> Option<(Address, Address)> {
        self.record.lock().addresses.clone()
    }

    /// The pairing's two ends, (the listening end, the connecting end), as the pairing knows
    /// them independently of this side's transport: [`run_protocols`](crate::run_protocols)
    /// notes the server's host and the client's host, [`run_client`](crate::run_client) the
    /// address it connected to, [`run_server`](crate::run_server) the listener's address.
    /// What a side's own addresses are compared with.
    pub fn ends(&self) -> Option<(Address, Address)> {
        self.record.lock().ends.clone()
    }

    /// The certificate (DER) the TLS peer presented in the handshake, as the transport
    /// offered it when `handshake_completed` ran (Twisted's `getPeerCertificate` in
    /// `handshakeCompleted`); `None` over plain streams, or when the peer presented none.
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        self.record.lock().peer_certificate.clone()
    }

    /// Notes the pairing's ends (see [`ends`](Self::ends)).
    pub(crate) fn note_ends(&self, listening: Address, connecting: Address) {
        self.record.lock().ends = Some((listening, connecting));
    }

    /// A snapshot of the side's event trace.
    pub fn trace(&self) -> Trace {
        self.record.lock().trace.clone()
    }

    /// A future that completes, exactly once per waiter, right after `connection_lost` ran,
    /// with the reason. Cloneable; usable from any runtime, or blocking with
    /// [`Done::wait_timeout`].
    pub fn done(&self) -> Done {
        Done(Arc::clone(&self.record))
    }
}

/// What the reactor and the side handle share.
#[derive(Debug, Default)]
pub(crate) struct SideRecord {
    state: Mutex<SideState>,
    ended: Condvar,
}

#[derive(Debug, Default)]
pub(crate) struct SideState {
    pub(crate) reactor: Option<&'static str>,
    pub(crate) reason: Option<DisconnectReason>,
    pub(crate) trace: Trace,
    pub(crate) origin: Option<Instant>,
    /// This side's address and its peer's, as its connection reported them when made.
    pub(crate) addresses: Option<(Address, Address)>,
    /// The pairing's two ends, (listening, connecting), as the pairing learned them.
    pub(crate) ends: Option<(Address, Address)>,
    /// The certificate the TLS peer presented (DER), as the handshake completed.
    pub(crate) peer_certificate: Option<Vec<u8>>,
    wakers: Vec<Waker>,
    /// Threads blocked in [`Done::wait_timeout`]: `end` signals the condition variable only
    /// if there are any, since a signal is a system call even when nobody waits.
    blocked: usize,
}

impl SideState {
    pub(crate) fn since_origin(&self) -> Duration {
        self.origin.map(|o| o.elapsed()).unwrap_or_default()
    }
}

impl SideRecord {
    pub(crate) fn lock(&self) -> MutexGuard<'_, SideState> {
        // A probe that panicked never holds this lock (callbacks run outside it), so a
        // poisoned lock still holds a consistent record.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the final reason once and wakes every waiter.
    pub(crate) fn end(&self, reason: DisconnectReason) {
        let (wakers, blocked) = {
            let mut state = self.lock();
            if state.reason.is_some() {
                return;
            }
            state.reason = Some(reason);
            (std::mem::take(&mut state.wakers), state.blocked > 0)
        };
        if blocked {
            self.ended.notify_all();
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// Completes with the side's [`DisconnectReason`] once it has ended (Twisted's `_done`).
#[derive(Clone, Debug)]
pub struct Done(Arc<SideRecord>);

impl Done {
    /// Blocks the thread until the side has ended or `timeout` passed.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<DisconnectReason> {
        let mut state = self.0.lock();
        state.blocked += 1;
        let (mut state, _) = self
            .0
            .ended
            .wait_timeout_while(state, timeout, |s| s.reason.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        state.blocked -= 1;
        state.reason.clone()
    }

    /// Whether the side has ended.
    pub fn is_done(&self) -> bool {
        self.0.lock().reason.is_some()
    }
}

impl Future for Done {
    type Output = DisconnectReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DisconnectReason> {
        let mut state = self.0.lock();
        match &state.reason {
            Some(reason) => Poll::Ready(reason.clone()),
            None => {
                if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    state.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
