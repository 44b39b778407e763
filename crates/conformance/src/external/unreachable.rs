//! A server that is not there (`server = { unreachable = "..." }`): the client connects,
//! through its reactor's own connect, to a loopback address where no connection can be made,
//! and must end `refused` (Twisted's `clientConnectionFailed`, `testFailing`,
//! `test_connectionRefusedErrorNumber`, and a connect timeout).
//!
//! Both kinds hold their port for the whole trial, so no other socket of the machine can take
//! it in between: `nothing-listens` is a socket bound to a port that does not listen (the
//! kernel answers a SYN with a reset: ECONNREFUSED, at once); `never-accepts` is a listener
//! with a backlog of zero whose one queue place is taken by a connection of the runner's own,
//! so the kernel drops the client's SYN and its connect hangs until `connect_timeout`.
//! `closes-in-handshake` (over TLS) accepts, reads the client's first TLS record whole (its
//! ClientHello: nothing the client sent is left unread, so the close is a FIN, not a reset)
//! and shuts the connection down, then reads to the client's EOF: the client's handshake
//! meets an EOF (Twisted's `test_disorderlyShutdown`).

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use connectable::pki::TlsProfile;
use connectable::{ConnectableProtocol, Endpoint, Reactor};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, bind, listen, socket,
};

use super::{ExternalRecord, Setting};
use crate::suite::{TransportKind, Unreachable};

/// How long the runner's own connection into a `never-accepts` listener may take: it fills
/// the queue on loopback at once.
const FILLING: Duration = Duration::from_secs(5);

/// Runs `client` against no server of kind `how` over the setting's transport, its connect
/// bounded by `connect_timeout`; returns its record and what stood in for the server.
pub fn connect(
    how: Unreachable,
    client: ConnectableProtocol,
    &Setting {
        reactor,
        transport,
        profile,
        timeout,
    }: &Setting,
    connect_timeout: Option<Duration>,
) -> Result<(ConnectableProtocol, ExternalRecord), String> {
    // Port 0: the system picks a free one, on loopback only.
    let loopback = match transport {
        TransportKind::Tcp6 => SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        _ => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    };
    let network = match transport {
        TransportKind::Tcp6 => connectable::Network::Tcp6,
        _ => connectable::Network::Tcp,
    };
    if how == Unreachable::ClosesInHandshake {
        return closes_in_handshake(loopback, client, reactor, profile, timeout);
    }
    let (socket, address) =
        bound(loopback).map_err(|e| format!("binding a loopback socket: {e}"))?;
    // Held until the client has ended: the queue stays full while it connects.
    let _filling = match how {
        Unreachable::NothingListens | Unreachable::ClosesInHandshake => None,
        Unreachable::NeverAccepts => {
            listen(&socket, Backlog::new(0).map_err(|e| e.to_string())?)
                .map_err(|e| format!("listening with a backlog of zero: {e}"))?;
            Some(
                TcpStream::connect_timeout(&address, FILLING)
                    .map_err(|e| format!("filling the listener's queue: {e}"))?,
            )
        }
    };
    let mut endpoint = Endpoint::plain(network);
    if transport.tls() {
        endpoint = endpoint.with_tls(profile).map_err(|e| e.to_string())?;
    }
    if let Some(bound) = connect_timeout {
        endpoint = endpoint.with_connect_timeout(bound);
    }
    let client = connectable::run_client(reactor, &endpoint, address, client, timeout)
        .map_err(|e| e.to_string())?;
    drop(socket);
    let shown = match how {
        Unreachable::NeverAccepts => format!("a full listener that never accepts at {address}"),
        _ => format!("nothing listening at {address}"),
    };
    let record = ExternalRecord {
        shown,
        ..ExternalRecord::default()
    };
    Ok((client, record))
}

/// A TCP socket bound to `loopback` (port 0: an ephemeral one), not listening, and its
/// address.
fn bound(loopback: SocketAddr) -> Result<(TcpListener, SocketAddr), String> {
    let family = match loopback {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| e.to_string())?;
    // Loopback only, as every listener (`tests/security_rules.rs` checks the `let loopback`
    // that `connect` builds).
    bind(fd.as_raw_fd(), &SockaddrStorage::from(loopback)).map_err(|e| e.to_string())?;
    // A std socket type only to read the address and to close it: it is never accepted on.
    let socket = TcpListener::from(fd);
    let address = socket.local_addr().map_err(|e| e.to_string())?;
    Ok((socket, address))
}

/// How long the runner's stand-in waits between tries to accept: it polls, so that its wait
/// ends by the trial's deadline whatever the client does.
const ACCEPT_POLL: Duration = Duration::from_millis(1);

/// `closes-in-handshake`: a plain TCP listener on `loopback` that closes the connection once it has
/// read the client's first TLS record; the client runs against it until it ends or `timeout`.
fn closes_in_handshake(
    loopback: SocketAddr,
    client: ConnectableProtocol,
    reactor: &'static dyn Reactor,
    profile: TlsProfile,
    timeout: Duration,
) -> Result<(ConnectableProtocol, ExternalRecord), String> {
    let listener =
        TcpListener::bind(loopback).map_err(|e| format!("binding a loopback listener: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let endpoint = Endpoint::plain(connectable::Network::Tcp)
        .with_tls(profile)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let (client, what) = std::thread::scope(|scope| {
        let stand_in = scope.spawn(|| close_after_first_record(&listener, deadline));
        let client = connectable::run_client(reactor, &endpoint, address, client, timeout);
        // The stand-in's every wait ends by the deadline.
        let what = stand_in
            .join()
            .unwrap_or_else(|_| Err("the stand-in server panicked".into()));
        (client, what)
    });
    let client = client.map_err(|e| e.to_string())?;
    let shown = match what {
        Ok(read) => format!(
            "a TCP listener at {address} that closed after the client's first TLS record \
             ({read} bytes)"
        ),
        Err(why) => format!("a TCP listener at {address} that failed: {why}"),
    };
    let record = ExternalRecord {
        shown,
        ..ExternalRecord::default()
    };
    Ok((client, record))
}

/// Accepts one connection, reads one whole TLS record, shuts the connection down (FIN) and
/// reads until the peer's EOF, all by `deadline`; how many bytes the record had.
fn close_after_first_record(listener: &TcpListener, deadline: Instant) -> Result<usize, String> {
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err("no client connected".into());
                }
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(e) => return Err(format!("accepting: {e}")),
        }
    };
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(ACCEPT_POLL)
    };
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(left()))
        .map_err(|e| e.to_string())?;
    // A TLS record: type, version (2 bytes), length (2 bytes), then that many bytes.
    let mut header = [0u8; 5];
    stream
        .read_exact(&mut header)
        .map_err(|e| format!("reading the first record's header: {e}"))?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("reading the first record: {e}"))?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("shutting down: {e}"))?;
    stream
        .set_read_timeout(Some(left()))
        .map_err(|e| e.to_string())?;
    // To the client's EOF (or its reset, or the deadline): whatever it does next is its own.
    let _ = std::io::copy(&mut stream, &mut std::io::sink());
    Ok(header.len() + body.len())
}
