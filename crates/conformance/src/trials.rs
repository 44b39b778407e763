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

use crate::check::mismatches;
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
    let endpoint = match cell.transport {
        TransportKind::Tcp => Endpoint::tcp(),
        TransportKind::Tls => {
            Endpoint::tls_with(case.tls).map_err(|e| Failed::from(e.to_string()))?
        }
    };
    let side = |peer: &PeerSpec| {
        let protocol = match peer {
            PeerSpec::Probe(spec) => spec.instantiate(),
        };
        ConnectableProtocol::from_box(protocol).with_delivery(cell.delivery)
    };
    let (server, client, problems) = match run_protocols(
        cell.reactor,
        &endpoint,
        side(&case.server),
        side(&case.client),
        case.timeout,
    ) {
        Ok(pairing) => {
            let mut problems = Vec::new();
            for (name, expect, record) in [
                ("server", &case.expect_server, &pairing.server),
                ("client", &case.expect_client, &pairing.client),
            ] {
                problems.extend(
                    mismatches(expect, record)
                        .into_iter()
                        .map(|m| format!("{name} {m}")),
                );
            }
            (pairing.server, pairing.client, problems)
        }
        Err(Error::TimedOut { after, pairing }) => {
            let problem = format!(
                "timed out after {after:?}; still open: {}",
                pairing.still_open().join(" and ")
            );
            let pairing = *pairing;
            (pairing.server, pairing.client, vec![problem])
        }
        Err(e) => return Err(format!("the pairing could not run: {e}").into()),
    };
    if problems.is_empty() {
        Ok(())
    } else {
        Err(report::failure(case, &problems, &server, &client).into())
    }
}
