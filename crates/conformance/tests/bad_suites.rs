//! Malformed suites, as data files with their expected diagnostics beside them.
//!
//! `tests/malformed/loader/NAME.toml` is loaded in this process and must give exactly the
//! diagnostics in `NAME.diagnostics`, in order: the loader's messages in depth.
//! `tests/malformed/program/NAME.toml` is written to a folder of its own and checked with the
//! real program, `conformance --suites DIR --check`, which must exit with status 2
//! (`conformance::EXIT_BAD_SUITES`) and print exactly those diagnostics, each after the file's
//! path, then the summary: what a user runs shows them and fails the right way, one file per
//! class of mistake. A file whose `.diagnostics` is empty must load (the control).
//!
//! A `.diagnostics` file has one diagnostic a line, `line:column: message`, or the message
//! alone when it has no place. The word lists that grow with the catalogue are written
//! `{probes}`, `{transports}`, `{reactors}` and `{delivery}`. To add a row, add a `.toml`
//! file and run `UPDATE_EXPECT=1 cargo test -p conformance --test bad_suites`, which writes
//! (or rewrites) every `.diagnostics` file from what is said now, as rust-analyzer's
//! expect-test does; then read the diff before committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the data files are.
fn malformed(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/malformed")
        .join(set)
}

/// A suite file and the file of its expected diagnostics.
struct Row {
    suite: PathBuf,
    expected: PathBuf,
}

impl Row {
    /// The row's name: its file's stem.
    fn name(&self) -> String {
        self.suite
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The expected diagnostics, with the growing lists spelt out; an absent file expects
    /// nothing to be said (and is written by a bless).
    fn expected(&self) -> Vec<String> {
        std::fs::read_to_string(&self.expected)
            .unwrap_or_default()
            .lines()
            .map(expand)
            .collect()
    }

    /// Compares what was said with what is expected; with `UPDATE_EXPECT` set, writes what
    /// was said as the expectation instead. Returns the difference, if any is left.
    fn compare(&self, said: &[String]) -> Option<String> {
        let expected = self.expected();
        if said == expected {
            return None;
        }
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            let text: String = said
                .iter()
                .map(|line| format!("{}\n", contract(line)))
                .collect();
            std::fs::write(&self.expected, text).expect("writing the expected diagnostics");
            return None;
        }
        Some(format!(
            "--- {}: expected ({}):\n{}\n--- said:\n{}\n(if the new text is right, bless it: \
             UPDATE_EXPECT=1 cargo test -p conformance --test bad_suites)\n",
            self.suite.display(),
            self.expected.display(),
            expected.join("\n"),
            said.join("\n")
        ))
    }
}

/// Every row of a set, sorted by name.
fn rows(set: &str) -> Vec<Row> {
    let dir = malformed(set);
    let mut suites: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    suites.sort();
    assert!(!suites.is_empty(), "no rows in {}", dir.display());
    suites
        .into_iter()
        .map(|suite| Row {
            expected: suite.with_extension("diagnostics"),
            suite,
        })
        .collect()
}

