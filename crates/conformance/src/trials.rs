//! The matrix: each case expanded over transports x reactors x delivery modes into one
//! libtest-mimic trial, and what running one trial does.
//!
//! Building the list is cheap by design (cargo-nextest asks for it once per process): a trial
//! holds its name and a shared reference to its case. Endpoints, keys, runtimes and sockets
//! are made only when a trial runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use connectable::{ConnectableProtocol, Delivery, Endpoint, Error, run_protocols};
use libtest_mimic::{Failed, Trial};

use crate::check::{expected_bytes, external_mismatches, judged_on, mismatches};
use crate::external;
use crate::outcome::{Outcome, Progress, Recorder, RunRecord, TrialRecord};
use crate::plan::{Cell, CellReactor, Plan, Planned};
pub use crate::record::{Attempt, Side};
use crate::record::{Problem, Role};
use crate::report;
use crate::suite::{Case, Expectation, PeerSpec, substitute};
use protocols::{Script, Step};

/// What a run does beyond libtest, shared by every trial's closure: how many times each
/// trial runs, where reports go, and the records they leave.
#[derive(Debug, Default)]
pub struct Session {
    /// Runs per trial (`--repeat N`); at least 1.
    pub repeat: u32,
    /// Where per-trial traces are written (`--report DIR`), under `traces/`: the report's
    /// staging folder, set once the output paths are checked, before any trial runs (the
    /// trials are built before that, for `--list` and `--check`, and not built again).
    pub report_dir: OnceLock<PathBuf>,
    /// The records of the trials that ran.
    pub recorder: Recorder,
    /// Runs done and left, shown during `--repeat` runs; set once the selection is known.
    pub progress: OnceLock<Progress>,
}

impl Session {
    /// A session that runs each trial once and writes no report.
    pub fn once() -> Self {
        Self {
            repeat: 1,
            ..Self::default()
        }
    }
}

/// A libtest trial for every trial of the plan. A skipped one (a skipped case's, an IPv6
/// one on a machine without IPv6 loopback) carries the ignored flag (so cargo-nextest shows
/// it as skipped).
pub fn trials(plan: &Plan, session: &Arc<Session>) -> Vec<Trial> {
    plan.trials
        .iter()
        .map(|planned| {
            let (suite_name, case, cell, session) = (
                Arc::clone(&planned.suite),
                Arc::clone(&planned.case),
                planned.cell,
                Arc::clone(session),
            );
            Trial::test(planned.name.clone(), move || {
                crate::interrupt::stop_here_if_interrupted();
                let mut record = unless_it_panics(
                    || execute(&suite_name, &case, cell, &session),
                    || blank_record(&suite_name, &case, cell),
                );
                crate::interrupt::after_trial(&mut record);
                let result = match (record.outcome.is_failure(), &record.message) {
                    (true, message) => Err(Failed::from(
                        message
                            .clone()
                            .unwrap_or_else(|| record.outcome.to_string()),
                    )),
                    (false, _) => Ok(()),
                };
                session.recorder.push(record);
                crate::interrupt::stop_here_if_interrupted();
                result
            })
            .with_ignored_flag(planned.skip.is_some())
        })
        .collect()
}

/// The record `run` returns, or, if it panics, a failed record (from `blank`) that says so.
///
/// libtest-mimic catches a panic in a trial too, and fails the trial; but then no record
/// would exist, and the summary and every report would show the trial as skipped. A probe's
/// panic never gets here (its `Connection` catches it and ends the side `error`): this is a
/// panic in the runner's own code for the trial.
pub fn unless_it_panics(
    run: impl FnOnce() -> TrialRecord,
    blank: impl FnOnce() -> TrialRecord,
) -> TrialRecord {
    let payload = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(record) => return record,
        Err(payload) => payload,
    };
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    let problem = format!("the trial panicked: {what}");
    let mut record = blank();
    record.outcome = Outcome::Failed;
    record.message = Some(format!(
        "{}: case {:?}: failed: {problem}\n",
        record.location, record.case
    ));
    record.runs = vec![RunRecord {
        run: 1,
        seed: record.seed,
        outcome: Outcome::Failed,
        duration_ms: 0.0,
        problems: vec![Problem::Other(problem)],
    }];
    record.runs_passed = 0;
    record
}

