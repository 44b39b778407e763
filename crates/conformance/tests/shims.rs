//! Shims through the real binary, over real shim processes (docs/SHIM.md).
//!
//! One run registers the workspace's `shims/` (the asyncio shim: the good one) and the
//! fixtures in `tests/shims/`: the asyncio shim with one fault each (`fixture.py`), on the
//! trials of the case `first` only. Each row names a trial, the outcome libtest reports and
//! parts of its message: a bad answer fails its trial with a clear message, a shim that did
//! not declare something skips it with the reason, and the trials of the case `second`, run
//! after, pass on every fixture: the run went on, with a new process where the old one had
//! to go. Other rows run the binary on a bad `shim.toml` and check its located errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Two cases alike, run in this order with one test thread.
const SUITE: &str = r#"
[defaults]
transports = ["tcp"]
delivery = ["whole"]
timeout = "2s"

[[case]]
name = "first"
about = "The client writes one byte; the server closes once it has it (the fixtures' faults are on this case)."
server = "closing-later"
client = { probe = "send", data = "x" }
expect.server = { reason = "done", received = "x", events = ["made", "data", "lost"] }
expect.client = { reason = "done", received = "" }

[[case]]
name = "second"
about = "The same exchange, after the faults: every shim answers it."
server = "closing-later"
client = { probe = "send", data = "x" }
expect.server = { reason = "done", received = "x", events = ["made", "data", "lost"] }
expect.client = { reason = "done", received = "" }
"#;

/// How long the whole run may take: a hang costs its timeout (2 s) plus the grace (3 s);
/// far more is allowed, since the machine may be busy.
const BOUND: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch folder of this test's own, made fresh.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("conformance-shims-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

fn run(args: &[&str], suites: &Path) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--suites")
        .arg(suites)
        .args(args)
        .env_remove("CONFORMANCE_SHIMS")
        .output()
        .expect("the runner starts");
    (output, started.elapsed())
}

/// What libtest said of `trial`: `ok`, `FAILED` or `ignored`, and its failure message.
fn outcome<'a>(stdout: &'a str, trial: &str) -> (Option<&'a str>, &'a str) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("test {trial} ")));
    let word = line.and_then(|l| l.rsplit(' ').next());
    let header = format!("---- {trial} ----\n");
    let message = stdout
        .split_once(&header)
        .map_or("", |(_, rest)| rest.split("\n---- ").next().unwrap_or(rest));
    (word, message)
}

