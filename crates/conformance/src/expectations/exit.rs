//! `exit`: how an external program ended.

use toml::de::DeValue;

use super::{ExternalSeen, Family, Found, Key, Keys, Sides, words};

/// `exit = 0`, `exit = [0, 1]`, `exit = "killed"`, `exit = [0, "killed"]`: the program's
/// exit status must be one of these (`None`: it was still running at the end and was killed).
pub struct Exit;

impl Family for Exit {
    type Value = Vec<Option<i32>>;
    const NAME: &'static str = "exit";
    const SIDES: Sides = Sides::External;
    const KEYS: &'static [Key] = &[Key {
        name: "exit",
        value: "an exit status, `\"killed\"` (it was still running at the end and the runner stopped it, with SIGTERM or SIGKILL), or a list of them",
        checks: "how the program ended",
    }];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let value = keys.get("exit")?;
        let items: Vec<_> = match value.get_ref() {
            DeValue::Array(items) if items.is_empty() => {
                let message = "empty list; give at least one exit status";
                keys.problem("exit", value.span(), message);
                return None;
            }
            DeValue::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut codes = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::Integer(integer) => {
                    match i32::from_str_radix(integer.as_str(), integer.radix()) {
                        Ok(code) => codes.push(Some(code)),
                        Err(_) => keys.problem(
                            "exit",
                            item.span(),
                            &format!("{} is not an exit status", integer.as_str()),
                        ),
                    }
                }
                DeValue::String(word) if word == "killed" => codes.push(None),
                _ => keys.wrong_type("exit", item, "an exit status or \"killed\""),
            }
        }
        Some(codes)
    }

    fn check_external(want: &Self::Value, seen: &ExternalSeen<'_>) -> Vec<Found> {
        let got = if seen.killed {
            None
        } else {
            seen.exit.flatten()
        };
        if want.contains(&got) && (got.is_some() || seen.killed) {
            return Vec::new();
        }
        let shown: Vec<String> = want.iter().map(|e| exit_word(*e)).collect();
        vec![Found {
            key: "exit",
            expected: words(shown.iter().map(String::as_str)),
            got: Some(seen.summary.to_owned()),
        }]
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        let shown: Vec<String> = want.iter().map(|e| exit_word(*e)).collect();
        vec![format!("exit {}", shown.join(" | "))]
    }
}

/// How an exit expectation is written: a status, or `killed`.
pub fn exit_word(exit: Option<i32>) -> String {
    exit.map_or_else(|| "killed".to_owned(), |code| code.to_string())
}
