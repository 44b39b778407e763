//! The matrix: each case expanded over transports x reactors x delivery modes into one
//! libtest-mimic trial, and what running one trial does.
//!
//! Building the list is cheap by design (cargo-nextest asks for it once per process): a trial
//! holds its name and a shared reference to its case. Endpoints, keys, runtimes and sockets
//! are made only when a trial runs.

use std::sync::Arc;

use connectable::reactor::{self, Reactor};
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

/// The cells of a case, in the order its lists give them.
pub fn cells(case: &Case) -> Vec<Cell> {
    let mut cells = Vec::new();
    for &transport in &case.transports {
        for reactor in case
            .reactors
            .iter()
            .filter_map(|name| reactor::by_name(name))
        {
            for &delivery in &case.delivery {
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

/// Every trial of every suite. A skipped case's trials carry the ignored flag.
pub fn trials(suites: &[Suite]) -> Vec<Trial> {
    let mut trials = Vec::new();
    for suite in suites {
        for case in &suite.cases {
            let case = Arc::new(case.clone());
            for cell in cells(&case) {
                let name = cell.trial_name(&suite.name, &case.name);
                let skipped = case.skip.is_some();
                let case = Arc::clone(&case);
                trials.push(Trial::test(name, move || run(&case, cell)).with_ignored_flag(skipped));
            }
        }
    }
    trials
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
        (PeerSpec::Command(command), client) => {
            let client = probe(client).ok_or_else(|| failed("no probe side".into()))?;
            let (client, record) = external::against_server_command(
                command,
                client,
                cell.reactor,
                cell.transport,
                case.tls,
                case.timeout,
            )
            .map_err(failed)?;
            (Side::External(record), Side::Probe(client), Vec::new())
        }
        (PeerSpec::Address(address), client) => {
            let client = probe(client).ok_or_else(|| failed("no probe side".into()))?;
            let (client, record) = external::against_address(
                address,
                client,
                cell.reactor,
                cell.transport,
                case.tls,
                case.timeout,
            )
            .map_err(failed)?;
            (Side::External(record), Side::Probe(client), Vec::new())
        }
        (server, PeerSpec::Command(command)) => {
            let server = probe(server).ok_or_else(|| failed("no probe side".into()))?;
            let (server, record) = external::against_client_command(
                command,
                server,
                cell.reactor,
                cell.transport,
                case.tls,
                case.timeout,
            )
            .map_err(failed)?;
            (Side::Probe(server), Side::External(record), Vec::new())
        }
        (server, client) => {
            let (Some(server), Some(client)) = (probe(server), probe(client)) else {
                return Err(failed("an address can only play the server".into()));
            };
            let endpoint = match cell.transport {
                TransportKind::Tcp => Endpoint::tcp(),
                TransportKind::Tls => {
                    Endpoint::tls_with(case.tls).map_err(|e| failed(e.to_string()))?
                }
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
        Err(report::failure(case, &problems, &server, &client).into())
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
