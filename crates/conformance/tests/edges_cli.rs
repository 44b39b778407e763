//! The runner's edges through the real binary: every bad command line, every out-of-bound
//! value and every output path that would lose a user's file.
//!
//! Each row runs `conformance --suites <a folder of generated suites>` in a scratch folder of
//! its own, with files of the user's made first, and checks the exit status, a part of the
//! message, that the program ended promptly (it runs under a generous bound and is killed if
//! it passes it: a hang fails the row, it never hangs the test), and that every file of the
//! user's still has its bytes. A row may run the program once before (an earlier report), and
//! may close the program's stdout after its first line (`--list | head -1`).

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A suite of two quick cases over one cell each.
const SUITE: &str = r#"
[defaults]
transports = ["tcp"]
reactors = ["tokio-ct"]
delivery = ["whole"]

[[case]]
name = "one_byte"
about = "The client writes one byte; the server closes once it has it."
server = "closing-later"
client = { probe = "send", data = "x" }
expect.server = { reason = "done", received = "x" }

[[case]]
name = "echo_ping"
about = "The client sends ping, expects it back, and closes."
server = "echo"
client = { script = [ { send = "ping" }, { expect = "ping" }, { close = true } ] }
expect.client = { reason = "done", received = "ping" }
"#;

/// How long a row may take before it counts as a hang: far more than any row needs.
const BOUND: Duration = Duration::from_secs(120);

/// What a user had before the run, as (path in the scratch folder, bytes).
type Files = &'static [(&'static str, &'static [u8])];

/// A check made after a row's run, in its scratch folder.
type Then = fn(&Path) -> Result<(), String>;

struct Row {
    /// What the row is about.
    what: &'static str,
    /// The arguments after `--suites DIR`; `{s}` is the scratch folder, `{catalogue}` the
    /// workspace's suites.
    args: &'static [&'static str],
    /// Environment variables.
    env: &'static [(&'static str, &'static str)],
    /// The suite files to load instead of [`SUITE`]: (file name, text).
    suites: &'static [(&'static str, &'static str)],
    /// The user's files, made before the run; each must be unchanged after it.
    files: Files,
    /// Arguments of a run made first (an earlier report), if any.
    before: Option<&'static [&'static str]>,
    /// Close the program's stdout after its first line.
    head_1: bool,
    /// Leave the staging folder of a killed run beside `{s}/report` first.
    abandoned: bool,
    /// The exit status expected.
    status: i32,
    /// A part of stderr, or of stdout when it starts with `stdout:`; "" checks nothing more.
    says: &'static str,
    /// More to check afterwards, in the scratch folder.
    then: Option<Then>,
}

const ROW: Row = Row {
    what: "",
    args: &[],
    env: &[],
    suites: &[],
    files: &[],
    before: None,
    head_1: false,
    abandoned: false,
    status: 0,
    says: "",
    then: None,
};

const PAGE: &[u8] = b"<html>the user's own page</html>";

