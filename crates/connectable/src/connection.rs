//! [`Connection`]: the sans-IO core a reactor drives, one per side of a pairing.
//!
//! A reactor owns the socket; the `Connection` owns the protocol, its [`Transport`] handle and
//! the side's record. The reactor reports what happened (`made`, `handshake_completed`,
//! `received`, `finish`) and carries out what the protocol asked (`pending_writes`,
//! `close_requested`). Everything the contract promises that does not depend on a socket lives
//! here, so every reactor gets it the same way: callbacks run in order and never re-entrantly,
//! `connection_lost` runs exactly once, no data is delivered after a close was requested,
//! bytewise delivery, panics caught and turned into `error`, the trace.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use crate::side::SideRecord;
use crate::transport::CloseRequest;
use crate::{
    Address, CallbackResult, ConnectableProtocol, Delivery, DisconnectReason, Error, Event,
    Protocol, Transport,
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
        if self.transport.is_none() || self.finished {
            return;
        }
        self.event(Event::Handshake);
        self.call(|p, t| p.handshake_completed(t));
    }

    /// Bytes arrived: hands them to `data_received` in chunks as the delivery mode says,
    /// stopping as soon as the protocol asks to close.
    pub fn received(&mut self, data: &[u8]) {
        let step = match self.delivery {
            Delivery::Whole => data.len().max(1),
            Delivery::Bytewise => 1,
        };
        for chunk in data.chunks(step) {
            if !self.accepts_data() {
                break;
            }
            {
                let mut state = self.record.lock();
                let at = state.since_origin();
                state.trace.push(at, Event::Data(chunk.len()));
                state.trace.record_received(chunk);
            }
            self.call(|p, t| p.data_received(t, chunk));
        }
    }

    /// Bytes the protocol wrote that the reactor has not sent yet.
    pub fn pending_writes(&self) -> &[u8] {
        self.transport.as_ref().map_or(&[], Transport::pending)
    }

    /// The reactor sent the first `n` bytes of [`pending_writes`](Self::pending_writes).
    pub fn wrote(&mut self, n: usize) {
        if let Some(transport) = &mut self.transport {
            transport.consume(n);
        }
    }

    /// Whether the protocol asked to close or abort (or a callback failed, which aborts).
    pub fn close_requested(&self) -> Option<CloseRequest> {
        self.transport.as_ref().and_then(Transport::close_requested)
    }

    /// The connection ended: runs `connection_lost` once (unless the connection was never
    /// made), records the reason, and completes the side's `done`. If a callback of this side
    /// failed, the reason recorded is [`DisconnectReason::Error`]. Later calls do nothing.
    pub fn finish(&mut self, reason: DisconnectReason) {
        if self.finished {
            return;
        }
        self.finished = true;
        let reason = match &self.failure {
            Some(message) => DisconnectReason::Error(message.clone()),
            None => reason,
        };
        if let Some(transport) = &mut self.transport {
            transport.mark_lost();
            self.event(Event::Lost(reason.kind()));
            self.call(|p, t| p.connection_lost(t, &reason));
        }
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

    /// Whether the protocol may still be handed data.
    fn accepts_data(&self) -> bool {
        !self.finished && self.transport.is_some() && self.close_requested().is_none()
    }

    fn event(&self, event: Event) {
        let mut state = self.record.lock();
        let at = state.since_origin();
        state.trace.push(at, event);
    }

    /// Runs one callback, turning a panic or an error into a recorded failure that aborts
    /// the connection.
    fn call(&mut self, callback: impl FnOnce(&mut dyn Protocol, &mut Transport) -> CallbackResult) {
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
