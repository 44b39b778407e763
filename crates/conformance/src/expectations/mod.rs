//! The expectation keys of a side (`expect.server`, `expect.client`) as a table: one module
//! per key family (reason, received, events, error, tls, exit, output), each saying its keys, which
//! sides it applies to, how its keys parse, how it checks a side's record and how it reads in
//! a failure message. The loader's key lists, the checks, the failure message's "expected"
//! lines and the reference table of suites/README.md all derive from the one list in
//! `families!` below: a new family is its own file and one line there.

use std::fmt;
use std::ops::Range;

use connectable::{ConnectableProtocol, DisconnectReason};
use toml::Spanned;
use toml::de::DeValue;

pub use events::EVENT_WORDS;
pub use exit::exit_word;
pub use output::Printed;
pub use received::{MAX_RECEIVED, REGEX_JUDGED, Received, expected_bytes, judged_on};
pub use tls::Negotiation;

/// Which kind of side a family can be checked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sides {
    /// A probe or script our reactor drives: its trace and its reason are seen.
    Probe,
    /// A program someone else wrote: its exit status and its output are seen.
    External,
}

impl Sides {
    /// What the reference and the messages call such a side.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Probe => "a probe or script side",
            Self::External => "an external side",
        }
    }
}

/// One key of a family, as the reference shows it.
#[derive(Debug)]
pub struct Key {
    /// The key, as a suite writes it.
    pub name: &'static str,
    /// What its value is.
    pub value: &'static str,
    /// What it checks.
    pub checks: &'static str,
}

/// A side's expectation table (`expect.server`) as a family reads it. The loader implements
/// it: each reader looks its key up, reads the value with the loader's checks and reports
/// every problem at its line and column, prefixed with the case and the key's path
/// (`case "a": expect.server.reason: ...`). Every reader gives `None` when the key is absent
/// or its value is bad (the problem is then reported).
pub trait Keys<'t> {
    /// The value of `key`, if the side gives it.
    fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'t>>>;
    /// Reports a problem with `key`'s value (or a part of it, at `span`).
    fn problem(&mut self, key: &str, span: Range<usize>, message: &str);
    /// Reports that `value` (of `key`, or an item of it) is not `expected` (`an exit status`).
    fn wrong_type(&mut self, key: &str, value: &Spanned<DeValue<'_>>, expected: &str);
    /// `key = "text"`.
    fn text(&mut self, key: &str) -> Option<String>;
    /// `key = "0d0a"`: pairs of hex digits.
    fn hex(&mut self, key: &str) -> Option<Vec<u8>>;
    /// `key = N`: a non-negative integer, at most `max` (`max_shown` says it in words).
    fn count(&mut self, key: &str, max: u64, max_shown: &str) -> Option<u64>;
    /// `key = ["w", ...]`: a list of words from `valid`; a `set` is not empty and repeats no
    /// word, otherwise the list is a sequence.
    fn word_list<'w>(
        &mut self,
        key: &str,
        noun: &str,
        valid: &[&'w str],
        set: bool,
    ) -> Option<Vec<&'w str>>;
    /// `key = "w"` or `key = ["w", ...]`: one word from `valid`, or a set of them.
    fn word_or_words<'w>(
        &mut self,
        key: &str,
        noun: &str,
        valid: &[&'w str],
    ) -> Option<Vec<&'w str>>;
}

/// A key that did not hold on a side: the key, what it asked for and what was seen (when the
/// message names it). The runner adds the side and makes it a `record::Mismatch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The expectation key (`reason`, `received`, `exit`, ...).
    pub key: &'static str,
    /// What the key asked for.
    pub expected: String,
    /// What was seen, when the message names it.
    pub got: Option<String>,
}

/// What an external side shows its expectations: how the program ended and what it printed.
#[derive(Clone, Copy, Debug)]
pub struct ExternalSeen<'a> {
    /// Its exit status: `Some(code)`, `None` if it was killed or died by a signal; `None`
    /// outside when it never ended (a server at an address).
    pub exit: Option<Option<i32>>,
    /// Whether the runner had to end it: it was still running at the end of the trial.
    pub killed: bool,
    /// Its stdout, as kept.
    pub stdout: &'a str,
    /// Its stderr, as kept.
    pub stderr: &'a str,
    /// Whether stdout or stderr was longer than what was kept (cut at 64 KiB).
    pub truncated: bool,
    /// How it ended, in words (`exited with status 1`), for a mismatch's "got".
    pub summary: &'a str,
}

