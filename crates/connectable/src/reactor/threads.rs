//! `threads`: std sockets, one thread per side, `poll(2)`, rustls driven by hand.
//!
//! A genuinely different implementation of the contract `tokio-ct` and `tokio-mt` implement,
//! as Twisted has select, poll and epoll reactors: no runtime, no registration, no futures.
//! `drive` connects the two sockets, then runs each side on a thread of its own (the client on
//! a scoped thread, so none outlives the pairing, the server on the caller's). A side's thread
//! owns its non-blocking socket, its [`Connection`] and, over TLS, its `rustls::Connection`,
//! which it drives by hand (`read_tls`, `process_new_packets`, `reader`; `writer`,
//! `write_tls`).
//!
//! # One thread, two directions
//!
//! A side must keep reading while its writes are blocked (two peers that both write more than
//! the socket buffers hold would otherwise deadlock), and must wake for its timers. Each turn
//! it writes what the socket takes and reads what has come, without blocking; if neither
//! moved, it waits in `poll(2)` on its one socket for what it wants (readable if its
//! connection wants to read, writable while bytes wait to go) until its next timer or the
//! pairing's deadline, whichever comes first; wanting neither, it sleeps until then.
//!
//! Every wait is bounded by the pairing's deadline, so at the timeout each thread returns by
//! itself, leaving its side unfinished, and no thread has to unblock another. A side that
//! stops at the deadline keeps its socket open until both threads have stopped: closing it at
//! once would send the other side an EOF it could still end `done` on.
//!
//! # Closing
//!
//! The [`Connection`] decides, as for the tokio reactors: this side only carries out its
//! actions (send and read while it flushes and lingers, close_notify when asked and FIN with
//! `shutdown(Write)`, a reset) and tells it what happened. An abort resets: `SO_LINGER` 0,
//! then close (through rustix: std's linger is unstable). A UNIX socket has no reset: its
//! peer sees an EOF, or a reset if it had unread data, as on the tokio reactors.
//!
//! It runs TCP over IPv4 and IPv6 loopback and UNIX domain sockets, each with or without TLS;
//! not the in-memory pipe, which is a tokio duplex and only a tokio reactor can drive.

use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::PollFlags;

use crate::buffers::ReadBuffer;
use crate::{Action, Connection, DisconnectReason, Endpoint, Error, Network, Reactor};

use super::connecting::{End, Opened, Pair, connect_pair, quiet, wait_ready};
use super::{CLIENT_HELD, Ledger, Role, SERVER_HELD, WRITE_SLICES, take_left_behind};

/// The most handed to one `write` on a plain socket, so that a side whose peer takes a large
/// buffer as fast as it comes still reads and serves its timers between writes.
const WRITE_CHUNK: usize = 256 * 1024;

/// The `threads` reactor: std sockets, a thread per side, `poll(2)`, rustls driven by hand.
///
/// Each side runs on a thread of its own for the pairing (scoped: none outlives `drive`),
/// and waits in `poll(2)` on its socket, bounded by its next timer and the deadline, so that
/// neither direction blocks the other. Aborts reset TCP connections (`SO_LINGER` 0). It
/// drives TCP over IPv4 and IPv6 and UNIX domain sockets, with or without TLS; not the
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
        let sides = [server, client];
        Ledger::account(|ledger| match connect_pair(endpoint.network, deadline)? {
            Pair::Tcp(ends) => both(endpoint, ends, sides, deadline, ledger),
            Pair::Unix(ends) => both(endpoint, ends, sides, deadline, ledger),
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
        let opened = Opened::accept(listener, deadline);
        one_side(endpoint, opened, &mut server, Role::Server, deadline);
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
        let opened = Opened::connect(endpoint, address, timeout);
        one_side(endpoint, opened, &mut client, Role::Client, deadline);
        Ok(())
    }
}

/// Runs both sides of a pairing, the client on a thread of its own, until both have ended or
/// the deadline passes.
fn both<S: Raw + Send>(
    endpoint: &Endpoint,
    [server_end, client_end]: [End<S>; 2],
    [mut server, mut client]: [Connection; 2],
    deadline: Instant,
    ledger: &Ledger,
) -> Result<(), Error> {
    let (client_held, server_held) = (ledger.hold(CLIENT_HELD), ledger.hold(SERVER_HELD));
    thread::scope(|scope| {
        let client_side = move || {
            let kept = side(endpoint, client_end, &mut client, Role::Client, deadline);
            (kept, client_held)
        };
        let client_thread = thread::Builder::new()
            .name("threads-client".into())
            .spawn_scoped(scope, client_side)
            .map_err(Error::io("spawning the client's thread"))?;
        let server_kept = side(endpoint, server_end, &mut server, Role::Server, deadline);
        let client_kept = client_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // Sides still open at the deadline, and the ledger's entries that go with their
        // sockets, are dropped only now that neither thread runs.
        drop((server_kept, server_held, client_kept));
        Ok(())
    })
}

