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
//! - `lose_connection` under a registered producer does not wait for the producer to
//!   unregister (Twisted does): the close goes ahead as above, and a producer still
//!   registered when the connection ends is told `stop_producing`, once, before
//!   `connection_lost`. Unregistering after that is a no-op. Registering a second producer
//!   while one is registered fails the callback that did it (`error`, as Twisted's
//!   `RuntimeError`).
//! - A paused reader does not see its peer's EOF, but it still notices the peer has gone
//!   when a write fails (the peer's socket closed: a reset): it ends `lost`.
//!
//! # Connecting and addresses
//!
//! - A connect that fails ends the client `refused` with the OS error as the detail
//!   (`Connection refused (os error 111)`); so does one that has not completed within the
//!   endpoint's [`connect_timeout`](Endpoint::connect_timeout). `connection_made` never runs.
//! - A side's transport gives its own address and its peer's ([`Transport::host`],
//!   [`Transport::peer`]); the side's record keeps them ([`ConnectableProtocol::addresses`]),
//!   and [`run_protocols`] notes the pairing's two ends as the other side saw them
//!   ([`ConnectableProtocol::ends`]): a server's host is the listener's address, its peer
//!   the client's ephemeral port (over UNIX: the listener's path, and the unnamed end).
//! - Over TLS a reactor reports what the handshake agreed on, the certificate the peer
//!   presented among it ([`Connection::tls_negotiated`]), before `handshake_completed`, so that the transport
//!   offers it to that callback ([`Transport::peer_certificate`]); the side's record keeps
//!   what was offered then ([`ConnectableProtocol::peer_certificate`]).
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
