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
use std::time::{Duration, Instant};

use tokio::net::{TcpStream, UnixStream};

use crate::memory;
use crate::{Connection, DisconnectReason, Endpoint, Error, Network, Reactor};

use super::connecting::{End, Opened, Pair, connect_pair};
use super::conversation::side_over;
use super::pool::{Flavor, SHUTDOWN_GRACE};
use super::stream::{ByteStream, ends};
use super::{CLIENT_HELD, Ledger, Role, SERVER_HELD, take_left_behind};

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
                let deadline = Instant::now() + timeout;
                let opened = Opened::accept(listener, deadline);
                one_side($flavor, endpoint, opened, server, Role::Server, deadline)
            }

            fn connect(
                &self,
                endpoint: &Endpoint,
                address: SocketAddr,
                client: Connection,
                timeout: Duration,
            ) -> Result<(), Error> {
                let deadline = Instant::now() + timeout;
                let opened = Opened::connect(endpoint, address, timeout);
                one_side($flavor, endpoint, opened, client, Role::Client, deadline)
            }
        }
    };
}

tokio_reactor!(TokioCurrentThread, "tokio-ct", Flavor::CurrentThread);
tokio_reactor!(TokioMultiThread, "tokio-mt", Flavor::MultiThread);

/// Connects a pair over the endpoint's network and runs both sides on it (see [`both`]).
fn drive(
    flavor: Flavor,
    endpoint: &Endpoint,
    server: Connection,
    client: Connection,
    timeout: Duration,
) -> Result<(), Error> {
    let sides = [server, client];
    flavor.pool().run(|runtime, ledger| {
        runtime.block_on(async {
            let pair = match endpoint.network {
                Network::Memory => {
                    let (server_end, client_end) = memory::pair();
                    let ends = [ends(server_end), ends(client_end)];
                    return both(flavor, endpoint, ends, sides, timeout, ledger).await;
                }
                network => connect_pair(network, Instant::now() + timeout),
            };
            match pair {
                Ok(Pair::Tcp(ends)) => match register(ends, TcpStream::from_std) {
                    Ok(ends) => both(flavor, endpoint, ends, sides, timeout, ledger).await,
                    Err(e) => (Err(e), true),
                },
                Ok(Pair::Unix(ends)) => match register(ends, UnixStream::from_std) {
                    Ok(ends) => both(flavor, endpoint, ends, sides, timeout, ledger).await,
                    Err(e) => (Err(e), true),
                },
                Err(e) => (Err(e), true),
            }
        })
    })?
}

/// The two ends of a pair the listeners connected, registered with the runtime.
fn register<S, T>(
    [(server, server_addresses), (client, client_addresses)]: [End<S>; 2],
    from_std: fn(S) -> io::Result<T>,
) -> Result<[End<T>; 2], Error> {
    let register = |stream| from_std(stream).map_err(Error::io("registering a socket"));
    Ok([
        (register(server)?, server_addresses),
        (register(client)?, client_addresses),
    ])
}

/// Runs both sides to their end, or until the timeout; on `tokio-mt` as two tasks. Gives
/// `drive`'s result and whether every task it started has ended. [`drive_streams`] runs
/// streams of your own with it.
///
/// [`drive_streams`]: super::drive_streams
pub(super) async fn both<S: ByteStream>(
    flavor: Flavor,
    endpoint: &Endpoint,
    [server_end, client_end]: [End<S>; 2],
    [server, client]: [Connection; 2],
    timeout: Duration,
    ledger: &Ledger,
) -> (Result<(), Error>, bool) {
    // Boxed: a side's future holds every stream and TLS state it may need (tens of KiB);
    // moved by value into the join, the timeout and block_on, it was copied whole each time,
    // which cost more instructions than the rest of a pairing.
    let server_side = Box::pin(side(endpoint, server_end, server, Role::Server, ledger));
    let client_side = Box::pin(side(endpoint, client_end, client, Role::Client, ledger));
    // A timeout leaves the unfinished side's record open, which is how the caller learns of
    // it.
    let finished = match flavor {
        Flavor::CurrentThread => {
            tokio::time::timeout(timeout, async { tokio::join!(server_side, client_side) })
                .await
                .is_ok()
        }
        Flavor::MultiThread => {
            // At the timeout each task hands its side back unfinished instead of dropping
            // it: closing one side's stream while the other still runs on its worker would
            // show that one an EOF it could end done on (the threads reactor keeps its
            // sockets open until both threads stop, for the same reason).
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let spawn_side = |side, mut stopped: tokio::sync::watch::Receiver<bool>| {
                tokio::spawn(async move {
                    let mut side = side;
                    // The stop first: a busy side spends the task's whole coop budget, after
                    // which the watch would report nothing.
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
                // A task that finished ended its side (nothing to keep) and may have been
                // awaited to its end already: only the others are awaited.
                let running: Vec<_> = [server_task, client_task]
                    .into_iter()
                    .filter(|task| !task.is_finished())
                    .collect();
                let _ = stop.send(true);
                // The unfinished sides, and so their streams, are dropped together once both
                // have stopped; a callback stuck in a worker is abandoned (and its runtime is
                // not reused).
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
}

/// One side against a program in another process, over what `Opened` gave, until its end or
/// `deadline`.
fn one_side(
    flavor: Flavor,
    endpoint: &Endpoint,
    opened: Opened,
    mut connection: Connection,
    role: Role,
    deadline: Instant,
) -> Result<(), Error> {
    let (stream, addresses) = match opened {
        Opened::Stream(end) => end,
        Opened::Refused(why) => {
            connection.finish(DisconnectReason::Refused(why));
            return Ok(());
        }
        // The timeout leaves the side unfinished, which is how the caller learns of it.
        Opened::TimedOut => return Ok(()),
    };
    flavor.pool().run(|runtime, ledger| {
        runtime.block_on(async {
            let stream = match TcpStream::from_std(stream) {
                Ok(stream) => stream,
                Err(e) => return (Err(Error::io("registering a socket")(e)), true),
            };
            let side = side(endpoint, (stream, addresses), connection, role, ledger);
            let ended = tokio::time::timeout_at(deadline.into(), side).await;
            // A timeout leaves the side unfinished, which is how the caller learns of it.
            (Ok(()), ended.is_ok())
        })
    })?
}

/// One side from connection to end: `connection_made`, the TLS handshake if any, then the
/// conversation; registered in `ledger` from now until the future returned is dropped.
fn side<S: ByteStream>(
    endpoint: &Endpoint,
    end: End<S>,
    mut connection: Connection,
    role: Role,
    ledger: &Ledger,
) -> impl Future<Output = ()> + use<S> {
    let held = ledger.hold(match role {
        Role::Server => SERVER_HELD,
        Role::Client => CLIENT_HELD,
    });
    let endpoint = endpoint.clone();
    async move {
        side_over(&endpoint, end, &mut connection, role, held).await;
    }
}
