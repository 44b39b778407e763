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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use connectable::{ConnectableProtocol, Endpoint};
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
    let (network, ip) = match transport {
        TransportKind::Tcp6 => (connectable::Network::Tcp6, IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => (connectable::Network::Tcp, IpAddr::V4(Ipv4Addr::LOCALHOST)),
    };
    let (socket, address) = bound(ip).map_err(|e| format!("binding a loopback socket: {e}"))?;
    // Held until the client has ended: the queue stays full while it connects.
    let _filling = match how {
        Unreachable::NothingListens => None,
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
        Unreachable::NothingListens => format!("nothing listening at {address}"),
        Unreachable::NeverAccepts => format!("a full listener that never accepts at {address}"),
    };
    let record = ExternalRecord {
        shown,
        ..ExternalRecord::default()
    };
    Ok((client, record))
}

/// A TCP socket bound to an ephemeral port of `ip`, not listening, and its address.
fn bound(ip: IpAddr) -> Result<(TcpListener, SocketAddr), String> {
    let family = match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| e.to_string())?;
    bind(fd.as_raw_fd(), &SockaddrStorage::from(SocketAddr::new(ip, 0)))
        .map_err(|e| e.to_string())?;
    // A std socket type only to read the address and to close it: it is never accepted on.
    let socket = TcpListener::from(fd);
    let address = socket.local_addr().map_err(|e| e.to_string())?;
    Ok((socket, address))
}