/// The record of a trial that did not run: why the plan skips it, or "ignored" (libtest
/// left it out).
pub fn skipped_record(planned: &Planned) -> TrialRecord {
    let mut record = blank_record(&planned.suite, &planned.case, planned.cell);
    record.note = planned.skip.clone().or_else(|| Some("ignored".into()));
    record
}

/// The record of a trial before it ran: skipped, nothing measured.
pub fn blank_record(suite: &str, case: &Case, cell: Cell) -> TrialRecord {
    TrialRecord {
        trial: cell.trial_name(suite, &case.name),
        suite: suite.to_owned(),
        case: case.name.clone(),
        transport: cell.transport,
        reactor: cell.reactor.name().to_owned(),
        delivery: cell.delivery,
        location: case.location.clone(),
        outcome: Outcome::Skipped,
        duration_ms: 0.0,
        seed: seed_of(cell),
        runs_passed: 0,
        runs: Vec::new(),
        note: xfail_on(case, cell).map(str::to_owned),
        unverified: unverified(case, cell),
        message: None,
        trace: None,
    }
}

/// Why `case` is expected to fail in this cell, if it is: the first of its `xfail` marks
/// that covers the cell.
pub fn xfail_on(case: &Case, cell: Cell) -> Option<&str> {
    crate::suite::marked(
        &case.xfail,
        cell.reactor.name(),
        cell.transport,
        cell.delivery,
    )
}

/// Whether this cell runs over TLS with certificate verification off (`tls = { verify =
/// false }`).
pub fn unverified(case: &Case, cell: Cell) -> bool {
    cell.transport.tls() && !case.tls.verify
}

/// What every failure message of an unverified trial says, so a reader knows the
/// certificate checks were off.
pub const UNVERIFIED_NOTE: &str =
    "tls verify = false: the client accepted any server certificate (the case says so)";

fn seed_of(cell: Cell) -> Option<u64> {
    match cell.delivery {
        Delivery::Chunked(seed) => Some(seed),
        _ => None,
    }
}

/// Runs one trial as many times as the session says, writes its trace file when a report
/// was asked for, and returns its record.
pub fn execute(suite: &str, case: &Case, cell: Cell, session: &Session) -> TrialRecord {
    let mut record = blank_record(suite, case, cell);
    let repeat = session.repeat.max(1);
    let mut traced = Vec::new();
    let mut first_bad: Option<(u32, String)> = None;
    for run in 1..=repeat {
        // Each run after the first splits chunks at new points: that is what repeating a
        // chunked trial is for. The first uses the run's seed, so `--seed` reproduces it.
        let cell = match cell.delivery {
            Delivery::Chunked(seed) => Cell {
                delivery: Delivery::Chunked(seed.wrapping_add(u64::from(run - 1))),
                ..cell
            },
            _ => cell,
        };
        let attempt = attempt(case, cell);
        let (outcome, message) = judge(case, cell, &attempt);
        if outcome != Outcome::Passed && outcome != Outcome::ExpectedFailure {
            first_bad.get_or_insert((run, message.clone()));
        } else if record.message.is_none() && outcome == Outcome::ExpectedFailure {
            record.message = Some(message.clone());
        }
        let run_record = RunRecord {
            run,
            seed: seed_of(cell),
            outcome,
            duration_ms: (attempt.elapsed.as_secs_f64() * 1e6).round() / 1e3,
            problems: attempt.problems.clone(),
        };
        if let Some(progress) = session.progress.get()
            && let Some(line) = progress.run_done(outcome.is_failure())
        {
            #[allow(clippy::print_stderr)] // progress goes where libtest's own output goes
            {
                eprintln!("{line}");
            }
        }
        // Traces are kept for the runs worth reading: every one that did not pass, and the
        // last one.
        if session.report_dir.get().is_some() && (outcome.is_failure() || run == repeat) {
            traced.push(report::json::RunTrace::new(&run_record, &attempt));
        }
        record.duration_ms += run_record.duration_ms;
        record.runs_passed += u32::from(!outcome.is_failure());
        record.runs.push(run_record);
    }
    record.outcome = Outcome::of_runs(&record.runs);
    if let Some((run, message)) = first_bad {
        record.message = Some(if repeat == 1 {
            message
        } else {
            format!(
                "{} of {repeat} runs passed; did not pass: {}\n--- run {run} ---\n{message}",
                record.runs_passed,
                record.failed_runs()
            )
        });
    }
    if let Some(dir) = session.report_dir.get() {
        record.trace = Some(report::json::trace_path(&record.trial));
        if !report::json::write_trace(dir, case, &record, &traced) {
            record.trace = None;
        }
    }
    record
}

