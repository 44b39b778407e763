//! Checking one side's record against its [`Expectation`]: each key family
//! ([`crate::expectations`]) checks its own keys, and every mismatch is reported, so a failure
//! says everything that went wrong at once.

use connectable::ConnectableProtocol;

use crate::expectations::{ExternalSeen, Found};
pub use crate::expectations::{expected_bytes, judged_on};
use crate::external::ExternalRecord;
use crate::record::{Mismatch, Role};
use crate::suite::Expectation;

/// The mismatches between what `side` shows and `expect`; empty when it holds.
pub fn mismatches(role: Role, expect: &Expectation, side: &ConnectableProtocol) -> Vec<Mismatch> {
    sided(role, expect.check_probe(side))
}

/// The mismatches between what an external program did and `expect` (its exit status and
/// output; the loader allows nothing else on an external side).
pub fn external_mismatches(
    role: Role,
    expect: &Expectation,
    record: &ExternalRecord,
) -> Vec<Mismatch> {
    let summary = record.summary();
    let seen = ExternalSeen {
        exit: record.exit,
        killed: record.killed,
        stdout: &record.stdout,
        stderr: &record.stderr,
        truncated: record.truncated,
        summary: &summary,
    };
    sided(role, expect.check_external(&seen))
}

/// The families' findings as the records carry them: on this side.
fn sided(role: Role, found: Vec<Found>) -> Vec<Mismatch> {
    found
        .into_iter()
        .map(|found| Mismatch {
            side: role,
            connection: None,
            key: found.key,
            expected: found.expected,
            got: found.got,
        })
        .collect()
}
