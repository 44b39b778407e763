//! `stdout`, `stderr`: what an external program printed.

use super::{ExternalSeen, Family, Found, Key, Keys, Sides};

/// `stdout = "..."`, `stderr = "..."`: substrings of what an external program printed.
pub struct Output;

/// The texts an external program's output must contain; at least one is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Printed {
    /// A substring of its stdout.
    pub stdout: Option<String>,
    /// A substring of its stderr.
    pub stderr: Option<String>,
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
    ];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let printed = Printed {
            stdout: keys.text("stdout"),
            stderr: keys.text("stderr"),
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
        found
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        [("stdout", &want.stdout), ("stderr", &want.stderr)]
            .into_iter()
            .filter_map(|(stream, wanted)| {
                Some(format!("{stream} containing {:?}", wanted.as_ref()?))
            })
            .collect()
    }
}