fn rows() -> Vec<Row> {
    vec![
        Row {
            what: "the control: a run with both reports",
            args: &["--report", "{s}/report", "--junit", "{s}/junit.xml"],
            says: "stdout:conformance: 2 passed, 0 failed",
            then: Some(report_written),
            ..ROW
        },
        Row {
            what: "an empty --report= (an unset variable) is a usage error",
            args: &["--report="],
            files: &[("index.html", PAGE), ("results.json", b"{\"mine\": 1}")],
            status: 1,
            says: "--report needs a folder: --report DIR, and was given an empty one",
            ..ROW
        },
        Row {
            what: "an empty --junit= is a usage error",
            args: &["--junit="],
            status: 1,
            says: "--junit needs a file: --junit PATH, and was given an empty one",
            ..ROW
        },
        Row {
            what: "an empty --suites= is a usage error",
            args: &["--suites="],
            status: 1,
            says: "--suites needs a folder: --suites DIR, and was given an empty one",
            ..ROW
        },
        Row {
            what: "--report on a folder with the user's page and traces is refused",
            args: &["--report", "{s}/site"],
            files: &[("site/index.html", PAGE), ("site/traces/x", b"mine")],
            status: 1,
            says: "the folder holds files that a report did not write (index.html, traces, traces/x)",
            ..ROW
        },
        Row {
            what: "--report . (the working folder) is refused",
            args: &["--report", "."],
            files: &[("index.html", PAGE)],
            status: 1,
            says: "--report .: name the folder (it is replaced whole, so not . or ..)",
            ..ROW
        },
        Row {
            what: "--report on a folder of many files of the user's names ten",
            args: &["--report", "{s}/many"],
            files: &[
                ("many/a1", b"1"),
                ("many/a2", b"2"),
                ("many/a3", b"3"),
                ("many/a4", b"4"),
                ("many/a5", b"5"),
                ("many/a6", b"6"),
                ("many/a7", b"7"),
                ("many/a8", b"8"),
                ("many/a9", b"9"),
                ("many/b1", b"10"),
                ("many/b2", b"11"),
                ("many/b3", b"12"),
            ],
            status: 1,
            says: "(a1, a2, a3, a4, a5, a6, a7, a8, a9, b1, and 2 more)",
            ..ROW
        },
        Row {
            what: "--report on an earlier report of ours with a file of the user's added",
            args: &["--report", "{s}/report"],
            before: Some(&["--report", "{s}/report"]),
            files: &[("report/traces/notes.txt", b"mine")],
            status: 1,
            says: "that a report did not write (traces/notes.txt)",
            ..ROW
        },
        Row {
            what: "an earlier report is replaced whole",
            args: &["--report", "{s}/report", "echo_ping"],
            before: Some(&["--report", "{s}/report", "one_byte"]),
            says: "stdout:conformance: 1 passed",
            then: Some(report_replaced),
            ..ROW
        },
        Row {
            what: "a report folder left half-written by a killed run is cleared",
            args: &["--report", "{s}/report"],
            files: &[("mine.txt", b"mine")],
            abandoned: true,
            says: "stdout:conformance: 2 passed",
            then: Some(abandoned_cleared),
            ..ROW
        },
        Row {
            what: "--junit on a file of the user's is refused",
            args: &["--junit", "{s}/results.xml"],
            files: &[(
                "results.xml",
                b"<?xml version=\"1.0\"?><testsuites name=\"theirs\"></testsuites>",
            )],
            status: 1,
            says: "the file exists and is not a JUnit report this runner wrote",
            ..ROW
        },
        Row {
            what: "--junit on a binary file is refused",
            args: &["--junit", "{s}/data.bin"],
            files: &[("data.bin", b"\x7fELF\x00\x01<testsuites")],
            status: 1,
            says: "the file exists and is binary",
            ..ROW
        },
        Row {
            what: "--junit on our own earlier file is replaced",
            args: &["--junit", "{s}/junit.xml"],
            before: Some(&["--junit", "{s}/junit.xml", "one_byte"]),
            says: "stdout:conformance: 2 passed",
            then: Some(junit_has_both),
            ..ROW
        },
        Row {
            what: "--junit /dev/stdout (a pipe here) is refused, not blocked on",
            args: &["--junit", "/dev/stdout"],
            status: 1,
            says: "is not a regular file (a device, FIFO or socket, such as /dev/stdout)",
            ..ROW
        },
        Row {
            what: "--junit on a FIFO is refused, not blocked on",
            args: &["--junit", "{s}/fifo"],
            files: &[("fifo", b"")],
            status: 1,
            says: "is not a regular file",
            ..ROW
        },
        Row {
            what: "--junit in a folder that does not exist is refused before running",
            args: &["--junit", "{s}/no/such/folder/junit.xml"],
            status: 1,
            says: "cannot write in {s}/no/such/folder",
            then: Some(nothing_ran),
            ..ROW
        },
        Row {
            what: "--test-threads 0 is an error, not a hang",
            args: &["--test-threads", "0"],
            status: 1,
            says: "--test-threads takes a number of threads from 1 up, not 0",
            ..ROW
        },
        Row {
            what: "an unknown libtest flag is a usage error (1, not clap's 2)",
            args: &["--no-such-flag"],
            status: 1,
            says: "unexpected argument '--no-such-flag' found",
            ..ROW
        },
        Row {
            what: "--list | head -1 ends quietly",
            // The catalogue's list (thousands of lines) outgrows the pipe's buffer, so the
            // program does write into the closed pipe.
            args: &["--suites", "{catalogue}", "--list"],
            head_1: true,
            status: 0,
            says: "",
            then: None,
            ..ROW
        },
        Row {
            what: "a bad CONFORMANCE_SEED names the variable",
            env: &[("CONFORMANCE_SEED", "soon")],
            status: 1,
            says: "error: CONFORMANCE_SEED takes a whole number from 0 to 18446744073709551615, not \"soon\"",
            ..ROW
        },
        Row {
            what: "a bad CONFORMANCE_REPEAT names the variable",
            env: &[("CONFORMANCE_REPEAT", "0")],
            status: 1,
            says: "error: CONFORMANCE_REPEAT takes a number of runs from 1 to 100000, not \"0\"",
            ..ROW
        },
        Row {
            what: "--repeat past its bound",
            args: &["--repeat", "4294967295"],
            status: 1,
            says: "--repeat takes a number of runs from 1 to 100000",
            ..ROW
        },
        Row {
            what: "a timeout the clock cannot add is refused at load time",
            suites: &[(
                "bounds.toml",
                "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\ntimeout = \"9223372036854775807s\"\n",
            )],
            status: 2,
            says: "bounds.toml:6:11: case \"x\": timeout: bad duration \"9223372036854775807s\": must be at most an hour",
            ..ROW
        },
        Row {
            what: "a script wait of u64::MAX seconds is refused at load time",
            suites: &[(
                "bounds.toml",
                "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"echo\"\nclient = { script = [{ wait = \"18446744073709551615s\" }] }\n",
            )],
            status: 2,
            says: "step 1: wait: bad duration \"18446744073709551615s\": must be at most an hour",
            ..ROW
        },
        Row {
            what: "probe and script sizes past their bound are refused at load time, not aborted on",
            suites: &[(
                "bounds.toml",
                concat!(
                    "[[case]]\nname = \"x\"\nabout = \"a\"\n",
                    "server = { probe = \"abort-between-writes\", before = 9223372036854775807 }\n",
                    "client = { probe = \"send\", size = 9223372036854775807 }\n",
                    "[[case]]\nname = \"y\"\nabout = \"a\"\n",
                    "server = { probe = \"flood\", chunk = 9223372036854775807 }\n",
                    "client = { script = [{ send_size = 9223372036854775807 }] }\n",
                ),
            )],
            status: 2,
            says: "could not be loaded (4 problems)",
            ..ROW
        },
        Row {
            what: "a case name of 65,500 characters is refused at load time",
            suites: &[("bounds.toml", "")],
            status: 2,
            says: "65500 characters, at most 100",
            ..ROW
        },
        Row {
            what: "a trial without certificate verification says so wherever it shows",
            args: &["--report", "{s}/report", "--junit", "{s}/junit.xml"],
            suites: &[(
                "unverified.toml",
                concat!(
                    "[[case]]\nname = \"x\"\nabout = \"a wrong expectation, to fail\"\n",
                    "transports = [\"tls\"]\nreactors = [\"tokio-ct\"]\ndelivery = [\"whole\"]\n",
                    "tls = { server_cert = \"self-signed\", verify = false }\n",
                    "server = \"closing-later\"\nclient = { probe = \"send\", data = \"x\" }\n",
                    "expect.server = { reason = \"aborted\" }\n",
                ),
            )],
            status: 101,
            says: "stdout:tls verify = false: the client accepted any server certificate",
            then: Some(unverified_everywhere),
            ..ROW
        },
        Row {
            what: "--partition takes nextest's syntax only",
            args: &["--partition", "count:3/2"],
            status: 1,
            says: "--partition takes count:K/N or hash:K/N, with K from 1 to N, not \"count:3/2\"",
            ..ROW
        },
        Row {
            what: "a bad CONFORMANCE_PARTITION is a usage error naming the variable",
            env: &[("CONFORMANCE_PARTITION", "slice:1/2")],
            status: 1,
            says: "CONFORMANCE_PARTITION takes count:K/N or hash:K/N, with K from 1 to N, not \"slice:1/2\"",
            ..ROW
        },
        Row {
            what: "a shard runs and records only its own trials (count:1/2 of two: the first by name)",
            args: &["--partition", "count:1/2", "--report", "{s}/report"],
            says: "stdout:conformance: 1 passed, 0 failed",
            then: Some(only_echo_ping),
            ..ROW
        },
        Row {
            what: "a suite file name that is not a suite name is refused",
            suites: &[("a b.toml", SUITE)],
            status: 2,
            says: "a b.toml: bad suite file name \"a b\"",
            ..ROW
        },
    ]
}

