//! The plan, between loading and running: every case of every suite expanded into its trials
//! once, against the reactors of this run, and every skip decided with its reason: the case's
//! own `skip`, a program it `requires` that is not on PATH, the IPv6 transport on a machine
//! without IPv6 loopback. A case whose matrix has no cell is a problem placed in its file (it
//! would pass by running nothing). This is where the machine is looked at; the loader never
//! is, so whether a file loads does not depend on the machine it is loaded on.

use std::ops::Not as _;
use std::sync::Arc;

use connectable::Delivery;
use connectable::reactor::Reactor;

use crate::load::{Diagnostic, quote};
use crate::shim::Shim;
use crate::suite::{Case, Suite, TransportKind};

/// One cell of a case's matrix.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    /// The transport.
    pub transport: TransportKind,
    /// The reactor.
    pub reactor: CellReactor,
    /// The delivery mode.
    pub delivery: Delivery,
}

/// What runs a cell: one of our reactors (a Rust type driving our `Connection`s), or a shim
/// (a program in another language that runs the probes itself, see `crate::shim`). Names,
/// filters, partitions and reports treat both alike.
#[derive(Clone, Copy, Debug)]
pub enum CellReactor {
    /// A reactor of this process.
    Ours(&'static dyn Reactor),
    /// A shim.
    Shim(&'static Shim),
}

impl CellReactor {
    /// Its name, as trial names and suites' `reactors` give it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ours(reactor) => reactor.name(),
            Self::Shim(shim) => shim.name(),
        }
    }
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
pub fn cells(case: &Case, reactors: &[&'static dyn Reactor], seed: u64) -> Vec<Cell> {
    cells_with_shims(case, reactors, &[], seed)
}

/// [`cells`] on our reactors and on shims: a shim's cells are those another process can
/// share (tcp, tcp6, tls, unix) of a case whose sides are both probes or scripts
/// ([`Shim::applies`]); what it does not implement is skipped, not left out ([`plan`]).
pub fn cells_with_shims(
    case: &Case,
    reactors: &[&'static dyn Reactor],
    shims: &[&'static Shim],
    seed: u64,
) -> Vec<Cell> {
    let external = case.server.is_external() || case.client.is_external();
    let mut cells = Vec::new();
    for &transport in &case.transports {
        if external && !matches!(transport, TransportKind::Tcp | TransportKind::Tls) {
            continue;
        }
        for reactor in case.reactors.iter().filter_map(|name| {
            reactors
                .iter()
                .find(|r| r.name() == name)
                .map(|r| CellReactor::Ours(*r))
                .or_else(|| {
                    shims
                        .iter()
                        .find(|s| s.name() == name)
                        .map(|s| CellReactor::Shim(s))
                })
        }) {
            let applies = match reactor {
                CellReactor::Ours(reactor) => {
                    reactor.supports(transport.network(), transport.tls())
                }
                CellReactor::Shim(_) => Shim::applies(case, transport),
            };
            if !applies {
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

/// One trial of the plan.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The suite's name.
    pub suite: Arc<str>,
    /// The case, shared by its trials.
    pub case: Arc<Case>,
    /// The matrix cell.
    pub cell: Cell,
    /// `suite::case::transport::reactor::delivery`.
    pub name: String,
    /// Why it does not run, if it does not.
    pub skip: Option<String>,
}

/// Every trial of a run, in suite, case and matrix order, and every case skipped as a whole.
#[derive(Debug, Default)]
pub struct Plan {
    /// The trials.
    pub trials: Vec<Planned>,
    /// Each case skipped as a whole, with its suite's name and why.
    pub skipped_cases: Vec<(Arc<str>, Arc<Case>, String)>,
}

/// Plans every case of `suites` on `reactors`, chunked delivery seeded with `seed`; or every
/// case whose matrix is empty, each placed in its file.
pub fn plan(
    suites: &[Suite],
    reactors: &[&'static dyn Reactor],
    seed: u64,
) -> Result<Plan, Vec<Diagnostic>> {
    plan_with_shims(suites, reactors, &[], seed)
}

/// [`plan`] on our reactors and on shims; a shim's trial is skipped, with the reason, where
/// a program it requires is missing or it did not declare what the trial needs
/// ([`Shim::skip`]).
pub fn plan_with_shims(
    suites: &[Suite],
    reactors: &[&'static dyn Reactor],
    shims: &[&'static Shim],
    seed: u64,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    for suite in suites {
        let suite_name: Arc<str> = Arc::from(suite.name.as_str());
        for case in &suite.cases {
            let cells = cells_with_shims(case, reactors, shims, seed);
            if cells.is_empty() {
                let place = &case.matrix_location;
                problems.push(Diagnostic {
                    path: place.path.clone(),
                    position: Some((place.line, place.column)),
                    message: format!("case {}: {}", quote(&case.name), empty_matrix(case)),
                });
                continue;
            }
            let case_skip = case_skip(case);
            let case = Arc::new(case.clone());
            if let Some(why) = &case_skip {
                plan.skipped_cases
                    .push((Arc::clone(&suite_name), Arc::clone(&case), why.clone()));
            }
            for cell in cells {
                let skip = case_skip
                    .clone()
                    .or_else(|| {
                        (cell.transport == TransportKind::Tcp6 && !ipv6_loopback())
                            .then(|| "this machine has no IPv6 loopback (::1)".to_owned())
                    })
                    .or_else(|| {
                        crate::suite::marked(
                            &case.skip_cells,
                            cell.reactor.name(),
                            cell.transport,
                            cell.delivery,
                        )
                        .map(str::to_owned)
                    })
                    .or_else(|| match cell.reactor {
                        CellReactor::Shim(shim) => shim.skip(&case, cell.transport, cell.delivery),
                        CellReactor::Ours(_) => None,
                    });
                plan.trials.push(Planned {
                    name: cell.trial_name(&suite.name, &case.name),
                    suite: Arc::clone(&suite_name),
                    case: Arc::clone(&case),
                    cell,
                    skip,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// Why every trial of `case` is skipped, if they are: its `skip`, else the programs it
/// `requires` that are not on PATH.
pub fn case_skip(case: &Case) -> Option<String> {
    if let Some(why) = &case.skip {
        return Some(why.clone());
    }
    let missing: Vec<&str> = case
        .requires
        .iter()
        .map(String::as_str)
        .filter(|program| !crate::external::on_path(program))
        .collect();
    missing
        .is_empty()
        .not()
        .then(|| format!("requires {}, not found on PATH", missing.join(", ")))
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

/// Why a case's matrix has no cell (see [`cells`]).
fn empty_matrix(case: &Case) -> String {
    let external = case.server.is_external() || case.client.is_external();
    let shared: Vec<&str> = case
        .transports
        .iter()
        .filter(|t| !external || matches!(t, TransportKind::Tcp | TransportKind::Tls))
        .map(|t| t.word())
        .collect();
    if shared.is_empty() {
        let listed: Vec<&str> = case.transports.iter().map(|t| t.word()).collect();
        format!(
            "empty matrix: an external peer runs over tcp or tls only, and the transports are {}",
            listed.join(", ")
        )
    } else {
        format!(
            "empty matrix: none of the reactors ({}) drives any of the transports ({})",
            case.reactors.join(", "),
            shared.join(", ")
        )
    }
}
