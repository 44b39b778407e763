//! The extension point for people certifying a byte stream of their own: implement
//! [`ByteStream`] for it, and [`drive_streams`] runs the whole contract over two connected
//! streams (TLS on top included), or make it a reactor with [`PairReactor`]. The built-in
//! streams (TCP, UNIX, the in-memory pipe) implement it the same way.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::memory::MemoryStream;
use crate::{Address, Connection, Endpoint, Error, Network, Reactor};

use super::connecting::{End, ip_address, unix_address};
use super::pool::Flavor;
use super::take_left_behind;
use super::tokio::both;

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
    let flavor = Flavor::CurrentThread;
    flavor.pool().run(|runtime, ledger| {
        // Asked inside the runtime, as every call on a stream of yours is.
        let _entered = runtime.enter();
        let (ends, sides) = ([ends(server.0), ends(client.0)], [server.1, client.1]);
        runtime.block_on(both(flavor, endpoint, ends, sides, timeout, ledger))
    })?
}

/// A stream with its addresses, as it reports them.
pub(super) fn ends<S: ByteStream>(stream: S) -> End<S> {
    let addresses = stream.addresses();
    (stream, addresses)
}

/// A reactor made of a transport of your own: `connect_pair` returns two connected streams
/// (server's, client's) and [`drive_streams`] runs the contract over them. It pairs probes
/// only (the trait's default `accept` and `connect`, an error) and says which networks it carries.
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

    /// What [`drive_streams`] saw left behind: a task your stream spawned still alive when
    /// the pairing ended, or a side (your stream) not dropped.
    fn leftovers(&self) -> Vec<String> {
        take_left_behind()
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
}

/// A connected byte stream of some transport, as the tokio reactors drive it: implement it
/// for your own transport's stream and [`drive_streams`] runs the whole contract (TLS on top
/// included) over it.
///
/// A wrapper should forward `poll_write_vectored` and `is_write_vectored` when what it wraps
/// has them: after a failed TLS handshake tokio-rustls sends what it holds in one vectored
/// write, once, and a stream that takes only the first buffer loses the alert behind a TLS
/// 1.3 client's ChangeCipherSpec (the certificate cases of suites/tls.toml then fail, the
/// peer ending `lost` instead of `tls`).
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Discards what is unsent and makes the close a reset, not a clean EOF, where the
    /// transport has resets (TCP: RST; the in-memory pipe: a reset flag). A UNIX socket has
    /// none: its peer sees an EOF, or a reset if it had unread data.
    fn reset(self);

    /// This end's address and the peer's.
    fn addresses(&self) -> (Address, Address);
}

impl ByteStream for TcpStream {
    fn reset(self) {
        let _ = self.set_zero_linger();
    }

    fn addresses(&self) -> (Address, Address) {
        let _ = self.set_nodelay(true);
        (ip_address(self.local_addr()), ip_address(self.peer_addr()))
    }
}

impl ByteStream for UnixStream {
    fn reset(self) {}

    fn addresses(&self) -> (Address, Address) {
        let path = |a: io::Result<tokio::net::unix::SocketAddr>| {
            unix_address(a.ok().as_ref().and_then(|a| a.as_pathname()))
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
