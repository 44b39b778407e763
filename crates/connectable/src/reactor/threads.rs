//! `threads`: std blocking sockets, one thread per side, rustls over the blocking stream.
//!
//! A genuinely different implementation of the contract `tokio-ct` and `tokio-mt` implement,
//! as Twisted has select, poll and epoll reactors: no runtime, no readiness events, no
//! futures. `drive` connects the two sockets, then runs each side on a thread of its own (the
//! client on a scoped thread, so none outlives the pairing, the server on the caller's). A
//! side's thread owns its socket, its [`Connection`] and, over TLS, its `rustls::Connection`,
//! which it drives by hand (`read_tls`, `process_new_packets`, `reader`; `writer`,
//! `write_tls`).
//!
//! # One thread, two directions
//!
//! A side must keep reading while its writes are blocked (two peers that both write more than
//! the socket buffers hold would otherwise deadlock), and must wake for its timers. With
//! blocking sockets and no `poll(2)` in std, each side alternates bounded blocking calls:
//!
//! - only reading (nothing to send): one `read` that blocks until data, EOF, or the next
//!   timer or the deadline (`SO_RCVTIMEO`);
//! - only writing (reading paused or closed): one `write` that blocks until the socket takes
//!   bytes, or the next timer or the deadline (`SO_SNDTIMEO`);
//! - both: a `write` bounded by a short slice, then a `read`: non-blocking if the write made
//!   progress, bounded by the slice if it did not. The slice starts at 1 ms and doubles, up
//!   to 16 ms, while neither direction moves, so a side stuck on a peer that neither reads nor
//!   writes makes about 30 rounds a second; any progress resets it. The direction a call
//!   waits on is served at once when it can move; the other within a slice;
//! - neither: sleep until the next timer or the deadline (only a timer can change anything).
//!
//! Every blocking call is bounded by the pairing's deadline, so at the timeout each thread
//! returns by itself, leaving its side unfinished, and no thread has to unblock another. A
//! side that stops at the deadline keeps its socket open until both threads have stopped:
//! closing it at once would send the other side an EOF it could still end `done` on.
//! (A reader thread and a writer thread per side would wake exactly on each event, but would
//! need a third thread for the protocol and a way to unblock a blocked writer on abort without
//! sending a FIN; bounded calls keep one thread per side and make the deadline local.)
//!
//! # Closing
//!
//! The [`Connection`] decides, as for the tokio reactors: this side only carries out its
//! actions (send and read while it flushes and lingers, close_notify when asked and FIN with
//! `shutdown(Write)`, a reset) and tells it what happened. An abort resets: std has no stable
//! `SO_LINGER`, so the TCP socket is handed to `tokio::net::TcpSocket` (a plain socket wrapper
//! that needs no runtime) for `set_zero_linger`, then closed. A UNIX socket has no reset: its peer sees an
//! EOF, or a reset if it had unread data, as on the tokio reactors.
//!
//! It runs TCP over IPv4 and IPv6 loopback and UNIX domain sockets, each with or without TLS;
//! not the in-memory pipe, which is a tokio duplex and only a tokio reactor can drive.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::buffers::ReadBuffer;
use crate::{Action, Address, Connection, DisconnectReason, Endpoint, Error, Network, Reactor};

use super::listeners;
use super::{
    CLIENT_HELD, Ledger, Role, SERVER_HELD, UnixPath, WRITE_SLICES, connect_bound, connect_failed,
    ip_address, take_left_behind, unix_address,
};

/// The most handed to one `write` on a plain socket, so one call cannot keep a side from
/// reading for long while a slow peer takes a large buffer bit by bit.
const WRITE_CHUNK: usize = 256 * 1024;

/// The bound of each blocking call while a side both writes and reads, at first ...
const MIN_SLICE: Duration = Duration::from_millis(1);

/// ... and at most, after rounds in which neither direction moved.
const MAX_SLICE: Duration = Duration::from_millis(16);

