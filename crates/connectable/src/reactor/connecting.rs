//! How the built-in reactors get their connections: the connected pair of loopback sockets
//! both kinds run a pairing over ([`connect_pair`]), the one connection of a side against a
//! program in another process ([`Opened`]), and the TCP listeners lent to pairings: one per
//! pairing while it connects, kept between pairings, so that a pairing's cost does not grow
//! with the pairings before it.
//!
//! Binding a fresh listener on port 0 per pairing made the kernel search the ephemeral range
//! for a port no socket holds, and every pairing leaves a socket in TIME_WAIT for a minute: with
//! tens of thousands of them (three bench runs in a row) a tcp pairing went from 0.09 ms to
//! 2.5 ms, and past the range binding fails. A listener kept open holds its port; the client's
//! ephemeral port is then searched against one destination only, where the kernel reuses a
//! loopback TIME_WAIT port that is a second old (`tcp_tw_reuse`, 2 by default).
//!
//! A listener is lent to one pairing at a time, like the runtimes of `pool.rs`, so pairings
//! running at once never share one. Trials stay isolated: a connection made to a kept listener
//! by anything but this pairing's client (a late client of an earlier trial, anything that read
//! the port from an earlier trace) is closed unread: [`connect_pair`] accepts until the
//! connection whose source is this pairing's client socket comes.
//!
//! The connecting is std's, blocking (bounded) and `poll(2)` for both kinds of reactor: a
//! loopback connect completes at once, and a tokio reactor registers the sockets it is given
//! with its runtime.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::{Address, Endpoint, Error, Network};

/// A kept listener and its address (known since it was bound; asking again costs a system
/// call).
type Kept = (TcpListener, SocketAddr);

/// More idle listeners than this (per address family) are closed: pairings rarely run more
/// than this many at once.
const KEEP: usize = 16;

static IPV4: Mutex<Vec<Kept>> = Mutex::new(Vec::new());
static IPV6: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

fn idle(network: Network) -> &'static Mutex<Vec<Kept>> {
    match network {
        Network::Tcp6 => &IPV6,
        _ => &IPV4,
    }
}

/// A non-blocking loopback listener for `network` (`Tcp` or `Tcp6`), idle or newly bound, for
/// one pairing; hand it back with [`give_back`] once the pairing's connection is accepted.
fn take(network: Network) -> Result<Kept, Error> {
    let kept = idle(network)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    if let Some(kept) = kept {
        return Ok(kept);
    }
    let loopback: SocketAddr = match network {
        Network::Tcp6 => (Ipv6Addr::LOCALHOST, 0).into(),
        _ => (Ipv4Addr::LOCALHOST, 0).into(),
    };
    let listener = TcpListener::bind(loopback).map_err(Error::io("binding a loopback port"))?;
    let address = listener
        .local_addr()
        .map_err(Error::io("reading the listener's address"))?;
    listener
        .set_nonblocking(true)
        .map_err(Error::io("making the listener non-blocking"))?;
    Ok((listener, address))
}

/// Keeps a listener lent by [`take`] for a later pairing (it must be non-blocking still).
fn give_back(kept: Kept) {
    let network = if kept.1.is_ipv6() {
        Network::Tcp6
    } else {
        Network::Tcp
    };
    let mut idle = idle(network).lock().unwrap_or_else(PoisonError::into_inner);
    if idle.len() < KEEP {
        idle.push(kept);
    }
}

/// Closes the idle listeners (see
/// [`release_idle_runtimes`](super::release_idle_runtimes), which calls it).
pub(super) fn release_idle() {
    for network in [Network::Tcp, Network::Tcp6] {
        drop(std::mem::take(
            &mut *idle(network).lock().unwrap_or_else(PoisonError::into_inner),
        ));
    }
}

/// One end of a connection: the stream, and its addresses (this end's, the peer's), known
/// from connecting it.
pub(super) type End<S> = (S, (Address, Address));

/// The two connected ends of a pairing over loopback, (server's, client's), non-blocking.
pub(super) enum Pair {
    Tcp([End<TcpStream>; 2]),
    Unix([End<UnixStream>; 2]),
}

