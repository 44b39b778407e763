//! Isolation (issue 8): a misbehaving probe (one that panics, never closes, stops reading or
//! floods) fails its own trial only, within its timeout plus a second, and when its trial ends
//! every descriptor, thread and UNIX socket path of it is gone.
//!
//! The cases of `suites/misbehaving.toml` must pass; the cases below, commented out at the end
//! of that file until the runner can mark them expected to fail, must fail with the message
//! their table row gives. Every trial runs through `trials::run`, as the runner runs it, on two
//! threads (as many as the default test threads here), and is timed. The process's open
//! descriptors (`/proc/self/fd`), threads (`/proc/self/task`), child processes and UNIX
//! socket paths are counted after a warm-up and again once every trial has ended, and must be
//! the same: a trial leaves nothing behind, whichever way it ended. The warm-up runs each
//! passing case once per transport and reactor first, so that what a process keeps for good
//! (the test PKI and its TLS configurations, built on first use) is there before the first
//! count. The tokio reactors keep idle runtimes between pairings (how many depends on how
//! pairings overlapped and timed out); they are released before each count
//! (`connectable::reactor::release_idle_runtimes`), and nothing else is allowed for.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use conformance::outcome::Outcome;
use conformance::plan::{Cell, cells};
use conformance::suite::{Case, TransportKind};
use conformance::trials::{attempt, judge};
use connectable::Delivery;

/// A case that fails because a probe panicked where the case expects an ordinary close: a
/// trial that fails for real (the `xfail` cases of `suites/misbehaving.toml` pass, as
/// expected failures).
const FAILING: &str = r#"
[defaults]
transports = ["tcp", "tls", "unix", "memory"]

[[case]]
name = "panic_fails_a_case_that_expects_a_clean_close"
about = "The server panics where the case expects it to end done."
server = "panic-on-data"
client = { probe = "send", data = "x" }
expect.server = { reason = "done" }
"#;

/// What each failing case's trials must say: parts of the failure message.
const FAILURES: &[(&str, &[&str])] = &[
    (
        "never_close_outlives_a_closing_peer",
        &[
            "timed out after 1s with the server still open: the peer half-closed at ",
            "waiting for this side's protocol to close its own side",
            // The client's close is not held by a peer that never closes: its linger ends it.
            "client: done, received",
        ],
    ),
    (
        "flood_into_a_reader_that_never_closes",
        &[
            "timed out after 250ms with the server still open: connected;",
            "timed out after 250ms with the client still open: connected; waiting for the peer's \
             data or close, and its protocol never asked to close",
        ],
    ),
    (
        "stopped_reader_holds_a_closing_writer",
        &[
            "timed out after 250ms with the server still open: its protocol paused reading at ",
            "timed out after 250ms with the client still open: it asked: lose_connection at ",
            "waits for its writes to drain",
        ],
    ),
    (
        "panic_fails_a_case_that_expects_a_clean_close",
        &[
            "server reason: expected done, got error",
            "panicked on purpose",
        ],
    ),
];

/// How much longer than its timeout a trial may take, setup and teardown included.
const MARGIN: Duration = Duration::from_secs(1);

/// The transports the isolation claim is checked over: one of each kind of stream.
const TRANSPORTS: [TransportKind; 4] = [
    TransportKind::Tcp,
    TransportKind::Tls,
    TransportKind::Unix,
    TransportKind::Memory,
];

/// What a process holds that a trial could leak.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    descriptors: usize,
    /// The threads' names, sorted, so that a leak says whose thread it is.
    threads: Vec<String>,
    children: usize,
    socket_paths: usize,
}

impl Held {
    /// What the process holds now, the runtimes the tokio reactors keep between pairings
    /// released first (how many are kept depends on how pairings overlapped and timed out).
    fn now() -> Self {
        connectable::reactor::release_idle_runtimes();
        let tasks: Vec<_> = std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(|task| Some(task.ok()?.path()))
            .collect();
        let mut threads: Vec<String> = tasks
            .iter()
            .filter_map(|task| std::fs::read_to_string(task.join("comm")).ok())
            .map(|name| name.trim_end().to_owned())
            .collect();
        threads.sort();
        // Every thread's children: a trial's external programs would show here.
        let children = tasks
            .iter()
            .filter_map(|task| std::fs::read_to_string(task.join("children")).ok())
            .map(|pids| pids.split_whitespace().count())
            .sum();
        // The reactors' UNIX socket paths: connectable-<pid>-<n>.sock in the temporary folder.
        let prefix = format!("connectable-{}-", std::process::id());
        let socket_paths = std::fs::read_dir(std::env::temp_dir())
            .expect("the temporary folder")
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
            .count();
        Self {
            descriptors: count_entries(Path::new("/proc/self/fd")),
            threads,
            children,
            socket_paths,
        }
    }
}

fn count_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .count()
}

/// One trial to run: its name, case and cell.
struct Trial<'a> {
    name: String,
    case: &'a Case,
    cell: Cell,
}

/// The trials of `cases` over [`TRANSPORTS`] and every reactor, with the delivery modes each
/// case lists, or only `whole`.
fn trials<'a>(suite: &str, cases: &'a [Case], every_delivery: bool) -> Vec<Trial<'a>> {
    let mut trials = Vec::new();
    for case in cases {
        for cell in cells(case, connectable::reactor::builtin(), 0) {
            if !TRANSPORTS.contains(&cell.transport)
                || (!every_delivery && cell.delivery != Delivery::Whole)
            {
                continue;
            }
            let name = cell.trial_name(suite, &case.name);
            trials.push(Trial { name, case, cell });
        }
    }
    trials
}

