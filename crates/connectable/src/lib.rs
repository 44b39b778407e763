//! The connection contract and the reactors that drive it.
//!
//! After Twisted's reactor connection tests: a [`Protocol`] is a small sans-IO state machine
//! (callbacks in, commands out through its [`Transport`]); a [`ConnectableProtocol`] wraps one
//! side of a pairing and records its `reactor`, its [`DisconnectReason`], a [`Done`] future
//! and its event [`Trace`]; [`run_protocols`] pairs a server with a client over an
//! [`Endpoint`] (TCP or TLS on loopback) on a [`Reactor`], with a timeout.
//!
//! # Closing, precisely
//!
//! - After `lose_connection` the protocol gets no more data. The reactor flushes what was
//!   written, sends FIN (over TLS close_notify, then FIN), then reads and discards until the
//!   peer's EOF, for a short linger, so unread bytes do not turn a clean close into a reset.
//!   That side ends `done`, unless a write failed or the peer reset the connection (`lost`).
//! - The peer closing (FIN; over TLS close_notify) ends this side `done`, after what it had
//!   written was flushed; over TLS an EOF without close_notify is `lost`.
//! - `abort_connection` discards pending writes and resets: this side ends `aborted`, the
//!   peer `lost`.
//! - `connection_made` fires once TCP is established, before the TLS handshake; writes made
//!   before the handshake completes go out after it; `lose_connection` before then lets the
//!   handshake complete and then closes cleanly (Twisted aborts; we close cleanly).
//! - A callback that panics or returns an error ends its side `error` and aborts the
//!   connection; the process goes on.
//!
//! This crate knows nothing of suite files, test harnesses or report formats.

mod buffers;
mod connection;
mod endpoint;
mod error;
pub mod harness;
pub mod memory;
mod pairing;
pub mod pki;
mod protocol;
pub mod reactor;
mod reason;
mod side;
mod trace;
mod transport;
mod write_queue;

pub use bytes::Bytes;
pub use connection::{Action, Connection, LINGER, reason_for};
pub use endpoint::{Endpoint, Network};
pub use error::Error;
pub use pairing::{Pairing, run_client, run_protocols, run_server};
pub use protocol::{BoxError, CallbackResult, Protocol};
pub use reactor::Reactor;
pub use reason::{DisconnectReason, ReasonKind};
pub use side::{ConnectableProtocol, Delivery, Done};
pub use trace::{
    Difference, ExpectedBytes, Negotiated, ReceivedComparison, WINDOW_AFTER, WINDOW_BEFORE,
};
pub use trace::{
    EVENTS_KEPT, EVENTS_REPORTED, Event, LINES_SHOWN, RECEIVED_KEPT, TimedEvent, Trace,
};
pub use trace::{MergedEvents, ReportedEvents};
pub use transport::{Address, CloseRequest, HIGH_WATER, ProducerKind, TimerId, Transport};
