//! [`run_protocols`]: pair a server probe with a client probe over an endpoint, with a timeout
//! (Twisted's `runProtocolsWithReactor`).

use std::time::{Duration, Instant};

use crate::{ConnectableProtocol, Connection, Endpoint, Error, Event, Reactor};

/// Both sides of a finished pairing.
#[derive(Debug)]
pub struct Pairing {
    /// The accepting side.
    pub server: ConnectableProtocol,
    /// The connecting side.
    pub client: ConnectableProtocol,
    /// How long the pairing took, setup and teardown included.
    pub elapsed: Duration,
}

impl Pairing {
    /// The sides that had not ended: `server`, `client`, both, or none.
    pub fn still_open(&self) -> Vec<&'static str> {
        [("server", &self.server), ("client", &self.client)]
            .into_iter()
            .filter(|(_, side)| side.disconnect_reason().is_none())
            .map(|(name, _)| name)
            .collect()
    }
}

/// Runs `server` and `client` against each other over `endpoint` on `reactor`: listens on an
/// ephemeral loopback port, connects, and waits until both sides have ended (their `done`),
/// or until `timeout`. Everything the pairing opened is closed when this returns.
///
/// On timeout the error holds both sides as they were, so the caller can show which side was
/// still open and both traces.
pub fn run_protocols(
    reactor: &dyn Reactor,
    endpoint: &Endpoint,
    mut server: ConnectableProtocol,
    mut client: ConnectableProtocol,
    timeout: Duration,
) -> Result<Pairing, Error> {
    let origin = Instant::now();
    let server_connection = Connection::new(&mut server, reactor.name(), origin)?;
    let client_connection = Connection::new(&mut client, reactor.name(), origin)?;
    note_unverified(endpoint, &client);
    reactor.drive(endpoint, server_connection, client_connection, timeout)?;
    note_ends(&server, &client);
    let pairing = Pairing {
        server,
        client,
        elapsed: origin.elapsed(),
    };
    if pairing.still_open().is_empty() {
        Ok(pairing)
    } else {
        Err(Error::TimedOut {
            after: timeout,
            pairing: Box::new(pairing),
        })
    }
}

/// Runs `client` alone against a server at `address` that someone else runs (another process,
/// another language) over `endpoint`, for at most `timeout`. Returns the side whatever
/// happened: if it has no `disconnect_reason`, it was still open at the timeout.
pub fn run_client(
    reactor: &dyn Reactor,
    endpoint: &Endpoint,
    address: std::net::SocketAddr,
    mut client: ConnectableProtocol,
    timeout: Duration,
) -> Result<ConnectableProtocol, Error> {
    let connection = Connection::new(&mut client, reactor.name(), Instant::now())?;
    note_unverified(endpoint, &client);
    reactor.connect(endpoint, address, connection, timeout)?;
    Ok(client)
}

/// Runs `server` alone: accepts one connection on `listener` (bound by the caller, who then
/// starts a client someone else wrote) over `endpoint`, for at most `timeout`. Returns the
/// side whatever happened, as [`run_client`] does.
pub fn run_server(
    reactor: &dyn Reactor,
    endpoint: &Endpoint,
    listener: std::net::TcpListener,
    mut server: ConnectableProtocol,
    timeout: Duration,
) -> Result<ConnectableProtocol, Error> {
    let connection = Connection::new(&mut server, reactor.name(), Instant::now())?;
    reactor.accept(endpoint, listener, connection, timeout)?;
    Ok(server)
}

/// Gives each side the pairing's two ends (listening, connecting) as the other side saw
/// them: the client's peer and host for the server, the server's host and peer for the
/// client. A side's own addresses are then checked against its peer's view of the same
/// connection, never against themselves.
fn note_ends(server: &ConnectableProtocol, client: &ConnectableProtocol) {
    if let (Some((server_host, server_peer)), Some((client_host, client_peer))) =
        (server.addresses(), client.addresses())
    {
        server.note_ends(client_peer, client_host);
        client.note_ends(server_host, server_peer);
    }
}

/// Records in a client's trace that it will not verify the server's certificate, so that no
/// trial passes over unverified TLS without its report saying so.
fn note_unverified(endpoint: &Endpoint, client: &ConnectableProtocol) {
    if endpoint.tls.as_ref().is_some_and(|tls| !tls.profile.verify) {
        let mut state = client.record.lock();
        let at = state.since_origin();
        state.trace.push(at, Event::Unverified);
    }
}
