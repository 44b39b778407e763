//! The tokio reactors: `tokio-ct`, on a current-thread runtime, and `tokio-mt`, on a
//! multi-thread runtime with two workers; tokio-rustls for TLS.
//!
//! On `tokio-ct` both sides run as futures joined on one thread. On `tokio-mt` each side is a
//! task of its own, so the two sides run on different worker threads and their callbacks
//! interleave for real. A pairing has a runtime to itself while it runs, and when `drive`
//! returns every task and socket of the pairing is gone, on timeout too. The runtime itself is
//! kept for the next pairing (`pool.rs`). This file connects the built-in streams (TCP over
//! IPv4 or IPv6, UNIX domain sockets, the in-memory pipe) and runs the two sides; the
//! conversation (`conversation.rs`) is one generic function over every byte stream, TLS
//! (`tls.rs`) on top of any of them, and `stream.rs` is the same machinery offered for a
//! stream of your own.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::memory::{self, MemoryStream};
use crate::{Address, Connection, DisconnectReason, Endpoint, Error, Network, Reactor};

use super::conversation::side_over;
use super::listeners;
use super::pool::{Flavor, SHUTDOWN_GRACE};
use super::{
    CLIENT_HELD, Ledger, Role, SERVER_HELD, UnixPath, connect_bound, connect_failed,
    take_left_behind,
};

/// The `tokio-ct` reactor: each pairing runs on a current-thread runtime of its own while it
/// runs; the runtime is kept for a later pairing when nothing is left on it.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioCurrentThread;

/// The `tokio-mt` reactor: each pairing on a multi-thread runtime with two workers, each side a
/// task of its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioMultiThread;

/// The two reactors differ only in their runtime's flavor.
macro_rules! tokio_reactor {
    ($reactor:ty, $name:literal, $flavor:expr) => {
        impl Reactor for $reactor {
            fn name(&self) -> &'static str {
                $name
            }

            fn leftovers(&self) -> Vec<String> {
                take_left_behind()
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
                listener
                    .set_nonblocking(true)
                    .map_err(Error::io("making the listener non-blocking"))?;
                one_side($flavor, endpoint, server, Role::Server, timeout, async {
                    let listener = TcpListener::from_std(listener)
                        .map_err(Error::io("registering the listener"))?;
                    // The listener is dropped once it has accepted, before the side runs.
                    let accepted = listener.accept().await;
                    Ok(accepted
                        .map(|(stream, _)| stream)
                        .map_err(|e| format!("accept failed: {e}")))
                })
            }

            fn connect(
                &self,
                endpoint: &Endpoint,
                address: SocketAddr,
                client: Connection,
                timeout: Duration,
            ) -> Result<(), Error> {
                // Without a connect timeout the side's own timeout bounds the connect, and
                // leaves the side unfinished, as it does on `threads`.
                let bound = endpoint
                    .connect_timeout
                    .map(|_| connect_bound(endpoint, timeout));
                let connected = async move {
                    let connecting = TcpStream::connect(address);
                    let connected = match bound {
                        Some(bound) => tokio::time::timeout(bound, connecting)
                            .await
                            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
                        None => connecting.await,
                    };
                    let bound = bound.unwrap_or(timeout);
                    Ok(connected.map_err(|e| connect_failed(address, &e, bound)))
                };
                one_side($flavor, endpoint, client, Role::Client, timeout, connected)
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
    flavor.pool().run(|runtime, ledger| {
        runtime.block_on(async {
            let (server_stream, client_stream) = match connected(endpoint.network).await {
                Ok(streams) => streams,
                Err(e) => return (Err(e), true),
            };
            // Boxed: a side's future holds every stream and TLS state it may need (tens of
            // KiB); moved by value into the join, the timeout and block_on, it was copied
            // whole each time, which cost more instructions than the rest of a pairing.
            let server_side = Box::pin(side(endpoint, server_stream, server, Role::Server, ledger));
            let client_side = Box::pin(side(endpoint, client_stream, client, Role::Client, ledger));
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

/// One side against a program in another process, until its end or `timeout`: `open` makes
/// its TCP stream, or says why it could not, which ends the side `refused`.
fn one_side(
    flavor: Flavor,
    endpoint: &Endpoint,
    mut connection: Connection,
    role: Role,
    timeout: Duration,
    open: impl Future<Output = Result<Result<TcpStream, String>, Error>>,
) -> Result<(), Error> {
    flavor.pool().run(|runtime, ledger| {
        runtime.block_on(async {
            let opened = tokio::time::timeout(timeout, async {
                match open.await? {
                    Ok(stream) => {
                        let stream = (Stream::Tcp(stream), None);
                        side(endpoint, stream, connection, role, ledger).await;
                    }
                    Err(why) => connection.finish(DisconnectReason::Refused(why)),
                }
                Ok(())
            })
            .await;
            // A timeout leaves the side unfinished, which is how the caller learns of it.
            opened.map_or((Ok(()), false), |result| (result, true))
        })
    })?
}

/// A connected pair of streams over `network`: (server's, client's), each with its
/// addresses (this end's, the peer's) where connecting told them already. A TCP listener is
/// lent for the connecting and kept for a later pairing (`listeners.rs`); a UNIX socket's path
/// is gone once the client is connected.
async fn connected(network: Network) -> Result<(Connected, Connected), Error> {
    match network {
        Network::Tcp | Network::Tcp6 => {
            let (listener, address) = listeners::take(network)?;
            let listener =
                TcpListener::from_std(listener).map_err(Error::io("registering the listener"))?;
            // The client first: the kernel completes a loopback connection into the
            // listener's queue without waiting for accept(), and its address tells this
            // pairing's connection from a late one of an earlier trial.
            let client = TcpStream::connect(address)
                .await
                .map_err(Error::io("connecting"))?;
            let client_address = client
                .local_addr()
                .map_err(Error::io("reading the client's address"))?;
            let server = loop {
                let (accepted, from) = listener
                    .accept()
                    .await
                    .map_err(|e| listeners::not_accepted(Some(e)))?;
                if listeners::is_ours(client_address, from) {
                    break accepted;
                }
            };
            if let Ok(listener) = listener.into_std() {
                listeners::give_back((listener, address));
            }
            // The listener's address and the client's are both ends of this connection:
            // asking the server's socket again would cost two system calls.
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

/// One side from connection to end: `connection_made`, the TLS handshake if any, then the
/// conversation; registered in `ledger` from now until the future returned is dropped.
fn side(
    endpoint: &Endpoint,
    stream: Connected,
    mut connection: Connection,
    role: Role,
    ledger: &Arc<Ledger>,
) -> impl Future<Output = ()> + use<> {
    let held = ledger.hold(match role {
        Role::Server => SERVER_HELD,
        Role::Client => CLIENT_HELD,
    });
    let endpoint = endpoint.clone();
    async move {
        let ((stream, addresses), connection) = (stream, &mut connection);
        match stream {
            Stream::Tcp(s) => side_over(&endpoint, s, addresses, connection, role, held).await,
            Stream::Unix(s) => side_over(&endpoint, s, addresses, connection, role, held).await,
            Stream::Memory(s) => side_over(&endpoint, s, addresses, connection, role, held).await,
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
