//! The tokio reactors: `tokio-ct`, on a current-thread runtime, and `tokio-mt`, on a
//! multi-thread runtime with two workers; tokio-rustls for TLS.
//!
//! On `tokio-ct` both sides run as futures joined on one thread. On `tokio-mt` each side is a
//! task of its own, so the two sides run on different worker threads and their callbacks
//! interleave for real. A pairing has a runtime to itself while it runs, and when `drive`
//! returns every task and socket of the pairing is gone, on timeout too. The runtime itself is
//! kept for the next pairing ([`RuntimePool`]): building one costs an epoll instance, a timer
//! wheel and, for `tokio-mt`, two threads, which is more than a whole loopback pairing. The
//! conversation itself (`converse`) is one generic function over every byte stream the
//! endpoints offer: TCP over IPv4 or IPv6, UNIX domain sockets, the in-memory pipe, and TLS
//! over any of them.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant as StdInstant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::runtime::Runtime;
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::buffers::ReadBuffer;
use crate::memory::{self, MemoryStream};
use crate::{Action, Address, Connection, DisconnectReason, Endpoint, Error, Network, Reactor};

use super::{Role, UnixPath, WRITE_SLICES};

/// How long handing one read to the protocol may take before the side yields to the rest of
/// the runtime.
const LONG_DELIVERY: Duration = Duration::from_millis(1);

/// The `tokio-ct` reactor: each pairing runs on a current-thread runtime of its own while it
/// runs; the runtime is kept for a later pairing when nothing is left on it.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioCurrentThread;

/// The `tokio-mt` reactor: each pairing on a multi-thread runtime with two workers, each side a
/// task of its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioMultiThread;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    fn build(self) -> Result<Runtime, Error> {
        let mut builder = match self {
            Self::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Self::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
        };
        builder
            .enable_all()
            .build()
            .map_err(Error::io("building the tokio runtime"))
    }

    fn pool(self) -> &'static RuntimePool {
        static CURRENT_THREAD: RuntimePool = RuntimePool::new(Flavor::CurrentThread);
        static MULTI_THREAD: RuntimePool = RuntimePool::new(Flavor::MultiThread);
        match self {
            Self::CurrentThread => &CURRENT_THREAD,
            Self::MultiThread => &MULTI_THREAD,
        }
    }
}

/// Idle runtimes of one flavor, kept between pairings: as many as pairings have run at once
/// (one per test thread), each lent to one pairing at a time.
///
/// A runtime goes back only if the pairing left nothing on it: no task alive (on `tokio-ct`
/// nothing is spawned; a stream of your own that spawned tasks gets its runtime dropped with
/// them, as before), and on `tokio-mt` both sides' tasks finished. After a timeout the runtime
/// is shut down in the background instead, abandoning a callback that may still be stuck in a
/// worker. A process-wide pool rather than a thread-local one, so that no runtime is ever
/// dropped by a thread-local destructor.
struct RuntimePool {
    flavor: Flavor,
    idle: Mutex<Vec<Runtime>>,
}

impl RuntimePool {
    /// More idle runtimes than this are dropped: pairings rarely run more than this many at
    /// once.
    const KEEP: usize = 8;

    const fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle runtime, or a new one.
    fn take(&self) -> Result<Runtime, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(runtime) => Ok(runtime),
            None => self.flavor.build(),
        }
    }

    /// Gives back a runtime a pairing has finished with; `clean` says the pairing's tasks
    /// all ended. A runtime with anything left on it is shut down instead.
    fn give_back(&self, runtime: Runtime, clean: bool) {
        let clean = clean
            && match self.flavor {
                Flavor::CurrentThread => runtime.metrics().num_alive_tasks() == 0,
                // A finished task can still count as alive for a moment after its join
                // handle completed; `clean` already says both tasks ended.
                Flavor::MultiThread => true,
            };
        if clean {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < Self::KEEP {
                idle.push(runtime);
                return;
            }
        }
        shut_down(runtime);
    }

    /// Runs `pairing` on a runtime of this pool; it returns its result and whether every task
    /// it started has ended.
    fn run<T>(&self, pairing: impl FnOnce(&Runtime) -> (T, bool)) -> Result<T, Error> {
        let runtime = self.take()?;
        // If the pairing panics, the runtime is dropped with the unwinding, not given back.
        let (result, clean) = pairing(&runtime);
        self.give_back(runtime, clean);
        Ok(result)
    }
}