/// How often a listener is polled while no connection is pending.
const ACCEPT_POLL: Duration = Duration::from_millis(2);

/// The `threads` reactor: std blocking sockets, a thread per side, rustls driven by hand.
///
/// Each side runs on a thread of its own for the pairing (scoped: none outlives `drive`),
/// alternating reads and writes bounded by socket timeouts so that neither direction blocks
/// the other, its timers, or the deadline. Aborts reset TCP connections (`SO_LINGER` 0).
/// It drives TCP over IPv4 and IPv6 and UNIX domain sockets, with or without TLS; not the
/// in-memory pipe, a tokio duplex stream that only a tokio runtime can drive.
#[derive(Clone, Copy, Debug, Default)]
pub struct Threads;

impl Reactor for Threads {
    fn name(&self) -> &'static str {
        "threads"
    }

    /// TCP (IPv4, IPv6) and UNIX sockets, with or without TLS; not [`Network::Memory`], whose
    /// pipe is a tokio duplex stream that only a tokio runtime can drive.
    fn supports(&self, network: Network, _tls: bool) -> bool {
        matches!(network, Network::Tcp | Network::Tcp6 | Network::Unix)
    }

    fn drive(
        &self,
        endpoint: &Endpoint,
        server: Connection,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        Ledger::account(|ledger| {
            let (server_stream, client_stream) = connected(endpoint.network, deadline)?;
            let (client_held, server_held) = (ledger.hold(CLIENT_HELD), ledger.hold(SERVER_HELD));
            thread::scope(|scope| {
                let client_side = move || {
                    let kept = run(endpoint, client_stream, client, Role::Client, deadline);
                    (kept, client_held)
                };
                let client_thread = thread::Builder::new()
                    .name("threads-client".into())
                    .spawn_scoped(scope, client_side)
                    .map_err(Error::io("spawning the client's thread"))?;
                let server_kept = run(endpoint, server_stream, server, Role::Server, deadline);
                let client_kept = client_thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                // Sides still open at the deadline, and the ledger's entries that go with their
                // sockets, are dropped only now that neither thread runs.
                drop((server_kept, server_held, client_kept));
                Ok(())
            })
        })
    }

    /// What the last pairing on this thread left behind: its sides run in a
    /// `std::thread::scope`, so this stays empty unless a socket escapes its thread.
    fn leftovers(&self) -> Vec<String> {
        take_left_behind()
    }

    fn accept(
        &self,
        endpoint: &Endpoint,
        listener: TcpListener,
        mut server: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        listener
            .set_nonblocking(true)
            .map_err(Error::io("making the listener non-blocking"))?;
        match accept_until(deadline, || listener.accept().map(|(stream, _)| stream)) {
            Ok(Some(stream)) => {
                drop(listener);
                drop(side(endpoint, stream, &mut server, Role::Server, deadline));
            }
            // The timeout leaves the side unfinished, which is how the caller learns of it.
            Ok(None) => {}
            Err(e) => server.finish(DisconnectReason::Refused(format!("accept failed: {e}"))),
        }
        Ok(())
    }

    fn connect(
        &self,
        endpoint: &Endpoint,
        address: SocketAddr,
        mut client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let bound = connect_bound(endpoint, timeout);
        match TcpStream::connect_timeout(&address, bound) {
            Ok(stream) => drop(side(endpoint, stream, &mut client, Role::Client, deadline)),
            Err(_) if Instant::now() >= deadline => {}
            Err(e) => client.finish(DisconnectReason::Refused(connect_failed(
                address, &e, bound,
            ))),
        }
        Ok(())
    }
}

