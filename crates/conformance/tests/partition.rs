//! `--partition` through the real binary over the catalogue: the shards of every row
//! together list each trial of the unpartitioned list exactly once, and a hash shard is the
//! one cargo-nextest picks from the `suites` test binary, when cargo-nextest is installed.

use std::collections::BTreeMap;
use std::process::Command;

/// The catalogue's trial names as `--list --format terse` prints them, with `extra`
/// arguments (a partition) and the variables in `env`.
fn list(extra: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["--list", "--format", "terse"])
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .expect("the runner starts");
    assert!(out.status.success(), "{extra:?}: {out:?}");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[test]
fn shards_together_list_every_trial_exactly_once() {
    let everything = list(&[], &[]);
    assert!(everything.len() > 1000, "{} trials", everything.len());
    // (scheme, shards, given through the variable rather than the option)
    let rows = [
        ("count", 2, false),
        ("hash", 3, false),
        ("count", 3, true),
        ("hash", 2, true),
    ];
    for (scheme, total, by_variable) in rows {
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        for shard in 1..=total {
            let partition = format!("{scheme}:{shard}/{total}");
            let names = if by_variable {
                list(&[], &[("CONFORMANCE_PARTITION", &partition)])
            } else {
                list(&["--partition", &partition], &[])
            };
            assert!(
                !names.is_empty() && names.len() < everything.len(),
                "{partition}: {} of {} trials",
                names.len(),
                everything.len()
            );
            for name in names {
                *seen.entry(name).or_default() += 1;
            }
        }
        let twice: Vec<&String> = seen
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k)
            .collect();
        assert!(
            twice.is_empty(),
            "{scheme}:_/{total}: listed twice: {twice:?}"
        );
        let union: Vec<String> = seen.into_keys().collect();
        assert_eq!(union, everything, "{scheme}:_/{total}: not the whole list");
    }
}

/// Our shard against nextest's own, from the `suites` test binary (the same trials):
/// `cargo nextest list` builds nothing new, cargo test has built it.
#[test]
#[allow(clippy::print_stderr)] // the reason a comparison is not made
fn shards_are_nextests() {
    let installed = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        eprintln!("shards_are_nextests: cargo-nextest is not installed, nothing compared");
        return;
    }
    for partition in ["hash:2/3", "count:1/2"] {
        let mut nextest = Command::new("cargo");
        // The variables cargo set for this test (CARGO_PKG_*, CARGO_MANIFEST_DIR, ...) would
        // reach the compiler through the inner cargo and make it rebuild the workspace, here
        // and again in the next plain build: the inner cargo gets the user's environment.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if (name.starts_with("CARGO_") || name.starts_with("__CARGO"))
                && !matches!(&*name, "CARGO_HOME" | "CARGO_TARGET_DIR")
            {
                nextest.env_remove(&*name);
            }
        }
        let out = nextest
            .args(["nextest", "list", "--partition", partition])
            .args(["-p", "conformance", "--test", "suites"])
            .args(["--message-format", "oneline"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo nextest starts");
        assert!(out.status.success(), "{partition}: {out:?}");
        let mut theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .map(str::to_owned)
            .collect();
        theirs.sort();
        assert!(!theirs.is_empty(), "{partition}: nextest listed nothing");
        assert_eq!(
            list(&["--partition", partition], &[]),
            theirs,
            "{partition}"
        );
    }
}
