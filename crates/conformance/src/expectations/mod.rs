//! The expectation keys of a side (`expect.server`, `expect.client`) as a table: one module
//! per key family (reason, received, events, error, exit, output), each saying its keys,
//! which sides it applies to and how each key reads in the reference. The loader's key lists
//! and the reference table of suites/README.md derive from [`FAMILIES`]; a new family is one
//! file and one line here.

mod error;
mod events;
mod exit;
mod output;
mod reason;
mod received;

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

/// A family of expectation keys checked together.
#[derive(Debug)]
pub struct Family {
    /// The family's name (`received`).
    pub name: &'static str,
    /// The side it applies to.
    pub sides: Sides,
    /// Its keys, in the reference's order.
    pub keys: &'static [Key],
    /// Whether at most one of its keys may be given.
    pub one_of: bool,
}

/// Every family, in the order the keys are listed.
pub const FAMILIES: &[&Family] = &[
    &reason::FAMILY,
    &received::FAMILY,
    &events::FAMILY,
    &error::FAMILY,
    &exit::FAMILY,
    &output::FAMILY,
];

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

/// The family whose keys are given at most one at a time, with those keys (`received*`).
pub fn one_of_families() -> impl Iterator<Item = &'static Family> {
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
}
