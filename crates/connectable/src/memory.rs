//! The in-memory transport: a connected pair of byte streams in one process, no sockets.
//!
//! Built on `tokio::io::duplex`, plus what a socket has and a pipe does not: a reset. A side
//! that aborts marks the pair reset before dropping its end: the peer still reads what had
//! already arrived (as Linux delivers queued data before a TCP reset), then its read fails
//! with `ConnectionReset` instead of seeing a clean EOF, and its writes fail at once.
//! Everything else (EOF after shutdown, back-pressure once the buffer is full) is the
//! duplex's own.

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
    /// Set by the peer when it shut down its writing side (its FIN), before any reset.
    shut_by_peer: Arc<AtomicBool>,
    /// Set by us when we shut down our writing side (the peer's `shut_by_peer`).
    shut_peer: Arc<AtomicBool>,
    /// Whether this end has read the peer's FIN already.
    seen_eof: bool,
}

/// A connected pair: (server end, client end).
pub fn pair() -> (MemoryStream, MemoryStream) {
    let (a, b) = tokio::io::duplex(MEMORY_BUFFER);
    let flag = || Arc::new(AtomicBool::new(false));
    let (a_reset, b_reset, a_shut, b_shut) = (flag(), flag(), flag(), flag());
    (
        MemoryStream {
            inner: a,
            reset_by_peer: Arc::clone(&a_reset),
            reset_peer: Arc::clone(&b_reset),
            shut_by_peer: Arc::clone(&a_shut),
            shut_peer: Arc::clone(&b_shut),
            seen_eof: false,
        },
        MemoryStream {
            inner: b,
            reset_by_peer: b_reset,
            reset_peer: a_reset,
            shut_by_peer: b_shut,
            shut_peer: a_shut,
            seen_eof: false,
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
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        // What had arrived is read first, then the peer's FIN if it sent one before resetting
        // (as over TCP, where the FIN is in the stream before the RST), then the reset.
        if let Poll::Ready(Ok(())) = polled
            && buf.filled().len() == before
        {
            if self.shut_by_peer.load(Ordering::SeqCst) && !self.seen_eof {
                self.seen_eof = true;
                return Poll::Ready(Ok(()));
            }
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

    // Forwarded, not left to the default (which writes only the first buffer): a socket
    // writes every buffer it can in one writev, and tokio-rustls counts on that after a
    // failed handshake, when it makes one last write of what rustls queued. A client that
    // rejects the server's certificate has queued its ChangeCipherSpec and then the alert;
    // written one buffer per call, only the ChangeCipherSpec went out and the server saw an
    // EOF (lost) instead of the alert (tls).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check_reset()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is ever held back to flush, so a reset is for the next write to report.
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut_peer.store(true, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