/// The case of 65,500 characters' suite (too long for a constant).
fn long_name_suite() -> String {
    format!(
        "[[case]]\nname = \"{}\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
        "a".repeat(65_500)
    )
}

fn report_written(scratch: &Path) -> Result<(), String> {
    let report = scratch.join("report");
    let marker = read(&report.join(".conformance-report"))?;
    for listed in ["index.html", "results.json", "traces"] {
        if !marker.lines().any(|l| l == listed) {
            return Err(format!("the marker does not list {listed}: {marker}"));
        }
    }
    let traces = count(&report.join("traces"))?;
    if traces != 2 {
        return Err(format!("{traces} trace files, expected 2"));
    }
    let junit = read(&scratch.join("junit.xml"))?;
    if !junit.contains("written by the conformance runner") {
        return Err(format!("the JUnit file is not marked: {junit}"));
    }
    no_leftovers(scratch)
}

fn report_replaced(scratch: &Path) -> Result<(), String> {
    let traces: Vec<String> = std::fs::read_dir(scratch.join("report/traces"))
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if traces.len() != 1 || !traces[0].contains("echo_ping") {
        return Err(format!(
            "the traces are not the second run's only: {traces:?}"
        ));
    }
    let results = read(&scratch.join("report/results.json"))?;
    if results.contains("one_byte") || !results.contains("echo_ping") {
        return Err("results.json is not the second run's".into());
    }
    no_leftovers(scratch)
}

