//! What running a trial leaves: each side's record and every problem found, the values the
//! reports read. Running (`trials`) makes them; the reporters (`report`) only read them, so
//! neither imports the other's code through this module.

use std::time::Duration;

use connectable::ConnectableProtocol;

use crate::external::ExternalRecord;

/// What one run of a cell came to: the sides' records (when the pairing ran at all) and
/// every problem found.
#[derive(Debug)]
pub struct Attempt {
    /// The server's and the client's records; `None` when the pairing could not start.
    pub sides: Option<(Side, Side)>,
    /// Mismatches, the timeout, or why the pairing could not run; empty when all held.
    pub problems: Vec<String>,
    /// Wall time of the pairing and the checks.
    pub elapsed: Duration,
}

/// One side's record: a probe's, or an external program's.
#[derive(Debug)]
pub enum Side {
    /// A probe or script run by our reactor.
    Probe(ConnectableProtocol),
    /// A program or server someone else wrote.
    External(ExternalRecord),
}