/// Runs one cell of `case` once and checks both sides' expectations; `xfail` is not applied
/// here ([`judge`] does that).
pub fn attempt(case: &Case, cell: Cell) -> Attempt {
    let started = Instant::now();
    let descriptors = open_descriptors();
    let (sides, mut problems) = match pair(case, cell) {
        Ok((server, client)) => {
            let problems = check_sides(case, cell, &server, &client);
            (Some((server, client)), problems)
        }
        Err(problem) => (None, vec![Problem::Other(problem)]),
    };
    problems.extend(
        left_behind(cell, descriptors.as_ref())
            .into_iter()
            .map(Problem::Other),
    );
    Attempt {
        sides,
        problems,
        elapsed: started.elapsed(),
    }
}

/// The outcome of one attempt, `xfail` applied, and the message libtest shows for it.
pub fn judge(case: &Case, cell: Cell, attempt: &Attempt) -> (Outcome, String) {
    let failed = !attempt.problems.is_empty();
    let message = if failed {
        failure_message(case, cell, attempt)
    } else {
        String::new()
    };
    match (xfail_on(case, cell), failed) {
        (None, false) => (Outcome::Passed, message),
        (None, true) => (Outcome::Failed, message),
        (Some(why), true) => (
            Outcome::ExpectedFailure,
            format!("failed as expected ({why}):\n{message}"),
        ),
        (Some(why), false) => (
            Outcome::UnexpectedPass,
            format!(
                "{}: case {:?}: unexpected pass: it is marked xfail ({why:?}) but every \
                 expectation held; remove the xfail line once the fix is in\n",
                case.location, case.name
            ),
        ),
    }
}