/// The staging folder of a run that was killed (pid 4294967295 never runs) is gone.
fn abandoned_cleared(scratch: &Path) -> Result<(), String> {
    no_leftovers(scratch)
}

fn unverified_everywhere(scratch: &Path) -> Result<(), String> {
    let junit = read(&scratch.join("junit.xml"))?;
    let results = read(&scratch.join("report/results.json"))?;
    let page = read(&scratch.join("report/index.html"))?;
    if !junit.contains("name=\"tls-verify\" value=\"false\"") {
        return Err(format!("no tls-verify property in JUnit: {junit}"));
    }
    if !results.contains("\"unverified\": true") {
        return Err(format!("no unverified field in results.json: {results}"));
    }
    if !page.contains("<sup class=\"unverified\">u</sup></td>") {
        return Err("no mark on the HTML cell".into());
    }
    Ok(())
}

fn junit_has_both(scratch: &Path) -> Result<(), String> {
    let junit = read(&scratch.join("junit.xml"))?;
    if junit.matches("<testcase ").count() != 2 {
        return Err(format!("the JUnit file is not the second run's: {junit}"));
    }
    no_leftovers(scratch)
}

/// The report of shard count:1/2 holds the first trial by name and nothing of the other.
fn only_echo_ping(scratch: &Path) -> Result<(), String> {
    let results = read(&scratch.join("report/results.json"))?;
    match (results.contains("echo_ping"), results.contains("one_byte")) {
        (true, false) => Ok(()),
        seen => Err(format!("results.json has (echo_ping, one_byte) = {seen:?}")),
    }
}

fn nothing_ran(scratch: &Path) -> Result<(), String> {
    if scratch.join("no").exists() {
        return Err("the missing folder was created".into());
    }
    Ok(())
}

/// No staging folder or file is left beside the outputs.
fn no_leftovers(scratch: &Path) -> Result<(), String> {
    let left: Vec<String> = std::fs::read_dir(scratch)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".conformance-"))
        .collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("left behind: {left:?}"))
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn count(dir: &Path) -> Result<usize, String> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .count())
}

