//! What became of each trial, gathered while libtest-mimic runs them, for the summary line,
//! the flake list and the reports.
//!
//! libtest knows only passed, failed and ignored; a conformance run also has expected
//! failures (`xfail`), unexpected passes, and with `--repeat` trials that passed some runs
//! and not others. Each trial's closure hands its [`TrialRecord`] to the [`Recorder`]; trials
//! that never ran (skipped) are added once libtest is done.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use connectable::Delivery;
use serde::{Serialize, Serializer};

use crate::suite::{Location, TransportKind};

/// How one run, or one trial over all its runs, ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Failed: an expectation did not hold (or, with `--repeat`, some run failed).
    Failed,
    /// An `xfail` case whose expectations all held: it fails, so the mark gets removed.
    UnexpectedPass,
    /// An `xfail` case that failed, as its mark says it does: it passes.
    ExpectedFailure,
    /// Every expectation held.
    Passed,
    /// Not run: the case is skipped, or the machine lacks what it needs.
    Skipped,
}

impl Outcome {
    /// Every outcome, worst first: the order reports list them in.
    pub const ALL: [Outcome; 5] = [
        Self::Failed,
        Self::UnexpectedPass,
        Self::ExpectedFailure,
        Self::Passed,
        Self::Skipped,
    ];

    /// The word reports use (`results.json`, the HTML classes).
    pub fn word(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::UnexpectedPass => "unexpected-pass",
            Self::ExpectedFailure => "expected-failure",
            Self::Passed => "passed",
            Self::Skipped => "skipped",
        }
    }

    /// Whether libtest counts it as a failure (and the run's exit status is 101).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::UnexpectedPass)
    }

    /// The outcome of a trial from its runs: it passes only if every run did the same
    /// acceptable thing; otherwise the worst run decides.
    pub fn of_runs(runs: &[RunRecord]) -> Self {
        runs.iter()
            .map(|r| r.outcome)
            .min()
            .unwrap_or(Self::Skipped)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One run of a trial (there are several with `--repeat`).
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// From 1.
    pub run: u32,
    /// The chunked-delivery seed this run used; `None` for whole and bytewise delivery.
    pub seed: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time of the pairing and the checks, in milliseconds.
    pub duration_ms: f64,
    /// What went wrong (the mismatches as data, or the timeout), one each; empty when it
    /// passed.
    pub problems: Vec<crate::record::Problem>,
}

fn transport_word<S: Serializer>(transport: &TransportKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(transport.word())
}

fn delivery_word<S: Serializer>(delivery: &Delivery, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(delivery.word())
}

fn location_text<S: Serializer>(location: &Location, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(location)
}

/// One trial: its place in the matrix and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct TrialRecord {
    /// `suite::case::transport::reactor::delivery`.
    pub trial: String,
    /// The suite's name.
    pub suite: String,
    /// The case's name.
    pub case: String,
    /// The transport (its word in the reports).
    #[serde(serialize_with = "transport_word")]
    pub transport: TransportKind,
    /// The reactor's name.
    pub reactor: String,
    /// The delivery mode (its word in the reports; a chunked run's seed is `seed`).
    #[serde(serialize_with = "delivery_word")]
    pub delivery: Delivery,
    /// Where the case is written (`file:line:column` in the reports).
    #[serde(serialize_with = "location_text")]
    pub location: Location,
    /// Over all its runs.
    pub outcome: Outcome,
    /// Wall time of all its runs, in milliseconds.
    pub duration_ms: f64,
    /// The seed of its first run (chunked delivery only).
    pub seed: Option<u64>,
    /// How many runs passed (an expected failure counts as passing).
    pub runs_passed: u32,
    /// Each run.
    pub runs: Vec<RunRecord>,
    /// Why it is skipped or marked `xfail`, if it is.
    pub note: Option<String>,
    /// The trial runs over TLS with certificate verification off, because its case says
    /// `tls = { verify = false }`: every report shows it, since such a pass proves less.
    pub unverified: bool,
    /// The message libtest shows for it: the failure report with both traces, or why a
    /// failure was expected. Left out of `results.json` (the trace files have it).
    #[serde(skip)]
    pub message: Option<String>,
    /// The trace file in the report folder, relative to it, when `--report` was given.
    pub trace: Option<String>,
}

impl TrialRecord {
    /// The runs that did not pass, as `run 3 (seed 42), run 7 (seed 46)`: what to re-run.
    pub fn failed_runs(&self) -> String {
        let failed: Vec<String> = self
            .runs
            .iter()
            .filter(|run| run.outcome.is_failure())
            .map(|run| match run.seed {
                Some(seed) => format!("run {} (seed {seed})", run.run),
                None => format!("run {}", run.run),
            })
            .collect();
        failed.join(", ")
    }
}

/// Counts of each outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Trials that passed.
    pub passed: usize,
    /// Trials that failed.
    pub failed: usize,
    /// Trials not run.
    pub skipped: usize,
    /// `xfail` trials that failed as marked.
    pub expected_failures: usize,
    /// `xfail` trials whose expectations held.
    pub unexpected_passes: usize,
}

