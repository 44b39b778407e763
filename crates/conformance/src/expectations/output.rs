//! `stdout`, `stderr`, `stdout_regex`, `stderr_regex`: what an external program printed.

use protocols::Pattern;

use super::{ExternalSeen, Family, Found, Key, Keys, Sides, regex};

/// `stdout = "..."`, `stderr = "..."`: substrings of what an external program printed;
/// `stdout_regex`, `stderr_regex`: regexes that match somewhere in it.
pub struct Output;

/// The texts an external program's output must contain, and the regexes it must match; at
/// least one is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Printed {
    /// A substring of its stdout.
    pub stdout: Option<String>,
    /// A substring of its stderr.
    pub stderr: Option<String>,
    /// A regex matching somewhere in its stdout.
    pub stdout_regex: Option<Pattern>,
    /// A regex matching somewhere in its stderr.
    pub stderr_regex: Option<Pattern>,
}

impl Family for Output {
    type Value = Printed;
    const NAME: &'static str = "output";
    const SIDES: Sides = Sides::External;
    const KEYS: &'static [Key] = &[
        Key {
            name: "stdout",
            value: "text",
            checks: "a substring of what it printed",
        },
        Key {
            name: "stderr",
            value: "text",
            checks: "a substring of its errors",
        },
        Key {
            name: "stdout_regex",
            value: "regex",
            checks: "a regex that matches somewhere in what it printed, as grep does (`(?m)^...$` anchors it to a line)",
        },
        Key {
            name: "stderr_regex",
            value: "regex",
            checks: "a regex that matches somewhere in its errors",
        },
    ];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let printed = Printed {
            stdout: keys.text("stdout"),
            stderr: keys.text("stderr"),
            stdout_regex: regex(keys, "stdout_regex"),
            stderr_regex: regex(keys, "stderr_regex"),
        };
        (printed != Printed::default()).then_some(printed)
    }

    fn check_external(want: &Self::Value, seen: &ExternalSeen<'_>) -> Vec<Found> {
        let mut found = Vec::new();
        for (stream, wanted, got) in [
            ("stdout", &want.stdout, seen.stdout),
            ("stderr", &want.stderr, seen.stderr),
        ] {
            if let Some(wanted) = wanted
                && !got.contains(wanted.as_str())
            {
                found.push(Found {
                    key: stream,
                    expected: format!("it to contain {wanted:?}"),
                    got: None,
                });
            }
        }
        for (key, wanted, got) in [
            ("stdout_regex", &want.stdout_regex, seen.stdout),
            ("stderr_regex", &want.stderr_regex, seen.stderr),
        ] {
            let Some(wanted) = wanted else {
                continue;
            };
            // Output past 64 KiB is cut: a match that reaches the cut may be one only
            // because of it (`$`), so it is not trusted, and a regex never passes on part of
            // the output.
            let end = wanted.match_end(got.as_bytes());
            let judged = end.is_some_and(|end| !seen.truncated || end < got.len());
            if !judged {
                found.push(Found {
                    key,
                    expected: format!("it to match {:?}", wanted.text()),
                    got: seen.truncated.then(|| {
                        "output cut at 64 KiB, and no match before the cut".to_owned()
                    }),
                });
            }
        }
        found
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        [("stdout", &want.stdout), ("stderr", &want.stderr)]
            .into_iter()
            .filter_map(|(stream, wanted)| {
                Some(format!("{stream} containing {:?}", wanted.as_ref()?))
            })
            .chain(
                [
                    ("stdout", &want.stdout_regex),
                    ("stderr", &want.stderr_regex),
                ]
                .into_iter()
                .filter_map(|(stream, wanted)| {
                    Some(format!("{stream} matching {:?}", wanted.as_ref()?.text()))
                }),
            )
            .collect()
    }
}