/// Connects a pair over `network` (TCP, IPv4 or IPv6, or UNIX), both built-in kinds of
/// reactor alike, by `deadline`. A TCP listener is lent for the connecting and kept for a
/// later pairing; a UNIX socket's path is gone once both ends exist.
pub(super) fn connect_pair(network: Network, deadline: Instant) -> Result<Pair, Error> {
    let pair = match network {
        Network::Tcp | Network::Tcp6 => {
            let (listener, address) = take(network)?;
            // The client first: the kernel completes a loopback connection into the
            // listener's queue without waiting for accept(), so no second thread is needed,
            // and the client's address tells this pairing's connection from a late one of an
            // earlier trial, which is closed unread.
            let left = deadline.saturating_duration_since(Instant::now());
            let client = TcpStream::connect_timeout(&address, left.max(Duration::from_millis(1)))
                .map_err(Error::io("connecting"))?;
            let client_address = client
                .local_addr()
                .map_err(Error::io("reading the client's address"))?;
            let server = accept_until(&listener, deadline, || {
                loop {
                    let (accepted, from) = listener.accept()?;
                    // An IPv4 client of an IPv6 listener would show as mapped; ours never
                    // are, the two families have listeners of their own.
                    if from == client_address {
                        return Ok(accepted);
                    }
                }
            })
            .map_err(Error::io("accepting"))?;
            give_back((listener, address));
            for stream in [&server, &client] {
                prepare(stream).map_err(Error::io("making a socket non-blocking"))?;
            }
            // The listener's address and the client's are both ends of this connection:
            // asking the server's socket again would cost two system calls.
            let (server_end, client_end) = (Address::Ip(address), Address::Ip(client_address));
            let ends = (server_end.clone(), client_end.clone());
            Pair::Tcp([(server, ends), (client, (client_end, server_end))])
        }
        Network::Unix => {
            let path = UnixPath::fresh();
            let listener =
                UnixListener::bind(&path.0).map_err(Error::io("binding a UNIX socket"))?;
            listener
                .set_nonblocking(true)
                .map_err(Error::io("making the listener non-blocking"))?;
            let client = UnixStream::connect(&path.0).map_err(Error::io("connecting"))?;
            let server = accept_until(&listener, deadline, || listener.accept().map(|(s, _)| s))
                .map_err(Error::io("accepting"))?;
            for stream in [&server, &client] {
                stream
                    .set_nonblocking(true)
                    .map_err(Error::io("making a socket non-blocking"))?;
            }
            // The listener's path is the server's end; the connecting side is unnamed. The
            // path is removed here; the connected sockets do not need it.
            let (named, unnamed) = (
                Address::Unix(path.0.clone()),
                Address::Unix(Default::default()),
            );
            drop(path);
            let ends = (named.clone(), unnamed.clone());
            Pair::Unix([(server, ends), (client, (unnamed, named))])
        }
        _ => {
            return Err(Error::Io {
                context: "connecting a pair of sockets over this network",
                source: io::ErrorKind::Unsupported.into(),
            });
        }
    };
    Ok(pair)
}

/// Accepts one connection from a non-blocking `listener`, waiting for one until `deadline`
/// (then a `TimedOut` error).
fn accept_until<T>(
    listener: impl AsFd,
    deadline: Instant,
    mut accept: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match accept() {
            Err(e) if quiet(&e) && Instant::now() >= deadline => {
                return Err(io::ErrorKind::TimedOut.into());
            }
            Err(e) if quiet(&e) => wait_ready(&listener, PollFlags::IN, deadline)?,
            result => return result,
        }
    }
}

/// Makes a TCP stream of ours what both kinds of reactor drive: Nagle off (a probe's small
/// writes go at once), non-blocking.
fn prepare(stream: &TcpStream) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    stream.set_nonblocking(true)
}

/// How a side against a program in another process got its connection.
pub(super) enum Opened {
    /// Connected: the stream, non-blocking, Nagle off, with its addresses.
    Stream(End<TcpStream>),
    /// It could not: the side ends `refused`, with this detail.
    Refused(String),
    /// Nothing by the side's deadline: the side is left unfinished.
    TimedOut,
}