/// Drops the runtimes kept between pairings, and with them their threads and descriptors.
///
/// For leak checks: how many runtimes are kept depends on how many pairings ran at once and
/// how many timed out (a runtime with a pairing left on it is not kept), so a count of a
/// process's threads or descriptors taken while some are kept says little. Release them
/// first, and whatever is left is what pairings left behind. Pairings that run afterwards
/// build new runtimes.
pub fn release_idle_runtimes() {
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let idle = std::mem::take(
            &mut *flavor
                .pool()
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for runtime in idle {
            shut_down(runtime);
        }
    }
}

/// The two reactors differ only in their runtime's flavor.
macro_rules! tokio_reactor {
    ($reactor:ty, $name:literal, $flavor:expr) => {
        impl Reactor for $reactor {
            fn name(&self) -> &'static str {
                $name
            }

            fn drive(
                &self,
                endpoint: &Endpoint,
                server: Connection,
                client: Connection,
                timeout: Duration,
            ) -> Result<(), Error> {
                drive($flavor, endpoint, server, client, timeout)
            }

            fn accept(
                &self,
                endpoint: &Endpoint,
                listener: std::net::TcpListener,
                server: Connection,
                timeout: Duration,
            ) -> Result<(), Error> {
                accept($flavor, endpoint, listener, server, timeout)
            }

            fn connect(
                &self,
                endpoint: &Endpoint,
                address: SocketAddr,
                client: Connection,
                timeout: Duration,
            ) -> Result<(), Error> {
                connect_to($flavor, endpoint, address, client, timeout)
            }
        }
    };
}

tokio_reactor!(TokioCurrentThread, "tokio-ct", Flavor::CurrentThread);
tokio_reactor!(TokioMultiThread, "tokio-mt", Flavor::MultiThread);

/// Runs both sides to their end, or until the timeout; on `tokio-mt` as two tasks.
fn drive(
    flavor: Flavor,
    endpoint: &Endpoint,
    server: Connection,
    client: Connection,
    timeout: Duration,
) -> Result<(), Error> {
    flavor.pool().run(|runtime| {
        runtime.block_on(async {
            let (server_stream, client_stream) = match connected(endpoint.network).await {
                Ok(streams) => streams,
                Err(e) => return (Err(e), true),
            };
            // Boxed: a side's future holds every stream and TLS state it may need (tens of
            // KiB); moved by value into the join, the timeout and block_on, it was copied
            // whole each time, which cost more instructions than the rest of a pairing.
            let server_side = Box::pin(side(endpoint.clone(), server_stream, server, Role::Server));
            let client_side = Box::pin(side(endpoint.clone(), client_stream, client, Role::Client));
            // A timeout leaves the unfinished side's record open, which is how the caller
            // learns of it.
            let finished = match flavor {
                Flavor::CurrentThread => {
                    tokio::time::timeout(timeout, async { tokio::join!(server_side, client_side) })
                        .await
                        .is_ok()
                }
                Flavor::MultiThread => {
                    // At the timeout each task hands its side back unfinished instead of
                    // dropping it: closing one side's stream while the other still runs on its
                    // worker would show that one an EOF it could end done on (the threads
                    // reactor keeps its sockets open until both threads stop, for the same
                    // reason).
                    let (stop, stopped) = tokio::sync::watch::channel(false);
                    let spawn_side = |side, mut stopped: tokio::sync::watch::Receiver<bool>| {
                        tokio::spawn(async move {
                            let mut side = side;
                            // The stop first: a busy side spends the task's whole coop
                            // budget, after which the watch would report nothing.
                            tokio::select! {
                                biased;
                                _ = stopped.wait_for(|stop| *stop) => Some(side),
                                () = &mut side => None,
                            }
                        })
                    };
                    let mut server_task = spawn_side(server_side, stopped.clone());
                    let mut client_task = spawn_side(client_side, stopped);
                    let both = async { tokio::join!(&mut server_task, &mut client_task) };
                    let joined = tokio::time::timeout(timeout, both).await.is_ok();
                    if !joined {
                        // A task that finished ended its side (nothing to keep) and may have
                        // been awaited to its end already: only the others are awaited.
                        let running: Vec<_> = [server_task, client_task]
                            .into_iter()
                            .filter(|task| !task.is_finished())
                            .collect();
                        let _ = stop.send(true);
                        // The unfinished sides, and so their streams, are dropped together
                        // once both have stopped; a callback stuck in a worker is abandoned
                        // (and its runtime is not reused).
                        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
                            let mut unfinished = Vec::new();
                            for task in running {
                                unfinished.push(task.await);
                            }
                            unfinished
                        })
                        .await;
                    }
                    joined
                }
            };
            (Ok(()), finished)
        })
    })?
}

