//! `tokio-ct`: a tokio current-thread runtime per pairing, tokio-rustls for TLS.
//!
//! Both sides run as futures joined on one thread, so a pairing spawns no task that could
//! outlive it: when `drive` returns, the runtime and every socket are gone.

use std::collections::BTreeSet;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::transport::CloseRequest;
use crate::{Address, Connection, DisconnectReason, Endpoint, Error, Reactor, TimerId};

/// How long a closing side waits for the peer's EOF after sending its own, reading and
/// discarding, so that unread bytes in the receive buffer do not turn a clean close into a
/// reset.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// Size of the buffer each side reads into.
const READ_BUFFER: usize = 64 * 1024;

/// The `tokio-ct` reactor. See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioCurrentThread;

impl Reactor for TokioCurrentThread {
    fn name(&self) -> &'static str {
        "tokio-ct"
    }

    fn drive(
        &self,
        endpoint: &Endpoint,
        server: Connection,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let runtime = runtime()?;
        runtime.block_on(async {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(Error::io("binding 127.0.0.1:0"))?;
            let address = listener
                .local_addr()
                .map_err(Error::io("reading the listener's address"))?;
            // A timeout leaves the unfinished side's record open, which is how the caller
            // learns of it.
            let _ =
                tokio::time::timeout(timeout, pair(endpoint, listener, address, server, client))
                    .await;
            Ok(())
        })
    }

    fn accept(
        &self,
        endpoint: &Endpoint,
        listener: std::net::TcpListener,
        mut server: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let runtime = runtime()?;
        runtime.block_on(async {
            listener
                .set_nonblocking(true)
                .map_err(Error::io("making the listener non-blocking"))?;
            let listener =
                TcpListener::from_std(listener).map_err(Error::io("registering the listener"))?;
            let _ = tokio::time::timeout(timeout, async {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        drop(listener);
                        serve(endpoint, stream, &mut server).await;
                    }
                    Err(e) => {
                        server.finish(DisconnectReason::Refused(format!("accept failed: {e}")));
                    }
                }
            })
            .await;
            Ok(())
        })
    }

    fn connect(
        &self,
        endpoint: &Endpoint,
        address: SocketAddr,
        mut client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let runtime = runtime()?;
        runtime.block_on(async {
            let _ = tokio::time::timeout(timeout, async {
                match TcpStream::connect(address).await {
                    Ok(stream) => connect(endpoint, stream, &mut client).await,
                    Err(e) => client.finish(DisconnectReason::Refused(format!(
                        "connecting to {address}: {e}"
                    ))),
                }
            })
            .await;
        });
        Ok(())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("building the tokio runtime"))
}

async fn pair(
    endpoint: &Endpoint,
    listener: TcpListener,
    address: SocketAddr,
    mut server: Connection,
    mut client: Connection,
) {
    let client_gave_up = Notify::new();
    let server_side = async {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = client_gave_up.notified() => {
                server.finish(DisconnectReason::Refused("the client never connected".into()));
                return;
            }
        };
        drop(listener);
        match accepted {
            Ok((stream, _)) => serve(endpoint, stream, &mut server).await,
            Err(e) => server.finish(DisconnectReason::Refused(format!("accept failed: {e}"))),
        }
    };
    let client_side = async {
        match TcpStream::connect(address).await {
            Ok(stream) => connect(endpoint, stream, &mut client).await,
            Err(e) => {
                client.finish(DisconnectReason::Refused(format!(
                    "connecting to {address}: {e}"
                )));
                client_gave_up.notify_one();
            }
        }
    };
    tokio::join!(server_side, client_side);
}

async fn serve(endpoint: &Endpoint, stream: TcpStream, connection: &mut Connection) {
    if !established(&stream, connection) {
        return;
    }
    match endpoint {
        Endpoint::Tcp => converse(stream, connection).await,
        Endpoint::Tls(configs) => {
            let acceptor = TlsAcceptor::from(configs.server.clone());
            let handshake = acceptor.accept(stream);
            match handshake.await {
                Ok(tls) => after_handshake(tls, connection).await,
                Err(e) => connection.finish(reason_for(&e)),
            }
        }
    }
}