/// Runs every trial on two threads; each one's outcome, `xfail` applied as the runner does,
/// with its message and how long it took, by name.
fn run_all(trials: &[Trial<'_>]) -> BTreeMap<String, ((Outcome, String), Duration)> {
    let next = Mutex::new(trials.iter());
    let outcomes = Mutex::new(BTreeMap::new());
    let work = || {
        loop {
            // Not in a `while let`: its temporaries, the lock included, live through the body.
            let Some(trial) = next.lock().unwrap().next() else {
                return;
            };
            let started = Instant::now();
            let attempt = attempt(trial.case, trial.cell);
            let outcome = judge(trial.case, trial.cell, &attempt);
            let elapsed = started.elapsed();
            outcomes
                .lock()
                .unwrap()
                .insert(trial.name.clone(), (outcome, elapsed));
        }
    };
    std::thread::scope(|scope| {
        let workers = [scope.spawn(work), scope.spawn(work)];
        // Joined by hand: the scope only waits until the workers' closures have returned,
        // and a thread still exiting would be counted.
        for worker in workers {
            worker.join().expect("a worker panicked");
        }
    });
    outcomes.into_inner().unwrap()
}

#[test]
fn misbehaving_probes_fail_their_own_trial_in_time_and_leave_nothing_behind() {
    let suites = conformance::load::load_dir(
        &conformance::cli::default_suites(),
        &protocols::catalogue(),
        &connectable::reactor::builtin()
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|d| panic!("the suites load: {d:?}"));
    let misbehaving = &suites
        .iter()
        .find(|s| s.name == "misbehaving")
        .expect("suites/misbehaving.toml")
        .cases;
    let failing = conformance::load::load_str(
        Path::new("failing.toml"),
        FAILING,
        &protocols::catalogue(),
        &connectable::reactor::builtin()
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|d| panic!("the failing cases load: {d:?}"))
    .cases;
    // A mark on some reactors only (a shim's known difference) is not about ours.
    let mut should_fail: Vec<&str> = misbehaving
        .iter()
        .filter(|c| c.xfail.iter().any(|m| m.reactors.is_none()))
        .chain(&failing)
        .map(|c| c.name.as_str())
        .collect();
    should_fail.sort_unstable();
    let mut rows: Vec<&str> = FAILURES.iter().map(|(name, _)| *name).collect();
    rows.sort_unstable();
    assert_eq!(rows, should_fail, "one table row per case that must fail");

    // The warm-up builds what a process keeps for good; the xfail cases would only add their
    // timeouts to it.
    let passing: Vec<Case> = misbehaving
        .iter()
        .filter(|c| c.xfail.iter().all(|m| m.reactors.is_some()))
        .cloned()
        .collect();
    let warm_up = trials("misbehaving", &passing, false);
    let warm = run_all(&warm_up);
    let before = Held::now();
    assert_eq!(
        (before.children, before.socket_paths),
        (0, 0),
        "after the warm-up: {before:?}"
    );

    let mut all = trials("misbehaving", misbehaving, true);
    let failing_trials = trials("failing", &failing, true);
    all.extend(failing_trials);
    let outcomes = run_all(&all);
    let after = Held::now();

    let mut problems = Vec::new();
    for (name, ((outcome, message), _)) in &warm {
        if *outcome != Outcome::Passed && *outcome != Outcome::ExpectedFailure {
            problems.push(format!("warm-up {name} ended {outcome}:\n{message}"));
        }
    }
    for trial in &all {
        let (outcome, elapsed) = &outcomes[&trial.name];
        let limit = trial.case.timeout + MARGIN;
        if *elapsed >= limit {
            problems.push(format!(
                "{} took {elapsed:?}, more than its timeout and a second ({limit:?})",
                trial.name
            ));
        }
        let expected = FAILURES.iter().find(|(case, _)| *case == trial.case.name);
        let (outcome, message) = outcome;
        // The xfail cases of the file fail as expected; the test's own case fails for real.
        let must_be = match (
            expected,
            trial.case.xfail.iter().any(|m| m.reactors.is_none()),
        ) {
            (None, _) => Outcome::Passed,
            (Some(_), true) => Outcome::ExpectedFailure,
            (Some(_), false) => Outcome::Failed,
        };
        if *outcome != must_be {
            problems.push(format!(
                "{} ended {outcome}, not {must_be}:\n{message}",
                trial.name
            ));
        }
        for part in expected.map_or(&[][..], |(_, parts)| *parts) {
            if !message.contains(part) {
                problems.push(format!(
                    "{} failed without saying {part:?}:\n{message}",
                    trial.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        before,
        after,
        "what the process holds before and after {} trials",
        all.len()
    );
    #[allow(clippy::print_stderr)] // the figures, shown with --nocapture
    {
        eprintln!(
            "{} trials after {} of warm-up; held before and after: {after:?}",
            all.len(),
            warm_up.len()
        );
        let mut slowest: BTreeMap<(&str, &str), (Duration, &str)> = BTreeMap::new();
        for trial in &all {
            let suite = trial.name.split("::").next().unwrap_or_default();
            let elapsed = outcomes[&trial.name].1;
            let entry = slowest
                .entry((suite, trial.case.name.as_str()))
                .or_insert((elapsed, &trial.name));
            if elapsed > entry.0 {
                *entry = (elapsed, &trial.name);
            }
        }
        for (elapsed, name) in slowest.into_values() {
            let timeout = all.iter().find(|t| t.name == *name).map(|t| t.case.timeout);
            eprintln!("  slowest {elapsed:>12.3?} (timeout {timeout:?}): {name}");
        }
    }
}
