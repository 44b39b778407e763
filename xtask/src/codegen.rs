//! `cargo xtask codegen`: the reference tables of suites/README.md, generated from the code.
//!
//! The probe and argument tables come from the probe catalogue (`protocols::catalogue`), the
//! reason table from `connectable::ReasonKind`. Each table sits between a pair of marker
//! comments (`<!-- codegen:NAME:start -->`, `<!-- codegen:NAME:end -->`); the text around
//! them is written by hand and left as it is. The test below fails when the committed text
//! is stale, so a new probe or argument cannot go undocumented. The expectation keys have
//! markers too (`expectation-keys`), filled once they come from a table in the runner.

use std::path::Path;

use anyhow::{Context as _, bail};
use connectable::ReasonKind;
use protocols::{ArgKind, Catalogue};

/// The generated tables, by marker name.
fn tables(catalogue: &Catalogue) -> Vec<(&'static str, String)> {
    vec![
        ("probes", probe_table(catalogue)),
        ("probe-arguments", argument_table(catalogue)),
        ("reasons", reason_table()),
    ]
}

fn probe_table(catalogue: &Catalogue) -> String {
    let mut table = String::from("| probe | arguments | what it does |\n|---|---|---|\n");
    for entry in catalogue.entries() {
        let arguments = if entry.arguments.is_empty() {
            "none".to_owned()
        } else {
            let names: Vec<String> = entry
                .arguments
                .iter()
                .map(|a| format!("`{}`", a.name))
                .collect();
            names.join(", ")
        };
        table.push_str(&format!(
            "| `{}` | {arguments} | {} |\n",
            entry.name, entry.about
        ));
    }
    table
}

fn argument_table(catalogue: &Catalogue) -> String {
    let mut table =
        String::from("| probe | argument | value | what it does |\n|---|---|---|---|\n");
    for entry in catalogue.entries() {
        for argument in entry.arguments {
            let value = match argument.kind {
                ArgKind::Integer { at_most } => {
                    format!("integer, at most {}", protocols::shown_bound(at_most))
                }
                ArgKind::OneOf(words) => {
                    let words: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                    words.join(" or ")
                }
                ArgKind::Hex => "hex digits (`\"00ff\"`)".to_owned(),
                other => other.shown(),
            };
            table.push_str(&format!(
                "| `{}` | `{}` | {value} | {} |\n",
                entry.name, argument.name, argument.about
            ));
        }
    }
    table
}

fn reason_table() -> String {
    let mut table = String::from("| word | meaning |\n|---|---|\n");
    for kind in ReasonKind::ALL {
        table.push_str(&format!("| `{}` | {} |\n", kind.word(), kind.about()));
    }
    table
}

/// `text` with every generated table replaced by its fresh version; an error if a marker is
/// missing or out of order.
fn regenerate(text: &str, catalogue: &Catalogue) -> anyhow::Result<String> {
    let mut text = text.to_owned();
    for (name, table) in tables(catalogue) {
        let start = format!("<!-- codegen:{name}:start -->\n");
        let end = format!("<!-- codegen:{name}:end -->");
        let (Some(from), Some(to)) = (text.find(&start), text.find(&end)) else {
            bail!("the markers of the {name} table are missing ({start:?} ... {end:?})");
        };
        let from = from + start.len();
        if to < from {
            bail!("the markers of the {name} table are out of order");
        }
        text.replace_range(from..to, &table);
    }
    Ok(text)
}

/// Rewrites suites/README.md's generated tables; says whether anything changed.
pub(crate) fn run(root: &Path) -> anyhow::Result<std::process::ExitCode> {
    let path = root.join("suites/README.md");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let fresh = regenerate(&text, &protocols::catalogue())?;
    #[allow(clippy::print_stdout)]
    if fresh == text {
        println!("{}: up to date", path.display());
    } else {
        std::fs::write(&path, fresh).with_context(|| format!("writing {}", path.display()))?;
        println!("{}: tables regenerated", path.display());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_reference_is_fresh() {
        let path = crate::project_root().join("suites/README.md");
        let text = std::fs::read_to_string(&path).expect("suites/README.md is readable");
        let fresh = regenerate(&text, &protocols::catalogue()).expect("the markers are there");
        assert!(
            fresh == text,
            "{} is stale: run `cargo xtask codegen` and commit the result",
            path.display()
        );
    }

    /// A marker missing, or the tables out of date, are told apart: each row is a text and
    /// what regenerating it gives (the generated part only, or the error).
    #[test]
    fn regenerating_replaces_only_between_markers() {
        let catalogue = Catalogue::new(protocols::PROBES.iter().copied().take(2));
        let marked = |name: &str, inside: &str| {
            format!("<!-- codegen:{name}:start -->\n{inside}<!-- codegen:{name}:end -->\n")
        };
        let all = |inside: &str| {
            format!(
                "intro\n{}{}{}outro\n",
                marked("probes", inside),
                marked("probe-arguments", inside),
                marked("reasons", inside)
            )
        };
        let rows: [(String, Result<&str, &str>); 3] = [
            (all("stale\n"), Ok("| `closing-later` | `send` |")),
            (
                marked("probes", ""),
                Err("the markers of the probe-arguments table are missing"),
            ),
            (
                "<!-- codegen:probes:end -->\n<!-- codegen:probes:start -->\n".to_owned(),
                Err("out of order"),
            ),
        ];
        for (text, expected) in rows {
            match (regenerate(&text, &catalogue), expected) {
                (Ok(fresh), Ok(part)) => {
                    assert!(fresh.contains(part), "{fresh}");
                    assert!(!fresh.contains("stale"), "{fresh}");
                    assert!(fresh.starts_with("intro\n") && fresh.ends_with("outro\n"));
                    assert!(fresh.contains("| `refused` |"), "{fresh}");
                    assert!(
                        !fresh.contains("`echo`"),
                        "only the catalogue given: {fresh}"
                    );
                }
                (Err(error), Err(part)) => {
                    assert!(error.to_string().contains(part), "{error}");
                }
                (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
