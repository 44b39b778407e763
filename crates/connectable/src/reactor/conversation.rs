//! The conversation of one side over a tokio byte stream, TLS or not: `connection_made`, then
//! whatever the [`Connection`] asks ([`Action`]) until it has ended. It moves bytes and waits;
//! every decision is the connection's. Shared by the built-in tokio reactors and by
//! [`drive_streams`](super::drive_streams) over a stream of your own.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant as StdInstant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::time::Instant;

use crate::buffers::ReadBuffer;
use crate::{Action, Connection, Endpoint};

use super::connecting::End;
use super::stream::ByteStream;
use super::{Held, Role, WRITE_SLICES, tls};

/// How long handing one read to the protocol may take before the side yields to the rest of
/// the runtime.
const LONG_DELIVERY: Duration = Duration::from_millis(1);

/// One side over a stream of a known type. The connection says whether to reset at once (an
/// abort in `connection_made`), run the TLS handshake, or converse.
pub(super) async fn side_over<S: ByteStream>(
    endpoint: &Endpoint,
    (stream, (host, peer)): End<S>,
    connection: &mut Connection,
    role: Role,
    held: Held,
) {
    // Registered for as long as this side (its stream, TLS state and timers) lives.
    let _held = held;
    connection.made(host, peer, endpoint.tls.is_some(), StdInstant::now());
    let tls = match connection.poll_action(StdInstant::now()) {
        Action::Reset => {
            ByteStream::reset(stream);
            connection.reset_done();
            return;
        }
        Action::Finished => return,
        Action::Handshake => endpoint.tls.as_ref(),
        Action::Exchange | Action::ShutDownWriting { .. } => None,
    };
    match tls {
        Some(configs) => tls::handshake_then_converse(configs, role, stream, connection).await,
        None => converse(stream, connection).await,
    }
}

/// What a reactor needs of a byte stream, TLS or not.
pub(super) trait Socket: AsyncRead + AsyncWrite + Unpin + Send {
    /// The stream under TLS, or the stream itself.
    type Raw: AsyncWrite + Unpin;

    /// See [`ByteStream::reset`].
    fn reset(self);

    /// The stream under TLS, for a close without close_notify.
    fn raw(&mut self) -> &mut Self::Raw;
}

impl<T: ByteStream> Socket for T {
    type Raw = T;

    fn reset(self) {
        ByteStream::reset(self);
    }

    fn raw(&mut self) -> &mut T {
        self
    }
}

/// What one turn of the I/O loop produced.
enum Turn {
    /// This many bytes were read (0: the peer's EOF).
    Read(usize),
    /// Everything pending was handed to the stream.
    Flushed,
    /// A timer is due.
    Timer,
    /// The stream failed.
    Failed(io::Error),
}

/// After the handshake: carries out what the connection asks ([`Action`]) until it has
/// ended. Every decision (which close, what an EOF means, timers, the linger, which reason an
/// error means) is the connection's; this only moves bytes and waits.
pub(super) async fn converse<S: Socket>(mut stream: S, connection: &mut Connection) {
    let mut buffer = ReadBuffer::take();
    loop {
        match connection.poll_action(StdInstant::now()) {
            Action::Finished => return,
            Action::Reset => {
                stream.reset();
                connection.reset_done();
                return;
            }
            Action::ShutDownWriting { close_notify } => {
                let shutdown = shut_down_writing(&mut stream, close_notify);
                let result = match connection.poll_timeout() {
                    Some(at) => tokio::time::timeout_at(Instant::from_std(at), shutdown)
                        .await
                        .ok(),
                    None => Some(shutdown.await),
                };
                match result {
                    Some(Ok(())) => connection.write_shut(StdInstant::now()),
                    Some(Err(e)) => connection.failed(&e),
                    None => connection.handle_timeout(StdInstant::now()),
                }
            }
            // The handshake is over once conversing.
            Action::Exchange | Action::Handshake => {
                exchange(&mut stream, connection, &mut buffer).await;
            }
        }
    }
}

/// One turn of [`Action::Exchange`]: send, read if the connection wants to, or wait for its
/// next timeout; reports what happened to the connection.
async fn exchange<S: Socket>(stream: &mut S, connection: &mut Connection, buffer: &mut [u8]) {
    let read = connection.wants_read();
    let next_timer = connection.poll_timeout().map(Instant::from_std);
    let step = poll_fn(|cx| {
        if let Some(at) = next_timer
            && at <= Instant::now()
        {
            return Poll::Ready(Turn::Timer);
        }
        turn(cx, stream, connection, buffer, read)
    });
    let step = match next_timer {
        Some(at) => tokio::time::timeout_at(at, step)
            .await
            .unwrap_or(Turn::Timer),
        None => step.await,
    };
    match step {
        Turn::Timer => connection.handle_timeout(StdInstant::now()),
        Turn::Read(0) => connection.peer_closed(StdInstant::now()),
        Turn::Read(n) => {
            let delivering = StdInstant::now();
            connection.received(&buffer[..n]);
            // tokio's coop budget counts reads, not the work they set off: a side whose
            // reads are handed over a byte at a time can run for a second in one poll,
            // with the pairing's timeout (on tokio-ct the other side too) waiting on it.
            if delivering.elapsed() > LONG_DELIVERY {
                tokio::task::yield_now().await;
            }
        }
        Turn::Flushed => {}
        Turn::Failed(e) => connection.failed(&e),
    }
}

/// Writes what is pending, flushes, and (if `read`) polls for a read; pending until one of
/// them has something to report.
fn turn<S: Socket>(
    cx: &mut Context<'_>,
    stream: &mut S,
    connection: &mut Connection,
    buffer: &mut [u8],
    read: bool,
) -> Poll<Turn> {
    let mut wrote = false;
    while !connection.pending_writes().is_empty() {
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let filled = connection.pending_write_slices(&mut slices, usize::MAX);
        match Pin::new(&mut *stream).poll_write_vectored(cx, &slices[..filled]) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Turn::Failed(io::ErrorKind::WriteZero.into()));
            }
            Poll::Ready(Ok(n)) => {
                connection.wrote(n);
                wrote = true;
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Turn::Failed(e)),
            Poll::Pending => break,
        }
    }
    // tokio-rustls may hold encrypted records it could not send yet.
    if let Poll::Ready(Err(e)) = Pin::new(&mut *stream).poll_flush(cx) {
        return Poll::Ready(Turn::Failed(e));
    }
    if read {
        let mut read_buf = ReadBuf::new(buffer);
        match Pin::new(&mut *stream).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => return Poll::Ready(Turn::Read(read_buf.filled().len())),
            Poll::Ready(Err(e)) => return Poll::Ready(Turn::Failed(e)),
            Poll::Pending => {}
        }
    }
    // A write may have set off a callback (a producer resumed) that changed what the loop
    // must do next.
    if wrote {
        Poll::Ready(Turn::Flushed)
    } else {
        Poll::Pending
    }
}

/// Sends what the stream still holds (tokio-rustls' records), then shuts down writing: over
/// TLS close_notify first, unless told not to, then FIN.
async fn shut_down_writing<S: Socket>(stream: &mut S, close_notify: bool) -> io::Result<()> {
    stream.flush().await?;
    if close_notify {
        stream.shutdown().await
    } else {
        stream.raw().shutdown().await
    }
}
