//! A reactor that only pairs probes (a `PairReactor`, or any reactor that implements `drive`
//! alone) refuses `accept` and `connect` with an error that says so, through the `Reactor`
//! trait's defaults, rather than hanging or ending the side with a made-up reason.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use connectable::memory::{self, MemoryStream};
use connectable::reactor::PairReactor;
use connectable::{CallbackResult, ConnectableProtocol, Endpoint, Network, Protocol, Transport};
use connectable::{run_client, run_server};

struct Quiet;

impl Protocol for Quiet {
    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

static MEMORY_ONLY: PairReactor<MemoryStream, fn() -> (MemoryStream, MemoryStream)> =
    PairReactor::new("memory-only", &[Network::Memory], memory::pair);

#[test]
fn accept_and_connect_say_the_reactor_pairs_probes_only() {
    let endpoint = Endpoint::plain(Network::Tcp);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    let timeout = Duration::from_secs(5);
    let outcomes = [
        (
            "accept",
            run_server(
                &MEMORY_ONLY,
                &endpoint,
                listener,
                ConnectableProtocol::new(Quiet),
                timeout,
            ),
        ),
        (
            "connect",
            run_client(
                &MEMORY_ONLY,
                &endpoint,
                address,
                ConnectableProtocol::new(Quiet),
                timeout,
            ),
        ),
    ];
    for (call, outcome) in outcomes {
        let error = outcome.expect_err(call).to_string();
        assert!(
            error.contains("this reactor pairs probes only, not programs in other processes"),
            "{call}: {error}"
        );
    }
}
