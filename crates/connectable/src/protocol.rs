//! The [`Protocol`] contract: the callbacks a probe implements.
//!
//! A protocol is sans-IO: it never touches a socket, file or clock. The reactor calls it when
//! something happens on the connection and hands it a [`Transport`] through which it issues
//! commands (write, close, abort). That is what lets one probe run unchanged over TCP, TLS and
//! any delivery of bytes. `data_received` gets arbitrary chunks: a protocol must buffer and act
//! on whole messages, like tokio-util's `Decoder`.

use crate::{DisconnectReason, TimerId, Transport};

/// The error a callback may return; the side then ends with
/// [`DisconnectReason::Error`] and the connection is aborted.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What every callback returns. A panic counts as an error too.
pub type CallbackResult = Result<(), BoxError>;

/// One side of a connection, driven by callbacks (Twisted's `IProtocol`).
///
/// Order of calls, per connection: `connection_made` exactly once, first; over TLS
/// `handshake_completed` once the handshake is done; `data_received` any number of times with
/// chunks of any size (never after this side called `lose_connection` or
/// `abort_connection`); `connection_lost` exactly once, last. Nothing is called re-entrantly.
pub trait Protocol: Send + 'static {
    /// The connection is established. Over TLS this runs before the handshake completes, as in
    /// Twisted; writes made here go out once it has.
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// The TLS handshake completed (never called over plain TCP).
    fn handshake_completed(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// Bytes arrived from the peer. Chunk boundaries mean nothing.
    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult;

    /// Whether this protocol handles half-close (Twisted's `IHalfCloseableProtocol`). If not,
    /// the peer shutting down its writing side closes the connection fully, as in Twisted.
    fn half_close_aware(&self) -> bool {
        false
    }

    /// The peer shut down its writing side (TCP FIN); this side can still write. Only called
    /// on half-close-aware protocols.
    fn read_connection_lost(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// This side's `half_close` has completed: what was written is flushed and FIN sent.
    /// Writes from now on are silent no-ops.
    fn write_connection_lost(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// A streaming producer's write buffer passed the high-water mark: stop writing.
    fn pause_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// The write buffer drained: a streaming producer may write again; a pull producer
    /// should write its next piece.
    fn resume_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// The connection ended while this protocol was a registered producer.
    fn stop_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        let _ = transport;
        Ok(())
    }

    /// A timer set with [`Transport::call_later`] fired.
    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        let _ = (transport, timer);
        Ok(())
    }

    /// The connection ended. Writes made here are silent no-ops.
    fn connection_lost(
        &mut self,
        transport: &mut Transport,
        reason: &DisconnectReason,
    ) -> CallbackResult {
        let _ = (transport, reason);
        Ok(())
    }
}

/// A boxed protocol is a protocol, so `ProbeSpec::instantiate()` output can be driven by a
/// [`Harness`](crate::harness::Harness) or wrapped again.
impl<P: Protocol + ?Sized> Protocol for Box<P> {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).connection_made(transport)
    }

    fn handshake_completed(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).handshake_completed(transport)
    }

    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult {
        (**self).data_received(transport, data)
    }

    fn half_close_aware(&self) -> bool {
        (**self).half_close_aware()
    }

    fn read_connection_lost(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).read_connection_lost(transport)
    }

    fn write_connection_lost(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).write_connection_lost(transport)
    }

    fn pause_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).pause_producing(transport)
    }

    fn resume_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).resume_producing(transport)
    }

    fn stop_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        (**self).stop_producing(transport)
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        (**self).timer_fired(transport, timer)
    }

    fn connection_lost(
        &mut self,
        transport: &mut Transport,
        reason: &DisconnectReason,
    ) -> CallbackResult {
        (**self).connection_lost(transport, reason)
    }
}
