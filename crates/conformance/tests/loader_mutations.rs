//! The loader against thousands of broken suites, on stable Rust: every file in `suites/` is
//! mutated with a seeded generator (bytes flipped, ranges deleted, lines duplicated or moved,
//! the file cut short, tokens swapped, keys and words from the format inserted, quoted values
//! replaced by other words of the format) and each
//! variant goes through `load::load_str`. None may panic, and every problem must be placed:
//! in the file it is about, at a line and column that exist in the text, in file order. A
//! variant that loads is planned too (`plan::plan`, `trials::trials`): that must not panic
//! and must give every trial a name of its own. The
//! same seeds give the same variants, so a failure names what to replay. The cargo-fuzz target
//! in `fuzz/` explores the same entry point without a fixed budget.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use conformance::load::{Diagnostic, load_str};
use conformance::plan::{cells, plan};
use conformance::suite::Suite;
use conformance::trials::{Session, trials};

/// Variants per suite file; with about ten files, several thousand in all.
const VARIANTS_PER_FILE: u64 = 400;

/// Words and fragments the mutations insert: the format's own keys and values, so that a
/// variant often gets past the TOML parser and into the checks behind it.
const FRAGMENTS: &[&str] = &[
    "[[case]]\n",
    "[defaults]\n",
    "[case.expect.server]\n",
    "name = \"x\"\n",
    "about = \"\"\n",
    "server = \"echo\"\n",
    "client = { probe = \"send\", data = 1 }\n",
    "client = { script = [ { send = \"x\" }, {} ] }\n",
    "server = { command = [] }\n",
    "server = { address = \"h:99999\" }\n",
    "tls = { verify = false }\n",
    "tls = 1\n",
    "transports = []\n",
    "reactors = [\"threads\"]\ntransports = [\"memory\"]\n",
    "delivery = [\"whole\", \"whole\"]\n",
    "timeout = \"99999999999999999999m\"\n",
    "timeout = \"0s\"\n",
    "expect.server = { received_hex = \"0\", received = \"x\" }\n",
    "expect.client = { reason = [], events = [1] }\n",
    "expect.server = { exit = [99999999999, \"killed\"] }\n",
    "requires = [\"\"]\n",
    "skip = \" \"\n",
    "\"quoted key\" = 1\n",
    "a.b.c = 1\n",
    "x = 1979-05-27T07:32:00Z\n",
    "y = inf\n",
    "= 1\n",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'''",
    "\"\"\"",
    "=",
    ",",
    "#",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\u{feff}",
    "\u{0}",
    "é",
    "\u{1F600}",
    "{port}",
    "{prot}",
    "-9223372036854775809",
    "0x",
];

/// Words that replace a quoted string: valid TOML still, so the variant reaches the checks of
/// names, words, durations and hex behind the parser.
const WORDS: &[&str] = &[
    "",
    " ",
    "x",
    "echo",
    "idle",
    "send",
    "closing-later",
    "close",
    "abort",
    "wait",
    "done",
    "lost",
    "aborted",
    "tls",
    "refused",
    "error",
    "tcp",
    "tcp6",
    "unix",
    "memory",
    "memory-tls",
    "threads",
    "tokio-ct",
    "whole",
    "bytewise",
    "chunked",
    "made",
    "handshake",
    "data",
    "self-signed",
    "unknown-ca",
    "valid",
    "none",
    "5s",
    "0s",
    "250ms",
    "1 s",
    "0d0a",
    "0g",
    "abc",
    "127.0.0.1:0",
    "localhost",
    "Bad-Name",
    "killed",
    "{host}:{port}",
    "{cert",
    "{}",
    "\\u0000",
];

/// SplitMix64: small, seedable, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
}

/// One mutation of `bytes`, named for the failure message.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    let len = bytes.len();
    match rng.below(11) {
        0 => {
            if len > 0 {
                let at = rng.below(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            "flip a bit"
        }
        1 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(32)).min(len);
            bytes.drain(start..end);
            "delete a range"
        }
        2 => {
            bytes.truncate(rng.below(len + 1));
            "truncate"
        }
        3 => {
            let lines = line_ranges(bytes);
            let line = lines[rng.below(lines.len())].clone();
            let copy = bytes[line.clone()].to_vec();
            let at = lines[rng.below(lines.len())].start;
            bytes.splice(at..at, copy);
            "copy a line elsewhere"
        }
        4 => {
            let lines = line_ranges(bytes);
            let line = lines[rng.below(lines.len())].clone();
            let moved: Vec<u8> = bytes.drain(line).collect();
            let lines = line_ranges(bytes);
            let at = lines[rng.below(lines.len())].start;
            bytes.splice(at..at, moved);
            "move a line"
        }
        5 => {
            let tokens = token_ranges(bytes);
            if tokens.len() >= 2 {
                let a = tokens[rng.below(tokens.len())].clone();
                let b = tokens[rng.below(tokens.len())].clone();
                let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
                if first.end <= second.start {
                    let second_bytes = bytes[second.clone()].to_vec();
                    let first_bytes = bytes[first.clone()].to_vec();
                    bytes.splice(second, first_bytes);
                    bytes.splice(first, second_bytes);
                }
            }
            "swap two tokens"
        }
        6 => {
            let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
            let lines = line_ranges(bytes);
            let at = lines[rng.below(lines.len())].start;
            bytes.splice(at..at, fragment.iter().copied());
            "insert a fragment at a line start"
        }
        7 => {
            let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
            let at = rng.below(len + 1);
            bytes.splice(at..at, fragment.iter().copied());
            "insert a fragment anywhere"
        }
        8 | 9 => replace_string(bytes, rng),
        _ => {
            let tokens = token_ranges(bytes);
            if !tokens.is_empty() {
                let token = tokens[rng.below(tokens.len())].clone();
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())].trim_end();
                bytes.splice(token, fragment.bytes());
            }
            "replace a token"
        }
    }
}

/// Replaces one quoted string with a quoted word: the file stays valid TOML.
fn replace_string(bytes: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    let strings = string_ranges(bytes);
    if !strings.is_empty() {
        let string = strings[rng.below(strings.len())].clone();
        let word = WORDS[rng.below(WORDS.len())];
        bytes.splice(string, format!("\"{word}\"").into_bytes());
    }
    "replace a quoted string with a word"
}

/// The byte ranges of the lines, each with its newline; at least one (maybe empty).
fn line_ranges(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < bytes.len() || ranges.is_empty() {
        ranges.push(start..bytes.len());
    }
    ranges
}

/// The byte ranges of one-line basic strings (`"..."`, quotes included; escapes skipped).
fn string_ranges(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let mut end = i + 1;
            while end < bytes.len() && !matches!(bytes[end], b'"' | b'\n') {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            if end < bytes.len() && bytes[end] == b'"' {
                ranges.push(i..end + 1);
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    ranges
}

/// The byte ranges of runs of non-whitespace.
fn token_ranges(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (i, b) in bytes.iter().enumerate() {
        match (b.is_ascii_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                ranges.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push(s..bytes.len());
    }
    ranges
}

/// What is wrong with one diagnostic of `text` loaded from `path`, if anything.
fn misplaced(diagnostic: &Diagnostic, path: &Path, text: &str) -> Option<String> {
    if diagnostic.path != path {
        return Some(format!("names another file: {diagnostic}"));
    }
    if diagnostic.message.trim().is_empty() {
        return Some("has no message".to_owned());
    }
    let Some((line, column)) = diagnostic.position else {
        // Only a problem of the whole file has no place.
        return (!diagnostic.message.starts_with("no cases"))
            .then(|| format!("has no line and column: {diagnostic}"));
    };
    // Lines as the loader counts them: split at '\n' only.
    let Some(line_text) = text.split('\n').nth(line.wrapping_sub(1)) else {
        return Some(format!("points past the last line: {diagnostic}"));
    };
    let width = line_text.chars().count();
    (column == 0 || column > width + 1)
        .then(|| format!("points past the end of line {line} ({width} characters): {diagnostic}"))
}

/// Loads a variant as the program does: the loader, then the plan, whose problems (a case
/// whose matrix is empty) must be placed in the file as the loader's are.
fn load_and_plan(path: &Path, text: &str) -> Result<Suite, Vec<Diagnostic>> {
    let reactor_names: Vec<&str> = connectable::reactor::builtin()
        .iter()
        .map(|r| r.name())
        .collect();
    let suite = load_str(path, text, &protocols::catalogue(), &reactor_names)?;
    plan(
        std::slice::from_ref(&suite),
        connectable::reactor::builtin(),
        7,
    )?;
    Ok(suite)
}

/// What is wrong with planning a suite the loader and the plan accepted: expanding it into trials (the
/// list libtest gets) must not panic, and must give each trial a distinct name.
fn unplannable(suite: &Suite) -> Option<String> {
    let session = Arc::new(Session::once());
    let planned = catch_unwind(AssertUnwindSafe(|| {
        let reactors = connectable::reactor::builtin();
        let Ok(plan) = plan(std::slice::from_ref(suite), reactors, 7) else {
            return (Vec::new(), usize::MAX);
        };
        let names: Vec<String> = trials(&plan, &session)
            .iter()
            .map(|t| t.name().to_owned())
            .collect();
        let cells: usize = suite
            .cases
            .iter()
            .map(|c| cells(c, reactors, 7).len())
            .sum();
        (names, cells)
    }));
    let Ok((names, cells)) = planned else {
        return Some("planning its trials panicked".into());
    };
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    if distinct.len() != names.len() || names.len() != cells {
        return Some(format!(
            "{} trials, {} distinct names, {cells} cells",
            names.len(),
            distinct.len()
        ));
    }
    None
}

#[test]
fn mutated_suites_never_panic_and_every_problem_is_placed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the suites folder")
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "too few suite files in {}", dir.display());

    let mut failures = Vec::new();
    let mut rejected = 0usize;
    let mut variants = 0usize;
    for (file_index, file) in files.iter().enumerate() {
        let original = std::fs::read(file).expect("a suite file");
        let path = Path::new("suites/mutated.toml");
        for variant in 0..VARIANTS_PER_FILE {
            let seed = (file_index as u64) << 32 | variant;
            let mut rng = Rng(seed);
            let mut bytes = original.clone();
            let mut applied = Vec::new();
            // Every other variant keeps valid TOML, so that half of them reach the checks
            // behind the parser rather than stopping at a syntax error.
            for _ in 0..=rng.below(3) {
                applied.push(if variant % 2 == 1 {
                    replace_string(&mut bytes, &mut rng)
                } else {
                    mutate(&mut bytes, &mut rng)
                });
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            variants += 1;
            let context = || {
                format!(
                    "{} variant {variant} (seed {seed:#x}: {})",
                    file.display(),
                    applied.join(", ")
                )
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| load_and_plan(path, &text)));
            let diagnostics = match outcome {
                Err(_) => {
                    failures.push(format!("{}: the loader or the plan panicked", context()));
                    continue;
                }
                Ok(Ok(suite)) => {
                    if suite.cases.is_empty() {
                        failures.push(format!("{}: loaded without a case", context()));
                    }
                    if let Some(why) = unplannable(&suite) {
                        failures.push(format!("{}: {why}", context()));
                    }
                    continue;
                }
                Ok(Err(diagnostics)) => diagnostics,
            };
            rejected += 1;
            if diagnostics.is_empty() {
                failures.push(format!("{}: rejected without a diagnostic", context()));
            }
            for diagnostic in &diagnostics {
                if let Some(why) = misplaced(diagnostic, path, &text) {
                    failures.push(format!("{}: a diagnostic {why}", context()));
                }
            }
            let places: Vec<(usize, usize)> = diagnostics
                .iter()
                .map(|d| d.position.unwrap_or((usize::MAX, usize::MAX)))
                .collect();
            if !places.is_sorted() {
                failures.push(format!("{}: diagnostics out of file order", context()));
            }
        }
    }
    // Most variants must be broken, or the mutations test nothing.
    assert!(
        rejected * 2 > variants,
        "only {rejected} of {variants} variants were rejected"
    );
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
