//! The in-memory transport: a connected pair of byte streams in one process, no sockets.
//!
//! Built on `tokio::io::duplex`, plus what a socket has and a pipe does not: a reset. A side
//! that aborts marks the pair reset before dropping its end, so the peer's next read or write
//! fails with `ConnectionReset` instead of seeing a clean EOF, as over TCP. Everything else
//! (EOF after shutdown, back-pressure once the buffer is full) is the duplex's own.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// How many bytes each direction buffers before a writer must wait: about what a loopback
/// socket pair holds, so producers see back-pressure.
pub const MEMORY_BUFFER: usize = 256 * 1024;

/// One end of an in-memory connection.
#[derive(Debug)]
pub struct MemoryStream {
    inner: DuplexStream,
    /// Set by the peer when it resets the connection.
    reset_by_peer: Arc<AtomicBool>,
    /// Set by us when we reset it (the peer's `reset_by_peer`).
    reset_peer: Arc<AtomicBool>,
}

/// A connected pair: (server end, client end).
pub fn pair() -> (MemoryStream, MemoryStream) {
    let (a, b) = tokio::io::duplex(MEMORY_BUFFER);
    let a_reset = Arc::new(AtomicBool::new(false));
    let b_reset = Arc::new(AtomicBool::new(false));
    (
        MemoryStream {
            inner: a,
            reset_by_peer: Arc::clone(&a_reset),
            reset_peer: Arc::clone(&b_reset),
        },
        MemoryStream {
            inner: b,
            reset_by_peer: b_reset,
            reset_peer: a_reset,
        },
    )
}

impl MemoryStream {
    /// Resets the connection: the peer's next read or write fails with `ConnectionReset`.
    pub fn reset(self) {
        self.reset_peer.store(true, Ordering::SeqCst);
        // Dropping our end wakes a peer waiting to read or write.
        drop(self.inner);
    }

    fn check_reset(&self) -> io::Result<()> {
        if self.reset_by_peer.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by peer (in-memory)",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check_reset()?;
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        // The peer may have reset between our check and its end going away.
        if polled.is_ready() {
            self.check_reset()?;
        }
        polled
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check_reset()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check_reset()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
