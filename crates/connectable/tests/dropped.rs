//! A protocol that is dropped is dropped (Twisted's `test_protocolGarbageAfterLostConnection`):
//! once a pairing is over, on every built-in reactor and transport, nothing of the reactor
//! still holds either probe, although the caller still holds both sides' records; and the
//! reactor says it left nothing behind; and when a side is not dropped, the reactor names it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use connectable::pki::TlsProfile;
use connectable::reactor::{self, Reactor};
use connectable::{
    CallbackResult, ConnectableProtocol, Endpoint, Network, Protocol, Transport, run_protocols,
};

/// Counts the probes still alive.
struct Sentinel(Arc<AtomicUsize>);

impl Sentinel {
    fn new(alive: &Arc<AtomicUsize>) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(alive))
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes once the first byte arrives (ClosingLaterProtocol).
struct ClosingLater(#[allow(dead_code)] Sentinel);

impl Protocol for ClosingLater {
    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        transport.lose_connection();
        Ok(())
    }
}

/// Sends one byte, then waits for the peer to close, with a timer still set that nothing will
/// fire: the reactor must drop it with the protocol.
struct OneByte(#[allow(dead_code)] Sentinel);

impl Protocol for OneByte {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        transport.write(b"x");
        transport.call_later(Duration::from_secs(3600));
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

#[test]
fn both_probes_are_dropped_when_the_pairing_ends() {
    let networks = [Network::Tcp, Network::Tcp6, Network::Unix, Network::Memory];
    for reactor in reactor::builtin() {
        for network in networks {
            for tls in [false, true] {
                if !reactor.supports(network, tls) {
                    continue;
                }
                check(*reactor, network, tls);
            }
        }
    }
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
    let alive = Arc::new(AtomicUsize::new(0));
    let pairing = run_protocols(
        reactor,
        &endpoint,
        ConnectableProtocol::new(ClosingLater(Sentinel::new(&alive))),
        ConnectableProtocol::new(OneByte(Sentinel::new(&alive))),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!(reactor.leftovers(), Vec::<String>::new(), "{context}");
    assert_eq!(
        alive.load(Ordering::SeqCst),
        0,
        "{context}: a probe outlived its pairing"
    );
    // The records are still here, and say how each side ended.
    for side in [&pairing.server, &pairing.client] {
        assert!(side.disconnect_reason().is_some(), "{context}");
    }
}

/// Blocks the worker it runs on in `connection_made` for longer than the pairing and both
/// grace periods of `tokio-mt` (stopping the sides, then shutting the runtime down) together.
struct Stuck;

impl Protocol for Stuck {
    fn connection_made(&mut self, _: &mut Transport) -> CallbackResult {
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

/// The other way round: a side that is not dropped when the pairing ends is named by
/// `leftovers`. On `tokio-mt` a callback stuck in a worker is abandoned with its runtime, and
/// its side with it; the client, stopped at the timeout, is dropped.
#[test]
fn a_side_not_dropped_is_named() {
    let reactor = reactor::by_name("tokio-mt").expect("a built-in reactor");
    let alive = Arc::new(AtomicUsize::new(0));
    let pairing = run_protocols(
        reactor,
        &Endpoint::plain(Network::Tcp),
        ConnectableProtocol::new(Stuck),
        ConnectableProtocol::new(OneByte(Sentinel::new(&alive))),
        Duration::from_millis(100),
    );
    assert!(
        matches!(pairing, Err(connectable::Error::TimedOut { .. })),
        "{pairing:?}"
    );
    assert_eq!(
        reactor.leftovers(),
        ["the server's stream (with its TLS state and timers) outlived the pairing"],
    );
    assert_eq!(alive.load(Ordering::SeqCst), 0, "the client was dropped");
}
