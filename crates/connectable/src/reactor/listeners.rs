//! The loopback TCP listeners the built-in reactors lend to pairings: one per pairing while it
//! connects, kept between pairings, so that a pairing's cost does not grow with the pairings
//! before it.
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
//! the port from an earlier trace) is closed unread: the reactors accept until the connection
//! whose source is this pairing's client socket comes ([`is_ours`]).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, PoisonError};

use crate::{Error, Network};

/// A kept listener and its address (known since it was bound; asking again costs a system
/// call).
pub(super) type Kept = (TcpListener, SocketAddr);

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
pub(super) fn take(network: Network) -> Result<Kept, Error> {
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
pub(super) fn give_back(kept: Kept) {
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

/// Whether a connection accepted `from` a peer is this pairing's: its source is `client`, the
/// address of the client socket the pairing connected. Any other is an earlier trial's or a
/// stranger's, and the reactors close it unread and accept again.
pub(super) fn is_ours(client: SocketAddr, from: SocketAddr) -> bool {
    // An IPv4 client of an IPv6 listener would show as mapped; ours never are, the two
    // families have listeners of their own.
    client == from
}

/// The error for a pairing whose own connection never showed on the listener.
pub(super) fn not_accepted(source: Option<io::Error>) -> Error {
    Error::Io {
        context: "accepting",
        source: source.unwrap_or_else(|| io::ErrorKind::TimedOut.into()),
    }
}