fn failure_message(case: &Case, cell: Cell, attempt: &Attempt) -> String {
    let Some((server, client)) = &attempt.sides else {
        return format!(
            "{}: case {:?}: {}\n",
            case.location,
            case.name,
            attempt
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    let mut message = report::failure(case, &attempt.problems, server, client);
    if unverified(case, cell) {
        message.push_str(UNVERIFIED_NOTE);
        message.push('\n');
    }
    if let Delivery::Chunked(seed) = cell.delivery {
        message.push_str(&format!(
            "chunked delivery used seed {seed}: re-run with --seed {seed} (or \
             CONFORMANCE_SEED={seed}) for the same split points\n"
        ));
    }
    message
}

/// Runs one cell of `case` once, checks both sides' expectations and applies `xfail`: what
/// one trial does without `--repeat` or reports.
pub fn run(case: &Case, cell: Cell) -> Result<(), Failed> {
    let attempt = attempt(case, cell);
    match judge(case, cell, &attempt) {
        (outcome, message) if outcome.is_failure() => Err(message.into()),
        _ => Ok(()),
    }
}

/// What a side keeps of the bytes it receives: a sample for the reports, which show the
/// first 64 bytes (expectations compare every byte as it streams in, see
/// [`expected_bytes`]).
const RECEIVED_SAMPLE: usize = 64 * 1024;

/// Runs the pairing of one cell: both sides' records, or why it could not run.
fn pair(case: &Case, cell: Cell) -> Result<(Side, Side), String> {
    let reactor = match cell.reactor {
        CellReactor::Ours(reactor) => reactor,
        // A shim runs both sides itself and answers with their records.
        CellReactor::Shim(shim) => {
            let suite = case.location.path.file_stem().unwrap_or_default();
            let trial = cell.trial_name(&suite.to_string_lossy(), &case.name);
            return shim.pair(case, &trial, cell.transport, cell.delivery);
        }
    };
    // `address`: where our side connects or listens, against an external peer (a script's
    // `{host}` and `{port}`).
    let probe = |peer: &PeerSpec, expect: &Expectation, address: Option<(&str, u16)>| {
        let protocol = match peer {
            PeerSpec::Probe(spec, _) => spec.instantiate(),
            PeerSpec::Script(script) => with_placeholders(script, address).instantiate(),
            // The loader lets at most one side be external, never both, and a list only
            // against an external peer.
            PeerSpec::Command(_)
            | PeerSpec::Address(_)
            | PeerSpec::Connections(_)
            | PeerSpec::Unreachable(_) => {
                return None;
            }
        };
        let side = ConnectableProtocol::from_box(protocol)
            .with_delivery(cell.delivery)
            .with_linger(case.linger)
            .keep_received(
                (expect.received.as_ref())
                    .and_then(judged_on)
                    .unwrap_or(RECEIVED_SAMPLE),
            );
        // Every received byte is compared as it arrives, however many: the sample is only
        // what the reports show.
        Some(match expect.received.as_ref().and_then(expected_bytes) {
            Some(expected) => side.compare_received(expected),
            None => side,
        })
    };
    match (&case.server, &case.client) {
        (PeerSpec::Unreachable(how), client) => {
            let client =
                probe(client, &case.expect_client, None).ok_or("both sides are external")?;
            let setting = external::Setting {
                reactor,
                transport: cell.transport,
                profile: case.tls,
                timeout: case.timeout,
            };
            let (client, record) =
                external::unreachable::connect(*how, client, &setting, case.connect_timeout)?;
            Ok((Side::External(record), Side::Probe(client)))
        }
        (server, client) if server.is_external() || client.is_external() => {
            let server_is_external = server.is_external();
            let (theirs, ours) = if server_is_external {
                (server, client)
            } else {
                (client, server)
            };
            let connections = ours.connections();
            if connections.iter().any(PeerSpec::is_external) {
                return Err("both sides are external".into());
            }
            // Against a program of someone else's, our writes are split as our reads are,
            // so that what it reads is split too.
            let build = |i: usize, host: &str, port: u16| {
                let expect = case.expectation(!server_is_external, i);
                probe(&connections[i], expect, Some((host, port)))
                    .expect("every connection of ours is a probe or a script")
                    .split_writes()
            };
            let setting = external::Setting {
                reactor,
                transport: cell.transport,
                profile: case.tls,
                timeout: case.timeout,
            };
            let ours_given = external::Ours {
                count: connections.len(),
                build: &build,
            };
            let (mut done, record) =
                external::pair(theirs, server_is_external, &ours_given, &setting)?;
            let ours = match ours {
                PeerSpec::Connections(_) => Side::Connections(done),
                _ => Side::Probe(done.pop().ok_or("our side made no connection")?),
            };
            let theirs = Side::External(record);
            Ok(if server_is_external {
                (theirs, ours)
            } else {
                (ours, theirs)
            })
        }
        (server, client) => {
            let (Some(server), Some(client)) = (
                probe(server, &case.expect_server, None),
                probe(client, &case.expect_client, None),
            ) else {
                return Err(
                    "an address can only play the server, and a list of connections needs an \
                     external peer"
                        .into(),
                );
            };
            let endpoint = Endpoint::plain(cell.transport.network());
            let endpoint = if cell.transport.tls() {
                endpoint.with_tls(case.tls).map_err(|e| e.to_string())?
            } else {
                endpoint
            };
            match run_protocols(reactor, &endpoint, server, client, case.timeout) {
                Ok(pairing) => Ok((Side::Probe(pairing.server), Side::Probe(pairing.client))),
                Err(Error::TimedOut { pairing, .. }) => {
                    let pairing = *pairing;
                    Ok((Side::Probe(pairing.server), Side::Probe(pairing.client)))
                }
                Err(e) => Err(format!("the pairing could not run: {e}")),
            }
        }
    }
}

/// A script with `{host}` and `{port}` in its `send`, `expect` and `expect_until` texts
/// replaced by `address` (against an external peer), and `{{`, `}}` made braces; the script
/// itself, shared, when no text step has a brace (the usual case: no copy).
fn with_placeholders(script: &Script, address: Option<(&str, u16)>) -> Script {
    let braces = |text: &str| text.contains(['{', '}']);
    let has_braces = script.steps().iter().any(|step| match step {
        Step::Send(text) | Step::Expect(text) | Step::ExpectUntil(text) => braces(text),
        _ => false,
    });
    if !has_braces {
        return script.clone();
    }
    script.map_texts(|text| {
        braces(text).then(|| {
            substitute(text, |name| match (name, address) {
                ("host", Some((host, _))) => Some(host.to_owned()),
                ("port", Some((_, port))) => Some(port.to_string()),
                _ => None,
            })
        })
    })
}

/// Every problem with how the pairing ended: each side still open (and what it waited
/// for), and each side's mismatches.
fn check_sides(case: &Case, cell: Cell, server: &Side, client: &Side) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (role, side) in [(Role::Server, server), (Role::Client, client)] {
        for (connection, record) in side.probes() {
            if record.disconnect_reason().is_none() {
                problems.push(Problem::Other(format!(
                    "timed out after {:?} with the {} still open: {}",
                    case.timeout,
                    role.with(connection),
                    report::waiting_for(&record.trace(), cell.transport.tls())
                )));
            }
        }
    }
    for (role, side) in [(Role::Server, server), (Role::Client, client)] {
        let server = role == Role::Server;
        let found = match side {
            Side::External(record) => {
                external_mismatches(role, case.expectation(server, 0), record)
            }
            _ => side
                .probes()
                .into_iter()
                .flat_map(|(connection, record)| {
                    let i = connection.map_or(0, |n| n - 1);
                    let mut found = mismatches(role, case.expectation(server, i), record);
                    for mismatch in &mut found {
                        mismatch.connection = connection;
                    }
                    found
                })
                .collect(),
        };
        problems.extend(found.into_iter().map(Problem::Mismatch));
    }
    problems
}

/// Whether each trial also compares the process's open descriptors before and after its
/// pairing: only meaningful when trials run one at a time (`--test-threads 1`).
static COUNT_DESCRIPTORS: AtomicBool = AtomicBool::new(false);

/// Turns on (or off) the comparison of open descriptors around each trial's pairing, for runs
/// whose trials run one at a time.
pub fn count_descriptors_per_trial(on: bool) {
    COUNT_DESCRIPTORS.store(on, Ordering::Relaxed);
}

/// The process's open descriptors, each with what it points at, when they are counted.
fn open_descriptors() -> Option<BTreeMap<String, String>> {
    if !COUNT_DESCRIPTORS.load(Ordering::Relaxed) {
        return None;
    }
    let listing = std::fs::read_dir("/proc/self/fd").ok()?;
    let this_listing = format!("/proc/{}/fd", std::process::id());
    Some(
        listing
            .filter_map(Result::ok)
            .map(|entry| {
                let target = std::fs::read_link(entry.path())
                    .map_or_else(|_| "?".to_owned(), |t| t.display().to_string());
                (entry.file_name().to_string_lossy().into_owned(), target)
            })
            .filter(|(_, target)| *target != this_listing)
            .collect(),
    )
}

/// Descriptors open now that were not open (or were something else) `before`.
fn opened_since(before: &BTreeMap<String, String>) -> Vec<String> {
    open_descriptors()
        .unwrap_or_default()
        .into_iter()
        .filter(|(fd, target)| before.get(fd) != Some(target))
        .map(|(fd, target)| format!("{fd} ({target})"))
        .collect()
}

/// What the trial's pairing left behind, as Twisted checks `reactor.removeAll()` after each
/// test: what the reactor says it still holds and, when descriptors are counted, those opened
/// during the trial and still open.
fn left_behind(cell: Cell, before: Option<&BTreeMap<String, String>>) -> Vec<String> {
    // A shim's sockets are in its own process, and the pipes of a process started during
    // the trial (after a restart) are the pool's, not a leak.
    let CellReactor::Ours(ours) = cell.reactor else {
        return Vec::new();
    };
    let reactor = ours.name();
    let mut problems: Vec<String> = ours
        .leftovers()
        .into_iter()
        .map(|what| format!("the {reactor} reactor left behind {what}"))
        .collect();
    if let Some(before) = before {
        let mut opened = opened_since(before);
        if !opened.is_empty() {
            // A runtime kept for the next pairing is not a leak: release them, look again.
            connectable::reactor::release_idle_runtimes();
            opened = opened_since(before);
        }
        if !opened.is_empty() {
            problems.push(format!(
                "the {reactor} reactor left {} descriptor(s) open: {}",
                opened.len(),
                opened.join(", ")
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::unless_it_panics;
    use crate::outcome::{Outcome, TrialRecord};

    fn record(outcome: Outcome) -> TrialRecord {
        TrialRecord {
            trial: "s::c::tcp::tokio-ct::whole".into(),
            suite: "s".into(),
            case: "c".into(),
            transport: crate::suite::TransportKind::Tcp,
            reactor: "tokio-ct".into(),
            delivery: connectable::Delivery::Whole,
            location: crate::suite::Location {
                path: "s.toml".into(),
                line: 1,
                column: 1,
            },
            outcome,
            duration_ms: 0.0,
            seed: None,
            runs_passed: 0,
            runs: Vec::new(),
            note: None,
            unverified: false,
            message: None,
            trace: None,
        }
    }

    /// A trial body, then the outcome of its record and the start of its message.
    type Row = (
        Box<dyn FnOnce() -> TrialRecord>,
        Outcome,
        Option<&'static str>,
    );

    #[test]
    fn a_trial_that_panics_is_recorded_as_failed() {
        let rows: Vec<Row> = vec![
            (Box::new(|| record(Outcome::Passed)), Outcome::Passed, None),
            (Box::new(|| record(Outcome::Failed)), Outcome::Failed, None),
            (
                Box::new(|| panic!("deadline overflow")),
                Outcome::Failed,
                Some("s.toml:1:1: case \"c\": failed: the trial panicked: deadline overflow\n"),
            ),
            (
                Box::new(|| panic!("{} of {}", 1, 2)),
                Outcome::Failed,
                Some("s.toml:1:1: case \"c\": failed: the trial panicked: 1 of 2\n"),
            ),
            (
                Box::new(|| std::panic::panic_any(7_u8)),
                Outcome::Failed,
                Some(
                    "s.toml:1:1: case \"c\": failed: the trial panicked: a panic without a message\n",
                ),
            ),
        ];
        for (body, outcome, message) in rows {
            let got = unless_it_panics(body, || record(Outcome::Skipped));
            assert_eq!(got.outcome, outcome, "{message:?}");
            assert_eq!(got.message.as_deref(), message);
            if message.is_some() {
                assert_eq!(got.runs.len(), 1);
                assert!(
                    got.runs[0].problems[0]
                        .to_string()
                        .starts_with("the trial panicked: ")
                );
                assert_eq!(crate::outcome::Outcome::of_runs(&got.runs), Outcome::Failed);
            }
        }
    }
}
