//! The runner's flow, checked on its source: load -> plan -> run -> record -> report.
//!
//! Each top-level module of `src/` (a file, or a folder with its `mod.rs`) names the modules
//! it uses as `crate::name`; outside its `#[cfg(test)]` part, no module may reach one that
//! reaches it back, directly or through others. And the loader turns text into the model and
//! nothing else: rows below name what it must never use (the environment, PATH, the reactor
//! list, the matrix), so that whether a file loads does not depend on the machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a module must not name, and why.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("load", "std::env", "the loader reads no environment"),
    ("load", "env!(", "the loader reads no environment"),
    ("load", "var_os", "the loader reads no environment"),
    ("load", "on_path", "PATH is the plan's to look at"),
    (
        "load",
        "crate::reactors",
        "reactor names are the loader's argument",
    ),
    (
        "load",
        "reactor_by_name",
        "reactor names are the loader's argument",
    ),
    ("load", "crate::trials", "the matrix is the plan's"),
    ("load", "crate::plan", "the loader comes before the plan"),
    ("plan", "crate::trials", "the plan comes before running"),
    (
        "record",
        "crate::trials",
        "records are values, made by running",
    ),
    (
        "record",
        "crate::report",
        "records are values, read by reporters",
    ),
    (
        "report",
        "crate::trials",
        "reporters read records, not the runner",
    ),
    (
        "report",
        "crate::reactors",
        "reporters are handed the run's reactors",
    ),
];

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reading src") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// Each top-level module's code outside its tests, comments removed.
fn modules() -> BTreeMap<String, String> {
    let root = source();
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for file in files(&root) {
        let relative = file.strip_prefix(&root).expect("below src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        let name = first.trim_end_matches(".rs").to_owned();
        if name == "lib" || name == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("reading a source file");
        let code: String = text
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        modules
            .entry(name)
            .or_default()
            .push_str(&without_tests(&code));
    }
    modules
}

/// `code` without its `#[cfg(test)]` items: from each mark to the end of the braces that
/// follow it.
fn without_tests(code: &str) -> String {
    let mut kept = String::new();
    let mut rest = code;
    while let Some(mark) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..mark]);
        let after = &rest[mark..];
        let Some(open) = after.find('{') else {
            return kept;
        };
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    kept.push_str(rest);
    kept
}

/// The modules `code` names as `crate::name`, alone or in a `crate::{...}` group.
fn uses(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for name in names {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if known.contains(&name) {
                used.insert(name);
            }
        }
    }
    used
}

/// A cycle through the graph, if there is one: its modules, the first one repeated last.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    for expected in ["load", "plan", "trials", "record", "report"] {
        assert!(known.contains(expected), "no module {expected} in src/");
    }
    let graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(name, code)| {
            let mut used = uses(code, &known);
            used.remove(name);
            (name.clone(), used)
        })
        .collect();
    assert_eq!(
        cycle(&graph),
        None,
        "an import cycle; the graph: {graph:#?}"
    );
    // The check itself finds a cycle where there is one.
    let mut looped = graph.clone();
    looped
        .entry("record".into())
        .or_default()
        .insert("trials".into());
    assert!(cycle(&looped).is_some(), "a planted cycle was not found");
}

#[test]
fn the_loader_and_the_records_use_nothing_after_them() {
    let modules = modules();
    let broken: Vec<String> = FORBIDDEN
        .iter()
        .filter(|(module, word, _)| modules.get(*module).is_none_or(|code| code.contains(word)))
        .map(|(module, word, why)| format!("{module} names {word:?} (or is missing): {why}"))
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