/// A family of expectation keys checked together: what it is, how it parses, checks and
/// describes itself. Its value is what the suite asked for, once parsed.
pub trait Family {
    /// What the keys ask for, once parsed.
    type Value: Clone + fmt::Debug + PartialEq + Eq;
    /// The family's name (`received`).
    const NAME: &'static str;
    /// The side it applies to.
    const SIDES: Sides;
    /// Whether at most one of its keys may be given.
    const ONE_OF: bool = false;
    /// Its keys, in the reference's order.
    const KEYS: &'static [Key];

    /// Reads the family's keys from a side's table, reporting every problem through `keys`;
    /// `None` when none of its keys is given, or a given one is bad.
    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value>;

    /// The mismatches of a probe or script side (only called when [`Self::SIDES`] is
    /// [`Sides::Probe`]).
    fn check_probe(_want: &Self::Value, _side: &ConnectableProtocol) -> Vec<Found> {
        Vec::new()
    }

    /// The mismatches of an external side (only called when [`Self::SIDES`] is
    /// [`Sides::External`]).
    fn check_external(_want: &Self::Value, _seen: &ExternalSeen<'_>) -> Vec<Found> {
        Vec::new()
    }

    /// The family's part of the failure message's "expected" line (`reason done | lost`).
    fn describe(want: &Self::Value) -> Vec<String>;
}

/// What the reference and the loader know of a family, without its value type.
#[derive(Debug)]
pub struct Info {
    /// The family's name (`received`).
    pub name: &'static str,
    /// The side it applies to.
    pub sides: Sides,
    /// Its keys, in the reference's order.
    pub keys: &'static [Key],
    /// Whether at most one of its keys may be given.
    pub one_of: bool,
}

const fn info<F: Family>() -> Info {
    Info {
        name: F::NAME,
        sides: F::SIDES,
        keys: F::KEYS,
        one_of: F::ONE_OF,
    }
}

/// The one list of families: `module::Type,` each, the module being the family's file and its
/// field in [`Expectation`]. It declares the modules and makes [`Expectation`], [`FAMILIES`],
/// and the parse, check and describe passes over every family.
macro_rules! families {
    ($($field:ident :: $family:ident,)*) => {
        $(mod $field;)*

        /// What one side must show when its pairing ends: a field per family, each left
        /// `None` when the suite gives none of its keys (and then not checked).
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Expectation {
            $(
                #[doc = concat!("The `", stringify!($field), "` family's keys.")]
                pub $field: Option<<$field::$family as Family>::Value>,
            )*
        }

        /// Every family, in the order the keys are listed.
        pub const FAMILIES: &[&Info] = &[$(&info::<$field::$family>()),*];

        impl Expectation {
            /// Reads every family's keys from a side's table (the loader has checked that
            /// every key is known and, for one-of families, that only one is given).
            pub fn parse(keys: &mut dyn Keys<'_>) -> Self {
                Self {
                    $($field: <$field::$family as Family>::parse(keys),)*
                }
            }

            /// The mismatches between what a probe or script side shows and this
            /// expectation; empty when it holds. Every family set is checked, so a failure
            /// says everything that went wrong at once.
            pub fn check_probe(&self, side: &ConnectableProtocol) -> Vec<Found> {
                let mut found = Vec::new();
                $(
                    if let Some(want) = &self.$field {
                        found.extend(<$field::$family as Family>::check_probe(want, side));
                    }
                )*
                found
            }

            /// The mismatches between what an external program did and this expectation.
            pub fn check_external(&self, seen: &ExternalSeen<'_>) -> Vec<Found> {
                let mut found = Vec::new();
                $(
                    if let Some(want) = &self.$field {
                        found.extend(<$field::$family as Family>::check_external(want, seen));
                    }
                )*
                found
            }

            /// The expectation in words, as the failure message shows it (`anything` when
            /// nothing is checked).
            pub fn describe(&self) -> String {
                let mut parts: Vec<String> = Vec::new();
                $(
                    if let Some(want) = &self.$field {
                        parts.extend(<$field::$family as Family>::describe(want));
                    }
                )*
                if parts.is_empty() {
                    "anything".into()
                } else {
                    parts.join(", ")
                }
            }
        }
    };
}