/// How long `drive` waits, once a pairing is over, for a runtime it does not keep to drop its
/// tasks and exit.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Shuts down a runtime the pool does not keep (something was left on it, or the pool is
/// full), and waits until its threads have dropped their tasks and sockets and exited, so
/// that nothing of the pairing outlives `drive` (a background shutdown left worker threads, a
/// poller and sockets behind for a while after each trial). A callback stuck in a worker must
/// not hold the caller: after [`SHUTDOWN_GRACE`] it is abandoned, with its thread.
fn shut_down(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

fn accept(
    flavor: Flavor,
    endpoint: &Endpoint,
    listener: std::net::TcpListener,
    mut server: Connection,
    timeout: Duration,
) -> Result<(), Error> {
    flavor.pool().run(|runtime| {
        runtime.block_on(async {
            if let Err(e) = listener.set_nonblocking(true) {
                return (Err(Error::io("making the listener non-blocking")(e)), true);
            }
            let listener = match TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => return (Err(Error::io("registering the listener")(e)), true),
            };
            let finished = tokio::time::timeout(timeout, async {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        drop(listener);
                        let stream = (Stream::Tcp(stream), None);
                        side(endpoint.clone(), stream, server, Role::Server).await;
                    }
                    Err(e) => {
                        server.finish(DisconnectReason::Refused(format!("accept failed: {e}")));
                    }
                }
            })
            .await
            .is_ok();
            (Ok(()), finished)
        })
    })?
}

fn connect_to(
    flavor: Flavor,
    endpoint: &Endpoint,
    address: SocketAddr,
    mut client: Connection,
    timeout: Duration,
) -> Result<(), Error> {
    flavor.pool().run(|runtime| {
        let finished = runtime.block_on(async {
            tokio::time::timeout(timeout, async {
                match TcpStream::connect(address).await {
                    Ok(stream) => {
                        let stream = (Stream::Tcp(stream), None);
                        side(endpoint.clone(), stream, client, Role::Client).await;
                    }
                    Err(e) => client.finish(DisconnectReason::Refused(format!(
                        "connecting to {address}: {e}"
                    ))),
                }
            })
            .await
            .is_ok()
        });
        ((), finished)
    })
}

/// A connected pair of streams over `network`: (server's, client's), each with its
/// addresses (this end's, the peer's) where connecting told them already. The listener (and a
/// UNIX socket's path) is gone once the client is connected.
async fn connected(network: Network) -> Result<(Connected, Connected), Error> {
    match network {
        Network::Tcp | Network::Tcp6 => {
            let loopback: SocketAddr = match network {
                Network::Tcp6 => (Ipv6Addr::LOCALHOST, 0).into(),
                _ => (Ipv4Addr::LOCALHOST, 0).into(),
            };
            let listener = TcpListener::bind(loopback)
                .await
                .map_err(Error::io("binding a loopback port"))?;
            let address = listener
                .local_addr()
                .map_err(Error::io("reading the listener's address"))?;
            let (accepted, connected) =
                tokio::join!(listener.accept(), TcpStream::connect(address));
            let (server, client_address) = accepted.map_err(Error::io("accepting"))?;
            let client = connected.map_err(Error::io("connecting"))?;
            // The listener's address and the one accept() reported are both ends of this
            // connection: asking the sockets again would cost four system calls.
            let (server_address, client_address) =
                (Address::Ip(address), Address::Ip(client_address));
            for stream in [&server, &client] {
                let _ = stream.set_nodelay(true);
            }
            Ok((
                (
                    Stream::Tcp(server),
                    Some((server_address.clone(), client_address.clone())),
                ),
                (Stream::Tcp(client), Some((client_address, server_address))),
            ))
        }
        Network::Unix => {
            let path = UnixPath::fresh();
            let listener =
                UnixListener::bind(&path.0).map_err(Error::io("binding a UNIX socket"))?;
            let (accepted, connected) =
                tokio::join!(listener.accept(), UnixStream::connect(&path.0));
            let (server, _) = accepted.map_err(Error::io("accepting"))?;
            let client = connected.map_err(Error::io("connecting"))?;
            // The path is removed here; the connected sockets do not need it.
            drop(path);
            Ok(((Stream::Unix(server), None), (Stream::Unix(client), None)))
        }
        Network::Memory => {
            let (server, client) = memory::pair();
            Ok((
                (Stream::Memory(server), None),
                (Stream::Memory(client), None),
            ))
        }
        #[allow(unreachable_patterns)] // Network is non_exhaustive for users, not for us
        _ => Err(Error::Io {
            context: "choosing a network",
            source: io::ErrorKind::Unsupported.into(),
        }),
    }
}