impl Summary {
    /// The counts of these records.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a TrialRecord>) -> Self {
        let mut summary = Self::default();
        for record in records {
            summary.add(record.outcome);
        }
        summary
    }

    /// Counts one more trial.
    pub fn add(&mut self, outcome: Outcome) {
        *match outcome {
            Outcome::Passed => &mut self.passed,
            Outcome::Failed => &mut self.failed,
            Outcome::Skipped => &mut self.skipped,
            Outcome::ExpectedFailure => &mut self.expected_failures,
            Outcome::UnexpectedPass => &mut self.unexpected_passes,
        } += 1;
    }

    /// How many trials of this outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        match outcome {
            Outcome::Passed => self.passed,
            Outcome::Failed => self.failed,
            Outcome::Skipped => self.skipped,
            Outcome::ExpectedFailure => self.expected_failures,
            Outcome::UnexpectedPass => self.unexpected_passes,
        }
    }

    /// All trials counted.
    pub fn total(&self) -> usize {
        Outcome::ALL.iter().map(|o| self.count(*o)).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped, {} expected failure{}, {} unexpected pass{}",
            self.passed,
            self.failed,
            self.skipped,
            self.expected_failures,
            if self.expected_failures == 1 { "" } else { "s" },
            self.unexpected_passes,
            if self.unexpected_passes == 1 {
                ""
            } else {
                "es"
            },
        )
    }
}

/// Where the trials' closures leave their records, from every test thread.
#[derive(Debug, Default)]
pub struct Recorder {
    records: Mutex<Vec<TrialRecord>>,
}

impl Recorder {
    /// Keeps one trial's record.
    pub fn push(&self, record: TrialRecord) {
        self.lock().push(record);
    }

    /// Every record so far, in trial-name order.
    pub fn take(&self) -> Vec<TrialRecord> {
        let mut records = std::mem::take(&mut *self.lock());
        records.sort_by(|a, b| a.trial.cmp(&b.trial));
        records
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<TrialRecord>> {
        // A trial that panicked while holding the lock left nothing half-written: a push is
        // the only thing done under it.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A count of runs done and left, printed now and then during a `--repeat` run (libtest's
/// per-trial lines come only when a trial's last run is over).
#[derive(Debug)]
pub struct Progress {
    total: u64,
    state: Mutex<ProgressState>,
}

#[derive(Debug)]
struct ProgressState {
    done: u64,
    failed: u64,
    started: Instant,
    last_shown: Instant,
}

/// How often progress is shown at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

impl Progress {
    /// Progress over `total` runs.
    pub fn new(total: u64) -> Self {
        let now = Instant::now();
        Self {
            total,
            state: Mutex::new(ProgressState {
                done: 0,
                failed: 0,
                started: now,
                last_shown: now,
            }),
        }
    }

    /// Counts one run done; returns the line to show, when one is due.
    pub fn run_done(&self, failed: bool) -> Option<String> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.done += 1;
        state.failed += u64::from(failed);
        let now = Instant::now();
        let last = state.done == self.total;
        if !last && now.duration_since(state.last_shown) < PROGRESS_EVERY {
            return None;
        }
        state.last_shown = now;
        Some(format!(
            "progress: {} of {} runs done, {} left, {} failed ({:.0} s)",
            state.done,
            self.total,
            self.total - state.done,
            state.failed,
            now.duration_since(state.started).as_secs_f64()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(outcome: Outcome) -> RunRecord {
        RunRecord {
            run: 1,
            seed: None,
            outcome,
            duration_ms: 0.0,
            problems: Vec::new(),
        }
    }

    #[test]
    fn the_worst_run_decides_a_trial() {
        use Outcome::*;
        let cases: [(&[Outcome], Outcome); 5] = [
            (&[Passed, Passed], Passed),
            (&[Passed, Failed, Passed], Failed),
            (&[ExpectedFailure, ExpectedFailure], ExpectedFailure),
            (&[ExpectedFailure, UnexpectedPass], UnexpectedPass),
            (&[], Skipped),
        ];
        for (runs, trial) in cases {
            let runs: Vec<RunRecord> = runs.iter().map(|o| run(*o)).collect();
            assert_eq!(Outcome::of_runs(&runs), trial, "{runs:?}");
        }
    }

    #[test]
    fn the_summary_counts_every_outcome() {
        let mut summary = Summary::default();
        for outcome in Outcome::ALL.into_iter().chain([Outcome::Passed]) {
            summary.add(outcome);
        }
        assert_eq!(summary.total(), 6);
        assert_eq!(
            summary.to_string(),
            "2 passed, 1 failed, 1 skipped, 1 expected failure, 1 unexpected pass"
        );
    }

    #[test]
    fn progress_shows_the_last_run_at_once() {
        let progress = Progress::new(2);
        // The first run is within the interval, so nothing is shown yet...
        assert_eq!(progress.run_done(false), None);
        // ...but the last one always is.
        let line = progress
            .run_done(true)
            .expect("the last run shows progress");
        assert!(
            line.starts_with("progress: 2 of 2 runs done, 0 left, 1 failed"),
            "{line}"
        );
    }
}