/// The word lists that grow with the catalogue, by the names rows write them with.
fn lists() -> [(&'static str, String); 4] {
    let join = |words: Vec<&str>| words.join(", ");
    [
        (
            "{probes}",
            join(protocols::PROBES.iter().map(|p| p.name).collect()),
        ),
        (
            "{transports}",
            join(
                conformance::suite::TransportKind::ALL
                    .iter()
                    .map(|t| t.word())
                    .collect(),
            ),
        ),
        (
            "{reactors}",
            join(
                connectable::reactor::builtin()
                    .iter()
                    .map(|r| r.name())
                    .collect(),
            ),
        ),
        (
            "{delivery}",
            join(
                connectable::Delivery::ALL
                    .iter()
                    .map(|d| d.word())
                    .collect(),
            ),
        ),
    ]
}

/// A row's line with the lists spelt out.
fn expand(line: &str) -> String {
    lists().iter().fold(line.to_owned(), |line, (name, list)| {
        line.replace(name, list)
    })
}

/// A said line with the lists written by name, as a blessed file keeps them.
fn contract(line: &str) -> String {
    lists().iter().fold(line.to_owned(), |line, (name, list)| {
        line.replace(list, name)
    })
}

/// The path the loader rows are loaded as: a valid suite name, so that only the text is
/// the mistake.
const LOADED_AS: &str = "suites/t.toml";

/// Loads a suite as the program does: the loader, then the plan (whose problem is a case
/// whose matrix is empty on this run's reactors).
fn load_and_plan(text: &str) -> Result<(), Vec<conformance::load::Diagnostic>> {
    let reactors = connectable::reactor::builtin();
    let names: Vec<&str> = reactors.iter().map(|r| r.name()).collect();
    let suite =
        conformance::load::load_str(Path::new(LOADED_AS), text, &protocols::catalogue(), &names)?;
    conformance::plan::plan(&[suite], reactors, 0).map(drop)
}

#[test]
fn the_loader_reports_every_problem_with_its_place() {
    let failures: Vec<String> = rows("loader")
        .iter()
        .filter_map(|row| {
            let text = std::fs::read_to_string(&row.suite).expect("a loader row is UTF-8");
            let said: Vec<String> = match load_and_plan(&text) {
                Ok(_) => Vec::new(),
                Err(diagnostics) => diagnostics
                    .iter()
                    .map(|d| {
                        let line = d.to_string();
                        let rest = line.strip_prefix(LOADED_AS).unwrap_or(&line);
                        rest.trim_start_matches(':').trim_start().to_owned()
                    })
                    .collect(),
            };
            row.compare(&said)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A valid case, for the rows whose file name is the mistake.
const VALID: &[u8] =
    b"[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n";

/// Rows whose file name or bytes are the mistake (a data file cannot be named so, and the
/// sources stay UTF-8, which `security_rules.rs` reads): the class, the file's name, its
/// bytes, and every diagnostic (one that has no place in the file starts with a space:
/// `path: message`).
const FILE_ROWS: &[(&str, &str, &[u8], &[&str])] = &[
    (
        "a suite file name with a space",
        "a b.toml",
        VALID,
        &[
            " bad suite file name \"a b\": the name before .toml is the suite's name; use only a-z, 0-9 and _, at most 100 characters",
        ],
    ),
    (
        "a suite file name in capitals",
        "Closing.toml",
        VALID,
        &[
            " bad suite file name \"Closing\": the name before .toml is the suite's name; use only a-z, 0-9 and _, at most 100 characters",
        ],
    ),
    (
        "a file that is not UTF-8",
        "latin1.toml",
        b"[[case]]\nname = \"x\"\nabout = \"caf\xe9\"\n",
        &["3:13: the suite file is not UTF-8 text: byte 0xe9 (offset 32) is not valid UTF-8"],
    ),
];

/// What the program says about one suite file of this name and bytes, in a folder of its own:
/// its exit status, its diagnostics (after the file's path: `line:column: message`, or
/// ` message` when it has no place), and the lines that are not diagnostics.
struct Said {
    status: Option<i32>,
    diagnostics: Vec<String>,
    stderr: String,
    file: PathBuf,
    dir: PathBuf,
}

fn run_program(index: usize, name: &str, bytes: &[u8]) -> Said {
    let dir = std::env::temp_dir().join(format!(
        "conformance-bad-suites-{}-{index}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temporary folder");
    let file = dir.join(name);
    std::fs::write(&file, bytes).expect("writing the suite");
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--suites")
        .arg(&dir)
        .arg("--check")
        .env_remove("CONFORMANCE_SUITES")
        .output()
        .expect("running the conformance binary");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let prefix = format!("{}:", file.display());
    let diagnostics = stderr
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect();
    Said {
        status: output.status.code(),
        diagnostics,
        stderr,
        file,
        dir,
    }
}

impl Said {
    /// Whether the status and the whole of stderr are what `expected` diagnostics make: none
    /// and status 0, or each after the path, then the summary, and status 2.
    fn fits(&self, expected: &[String]) -> Result<(), String> {
        let (want_status, want): (u8, Vec<String>) = if expected.is_empty() {
            (0, Vec::new())
        } else {
            let mut lines: Vec<String> = expected
                .iter()
                .map(|e| format!("{}:{e}", self.file.display()))
                .collect();
            lines.push(format!(
                "error: the suites in {} could not be loaded ({} problem{})",
                self.dir.display(),
                expected.len(),
                if expected.len() == 1 { "" } else { "s" }
            ));
            (conformance::EXIT_BAD_SUITES, lines)
        };
        let shown: Vec<&str> = self.stderr.lines().collect();
        if self.status == Some(i32::from(want_status)) && shown == want {
            Ok(())
        } else {
            Err(format!(
                "exit status {:?}, expected {want_status}\n--- expected on stderr:\n{}\n--- got:\n{}",
                self.status,
                want.join("\n"),
                self.stderr
            ))
        }
    }
}

#[test]
fn every_malformed_suite_fails_with_its_place_and_status_2() {
    assert!(Path::new(env!("CARGO_BIN_EXE_conformance")).is_file());
    let rows = rows("program");
    let mut failures: Vec<String> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let bytes = std::fs::read(&row.suite).expect("reading a row");
        let said = run_program(index, "bad.toml", &bytes);
        // The diagnostics as data (blessed if asked), then the whole of stderr and the status.
        if let Some(difference) = row.compare(&said.diagnostics) {
            failures.push(difference);
        } else if let Err(why) = said.fits(&row.expected()) {
            failures.push(format!("--- {}: {why}", row.name()));
        }
    }
    for (index, (class, name, bytes, expected)) in FILE_ROWS.iter().enumerate() {
        let said = run_program(rows.len() + index, name, bytes);
        let expected: Vec<String> = expected.iter().map(|e| expand(e)).collect();
        if let Err(why) = said.fits(&expected) {
            failures.push(format!("--- {class}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every prefix of every row: broken input gives diagnostics, never a panic.
#[test]
fn truncated_files_never_panic() {
    for row in rows("loader").iter().chain(&rows("program")) {
        let bytes = std::fs::read(&row.suite).expect("reading a row");
        let text = String::from_utf8_lossy(&bytes);
        for (end, _) in text.char_indices() {
            let _ = load_and_plan(&text[..end]);
        }
    }
}
