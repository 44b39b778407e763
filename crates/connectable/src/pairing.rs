//! [`run_protocols`]: pair a server probe with a client probe over an endpoint, with a timeout
//! (Twisted's `runProtocolsWithReactor`).

use std::time::{Duration, Instant};

use crate::{ConnectableProtocol, Connection, Endpoint, Error, Reactor};

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
    reactor.drive(endpoint, server_connection, client_connection, timeout)?;
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