/// Drives a pairing over two connected streams of a transport of your own, the way the
/// tokio reactors drive their built-in ones, on a current-thread runtime of its own: the
/// whole contract (callbacks, closing, resets, timers, TLS from `endpoint.tls` on top) is
/// the same; only the byte stream is yours. `endpoint.network` is not used. Returns by the
/// timeout, leaving a side still open unfinished.
pub fn drive_streams<S: ByteStream>(
    endpoint: &Endpoint,
    server: (S, Connection),
    client: (S, Connection),
    timeout: Duration,
) -> Result<(), Error> {
    let ((server_stream, mut server), (client_stream, mut client)) = (server, client);
    Flavor::CurrentThread.pool().run(|runtime| {
        let finished = runtime.block_on(async {
            tokio::time::timeout(timeout, async {
                tokio::join!(
                    side_over(endpoint, server_stream, None, &mut server, Role::Server),
                    side_over(endpoint, client_stream, None, &mut client, Role::Client),
                )
            })
            .await
            .is_ok()
        });
        ((), finished)
    })
}

/// A reactor made of a transport of your own: `connect_pair` returns two connected streams
/// (server's, client's) and [`drive_streams`] runs the contract over them. It pairs probes
/// only (no `accept` or `connect` with other processes) and says which networks it carries.
pub struct PairReactor<S, F> {
    name: &'static str,
    networks: &'static [Network],
    connect_pair: F,
    streams: std::marker::PhantomData<fn() -> S>,
}

impl<S, F> PairReactor<S, F>
where
    S: ByteStream,
    F: Fn() -> (S, S) + Send + Sync,
{
    /// A reactor named `name` that carries `networks` over pairs from `connect_pair`.
    pub const fn new(name: &'static str, networks: &'static [Network], connect_pair: F) -> Self {
        Self {
            name,
            networks,
            connect_pair,
            streams: std::marker::PhantomData,
        }
    }
}

impl<S, F> std::fmt::Debug for PairReactor<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairReactor")
            .field("name", &self.name)
            .field("networks", &self.networks)
            .finish_non_exhaustive()
    }
}

impl<S, F> Reactor for PairReactor<S, F>
where
    S: ByteStream,
    F: Fn() -> (S, S) + Send + Sync,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn supports(&self, network: Network, _tls: bool) -> bool {
        self.networks.contains(&network)
    }

    fn drive(
        &self,
        endpoint: &Endpoint,
        server: Connection,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let (server_stream, client_stream) = (self.connect_pair)();
        drive_streams(
            endpoint,
            (server_stream, server),
            (client_stream, client),
            timeout,
        )
    }

    fn accept(
        &self,
        _: &Endpoint,
        _: std::net::TcpListener,
        _: Connection,
        _: Duration,
    ) -> Result<(), Error> {
        Err(probes_only())
    }

    fn connect(
        &self,
        _: &Endpoint,
        _: SocketAddr,
        _: Connection,
        _: Duration,
    ) -> Result<(), Error> {
        Err(probes_only())
    }
}

fn probes_only() -> Error {
    Error::Io {
        context: "this reactor pairs probes only, not programs in other processes",
        source: io::ErrorKind::Unsupported.into(),
    }
}

/// One side from connection to end: `connection_made`, the TLS handshake if any, then the
/// conversation.
async fn side(endpoint: Endpoint, stream: Connected, mut connection: Connection, role: Role) {
    let (stream, addresses) = stream;
    let connection = &mut connection;
    match stream {
        Stream::Tcp(s) => side_over(&endpoint, s, addresses, connection, role).await,
        Stream::Unix(s) => side_over(&endpoint, s, addresses, connection, role).await,
        Stream::Memory(s) => side_over(&endpoint, s, addresses, connection, role).await,
    }
}

