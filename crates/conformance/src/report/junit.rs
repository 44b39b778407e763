//! `--junit PATH`: one `<testcase>` per trial, in one `<testsuite>` per suite file, for CI
//! dashboards. A failure carries the whole failure message, both traces included; an expected
//! failure is a success whose output says what failed and why that is expected.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::outcome::{Outcome, TrialRecord};

/// The JUnit report of these trials (in name order, so each suite's are together).
pub fn report(trials: &[TrialRecord]) -> Report {
    let mut report = Report::new("conformance");
    let mut suites: Vec<TestSuite> = Vec::new();
    for trial in trials {
        if suites.last().is_none_or(|s| s.name.as_str() != trial.suite) {
            suites.push(TestSuite::new(trial.suite.as_str()));
        }
        let suite = suites.last_mut().expect("pushed above");
        suite.add_test_case(test_case(trial));
    }
    let total: f64 = trials.iter().map(|t| t.duration_ms).sum();
    report.set_time(Duration::from_secs_f64(total / 1e3));
    report.add_test_suites(suites);
    report
}

fn test_case(trial: &TrialRecord) -> TestCase {
    let message = trial.message.as_deref().unwrap_or_default();
    let status = match trial.outcome {
        Outcome::Passed | Outcome::ExpectedFailure => TestCaseStatus::success(),
        Outcome::Failed | Outcome::UnexpectedPass => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_type(trial.outcome.word())
                .set_message(headline(message))
                .set_description(message);
            status
        }
        Outcome::Skipped => {
            let mut status = TestCaseStatus::skipped();
            if let Some(why) = &trial.note {
                status.set_message(why.as_str());
            }
            status
        }
    };
    let mut case = TestCase::new(trial.trial.as_str(), status);
    case.set_classname(trial.suite.as_str())
        .set_time(Duration::from_secs_f64(trial.duration_ms / 1e3));
    if trial.outcome == Outcome::ExpectedFailure {
        case.set_system_out(message);
    }
    if trial.unverified {
        case.add_property(("tls-verify", "false"));
    }
    case
}

/// The first problem of a failure message: the line after `failed:`, or its first line.
fn headline(message: &str) -> String {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or_default();
    message
        .lines()
        .skip_while(|l| l.trim() != "failed:")
        .nth(1)
        .map_or(first, str::trim)
        .to_owned()
}

/// `--junit PATH`: the JUnit file.
pub struct Junit {
    /// Where it goes.
    pub path: std::path::PathBuf,
}

impl super::Reporter for Junit {
    fn write(&self, run: &super::Run<'_>) -> Result<(), String> {
        write(run.records, &self.path)
    }
}

/// Writes the report to `path` (beside it, then renamed over it), marked as this runner's
/// with [`JUNIT_MARK`](super::folder::JUNIT_MARK) so that the next run may replace it.
pub fn write(trials: &[TrialRecord], path: &Path) -> Result<(), String> {
    let xml = report(trials)
        .to_string()
        .map_err(|e| format!("cannot make the JUnit report: {e}"))?;
    super::folder::write_junit(path, &marked(&xml))
}

/// The XML with the runner's mark after its declaration (or first, without one).
fn marked(xml: &str) -> String {
    let mark = super::folder::JUNIT_MARK;
    match xml
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
    {
        Some((declaration, rest)) => format!("<?xml{declaration}?>\n{mark}{rest}"),
        None => format!("{mark}\n{xml}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headline_is_the_first_problem() {
        let cases = [
            (
                "x.toml:3:1: case \"a\"\n  about\nfailed:\n  server reason: expected done\n",
                "server reason: expected done",
            ),
            (
                "x.toml:3:1: case \"a\": unexpected pass\n",
                "x.toml:3:1: case \"a\": unexpected pass",
            ),
            ("", ""),
        ];
        for (message, headline_) in cases {
            assert_eq!(headline(message), headline_, "{message:?}");
        }
    }
}