families! {
    reason::Reason,
    received::ReceivedFamily,
    events::Events,
    error::Error,
    tls::Tls,
    exit::Exit,
    output::Output,
    addresses::Addresses,
    peer_certificate::PeerCertificate,
}

/// Every key a side may have.
pub fn keys() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|f| f.keys.iter().map(|k| k.name))
        .collect()
}

/// The keys that can be checked on this kind of side.
pub fn keys_for(sides: Sides) -> Vec<&'static str> {
    FAMILIES
        .iter()
        .filter(|f| f.sides == sides)
        .flat_map(|f| f.keys.iter().map(|k| k.name))
        .collect()
}

/// The families whose keys are given at most one at a time (`received*`).
pub fn one_of_families() -> impl Iterator<Item = &'static Info> {
    FAMILIES.iter().copied().filter(|f| f.one_of)
}

/// The reference table of suites/README.md, between `<!-- expectations:begin -->` and
/// `<!-- expectations:end -->`: every key, the side it applies to, its value and its check.
pub fn reference_table() -> String {
    let mut table = String::from("| key | side | value | checks |\n|---|---|---|---|\n");
    for family in FAMILIES {
        let side = match family.sides {
            Sides::Probe => "probe, script",
            Sides::External => "external",
        };
        for key in family.keys {
            table.push_str(&format!(
                "| `{}` | {side} | {} | {} |\n",
                key.name, key.value, key.checks
            ));
        }
    }
    table
}

/// `key = "regex"`: a regex that may match anywhere (`received_regex`, `stdout_regex`),
/// compiled once here; a bad one is reported at its value.
fn regex(keys: &mut dyn Keys<'_>, key: &str) -> Option<protocols::Pattern> {
    let text = keys.text(key)?;
    match protocols::Pattern::anywhere(&text) {
        Ok(pattern) => Some(pattern),
        Err(why) => {
            let span = keys.get(key).map(|value| value.span()).unwrap_or_default();
            keys.problem(key, span, &format!("bad regex {text:?}: {why}"));
            None
        }
    }
}

