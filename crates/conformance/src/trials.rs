//! The matrix: each case expanded over transports x reactors x delivery modes into one
//! libtest-mimic trial, and what running one trial does.
//!
//! Building the list is cheap by design (cargo-nextest asks for it once per process): a trial
//! holds its name and a shared reference to its case. Endpoints, keys, runtimes and sockets
//! are made only when a trial runs.

use std::ops::Not as _;
use std::sync::Arc;

use connectable::reactor::Reactor;
use connectable::{ConnectableProtocol, Delivery, Endpoint, Error, run_protocols};
use libtest_mimic::{Failed, Trial};

use crate::check::{external_mismatches, mismatches};
use crate::external::{self, ExternalRecord};
use crate::report;
use crate::suite::{Case, PeerSpec, Suite, TransportKind};

/// One cell of a case's matrix.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    /// The transport.
    pub transport: TransportKind,
    /// The reactor.
    pub reactor: &'static dyn Reactor,
    /// The delivery mode.
    pub delivery: Delivery,
}

impl Cell {
    /// The trial name of this cell of `case` in `suite`:
    /// `suite::case::transport::reactor::delivery`.
    pub fn trial_name(&self, suite: &str, case: &str) -> String {
        format!(
            "{suite}::{case}::{}::{}::{}",
            self.transport.word(),
            self.reactor.name(),
            self.delivery.word()
        )
    }
}

/// The cells of a case, in the order its lists give them, without those that cannot apply:
/// a reactor that does not drive that network, an external peer over a transport a program
/// in another process cannot share (a UNIX socket path is possible, but the placeholders do
/// not offer one yet; the in-memory pipe is not). Each cell carries the seed of chunked
/// delivery.
pub fn cells(case: &Case, seed: u64) -> Vec<Cell> {
    let external = case.server.is_external() || case.client.is_external();
    let mut cells = Vec::new();
    for &transport in &case.transports {
        if external && !matches!(transport, TransportKind::Tcp | TransportKind::Tls) {
            continue;
        }
        for reactor in case
            .reactors
            .iter()
            .filter_map(|name| crate::reactor_by_name(name))
        {
            if !reactor.supports(transport.network(), transport.tls()) {
                continue;
            }
            for &delivery in &case.delivery {
                let delivery = match delivery {
                    Delivery::Chunked(_) => Delivery::Chunked(seed),
                    other => other,
                };
                cells.push(Cell {
                    transport,
                    reactor,
                    delivery,
                });
            }
        }
    }
    cells
}

/// Every trial of every suite. A skipped case's trials, and the IPv6 ones on a machine
/// without IPv6 loopback, carry the ignored flag.
pub fn trials(suites: &[Suite], seed: u64) -> Vec<Trial> {
    let mut trials = Vec::new();
    for suite in suites {
        for case in &suite.cases {
            let case = Arc::new(case.clone());
            for cell in cells(&case, seed) {
                let name = cell.trial_name(&suite.name, &case.name);
                let skipped = case.skip.is_some()
                    || (cell.transport == TransportKind::Tcp6 && !ipv6_loopback());
                let case = Arc::clone(&case);
                trials.push(Trial::test(name, move || run(&case, cell)).with_ignored_flag(skipped));
            }
        }
    }
    trials
}

/// Whether this machine has an IPv6 loopback, from the kernel's interface list (a file read,
/// no socket: this runs when trials are listed). Where there is no such file, it is assumed.
pub fn ipv6_loopback() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| match std::fs::read_to_string("/proc/net/if_inet6") {
        Ok(interfaces) => interfaces
            .lines()
            .any(|l| l.starts_with("00000000000000000000000000000001")),
        Err(_) => std::path::Path::new("/proc").exists().not(),
    })
}

/// Runs one cell of `case` and checks both sides' expectations.
pub fn run(case: &Case, cell: Cell) -> Result<(), Failed> {
    let probe = |peer: &PeerSpec| {
        let protocol = match peer {
            PeerSpec::Probe(spec) => spec.instantiate(),
            PeerSpec::Script(script) => script.instantiate(),
            // The loader lets at most one side be external, and never both.
            PeerSpec::Command(_) | PeerSpec::Address(_) => return None,
        };
        Some(ConnectableProtocol::from_box(protocol).with_delivery(cell.delivery))
    };
    let failed = |message: String| {
        Failed::from(format!(
            "{}: case {:?}: {message}",
            case.location, case.name
        ))
    };
    let (server, client, mut problems) = match (&case.server, &case.client) {
        (server, client) if server.is_external() || client.is_external() => {
            let server_is_external = server.is_external();
            let (theirs, ours) = if server_is_external {
                (server, client)
            } else {
                (client, server)
            };
            let ours = probe(ours).ok_or_else(|| failed("both sides are external".into()))?;
            let setting = external::Setting {
                reactor: cell.reactor,
                transport: cell.transport,
                profile: case.tls,
                timeout: case.timeout,
            };
            let (ours, record) =
                external::pair(theirs, server_is_external, ours, &setting).map_err(failed)?;
            let (ours, theirs) = (Side::Probe(ours), Side::External(record));
            if server_is_external {
                (theirs, ours, Vec::new())
            } else {
                (ours, theirs, Vec::new())
            }
        }
        (server, client) => {
            let (Some(server), Some(client)) = (probe(server), probe(client)) else {
                return Err(failed("an address can only play the server".into()));
            };
            let endpoint = Endpoint::plain(cell.transport.network());
            let endpoint = if cell.transport.tls() {
                endpoint
                    .with_tls(case.tls)
                    .map_err(|e| failed(e.to_string()))?
            } else {
                endpoint
            };
            match run_protocols(cell.reactor, &endpoint, server, client, case.timeout) {
                Ok(pairing) => (
                    Side::Probe(pairing.server),
                    Side::Probe(pairing.client),
                    Vec::new(),
                ),
                Err(Error::TimedOut { pairing, .. }) => {
                    let pairing = *pairing;
                    (
                        Side::Probe(pairing.server),
                        Side::Probe(pairing.client),
                        Vec::new(),
                    )
                }
                Err(e) => return Err(failed(format!("the pairing could not run: {e}"))),
            }
        }
    };
    let open: Vec<&str> = [("server", &server), ("client", &client)]
        .into_iter()
        .filter(|(_, side)| side.still_open())
        .map(|(name, _)| name)
        .collect();
    if !open.is_empty() {
        problems.push(format!(
            "timed out after {:?}; still open: {}",
            case.timeout,
            open.join(" and ")
        ));
    }
    for (name, expect, side) in [
        ("server", &case.expect_server, &server),
        ("client", &case.expect_client, &client),
    ] {
        let found = match side {
            Side::Probe(record) => mismatches(expect, record),
            Side::External(record) => external_mismatches(expect, record),
        };
        problems.extend(found.into_iter().map(|m| format!("{name} {m}")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let mut message = report::failure(case, &problems, &server, &client);
        if let Delivery::Chunked(seed) = cell.delivery {
            message.push_str(&format!(
                "chunked delivery used seed {seed}: re-run with --seed {seed} (or \
                 CONFORMANCE_SEED={seed}) for the same split points\n"
            ));
        }
        Err(message.into())
    }
}

/// One side's record: a probe's, or an external program's.
#[derive(Debug)]
pub enum Side {
    /// A probe or script run by our reactor.
    Probe(ConnectableProtocol),
    /// A program or server someone else wrote.
    External(ExternalRecord),
}

impl Side {
    fn still_open(&self) -> bool {
        match self {
            Self::Probe(side) => side.disconnect_reason().is_none(),
            Self::External(_) => false,
        }
    }
}