/// One side over a stream of a known type; `addresses` (this end's, the peer's), if known,
/// spare asking the stream. The connection says whether to reset at once (an abort in
/// `connection_made`), run the TLS handshake, or converse.
async fn side_over<S: ByteStream>(
    endpoint: &Endpoint,
    stream: S,
    addresses: Option<(Address, Address)>,
    connection: &mut Connection,
    role: Role,
) {
    let (host, peer) = addresses.unwrap_or_else(|| stream.addresses());
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
    let Some(tls) = tls else {
        return converse(stream, connection).await;
    };
    match role {
        Role::Server => match TlsAcceptor::from(tls.server.clone()).accept(stream).await {
            Ok(stream) => {
                connection.handshake_completed();
                converse(stream, connection).await;
            }
            Err(e) => connection.failed(&e),
        },
        Role::Client => {
            let connector = TlsConnector::from(tls.client.clone());
            match connector.connect(tls.server_name.clone(), stream).await {
                Ok(stream) => {
                    connection.handshake_completed();
                    converse(stream, connection).await;
                }
                Err(e) => connection.failed(&e),
            }
        }
    }
}

/// A connected stream, with its addresses if they are known already.
type Connected = (Stream, Option<(Address, Address)>);

/// A connected byte stream of any network, before TLS.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Memory(MemoryStream),
}

/// What a reactor needs of a byte stream, TLS or not.
trait Socket: AsyncRead + AsyncWrite + Unpin + Send {
    /// The stream under TLS, or the stream itself.
    type Raw: AsyncWrite + Unpin;

    /// See [`ByteStream::reset`].
    fn reset(self);

    /// The stream under TLS, for a close without close_notify.
    fn raw(&mut self) -> &mut Self::Raw;
}

/// A connected byte stream of some transport, as the tokio reactors drive it: implement it
/// for your own transport's stream and [`drive_streams`] runs the whole contract (TLS on top
/// included) over it.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Discards what is unsent and makes the close a reset, not a clean EOF, where the
    /// transport has resets (TCP: RST; the in-memory pipe: a reset flag). A UNIX socket has
    /// none: its peer sees an EOF, or a reset if it had unread data.
    fn reset(self);

    /// This end's address and the peer's.
    fn addresses(&self) -> (Address, Address);
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

impl ByteStream for TcpStream {
    fn reset(self) {
        let _ = self.set_zero_linger();
    }

    fn addresses(&self) -> (Address, Address) {
        let _ = self.set_nodelay(true);
        let address = |a: io::Result<SocketAddr>| {
            Address::Ip(a.unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))))
        };
        (address(self.local_addr()), address(self.peer_addr()))
    }
}

impl ByteStream for UnixStream {
    fn reset(self) {}

    fn addresses(&self) -> (Address, Address) {
        let path = |a: io::Result<tokio::net::unix::SocketAddr>| {
            Address::Unix(
                a.ok()
                    .and_then(|a| a.as_pathname().map(PathBuf::from))
                    .unwrap_or_default(),
            )
        };
        (path(self.local_addr()), path(self.peer_addr()))
    }
}

impl ByteStream for MemoryStream {
    fn reset(self) {
        MemoryStream::reset(self);
    }

    fn addresses(&self) -> (Address, Address) {
        (
            Address::Memory("this end"),
            Address::Memory("the other end"),
        )
    }
}

impl<S: Socket> Socket for tokio_rustls::server::TlsStream<S> {
    type Raw = S;

    fn reset(self) {
        self.into_inner().0.reset();
    }

    fn raw(&mut self) -> &mut S {
        self.get_mut().0
    }
}

impl<S: Socket> Socket for tokio_rustls::client::TlsStream<S> {
    type Raw = S;

    fn reset(self) {
        self.into_inner().0.reset();
    }

    fn raw(&mut self) -> &mut S {
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

/// After the handshake: carries out what the connection asks ([`Action`]) until it has
/// ended. Every decision (which close, what an EOF means, timers, the linger, which reason an
/// error means) is the connection's; this only moves bytes and waits.
async fn converse<S: Socket>(mut stream: S, connection: &mut Connection) {
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