/// A connected byte stream of any network this reactor runs, before TLS.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A connected pair of streams over `network`: (server's, client's). The listener (and a
/// UNIX socket's path) is gone once both ends exist.
fn connected(network: Network, deadline: Instant) -> Result<(Stream, Stream), Error> {
    match network {
        Network::Tcp | Network::Tcp6 => {
            let (listener, address) = listeners::take(network)?;
            // The kernel completes a loopback connection without waiting for accept(), so
            // connecting first and accepting next needs no second thread.
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let client =
                TcpStream::connect_timeout(&address, wait).map_err(Error::io("connecting"))?;
            let client_address = client
                .local_addr()
                .map_err(Error::io("reading the client's address"))?;
            // Only this pairing's connection: a late one of an earlier trial on the kept
            // listener is closed unread.
            let server = accept_until(deadline, || {
                loop {
                    let (accepted, from) = listener.accept()?;
                    if listeners::is_ours(client_address, from) {
                        return Ok(accepted);
                    }
                }
            })
            .map_err(|e| listeners::not_accepted(Some(e)))?
            .ok_or_else(|| listeners::not_accepted(None))?;
            listeners::give_back((listener, address));
            Ok((Stream::Tcp(server), Stream::Tcp(client)))
        }
        Network::Unix => {
            let path = UnixPath::fresh();
            let listener =
                UnixListener::bind(&path.0).map_err(Error::io("binding a UNIX socket"))?;
            listener
                .set_nonblocking(true)
                .map_err(Error::io("making the listener non-blocking"))?;
            let client = UnixStream::connect(&path.0).map_err(Error::io("connecting"))?;
            let server = accept_until(deadline, || listener.accept().map(|(s, _)| s))
                .map_err(|e| listeners::not_accepted(Some(e)))?
                .ok_or_else(|| listeners::not_accepted(None))?;
            // The path is removed here; the connected sockets do not need it.
            drop(path);
            Ok((Stream::Unix(server), Stream::Unix(client)))
        }
        Network::Memory => Err(Error::Io {
            context: "the threads reactor has no in-memory transport",
            source: io::ErrorKind::Unsupported.into(),
        }),
    }
}

/// Accepts one connection from a non-blocking listener, polling until `deadline`; `None` if
/// none came by then.
fn accept_until<T>(
    deadline: Instant,
    mut accept: impl FnMut() -> io::Result<T>,
) -> io::Result<Option<T>> {
    loop {
        match accept() {
            Ok(stream) => return Ok(Some(stream)),
            Err(e) if quiet(&e) => {}
            Err(e) => return Err(e),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        thread::sleep(left.min(ACCEPT_POLL));
    }
}

/// Runs one side on this thread; the socket, still open, if the deadline passed.
fn run(
    endpoint: &Endpoint,
    stream: Stream,
    mut connection: Connection,
    role: Role,
    deadline: Instant,
) -> Option<Stream> {
    match stream {
        Stream::Tcp(s) => side(endpoint, s, &mut connection, role, deadline).map(Stream::Tcp),
        Stream::Unix(s) => side(endpoint, s, &mut connection, role, deadline).map(Stream::Unix),
    }
}

/// What this reactor needs of a blocking socket.
trait Raw: Read + Write + Sized {
    /// This end's address and the peer's (TCP: also turns Nagle off, as the tokio reactors
    /// do).
    fn addresses(&self) -> (Address, Address);
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sends FIN: the peer reads EOF.
    fn shutdown_write(&self) -> io::Result<()>;
    /// Discards what is unsent and closes with a reset where the network has one.
    fn reset(self);
}

/// The calls std's TCP and UNIX streams both have, under the same names.
macro_rules! raw_calls {
    ($stream:ty) => {
        fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
            <$stream>::set_nonblocking(self, nonblocking)
        }

        fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            <$stream>::set_read_timeout(self, timeout)
        }

        fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            <$stream>::set_write_timeout(self, timeout)
        }

        fn shutdown_write(&self) -> io::Result<()> {
            self.shutdown(Shutdown::Write)
        }
    };
}

impl Raw for TcpStream {
    raw_calls!(TcpStream);