impl Opened {
    fn from(
        stream: io::Result<TcpStream>,
        deadline: Instant,
        why: impl FnOnce(io::Error) -> String,
    ) -> Self {
        let opened = stream.and_then(|stream| {
            prepare(&stream)?;
            let addresses = (
                ip_address(stream.local_addr()),
                ip_address(stream.peer_addr()),
            );
            Ok((stream, addresses))
        });
        match opened {
            Ok(end) => Self::Stream(end),
            Err(_) if Instant::now() >= deadline => Self::TimedOut,
            Err(e) => Self::Refused(why(e)),
        }
    }

    /// Accepts the one connection of [`Reactor::accept`](super::Reactor::accept) on a
    /// listener the caller bound, by `deadline`.
    pub(super) fn accept(listener: TcpListener, deadline: Instant) -> Self {
        let accepted = listener
            .set_nonblocking(true)
            .and_then(|()| accept_until(&listener, deadline, || listener.accept().map(|(s, _)| s)));
        Self::from(accepted, deadline, |e| format!("accept failed: {e}"))
    }

    /// Connects to `address` for [`Reactor::connect`](super::Reactor::connect): a connect
    /// bounded by the endpoint's `connect_timeout`, within the side's own `timeout`, and not
    /// done by then is `refused` ("no connection within the connect timeout"), unless the
    /// side's timeout has passed.
    pub(super) fn connect(endpoint: &Endpoint, address: SocketAddr, timeout: Duration) -> Self {
        let deadline = Instant::now() + timeout;
        let bound = endpoint.connect_timeout.map_or(timeout, |b| b.min(timeout));
        let connected = TcpStream::connect_timeout(&address, bound);
        Self::from(connected, deadline, |e| {
            if e.kind() == io::ErrorKind::TimedOut {
                format!(
                    "connecting to {address}: no connection within the connect timeout ({bound:?})"
                )
            } else {
                format!("connecting to {address}: {e}")
            }
        })
    }
}

/// A fresh UNIX socket path in the temporary directory, removed when dropped: the built-in
/// reactors bind their `unix` listeners here.
struct UnixPath(PathBuf);

/// Where [`UnixPath::fresh`] puts its paths, when not the system's temporary directory.
static UNIX_SOCKET_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Puts the UNIX socket paths of the built-in reactors in `dir` from now on, rather than in
/// the system's temporary directory: a runner that removes one private folder of its own at
/// the end of a run, or when interrupted, points this into it, so that a pairing cut short
/// leaves no socket file behind. It can be set once; returns false if it already was.
pub fn set_unix_socket_dir(dir: PathBuf) -> bool {
    UNIX_SOCKET_DIR.set(dir).is_ok()
}

impl UnixPath {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = UNIX_SOCKET_DIR
            .get()
            .cloned()
            .unwrap_or_else(std::env::temp_dir);
        Self(dir.join(format!(
            "connectable-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )))
    }
}

impl Drop for UnixPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An IP socket's address as its connection reports it: unspecified if the socket cannot
/// say. Shared by the built-in streams of every reactor.
pub(super) fn ip_address(address: io::Result<SocketAddr>) -> Address {
    Address::Ip(address.unwrap_or_else(|_| (Ipv4Addr::UNSPECIFIED, 0).into()))
}

/// A UNIX socket's path: empty for the unnamed connecting side, or if the socket cannot say.
pub(super) fn unix_address(path: Option<&Path>) -> Address {
    Address::Unix(path.map(PathBuf::from).unwrap_or_default())
}

/// Whether an I/O error on a non-blocking socket only means "not now": a would-block, a
/// signal.
pub(super) fn quiet(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Waits in `poll(2)` until `socket` is ready for `interest`, or `until` passes; with no
/// interest, only for the time (a socket with an error or a reset would otherwise wake it at
/// once, again and again, while its side neither reads nor writes).
pub(super) fn wait_ready(socket: impl AsFd, interest: PollFlags, until: Instant) -> io::Result<()> {
    let left = until.saturating_duration_since(Instant::now());
    if interest.is_empty() {
        std::thread::sleep(left);
        return Ok(());
    }
    let never = Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    };
    let timeout = Timespec::try_from(left).unwrap_or(never);
    match rustix::event::poll(&mut [PollFd::new(&socket, interest)], Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
