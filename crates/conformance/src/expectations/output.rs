//! `stdout`, `stderr`: what an external program printed.

use super::{Family, Key, Sides};
use crate::external::ExternalRecord;
use crate::load::SideKeys;
use crate::record::{Mismatch, Role};

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

    fn parse(keys: &mut SideKeys<'_, '_, '_>) -> Option<Self::Value> {
        let printed = Printed {
            stdout: keys.text("stdout"),
            stderr: keys.text("stderr"),
        };
        (printed != Printed::default()).then_some(printed)
    }

    fn check_external(want: &Self::Value, role: Role, record: &ExternalRecord) -> Vec<Mismatch> {
        let mut found = Vec::new();
        for (stream, wanted, got) in [
            ("stdout", &want.stdout, &record.stdout),
            ("stderr", &want.stderr, &record.stderr),
        ] {
            if let Some(wanted) = wanted
                && !got.contains(wanted.as_str())
            {
                found.push(Mismatch {
                    side: role,
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