/// The output of one run: its status (`None`: killed at the bound), stdout and stderr.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run(scratch: &Path, suites: &Path, args: &[&str], env: &[(&str, &str)], head_1: bool) -> Ran {
    let catalogue = concat!(env!("CARGO_MANIFEST_DIR"), "/../../suites");
    let expand = |a: &str| {
        a.replace("{s}", &scratch.display().to_string())
            .replace("{catalogue}", catalogue)
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .current_dir(scratch)
        .arg("--suites")
        .arg(suites)
        .args(args.iter().map(|a| expand(a)))
        .env_remove("CONFORMANCE_SUITES")
        .env_remove("CONFORMANCE_SEED")
        .env_remove("CONFORMANCE_REPEAT")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("the conformance binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut text = String::new();
        if head_1 {
            // Read one line, then close the pipe, as `head -1` does.
            let _ = reader.read_line(&mut text);
            return text;
        }
        let _ = reader.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the program") {
            break status.code();
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        status,
        took: started.elapsed(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn make_files(scratch: &Path, files: Files) {
    for (path, bytes) in files {
        let path = scratch.join(path);
        std::fs::create_dir_all(path.parent().expect("in the scratch folder")).expect("a folder");
        if path.ends_with("fifo") {
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).expect("a FIFO");
        } else {
            std::fs::write(&path, bytes).expect("a file of the user's");
        }
    }
}

fn check(index: usize, row: &Row) -> Option<String> {
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("edges-cli-{}-{index}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let suites = scratch.join("suites");
    std::fs::create_dir_all(&suites).expect("a scratch folder");
    let written: Vec<(String, String)> = if row.suites.is_empty() {
        vec![("edge.toml".into(), SUITE.into())]
    } else {
        row.suites
            .iter()
            .map(|(name, text)| {
                let text = if text.is_empty() {
                    long_name_suite()
                } else {
                    (*text).to_owned()
                };
                ((*name).to_owned(), text)
            })
            .collect()
    };
    for (name, text) in &written {
        std::fs::write(suites.join(name), text).expect("a suite file");
    }
    if let Some(before) = row.before {
        let ran = run(&scratch, &suites, before, &[], false);
        if ran.status != Some(0) {
            return Some(format!(
                "{}: the run before failed: {}",
                row.what, ran.stderr
            ));
        }
    }
    make_files(&scratch, row.files);
    if row.abandoned {
        make_files(
            &scratch,
            &[(".report.conformance-new-4294967295/index.html", b"half")],
        );
    }
    let ran = run(&scratch, &suites, row.args, row.env, row.head_1);
    let mut problems = Vec::new();
    if ran.status != Some(row.status) {
        problems.push(format!(
            "exit status {:?}, expected {}",
            ran.status, row.status
        ));
    }
    let says = row.says.replace("{s}", &scratch.display().to_string());
    let (stream, part) = match says.strip_prefix("stdout:") {
        Some(part) => (&ran.stdout, part),
        None => (&ran.stderr, says.as_str()),
    };
    if !stream.contains(part) {
        problems.push(format!("does not say {part:?}"));
    }
    // Nothing a user does not want to see: no panic, no backtrace.
    if ran.stderr.contains("panicked") || ran.stderr.contains("stack backtrace") {
        problems.push("a panic on stderr".into());
    }
    if row.head_1 && ran.stdout.lines().count() != 1 {
        problems.push(format!("read {:?}, expected one line", ran.stdout));
    }
    for (path, bytes) in row.files {
        let now = if path.ends_with("fifo") {
            std::fs::metadata(scratch.join(path)).map(|_| Vec::new())
        } else {
            std::fs::read(scratch.join(path))
        };
        if now.as_deref().ok() != Some(*bytes) {
            problems.push(format!("the user's {path} was changed or lost"));
        }
    }
    if problems.is_empty()
        && let Some(then) = row.then
        && let Err(problem) = then(&scratch)
    {
        problems.push(problem);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    (!problems.is_empty()).then(|| {
        format!(
            "--- {} ({:?} taken): {}\n--- stdout:\n{}\n--- stderr:\n{}",
            row.what,
            ran.took,
            problems.join("; "),
            ran.stdout,
            ran.stderr
        )
    })
}

#[test]
fn every_edge_ends_promptly_with_its_status_and_loses_nothing() {
    let failures: Vec<String> = rows()
        .iter()
        .enumerate()
        .filter_map(|(index, row)| check(index, row))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
