//! `abort-between-writes`: on the first data, writes `X`s, aborts, writes `Y`s.
//!
//! It ports Twisted's aborting clients (`twisted/internet/test/test_tcp.py`): `AbortingClient`
//! (`test_dataReceivedAbort`) writes 10,000 `X`, calls `abortConnection`, then writes 10,000
//! `Y`; `AbortingTwiceClient` (`test_clientAbortsConnectionTwice`) then aborts again;
//! `AbortingThenLosingClient` (`test_clientAbortsConnectionThenLosesConnection`) then calls
//! `loseConnection`; `DataReceivedRaisingClient` (`test_dataReceivedThrows`) aborts and then
//! raises, which `fail = true` does (with `before = 0, after = 0`).
//!
//! The `X`s may arrive (in Twisted; here an abort discards whatever is still pending, so
//! written in the same callback they never do), the `Y`s never may: a write after an abort is
//! a silent no-op. Pair it with `reject-data { allow = "X" }`, which fails on a `Y`. A second
//! abort, or a close after the abort, must change nothing: this side ends `aborted`. With
//! `fail`, the callback then returns an error: the side ends `error` with that error as the
//! detail, recorded once; the abort must not hide it.

use connectable::{CallbackResult, Protocol, Transport};
use serde::{Deserialize, Deserializer};

pub(crate) use crate::then::Then;
use crate::then::ThenWords;
use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "abort-between-writes",
    about: "on the first data writes Xs, aborts, writes Ys, then aborts again, closes, or fails",
    arguments: &[
        Argument {
            name: "before",
            kind: ArgKind::BYTES,
            about: "how many X to write before aborting (default 10000); at most 1 GiB",
        },
        Argument {
            name: "after",
            kind: ArgKind::BYTES,
            about: "how many Y to write after aborting (default 10000); at most 1 GiB",
        },
        Argument {
            name: "then",
            kind: ArgKind::OneOf(&["none", "abort", "lose"]),
            about: "after the Ys: nothing (default), abort_connection again, or lose_connection",
        },
        Argument {
            name: "fail",
            kind: ArgKind::Boolean,
            about: "last of all, return an error from data_received (default false)",
        },
    ],
    build: |arguments| build(arguments, AbortBetweenWrites::new),
};

/// What the message of `fail` says.
const FAILURE: &str = "failed on purpose after aborting";

/// What `abort-between-writes` does after the `Y`s: nothing (the default), abort again, or
/// lose the connection.
const THEN: ThenWords = ThenWords {
    words: &["none", "abort", "lose"],
    actions: &[Then::Wait, Then::Abort, Then::Close],
};

fn then<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Then, D::Error> {
    Then::one_of(deserializer, &THEN)
}

fn wait() -> Then {
    Then::Wait
}

/// The arguments of `abort-between-writes`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// How many `X` before the abort.
    #[serde(default = "ten_thousand")]
    pub(crate) before: usize,
    /// How many `Y` after the abort.
    #[serde(default = "ten_thousand")]
    pub(crate) after: usize,
    /// What to do after the `Y`s.
    #[serde(default = "wait", deserialize_with = "then")]
    pub(crate) then: Then,
    /// Whether `data_received` then fails.
    #[serde(default)]
    pub(crate) fail: bool,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        vec![("before", crate::wide(self.before)), ("after", crate::wide(self.after))]
    }
}

fn ten_thousand() -> usize {
    10_000
}

/// The `abort-between-writes` probe.
#[derive(Debug)]
pub(crate) struct AbortBetweenWrites {
    arguments: Arguments,
    aborted: bool,
}

impl AbortBetweenWrites {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            aborted: false,
        }
    }
}

impl Protocol for AbortBetweenWrites {
    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        if self.aborted {
            return Ok(());
        }
        self.aborted = true;
        transport.write(&vec![b'X'; self.arguments.before]);
        transport.abort_connection();
        transport.write(&vec![b'Y'; self.arguments.after]);
        self.arguments.then.apply(transport);
        if self.arguments.fail {
            return Err(FAILURE.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, OPEN, Probe, Step};

    #[test]
    #[rustfmt::skip]
    fn aborts_between_the_writes_and_sends_neither() {
        let probe = Probe("abort-between-writes");
        // Written in the callback that aborts, the Xs are discarded with the rest.
        probe.check("",                           &[],          b"", OPEN,  ["", ""]);
        probe.check("",                           &["ab", "c"], b"", ABORT, ["ab", "a"]);
        probe.check(r#"then = "abort""#,          &["ab", "c"], b"", ABORT, ["ab", "a"]);
        probe.check(r#"then = "lose""#,           &["ab", "c"], b"", ABORT, ["ab", "a"]);
        probe.check("before = 3, after = 0",      &["a"],       b"", ABORT, ["a", "a"]);
    }

    /// A failure after the abort is recorded once, and the side ends `error`, not `aborted`.
    #[test]
    #[rustfmt::skip]
    fn a_failure_after_aborting_is_recorded_once() {
        let probe = Probe("abort-between-writes");
        let failed = "made, data, failed(failed on purpose after aborting), lost => error";
        let fail = "before = 0, after = 0, fail = true";
        probe.check_trace(fail, false, &[Step::Feed("ab"), Step::Feed("c")], b"", ABORT, ["ab", "a"], failed);
        let fail = r#"then = "lose", fail = true"#;
        probe.check_trace(fail, false, &[Step::Feed("ab"), Step::Feed("c")], b"", ABORT, ["ab", "a"], failed);
    }
}