async fn connect(endpoint: &Endpoint, stream: TcpStream, connection: &mut Connection) {
    if !established(&stream, connection) {
        return;
    }
    match endpoint {
        Endpoint::Tcp => converse(stream, connection).await,
        Endpoint::Tls(configs) => {
            let connector = TlsConnector::from(configs.client.clone());
            let handshake = connector.connect(configs.server_name.clone(), stream);
            match handshake.await {
                Ok(tls) => after_handshake(tls, connection).await,
                Err(e) => connection.finish(reason_for(&e)),
            }
        }
    }
}

/// Runs `connection_made`; if the protocol aborted in it, resets and returns false.
fn established(stream: &TcpStream, connection: &mut Connection) -> bool {
    let _ = stream.set_nodelay(true);
    let address = |a: io::Result<SocketAddr>| {
        Address::Ip(a.unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))))
    };
    connection.made(address(stream.local_addr()), address(stream.peer_addr()));
    if connection.close_requested() == Some(CloseRequest::Abort) {
        let _ = stream.set_zero_linger();
        connection.finish(DisconnectReason::Aborted);
        return false;
    }
    true
}

async fn after_handshake<S: Socket>(stream: S, connection: &mut Connection) {
    connection.handshake_completed();
    converse(stream, connection).await;
}

/// A stream the reactor can reset (TCP, or TLS over TCP).
trait Socket: AsyncRead + AsyncWrite + Unpin {
    /// Whether this is TLS (no half-close; close_notify matters).
    const TLS: bool;

    /// Discards what is unsent and makes the close a reset (RST), not a FIN.
    fn reset(self);

    /// The TCP stream underneath.
    fn tcp(&mut self) -> &mut TcpStream;
}

impl Socket for TcpStream {
    const TLS: bool = false;

    fn reset(self) {
        let _ = self.set_zero_linger();
    }

    fn tcp(&mut self) -> &mut TcpStream {
        self
    }
}

impl Socket for tokio_rustls::server::TlsStream<TcpStream> {
    const TLS: bool = true;

    fn reset(self) {
        let _ = self.get_ref().0.set_zero_linger();
    }

    fn tcp(&mut self) -> &mut TcpStream {
        self.get_mut().0
    }
}

impl Socket for tokio_rustls::client::TlsStream<TcpStream> {
    const TLS: bool = true;

    fn reset(self) {
        let _ = self.get_ref().0.set_zero_linger();
    }