#[test]
fn bad_answers_fail_their_trial_and_the_run_goes_on() {
    let suites = scratch("suites");
    std::fs::write(suites.join("s.toml"), SUITE).expect("the suite is written");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shims");
    let shims = workspace().join("shims");
    let (output, took) = run(
        &[
            "--shims",
            shims.to_str().expect("a path"),
            "--shims",
            fixtures.to_str().expect("a path"),
            "--test-threads",
            "1",
            "--skip",
            "::tokio-ct::",
            "--skip",
            "::tokio-mt::",
            "--skip",
            "::threads::",
        ],
        &suites,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let all = format!("{stdout}\n--- stderr ---\n{stderr}");
    assert!(took < BOUND, "the run took {took:?}:\n{all}");
    // Rows: the shim, the outcome of its `first` trial, parts of that trial's message.
    let rows: &[(&str, &str, &[&str])] = &[
        ("asyncio", "ok", &[]),
        (
            "malformed",
            "FAILED",
            &[
                "shim malformed answered malformed JSON",
                "\"this is not json {\"",
                "the next trial starts a new process",
            ],
        ),
        (
            "missing-side",
            "FAILED",
            &["shim missing-side: its answer has no client side"],
        ),
        (
            "impossible-order",
            "FAILED",
            &[
                "shim impossible-order: its server side is impossible: event 4 (data) comes after lost",
            ],
        ),
        (
            "hang",
            "FAILED",
            &[
                "shim hang did not answer within 5s; it was killed, and the next trial starts a new process",
                "hanging on purpose",
            ],
        ),
        (
            "crash",
            "FAILED",
            &[
                "shim crash exited with status 3 in the middle of its answer (\"{\\\"type\\\": \\\"result\\\", \\\"id\\\": \")",
                "crashing on purpose in the middle of s::first::tcp::crash::whole",
            ],
        ),
        (
            "not-implemented",
            "FAILED",
            &[
                "shim not-implemented: it does not implement the argument data of the probe send, \
             but its hello said it does",
            ],
        ),
        (
            "timed-out",
            "FAILED",
            &["timed out after 2s with the client still open"],
        ),
        ("lacks-send", "ignored", &[]),
        ("missing-program", "ignored", &[]),
        (
            "bad-hello",
            "FAILED",
            &["shim bad-hello is broken: hello: answered malformed JSON"],
        ),
    ];
    for (shim, expected, parts) in rows {
        let trial = format!("s::first::tcp::{shim}::whole");
        let (word, message) = outcome(&stdout, &trial);
        assert_eq!(word, Some(*expected), "{trial}:\n{all}");
        for part in *parts {
            assert!(
                message.contains(part),
                "{trial}: no {part:?} in:\n{message}"
            );
        }
        // After the fault, the same shim answers the next case: the run went on, with a new
        // process where the faulty one was stopped. The broken and the skipped stay so.
        let second = format!("s::second::tcp::{shim}::whole");
        let after = match *shim {
            "bad-hello" => "FAILED",
            "lacks-send" | "missing-program" => "ignored",
            _ => "ok",
        };
        assert_eq!(outcome(&stdout, &second).0, Some(after), "{second}:\n{all}");
    }
    for reason in [
        "skipping 2 trials: shim lacks-send does not implement the probe \"send\"",
        "skipping 2 trials: shim missing-program requires conformance-no-such-program, not found on PATH",
    ] {
        assert!(stderr.contains(reason), "no {reason:?} in:\n{all}");
    }
    assert_eq!(output.status.code(), Some(101), "{all}");
    let _ = std::fs::remove_dir_all(&suites);
}

#[test]
fn a_bad_shim_toml_is_an_error_with_its_place() {
    // Rows: the shim folder's name, its shim.toml, the lines the runner must print.
    let rows: &[(&str, &str, &[&str])] = &[
        (
            "typo",
            "comand = [\"python3\"]\n",
            &[
                "typo/shim.toml:1:1: unknown key \"comand\"; did you mean \"command\"? (valid: command, requires)",
                "typo/shim.toml:1:1: missing key \"command\"",
            ],
        ),
        (
            "empty",
            "command = []\n",
            &["empty/shim.toml:1:11: command: must not be empty"],
        ),
        (
            "number",
            "command = [\"python3\", 3]\nrequires = \"python3\"\n",
            &[
                "number/shim.toml:1:23: command: expected a list of non-empty text",
                "number/shim.toml:2:12: requires: expected a list of non-empty text",
            ],
        ),
        (
            "broken",
            "command = [\"python3\"\n",
            &["broken/shim.toml:1:21: not valid TOML"],
        ),
        (
            "Upper",
            "command = [\"python3\"]\n",
            &[
                "Upper: a shim's folder name is its reactor name: [a-z0-9-]+, at most 40 characters, not \"Upper\"",
            ],
        ),
        (
            "tokio-ct",
            "command = [\"python3\"]\n",
            &[
                "tokio-ct: shim \"tokio-ct\": the name is a built-in reactor's (taken: tokio-ct, tokio-mt, threads)",
            ],
        ),
        (
            "no-file",
            "",
            &["no-file/shim.toml: cannot read the shim's shim.toml"],
        ),
    ];
    let suites = workspace().join("suites");
    for (name, text, lines) in rows {
        let dir = scratch(&format!("toml-{name}"));
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).expect("a shim folder");
        if !text.is_empty() {
            std::fs::write(folder.join("shim.toml"), text).expect("shim.toml is written");
        }
        let (output, _) = run(
            &["--shims", dir.to_str().expect("a path"), "--list"],
            &suites,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        for line in *lines {
            assert!(stderr.contains(line), "{name}: no {line:?} in:\n{stderr}");
        }
        assert!(
            stderr.contains("error: the shims could not be registered"),
            "{name}: {stderr}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