/// One side against a program in another process, until its end or the deadline.
fn one_side(
    endpoint: &Endpoint,
    opened: Opened,
    connection: &mut Connection,
    role: Role,
    deadline: Instant,
) {
    match opened {
        Opened::Stream(end) => drop(side(endpoint, end, connection, role, deadline)),
        Opened::Refused(why) => connection.finish(DisconnectReason::Refused(why)),
        // The timeout leaves the side unfinished, which is how the caller learns of it.
        Opened::TimedOut => {}
    }
}

/// What this reactor needs of a socket: std's TCP and UNIX streams.
trait Raw: Read + Write + AsFd {}

impl<S: Read + Write + AsFd> Raw for S {}

/// Discards what is unsent and closes with a reset: `SO_LINGER` 0, and close() sends RST. A
/// UNIX socket has no reset and ignores the setting: its peer sees an EOF, or a reset if it
/// had unread data, as on the tokio reactors.
fn reset(socket: impl AsFd) {
    let _ = rustix::net::sockopt::set_socket_linger(socket, Some(Duration::ZERO));
}

/// A rustls failure as an I/O error, the way tokio-rustls reports it, so that
/// [`reason_for`](crate::reason_for) reads both reactors' errors alike.
fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

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
    (stream, addresses): End<S>,
    connection: &mut Connection,
    role: Role,
    deadline: Instant,
) -> Option<S> {
    let (host, peer) = addresses;
    connection.made(host, peer, endpoint.tls.is_some(), Instant::now());
    let tls = endpoint.tls.as_ref().map(|configs| match role {
        Role::Server => rustls::ServerConnection::new(configs.server.clone()).map(Into::into),
        Role::Client => {
            let (config, name) = (configs.client.clone(), configs.server_name.clone());
            rustls::ClientConnection::new(config, name).map(Into::into)
        }
    });
    match tls.transpose() {
        Ok(tls) => Side {
            stream,
            tls,
            deadline,
            buffer: ReadBuffer::take(),
        }
        .converse(connection),
        Err(e) => {
            connection.failed(&tls_error(e));
            None
        }
    }
}

/// One side's socket, TLS state and read buffer, owned by its thread.
struct Side<S> {
    stream: S,
    tls: Option<rustls::Connection>,
    deadline: Instant,
    buffer: ReadBuffer,
}

impl<S: Raw> Side<S> {
    /// One turn of the TLS handshake: sends what rustls holds, then reads what has come or
    /// waits for it; whether the handshake is over.
    fn handshake(&mut self) -> io::Result<bool> {
        let Self {
            stream,
            tls: Some(tls),
            deadline,
            ..
        } = self
        else {
            return Ok(true);
        };
        // A flush cut short by the deadline: the loop stops at it.
        if !flush_tls(stream, tls, *deadline)? || !tls.is_handshaking() {
            return Ok(!tls.is_handshaking());
        }
        match tls.read_tls(stream) {
            Ok(n) => match tls.process_new_packets() {
                Err(e) => {
                    send_alert(stream, tls);
                    Err(tls_error(e))
                }
                Ok(state) if tls.is_handshaking() && (n == 0 || state.peer_has_closed()) => Err(
                    io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof"),
                ),
                Ok(_) => Ok(!tls.is_handshaking()),
            },
            Err(e) if quiet(&e) => wait_ready(&*stream, PollFlags::IN, *deadline).map(|()| false),
            Err(e) => Err(e),
        }
    }

