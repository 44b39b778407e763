//! `--partition count:K/N` and `hash:K/N`: one shard of a run spread over N machines,
//! chosen exactly as cargo-nextest chooses it, so a CI matrix can split an in-process run
//! the way it splits a nextest run, and the two can be compared trial for trial.
//!
//! nextest's rules (nextest-runner's `partition.rs` and `test_filter.rs`): `hash:K/N` keeps a
//! test when the XxHash64 (seed 0) of its name's bytes is `K - 1`
//! modulo N; `count:K/N` numbers the tests that would run (after the name filters, `--skip`
//! and the ignored handling) in name order and keeps every N-th, from the K-th. Trials of
//! another shard are not part of this run at all: not listed, not run, not in the summary
//! or the reports. nextest never counts an ignored test it will not run; so that the shards
//! still cover the list exactly once, `count:` numbers those (shown as skipped) in a
//! sequence of their own.

use std::fmt;

/// How the trials are dealt out to the shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Round-robin over the selected trials in name order.
    Count,
    /// By a hash of the trial's name, independent of every other trial.
    Hash,
}

/// One shard of N: `shard` counts from 1, as on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// How the trials are dealt out.
    pub scheme: Scheme,
    /// Which shard this run is, from 1 to `total`.
    pub shard: u64,
    /// How many shards there are.
    pub total: u64,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Count => "count",
            Scheme::Hash => "hash",
        };
        write!(f, "{scheme}:{}/{}", self.shard, self.total)
    }
}

impl Partition {
    /// Parses nextest's syntax, `count:K/N` or `hash:K/N` with 1 <= K <= N; `source` (the
    /// option or the variable) is named in the error.
    pub fn parse(source: &str, text: &str) -> Result<Self, String> {
        let wanted = "count:K/N or hash:K/N, with K from 1 to N";
        let (scheme, numbers) = match text.split_once(':') {
            Some(("count", numbers)) => (Scheme::Count, numbers),
            Some(("hash", numbers)) => (Scheme::Hash, numbers),
            _ => return Err(format!("{source} takes {wanted}, not {text:?}")),
        };
        let parsed = numbers
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<u64>().ok()?, n.parse::<u64>().ok()?)));
        match parsed {
            Some((shard, total)) if (1..=total).contains(&shard) => Ok(Self {
                scheme,
                shard,
                total,
            }),
            _ => Err(format!("{source} takes {wanted}, not {text:?}")),
        }
    }

    /// Whether `name` falls in this shard by its hash (as nextest's hash partitioner).
    pub fn hash_keeps(&self, name: &str) -> bool {
        twox_hash::XxHash64::oneshot(0, name.as_bytes()) % self.total == self.shard - 1
    }

    /// The names of this shard, out of every trial's `(name, runs)`: `runs` is whether the
    /// trial passes the name filters and would run (not ignored). Trials filtered out by
    /// name are left to libtest, which leaves them out as it always does.
    pub fn select<'a>(&self, trials: impl IntoIterator<Item = (&'a str, bool)>) -> Vec<&'a str> {
        match self.scheme {
            Scheme::Hash => trials
                .into_iter()
                .map(|(name, _)| name)
                .filter(|name| self.hash_keeps(name))
                .collect(),
            Scheme::Count => {
                let (mut running, mut not_running): (Vec<_>, Vec<_>) =
                    trials.into_iter().partition(|(_, runs)| *runs);
                running.sort_unstable();
                not_running.sort_unstable();
                let mut kept: Vec<&str> = [running, not_running]
                    .iter()
                    .flat_map(|sequence| {
                        sequence
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i as u64 % self.total == self.shard - 1)
                            .map(|(_, (name, _))| *name)
                    })
                    .collect();
                kept.sort_unstable();
                kept
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text, and the scheme, shard and total it parses to (`Err` when it is refused).
    type Row = (&'static str, Result<(Scheme, u64, u64), ()>);

    #[test]
    fn parse_takes_nextest_syntax() {
        let rows: [Row; 12] = [
            ("count:1/2", Ok((Scheme::Count, 1, 2))),
            ("count:2/2", Ok((Scheme::Count, 2, 2))),
            ("hash:3/3", Ok((Scheme::Hash, 3, 3))),
            ("hash:1/1", Ok((Scheme::Hash, 1, 1))),
            ("count:0/2", Err(())),
            ("count:3/2", Err(())),
            ("hash:1/0", Err(())),
            ("count:1", Err(())),
            ("slice:1/2", Err(())),
            ("1/2", Err(())),
            ("count:a/2", Err(())),
            ("count:-1/2", Err(())),
        ];
        for (text, expected) in rows {
            let got = Partition::parse("--partition", text);
            match (got, expected) {
                (Ok(p), Ok((scheme, shard, total))) => {
                    assert_eq!(
                        (p.scheme, p.shard, p.total),
                        (scheme, shard, total),
                        "{text}"
                    );
                    assert_eq!(p.to_string(), text);
                }
                (Err(message), Err(())) => assert_eq!(
                    message,
                    format!(
                        "--partition takes count:K/N or hash:K/N, with K from 1 to N, not {text:?}"
                    )
                ),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }

    /// Every shard of N together holds each trial exactly once, for both schemes.
    #[test]
    fn shards_cover_every_trial_once() {
        let names: Vec<String> = (0..97).map(|i| format!("s::c{i}::tcp::r::whole")).collect();
        let trials: Vec<(&str, bool)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i % 7 != 0))
            .collect();
        for total in [1, 2, 3, 5] {
            for scheme in [Scheme::Count, Scheme::Hash] {
                let mut union: Vec<&str> = (1..=total)
                    .flat_map(|shard| {
                        Partition {
                            scheme,
                            shard,
                            total,
                        }
                        .select(trials.iter().copied())
                    })
                    .collect();
                union.sort_unstable();
                let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
                all.sort_unstable();
                assert_eq!(union, all, "{scheme:?} over {total}");
            }
        }
    }

    /// count: deals the running trials in name order, whatever order they come in.
    #[test]
    fn count_deals_in_name_order() {
        let trials = [("d", true), ("a", true), ("c", false), ("b", true)];
        let rows: [(u64, &[&str]); 2] = [(1, &["a", "c", "d"]), (2, &["b"])];
        for (shard, expected) in rows {
            let partition = Partition {
                scheme: Scheme::Count,
                shard,
                total: 2,
            };
            assert_eq!(partition.select(trials), expected, "count:{shard}/2");
        }
    }
}