    fn addresses(&self) -> (Address, Address) {
        let _ = self.set_nodelay(true);
        (ip_address(self.local_addr()), ip_address(self.peer_addr()))
    }

    fn reset(self) {
        // SO_LINGER 0: close() discards the send queue and sends RST. std's `set_linger` is
        // unstable; tokio's TcpSocket wraps the descriptor without a runtime.
        let socket = ::tokio::net::TcpSocket::from_std_stream(self);
        let _ = socket.set_zero_linger();
    }
}

impl Raw for UnixStream {
    raw_calls!(UnixStream);

    fn addresses(&self) -> (Address, Address) {
        let path = |a: io::Result<std::os::unix::net::SocketAddr>| {
            unix_address(a.ok().as_ref().and_then(|a| a.as_pathname()))
        };
        (path(self.local_addr()), path(self.peer_addr()))
    }

    fn reset(self) {}
}

/// How long one socket call may block.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// Not at all (non-blocking mode).
    Poll,
    /// Until this instant (a socket timeout); an instant already past means [`Wait::Poll`].
    Until(Instant),
}

impl Wait {
    /// Whether a loop of calls under this wait must stop now.
    fn passed(self) -> bool {
        match self {
            Self::Poll => true,
            Self::Until(at) => Instant::now() >= at,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Direction {
    Read,
    Write,
}

/// A blocking socket whose every call is bounded by a [`Wait`].
struct Wire<S> {
    stream: S,
    nonblocking: bool,
}

impl<S: Raw> Wire<S> {
    fn new(stream: S) -> io::Result<Self> {
        stream.set_nonblocking(false)?;
        Ok(Self {
            stream,
            nonblocking: false,
        })
    }

    fn prepare(&mut self, wait: Wait, direction: Direction) -> io::Result<()> {
        let timeout = match wait {
            Wait::Poll => None,
            Wait::Until(at) => {
                Some(at.saturating_duration_since(Instant::now())).filter(|left| !left.is_zero())
            }
        };
        let Some(timeout) = timeout else {
            if !self.nonblocking {
                self.stream.set_nonblocking(true)?;
                self.nonblocking = true;
            }
            return Ok(());
        };
        if self.nonblocking {
            self.stream.set_nonblocking(false)?;
            self.nonblocking = false;
        }
        match direction {
            Direction::Read => self.stream.set_read_timeout(Some(timeout)),
            Direction::Write => self.stream.set_write_timeout(Some(timeout)),
        }
    }

    fn read(&mut self, buffer: &mut [u8], wait: Wait) -> io::Result<usize> {
        self.prepare(wait, Direction::Read)?;
        self.stream.read(buffer)
    }

    fn write(&mut self, data: &[IoSlice<'_>], wait: Wait) -> io::Result<usize> {
        self.prepare(wait, Direction::Write)?;
        self.stream.write_vectored(data)
    }

    fn read_tls(&mut self, tls: &mut rustls::Connection, wait: Wait) -> io::Result<usize> {
        self.prepare(wait, Direction::Read)?;
        tls.read_tls(&mut self.stream)
    }

    fn write_tls(&mut self, tls: &mut rustls::Connection, wait: Wait) -> io::Result<usize> {
        self.prepare(wait, Direction::Write)?;
        tls.write_tls(&mut self.stream)
    }

    /// Sends all rustls holds, trying at least once, unless `until` passes first; whether it
    /// all went.
    fn flush_tls(&mut self, tls: &mut rustls::Connection, until: Instant) -> io::Result<bool> {
        let mut tried = false;
        while tls.wants_write() {
            if tried && Instant::now() >= until {
                return Ok(false);
            }
            tried = true;
            match self.write_tls(tls, Wait::Until(until)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Err(e) if !quiet(&e) => return Err(e),
                Ok(_) | Err(_) => {}
            }
        }
        Ok(true)
    }
}

/// Whether an I/O error only means "not now": a timeout, a would-block, a signal.
fn quiet(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A rustls failure as an I/O error, the way tokio-rustls reports it, so that
/// [`reason_for`](crate::reason_for) reads both reactors' errors alike.
fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// The deadline of the pairing passed: the side stops where it is, unfinished.
struct Expired;

/// What one turn of the I/O loop produced.
enum Step {
    /// This many bytes were read into the side's buffer.
    Read(usize),
    /// The peer's EOF (over TLS: its close_notify).
    Eof,
    /// Bytes were sent (and nothing read).
    Progress,
    /// Nothing moved before the wait ended.
    Idle,
    /// The stream failed.
    Failed(io::Error),
}

/// One side from connection to end: `connection_made`, the TLS handshake if any, then the
/// conversation.
///
/// If the deadline passes first, the side is left unfinished and its socket is returned, still
/// open: closing it now would send the other side, still running until the same deadline, an
/// EOF it could end `done` on. The caller closes both once both threads have stopped.
fn side<S: Raw>(
    endpoint: &Endpoint,
    stream: S,
    connection: &mut Connection,
    role: Role,
    deadline: Instant,
) -> Option<S> {
    let (host, peer) = stream.addresses();
    connection.made(host, peer, endpoint.tls.is_some(), Instant::now());
    match connection.poll_action(Instant::now()) {
        Action::Reset => {
            stream.reset();
            connection.reset_done();
            return None;
        }
        Action::Finished => return None,
        Action::Handshake | Action::Exchange | Action::ShutDownWriting { .. } => {}
    }
    let tls = endpoint.tls.as_ref().map(|configs| match role {
        Role::Server => rustls::ServerConnection::new(configs.server.clone()).map(Into::into),
        Role::Client => {
            let (config, name) = (configs.client.clone(), configs.server_name.clone());
            rustls::ClientConnection::new(config, name).map(Into::into)
        }
    });
    let (wire, tls) = match (Wire::new(stream), tls.transpose().map_err(tls_error)) {
        (Ok(wire), Ok(tls)) => (wire, tls),
        (Err(e), _) | (_, Err(e)) => {
            connection.failed(&e);
            return None;
        }
    };
    let mut side = Side {
        wire,
        tls,
        deadline,
        buffer: ReadBuffer::take(),
    };
    if side.tls.is_some() {
        match side.handshake() {
            Err(Expired) => return Some(side.wire.stream),
            Ok(Some(error)) => {
                connection.failed(&error);
                return None;
            }
            Ok(None) => {
                if let Some(tls) = &side.tls {
                    connection.tls_negotiated(tls);
                }
                connection.handshake_completed();
            }
        }
    }
    side.converse(connection)
}

/// One side's socket, TLS state and read buffer, owned by its thread.
struct Side<S> {
    wire: Wire<S>,
    tls: Option<rustls::Connection>,
    deadline: Instant,
    buffer: ReadBuffer,
}

impl<S: Raw> Side<S> {
    /// Runs the TLS handshake to its end; `Some` if it failed.
    fn handshake(&mut self) -> Result<Option<io::Error>, Expired> {
        let Self {
            wire,
            tls: Some(tls),
            deadline,
            ..
        } = self
        else {
            return Ok(None);
        };
        let deadline = *deadline;
        loop {
            match wire.flush_tls(tls, deadline) {
                Ok(true) => {}
                Ok(false) => return Err(Expired),
                Err(e) => return Ok(Some(e)),
            }
            if !tls.is_handshaking() {
                return Ok(None);
            }
            match wire.read_tls(tls, Wait::Until(deadline)) {
                Ok(n) => match tls.process_new_packets() {
                    Err(e) => {
                        send_alert(wire, tls);
                        return Ok(Some(tls_error(e)));
                    }
                    Ok(state) if tls.is_handshaking() && (n == 0 || state.peer_has_closed()) => {
                        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
                        return Ok(Some(eof));
                    }
                    Ok(_) => {}
                },
                Err(e) if quiet(&e) && Instant::now() < deadline => {}
                Err(e) if quiet(&e) => return Err(Expired),
                Err(e) => return Ok(Some(e)),
            }
        }
    }

    /// After the handshake: carries out what the connection asks ([`Action`]) until it has
    /// ended or the deadline passes; every decision is the connection's, this only moves
    /// bytes and waits. Returns the socket, still open, if the deadline passed (see [`side`]).
    fn converse(mut self, connection: &mut Connection) -> Option<S> {
        let mut slice = MIN_SLICE;
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Some(self.wire.stream);
            }
            match connection.poll_action(now) {
                Action::Finished => return None,
                Action::Reset => {
                    self.wire.stream.reset();
                    connection.reset_done();
                    return None;
                }
                Action::ShutDownWriting { close_notify } => {
                    // The bound of the last flush starts now: ask again.
                    match self.shut_down_writing(close_notify, self.wake(connection)) {
                        Ok(true) => connection.write_shut(Instant::now()),
                        Ok(false) => connection.handle_timeout(Instant::now()),
                        Err(e) => connection.failed(&e),
                    }
                }
                // The handshake is over once conversing.
                Action::Exchange | Action::Handshake => {
                    if let Some(at) = connection.poll_timeout()
                        && at <= now
                    {
                        connection.handle_timeout(now);
                        continue;
                    }
                    let read = connection.wants_read();
                    match self.step(connection, read, self.wake(connection), slice) {
                        Step::Idle => slice = (slice * 2).min(MAX_SLICE),
                        Step::Progress => slice = MIN_SLICE,
                        Step::Read(n) => {
                            slice = MIN_SLICE;
                            connection.received(&self.buffer[..n]);
                        }
                        Step::Eof => connection.peer_closed(Instant::now()),
                        Step::Failed(e) => connection.failed(&e),
                    }
                }
            }
        }
    }

    /// When the connection's next timer or the deadline is due, whichever comes first.
    fn wake(&self, connection: &Connection) -> Instant {
        connection
            .poll_timeout()
            .map_or(self.deadline, |at| at.min(self.deadline))
    }

    /// One turn: send what is pending and, if `read`, read; block at most until `wake` (see
    /// the module documentation for how the two directions share the wait).
    fn step(
        &mut self,
        connection: &mut Connection,
        read: bool,
        wake: Instant,
        slice: Duration,
    ) -> Step {
        if read && let Some(step) = self.plaintext() {
            return step;
        }
        let writing = !connection.pending_writes().is_empty()
            || self.tls.as_ref().is_some_and(|tls| tls.wants_write());
        if writing {
            let bounded = || wake.min(Instant::now() + slice);
            let until = if read { bounded() } else { wake };
            let progress = match self.write_some(connection, Wait::Until(until)) {
                Ok(progress) => progress,
                Err(fault) => return Step::Failed(fault),
            };
            if read {
                let wait = if progress {
                    Wait::Poll
                } else {
                    Wait::Until(bounded())
                };
                match self.read_some(wait) {
                    Step::Idle | Step::Progress => {}
                    step => return step,
                }
            }
            return if progress { Step::Progress } else { Step::Idle };
        }
        if read {
            return self.read_some(Wait::Until(wake));
        }
        // Neither direction can move: only a timer (or the deadline) changes anything.
        thread::sleep(wake.saturating_duration_since(Instant::now()));
        Step::Idle
    }

    /// Over TLS, plaintext rustls already holds (or the end it already knows of).
    fn plaintext(&mut self) -> Option<Step> {
        let tls = self.tls.as_mut()?;
        match tls.reader().read(&mut self.buffer) {
            Ok(0) => Some(Step::Eof),
            Ok(n) => Some(Step::Read(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => Some(Step::Failed(e)),
        }
    }

    /// Reads once (over TLS, until a whole record's plaintext or the wait ends).
    fn read_some(&mut self, wait: Wait) -> Step {
        if self.tls.is_none() {
            return match self.wire.read(&mut self.buffer, wait) {
                Ok(0) => Step::Eof,
                Ok(n) => Step::Read(n),
                Err(e) if quiet(&e) => Step::Idle,
                Err(e) => Step::Failed(e),
            };
        }
        loop {
            if let Some(step) = self.plaintext() {
                return step;
            }
            let Self { wire, tls, .. } = self;
            let Some(tls) = tls else {
                return Step::Idle;
            };
            match wire.read_tls(tls, wait) {
                // Ok(0) is the TCP EOF: rustls remembers it, and its reader then says whether
                // close_notify came first.
                Ok(_) => {
                    if let Err(e) = tls.process_new_packets() {
                        send_alert(wire, tls);
                        return Step::Failed(tls_error(e));
                    }
                }
                Err(e) if quiet(&e) => return Step::Idle,
                Err(e) => return Step::Failed(e),
            }
        }
    }

    /// Sends what it can of what is pending within `wait`; whether anything moved. Over TLS
    /// the protocol's bytes count as written once rustls has taken them, as with
    /// tokio-rustls.
    fn write_some(&mut self, connection: &mut Connection, wait: Wait) -> io::Result<bool> {
        let Self { wire, tls, .. } = self;
        let Some(tls) = tls else {
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            let filled = connection.pending_write_slices(&mut slices, WRITE_CHUNK);
            return match wire.write(&slices[..filled], wait) {
                Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    connection.wrote(n);
                    Ok(true)
                }
                Err(e) if quiet(&e) => Ok(false),
                Err(e) => Err(e),
            };
        };
        let mut progress = false;
        loop {
            progress |= hand_to_tls(tls, connection)?;
            if !tls.wants_write() {
                return Ok(progress);
            }
            match wire.write_tls(tls, wait) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => progress = true,
                Err(e) if quiet(&e) => return Ok(progress),
                Err(e) => return Err(e),
            }
            // A peer that keeps taking records must not keep this side from its reads and
            // timers past the wait.
            if wait.passed() {
                return Ok(progress);
            }
        }
    }

    /// Sends what rustls still holds, close_notify first if asked, by `until`, then shuts
    /// down writing (FIN); whether it got that far by `until`.
    fn shut_down_writing(&mut self, close_notify: bool, until: Instant) -> io::Result<bool> {
        let Self { wire, tls, .. } = self;
        if let Some(tls) = tls {
            if close_notify {
                tls.send_close_notify();
            }
            if !wire.flush_tls(tls, until)? {
                return Ok(false);
            }
        }
        match wire.stream.shutdown_write() {
            // As tokio's shutdown: a connection the peer has already reset has no writing
            // side left to shut down; the reset shows on the next read, if any.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(true),
            result => result.map(|()| true),
        }
    }
}

/// Hands the protocol's pending bytes to rustls while it takes them (it holds a bounded
/// amount of unsent records); whether it took any.
fn hand_to_tls(tls: &mut rustls::Connection, connection: &mut Connection) -> io::Result<bool> {
    let mut took = false;
    while !connection.pending_writes().is_empty() {
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let filled = connection.pending_write_slices(&mut slices, usize::MAX);
        let n = tls.writer().write_vectored(&slices[..filled])?;
        if n == 0 {
            break;
        }
        connection.wrote(n);
        took = true;
    }
    Ok(took)
}

/// After a TLS failure, sends the alert rustls queued, if the socket takes it at once (as
/// tokio-rustls does).
fn send_alert<S: Raw>(wire: &mut Wire<S>, tls: &mut rustls::Connection) {
    while tls.wants_write() {
        match wire.write_tls(tls, Wait::Poll) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}
