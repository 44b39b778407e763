//! Trials stay isolated although the reactors keep their loopback listeners between pairings
//! (`reactor/connecting.rs`): a connection made to the listener after a pairing ended (a late
//! client of that trial, or anything that read the port from its trace) never reaches the
//! next pairing's server. It is closed unread, and the next server talks to its own client
//! only. Every built-in reactor, over tcp and tcp6, with TLS and without.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use connectable::pki::TlsProfile;
use connectable::reactor::{self, Reactor};
use connectable::{
    Address, CallbackResult, ConnectableProtocol, DisconnectReason, Endpoint, Network, Protocol,
    Transport, run_protocols,
};

/// What one side saw: its own address, its peer's, and the bytes it received.
#[derive(Clone, Debug, Default)]
struct Seen {
    host: Option<Address>,
    peer: Option<Address>,
    received: Vec<u8>,
}

type Shared = Arc<Mutex<Seen>>;

/// Records what it sees; the client sends `OURS`, the server closes once it has it.
struct Recorder {
    seen: Shared,
    client: bool,
}

const OURS: &[u8] = b"this pairing's bytes";
const LATE: &[u8] = b"a late connection's bytes";

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.host = Some(transport.host().clone());
        seen.peer = Some(transport.peer().clone());
        if self.client {
            transport.write(OURS);
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.received.extend_from_slice(data);
        if !self.client && seen.received.len() >= OURS.len() {
            transport.lose_connection();
        }
        Ok(())
    }
}

/// One pairing of two recorders; what the server saw and what the client saw.
fn pairing(reactor: &dyn Reactor, endpoint: &Endpoint, context: &str) -> (Seen, Seen) {
    let (server, client) = (Shared::default(), Shared::default());
    let recorder = |seen: &Shared, client| {
        ConnectableProtocol::new(Recorder {
            seen: Arc::clone(seen),
            client,
        })
    };
    let pairing = run_protocols(
        reactor,
        endpoint,
        recorder(&server, false),
        recorder(&client, true),
        Duration::from_secs(20),
    )
    .unwrap_or_else(|e| panic!("{context}: {e}"));
    for (name, side) in [("server", &pairing.server), ("client", &pairing.client)] {
        assert_eq!(
            side.disconnect_reason(),
            Some(DisconnectReason::Done),
            "{context}: the {name} did not end done"
        );
    }
    let seen = |shared: &Shared| {
        shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    };
    (seen(&server), seen(&client))
}

fn ip(address: Option<&Address>, context: &str) -> SocketAddr {
    match address {
        Some(Address::Ip(address)) => *address,
        other => panic!("{context}: not an IP address: {other:?}"),
    }
}

#[test]
fn a_late_connection_never_reaches_the_next_pairing() {
    let mut rows = 0;
    for reactor in reactor::builtin() {
        for network in [Network::Tcp, Network::Tcp6] {
            for tls in [false, true] {
                if reactor.supports(network, tls) {
                    check(*reactor, network, tls);
                    rows += 1;
                }
            }
        }
    }
    // Three reactors, two networks, TLS or not: a reactor that stopped carrying one would
    // leave its row unchecked.
    assert_eq!(rows, 12, "rows checked");
}

fn check(reactor: &dyn Reactor, network: Network, tls: bool) {
    let endpoint = Endpoint::plain(network);
    let endpoint = if tls {
        endpoint
            .with_tls(TlsProfile::default())
            .expect("the test PKI")
    } else {
        endpoint
    };
    let context = format!("{} over {endpoint}", reactor.name());
    let (first, _) = pairing(reactor, &endpoint, &context);
    let listener = ip(first.host.as_ref(), &context);

    // A connection to the first pairing's listener after it ended: the listener is kept, so
    // the kernel completes it into the listener's queue, where the next pairing will find it.
    let mut late = TcpStream::connect_timeout(&listener, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{context}: connecting late to {listener}: {e}"));
    late.write_all(LATE)
        .unwrap_or_else(|e| panic!("{context}: writing on the late connection: {e}"));
    let late_address = late.local_addr().expect("the late connection's address");

    let (server, client) = pairing(reactor, &endpoint, &context);
    // The same listener, or this test would prove nothing.
    assert_eq!(
        ip(server.host.as_ref(), &context),
        listener,
        "{context}: the second pairing did not reuse the first one's listener"
    );
    let client_address = ip(client.host.as_ref(), &context);
    assert_ne!(client_address, late_address, "{context}");
    assert_eq!(
        ip(server.peer.as_ref(), &context),
        client_address,
        "{context}: the server's peer is not its own client"
    );
    assert_eq!(
        server.received, OURS,
        "{context}: the server received other bytes than its client's"
    );

    // The late connection was closed unread: an EOF, or a reset (its bytes were never read).
    late.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut buffer = [0; 64];
    match late.read(&mut buffer) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("{context}: the late connection was not closed: {other:?}"),
    }
}