    /// Carries out what the connection asks ([`Action`]) until it has ended or the deadline
    /// passes; every decision is the connection's, this only moves bytes and waits. Returns
    /// the socket, still open, if the deadline passed (see [`side`]).
    fn converse(mut self, connection: &mut Connection) -> Option<S> {
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Some(self.stream);
            }
            match connection.poll_action(now) {
                Action::Finished => return None,
                Action::Reset => {
                    reset(self.stream);
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
                Action::Handshake => match self.handshake() {
                    Ok(false) => {}
                    Ok(true) => {
                        if let Some(tls) = &self.tls {
                            connection.tls_negotiated(tls);
                        }
                        connection.handshake_completed();
                    }
                    Err(e) => connection.failed(&e),
                },
                Action::Exchange => {
                    if let Some(at) = connection.poll_timeout()
                        && at <= now
                    {
                        connection.handle_timeout(now);
                        continue;
                    }
                    match self.step(connection, self.wake(connection)) {
                        Step::Idle | Step::Progress => {}
                        Step::Read(n) => connection.received(&self.buffer[..n]),
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

    /// One turn: sends what the socket takes and, if the connection wants to read, reads what
    /// has come; if neither moved, waits in `poll(2)` until the socket is ready for what this
    /// side wants, or `wake`.
    fn step(&mut self, connection: &mut Connection, wake: Instant) -> Step {
        let read = connection.wants_read();
        let wrote = match self.write_some(connection) {
            Ok(wrote) => wrote,
            Err(e) => return Step::Failed(e),
        };
        if read {
            match self.read_some() {
                Step::Idle => {}
                step => return step,
            }
        }
        if wrote {
            return Step::Progress;
        }
        let mut interest = PollFlags::empty();
        if read {
            interest |= PollFlags::IN;
        }
        if !connection.pending_writes().is_empty()
            || self.tls.as_ref().is_some_and(|tls| tls.wants_write())
        {
            interest |= PollFlags::OUT;
        }
        match wait_ready(&self.stream, interest, wake) {
            Ok(()) => Step::Idle,
            Err(e) => Step::Failed(e),
        }
    }

    /// Reads what has come (over TLS, until a whole record's plaintext or nothing more).
    fn read_some(&mut self) -> Step {
        let Self {
            stream,
            tls,
            buffer,
            ..
        } = self;
        let Some(tls) = tls else {
            return match stream.read(buffer) {
                Ok(0) => Step::Eof,
                Ok(n) => Step::Read(n),
                Err(e) if quiet(&e) => Step::Idle,
                Err(e) => Step::Failed(e),
            };
        };
        loop {
            // Plaintext rustls already holds, or the end it already knows of.
            match tls.reader().read(buffer) {
                Ok(0) => return Step::Eof,
                Ok(n) => return Step::Read(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Step::Failed(e),
            }
            match tls.read_tls(stream) {
                // Ok(0) is the TCP EOF: rustls remembers it, and its reader then says whether
                // close_notify came first.
                Ok(_) => {
                    if let Err(e) = tls.process_new_packets() {
                        send_alert(stream, tls);
                        return Step::Failed(tls_error(e));
                    }
                }
                Err(e) if quiet(&e) => return Step::Idle,
                Err(e) => return Step::Failed(e),
            }
        }
    }

    /// Sends what the socket takes of what is pending; whether anything moved. Over TLS the
    /// protocol's bytes count as written once rustls has taken them, as with tokio-rustls,
    /// and a turn sends at most what rustls holds (its buffer limit, 64 KiB by default).
    fn write_some(&mut self, connection: &mut Connection) -> io::Result<bool> {
        let Self { stream, tls, .. } = self;
        let Some(tls) = tls else {
            if connection.pending_writes().is_empty() {
                return Ok(false);
            }
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            let filled = connection.pending_write_slices(&mut slices, WRITE_CHUNK);
            return match stream.write_vectored(&slices[..filled]) {
                Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    connection.wrote(n);
                    Ok(true)
                }
                Err(e) if quiet(&e) => Ok(false),
                Err(e) => Err(e),
            };
        };
        let mut progress = hand_to_tls(tls, connection)?;
        while tls.wants_write() {
            match tls.write_tls(stream) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => progress = true,
                Err(e) if quiet(&e) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(progress)
    }

    /// Sends what rustls still holds, close_notify first if asked, by `until`, then shuts
    /// down writing (FIN); whether it got that far by `until`.
    fn shut_down_writing(&mut self, close_notify: bool, until: Instant) -> io::Result<bool> {
        let Self { stream, tls, .. } = self;
        if let Some(tls) = tls {
            if close_notify {
                tls.send_close_notify();
            }
            if !flush_tls(stream, tls, until)? {
                return Ok(false);
            }
        }
        match rustix::net::shutdown(&*stream, rustix::net::Shutdown::Write).map_err(io::Error::from)
        {
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

/// Sends all rustls holds, trying at least once, unless `until` passes first; whether it
/// all went.
fn flush_tls<S: Raw>(
    stream: &mut S,
    tls: &mut rustls::Connection,
    until: Instant,
) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(stream) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if !quiet(&e) => return Err(e),
            Err(_) if Instant::now() >= until => return Ok(false),
            Err(_) => wait_ready(&*stream, PollFlags::OUT, until)?,
        }
    }
    Ok(true)
}

/// After a TLS failure, sends the alert rustls queued, if the socket takes it at once (as
/// tokio-rustls does).
fn send_alert<S: Raw>(stream: &mut S, tls: &mut rustls::Connection) {
    while tls.wants_write() {
        match tls.write_tls(stream) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}