    fn tcp(&mut self) -> &mut TcpStream {
        self.get_mut().0
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

/// The protocol's timers, by deadline.
#[derive(Default)]
struct Timers(BTreeSet<(Instant, TimerId)>);

impl Timers {
    fn schedule(&mut self, connection: &mut Connection) {
        let now = Instant::now();
        for (id, delay) in connection.take_new_timers() {
            self.0.insert((now + delay, id));
        }
    }

    fn next(&self) -> Option<Instant> {
        self.0.first().map(|(at, _)| *at)
    }

    fn fire_due(&mut self, connection: &mut Connection) {
        let now = Instant::now();
        while let Some(&(at, id)) = self.0.first() {
            if at > now || connection.is_finished() {
                break;
            }
            self.0.pop_first();
            connection.fire_timer(id);
        }
    }
}

/// The open phase: send what the protocol writes, deliver what arrives, fire its timers,
/// until the connection ends.
async fn converse<S: Socket>(mut stream: S, connection: &mut Connection) {
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut timers = Timers::default();
    loop {
        timers.schedule(connection);
        let request = connection.close_requested().or_else(|| {
            // TLS has no half-close: close_notify ends the whole connection.
            (S::TLS && connection.half_close_requested()).then_some(CloseRequest::Lose)
        });
        match request {
            Some(CloseRequest::Abort) => {
                stream.reset();
                connection.finish(DisconnectReason::Aborted);
                return;
            }
            Some(request) => {
                let close_notify = request != CloseRequest::LoseWithoutCloseNotify;
                let reason = close(&mut stream, connection, &mut buffer, close_notify).await;
                connection.finish(reason);
                return;
            }
            None => {}
        }
        if connection.half_close_requested() {
            if let Err(e) = flush_and_shutdown(&mut stream, connection, true).await {
                connection.finish(reason_for(&e));
                return;
            }
            connection.write_closed();
            continue;
        }
        if connection.is_write_closed() && connection.is_read_closed() {
            connection.finish(DisconnectReason::Done);
            return;
        }
        let read = connection.wants_read() && !connection.is_read_closed();
        let next_timer = timers.next();
        let step = poll_fn(|cx| {
            if let Some(at) = next_timer
                && at <= Instant::now()
            {
                return Poll::Ready(Turn::Timer);
            }
            turn(cx, &mut stream, connection, &mut buffer, read)
        });
        let step = match next_timer {
            Some(at) => tokio::time::timeout_at(at, step)
                .await
                .unwrap_or(Turn::Timer),
            None => step.await,
        };
        match step {
            Turn::Timer => timers.fire_due(connection),
            Turn::Read(0) => {
                if !S::TLS && connection.peer_half_closed() {
                    continue;
                }
                // The peer closed (FIN; over TLS after close_notify). Flush what the protocol
                // had written and close our side too.
                let reason = match flush_and_shutdown(&mut stream, connection, true).await {
                    Ok(()) => DisconnectReason::Done,
                    Err(e) => reason_for(&e),
                };
                connection.finish(reason);
                return;
            }
            Turn::Read(n) => connection.received(&buffer[..n]),
            Turn::Flushed => {}
            Turn::Failed(e) => {
                connection.finish(reason_for(&e));
                return;
            }
        }
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
        match Pin::new(&mut *stream).poll_write(cx, connection.pending_writes()) {
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

/// This side called `lose_connection`: flush, send FIN (over TLS close_notify first, unless
/// told not to), then read and discard until the peer's EOF, for at most [`LINGER`].
async fn close<S: Socket>(
    stream: &mut S,
    connection: &mut Connection,
    buffer: &mut [u8],
    close_notify: bool,
) -> DisconnectReason {
    // Keep reading (and discarding) while flushing, so a peer that writes as much as we do
    // cannot deadlock the flush.
    let mut reading = !connection.is_read_closed();
    while !connection.pending_writes().is_empty() {
        let step = poll_fn(|cx| {
            let polled = turn(cx, stream, connection, buffer, reading);
            if polled.is_pending() && connection.pending_writes().is_empty() {
                return Poll::Ready(Turn::Flushed);
            }
            polled
        })
        .await;
        match step {
            Turn::Failed(e) => return reason_for(&e),
            // The peer has stopped writing; it may still be reading what we flush.
            Turn::Read(0) => reading = false,
            Turn::Read(_) | Turn::Flushed | Turn::Timer => {}
        }
    }
    if let Err(e) = flush_and_shutdown(stream, connection, close_notify).await {
        return reason_for(&e);
    }
    if connection.is_read_closed() {
        return DisconnectReason::Done;
    }
    let deadline = Instant::now() + LINGER;
    loop {
        let read = poll_fn(|cx| {
            let mut read_buf = ReadBuf::new(&mut *buffer);
            Pin::new(&mut *stream)
                .poll_read(cx, &mut read_buf)
                .map_ok(|()| read_buf.filled().len())
        });
        match tokio::time::timeout_at(deadline, read).await {
            // EOF (with or without the peer's close_notify: ours went out) or no EOF within the
            // linger: our close was clean.
            Err(_) | Ok(Ok(0)) => return DisconnectReason::Done,
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return DisconnectReason::Done;
            }
            Ok(Err(e)) => return reason_for(&e),
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends what is pending, then closes our writing side (TLS: close_notify, then FIN).
async fn flush_and_shutdown<S: Socket>(
    stream: &mut S,
    connection: &mut Connection,
    close_notify: bool,
) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let deadline = Instant::now() + LINGER;
    let flush = async {
        while !connection.pending_writes().is_empty() {
            let n = stream.write(connection.pending_writes()).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            connection.wrote(n);
        }
        stream.flush().await?;
        if close_notify {
            stream.shutdown().await
        } else {
            stream.tcp().shutdown().await
        }
    };
    match tokio::time::timeout_at(deadline, flush).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer did not take our last writes",
        )),
    }
}

/// The reason an I/O error means: a TLS failure if rustls produced it, otherwise a lost
/// connection.
fn reason_for(error: &io::Error) -> DisconnectReason {
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