/// `done`, `done or lost`, `done, lost or tls`.
fn words<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.collect();
    match words.as_slice() {
        [] => "nothing".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How a reason reads in a mismatch: its word and detail, or `still open`.
fn shown_reason(reason: Option<&DisconnectReason>) -> String {
    reason.map_or_else(|| "still open".into(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// suites/README.md shows the table as [`reference_table`] renders it; with
    /// `UPDATE_EXPECT` set, it is written there.
    #[test]
    fn the_reference_table_is_current() {
        let path = crate::cli::default_suites().join("README.md");
        let text = std::fs::read_to_string(&path).expect("suites/README.md is readable");
        let begin = "<!-- expectations:begin -->\n";
        let end = "<!-- expectations:end -->";
        let start = text.find(begin).expect("the begin marker") + begin.len();
        let stop = text[start..].find(end).expect("the end marker") + start;
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            let updated = format!("{}{}{}", &text[..start], reference_table(), &text[stop..]);
            std::fs::write(&path, updated).expect("writing suites/README.md");
            return;
        }
        assert_eq!(
            &text[start..stop],
            reference_table(),
            "{} shows an old expectation table: paste reference_table()'s output between the markers",
            path.display()
        );
    }

    #[test]
    fn every_key_belongs_to_one_family() {
        let all = keys();
        let mut seen = std::collections::HashSet::new();
        let twice: Vec<&str> = all.iter().copied().filter(|k| !seen.insert(*k)).collect();
        assert!(twice.is_empty(), "keys in two families: {twice:?}");
        let probe = keys_for(Sides::Probe).len();
        let external = keys_for(Sides::External).len();
        assert_eq!(probe + external, all.len());
    }

    /// The failure message's "expected" line: each family's words, in the families' order.
    #[test]
    fn expectations_read_as_the_failure_message_shows_them() {
        use connectable::ReasonKind;
        let rows = [
            (Expectation::default(), "anything"),
            (
                Expectation {
                    reason: Some(vec![ReasonKind::Done, ReasonKind::Lost]),
                    received: Some(Received::Len(3)),
                    events: Some(vec!["made".into(), "data".into()]),
                    error: Some("reset".into()),
                    ..Expectation::default()
                },
                "reason done | lost, received 3 bytes, events [made, data], error containing \"reset\"",
            ),
            (
                Expectation {
                    received: Some(Received::Generated(52)),
                    ..Expectation::default()
                },
                "received the first 52 generated bytes",
            ),
            (
                Expectation {
                    exit: Some(vec![Some(0), None]),
                    output: Some(Printed {
                        stderr: Some("bye".into()),
                        stdout_regex: Some(protocols::Pattern::anywhere("^ready$").unwrap()),
                        ..Printed::default()
                    }),
                    ..Expectation::default()
                },
                "exit 0 | killed, stderr containing \"bye\", stdout matching \"^ready$\"",
            ),
        ];
        for (expectation, shown) in rows {
            assert_eq!(expectation.describe(), shown);
        }
    }

    /// An external side's exit status and output against `exit`, `stdout` and `stderr`:
    /// `killed` holds only when the runner ended it, and a status only when it exited.
    #[test]
    fn external_sides_are_checked_on_exit_and_output() {
        let expect = |exit: Vec<Option<i32>>, stdout: Option<&str>| Expectation {
            exit: Some(exit),
            output: stdout.map(|text| Printed {
                stdout: Some(text.to_owned()),
                ..Printed::default()
            }),
            ..Expectation::default()
        };
        let seen = |exit: Option<Option<i32>>, killed: bool| ExternalSeen {
            exit,
            killed,
            stdout: "listening on 8080",
            stderr: "",
            truncated: false,
            summary: "how it ended",
        };
        let rows = [
            (
                expect(vec![Some(0)], None),
                seen(Some(Some(0)), false),
                vec![],
            ),
            (
                expect(vec![Some(0)], None),
                seen(Some(Some(1)), false),
                vec!["exit"],
            ),
            (expect(vec![None], None), seen(Some(None), true), vec![]),
            // Died by a signal it was not sent by the runner: not `killed`.
            (
                expect(vec![None], None),
                seen(Some(None), false),
                vec!["exit"],
            ),
            (
                expect(vec![Some(0), None], Some("listening")),
                seen(None, true),
                vec![],
            ),
            (
                expect(vec![Some(0)], Some("ready")),
                seen(Some(Some(0)), false),
                vec!["stdout"],
            ),
            (
                expect(vec![Some(2)], Some("ready")),
                seen(None, true),
                vec!["exit", "stdout"],
            ),
        ];
        for (expectation, seen, keys) in rows {
            let found: Vec<&str> = expectation
                .check_external(&seen)
                .iter()
                .map(|f| f.key)
                .collect();
            assert_eq!(found, keys, "{expectation:?} against {seen:?}");
        }
    }

    /// `stdout_regex` and `stderr_regex` match somewhere, as grep does; on output cut at
    /// 64 KiB only a match that ends before the cut counts. Rows: stdout as kept, whether it
    /// was cut, the regex, whether it holds.
    #[test]
    fn output_regexes_never_pass_on_the_cut() {
        let rows = [
            ("listening on 8080\n", false, "on [0-9]+$", false),
            ("listening on 8080\n", false, "(?m)on [0-9]+$", true),
            ("listening on 8080", false, "^listening on [0-9]+$", true),
            ("listening on 8080", true, "^listening on [0-9]+$", false),
            ("listening on 8080", true, "^listening", true),
            ("listening on 8080", true, "ready", false),
        ];
        for (stdout, truncated, regex, holds) in rows {
            let expectation = Expectation {
                output: Some(Printed {
                    stdout_regex: Some(protocols::Pattern::anywhere(regex).unwrap()),
                    ..Printed::default()
                }),
                ..Expectation::default()
            };
            let seen = ExternalSeen {
                exit: Some(Some(0)),
                killed: false,
                stdout,
                stderr: "",
                truncated,
                summary: "exited with status 0",
            };
            let found = expectation.check_external(&seen);
            let keys: Vec<&str> = found.iter().map(|f| f.key).collect();
            let expected: &[&str] = if holds { &[] } else { &["stdout_regex"] };
            assert_eq!(
                keys, expected,
                "{regex:?} on {stdout:?}, cut {truncated}: {found:?}"
            );
        }
    }

    #[test]
    fn word_lists_read_as_english() {
        let cases: [(&[&str], &str); 3] = [
            (&["done"], "done"),
            (&["done", "lost"], "done or lost"),
            (&["aborted", "lost", "tls"], "aborted, lost or tls"),
        ];
        for (list, shown) in cases {
            assert_eq!(words(list.iter().copied()), shown);
        }
    }
}
