//! `--report DIR` as data: `traces/<trial>.json` for each trial that ran (both sides' events
//! with their times, chunk sizes and reasons, or an external program's status and output),
//! and `results.json`, one line of figures per trial.
//!
//! The trace files are written by the trial itself as soon as it ends, so a run that is
//! killed half-way still leaves the traces of what it finished.

use std::path::Path;

use connectable::{CloseRequest, Event, TimedEvent};
use serde::Serialize;

use protocols::bytes::describe;

use crate::outcome::{RunRecord, Summary, TrialRecord};
use crate::record::{Attempt, Side};
use crate::suite::Case;

/// The folder of the trace files inside the report folder.
pub const TRACES: &str = "traces";

/// One run as a trace file shows it.
#[derive(Debug, Serialize)]
pub struct RunTrace {
    #[serde(flatten)]
    run: RunRecord,
    server: Option<SideTrace>,
    client: Option<SideTrace>,
}

impl RunTrace {
    /// The trace of `run`, from what its attempt recorded.
    pub fn new(run: &RunRecord, attempt: &Attempt) -> Self {
        let (server, client) = match &attempt.sides {
            Some((server, client)) => (Some(SideTrace::of(server)), Some(SideTrace::of(client))),
            None => (None, None),
        };
        Self {
            run: run.clone(),
            server,
            client,
        }
    }
}

/// One side, as it ended.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum SideTrace {
    /// A probe or script run by a reactor of ours.
    Probe {
        reactor: Option<&'static str>,
        /// `None` while the side was still open at the end.
        reason: Option<ReasonTrace>,
        received_total: u64,
        received: String,
        /// What its TLS handshake agreed on; absent without one.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<TlsTrace>,
        events: Vec<EventTrace>,
    },
    /// Several connections of ours, in order (a side given as a list).
    Connections { connections: Vec<SideTrace> },
    /// A program or server someone else wrote.
    External {
        shown: String,
        exit: Option<i32>,
        killed: bool,
        summary: String,
        stdout: String,
        stderr: String,
        /// stdout or stderr held more than was kept (`external::OUTPUT_KEPT` bytes each).
        output_truncated: bool,
    },
}

#[derive(Debug, Serialize)]
struct TlsTrace {
    version: String,
    /// `null`: no ALPN protocol agreed on.
    alpn: Option<String>,
}

#[derive(Debug, Serialize)]
struct ReasonTrace {
    kind: &'static str,
    detail: String,
}

#[derive(Debug, Serialize)]
struct EventTrace {
    at_ms: f64,
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// A `merged` entry: how many events it stands for, and how many of each kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<std::collections::BTreeMap<&'static str, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_ms: Option<f64>,
}

impl SideTrace {
    fn of(side: &Side) -> Self {
        match side {
            Side::Connections(list) => Self::Connections {
                connections: list.iter().map(Self::of_probe).collect(),
            },
            Side::Probe(record) => Self::of_probe(record),
            Side::External(record) => Self::External {
                shown: record.shown.clone(),
                exit: record.exit.flatten(),
                killed: record.killed,
                summary: record.summary(),
                stdout: record.stdout.clone(),
                stderr: record.stderr.clone(),
                output_truncated: record.truncated,
            },
        }
    }

    fn of_probe(record: &connectable::ConnectableProtocol) -> Self {
        let trace = record.trace();
        Self::Probe {
            reactor: record.reactor(),
            reason: record.disconnect_reason().map(|r| ReasonTrace {
                kind: r.kind().word(),
                detail: r.detail().to_owned(),
            }),
            received_total: trace.received_total(),
            received: describe(trace.received()),
            tls: trace.negotiated().map(|n| TlsTrace {
                version: n.version.clone(),
                alpn: n.alpn.clone(),
            }),
            events: EventTrace::reported(&trace),
        }
    }
}

fn millis(at: std::time::Duration) -> f64 {
    (at.as_secs_f64() * 1e6).round() / 1e3
}

impl EventTrace {
    /// A side's events, bounded (`Trace::reported`): the first and last one by one, and
    /// between them one `merged` entry with its counts.
    fn reported(trace: &connectable::Trace) -> Vec<Self> {
        let reported = trace.reported(connectable::EVENTS_REPORTED);
        let mut events: Vec<Self> = reported.first.iter().map(Self::of).collect();
        if let Some(merged) = reported.merged {
            events.push(Self {
                at_ms: millis(merged.from),
                event: "merged",
                bytes: Some(usize::try_from(merged.data_bytes).unwrap_or(usize::MAX)),
                reason: None,
                message: None,
                events: Some(merged.events),
                counts: Some(merged.counts.into_iter().collect()),
                to_ms: Some(millis(merged.to)),
            });
        }
        events.extend(reported.last.iter().map(Self::of));
        events
    }

    fn of(timed: &TimedEvent) -> Self {
        let mut event = Self {
            at_ms: millis(timed.at),
            event: timed.event.word().unwrap_or("timer-fired"),
            bytes: None,
            reason: None,
            message: None,
            events: None,
            counts: None,
            to_ms: None,
        };
        match &timed.event {
            Event::Data(n) => event.bytes = Some(*n),
            Event::Lost(kind) => event.reason = Some(kind.word()),
            Event::CallbackFailed(message) => {
                event.event = "callback-failed";
                event.message = Some(message.clone());
            }
            Event::CloseRequested(request) => {
                event.event = match request {
                    CloseRequest::Lose => "asked-lose-connection",
                    CloseRequest::LoseWithoutCloseNotify => {
                        "asked-lose-connection-without-close-notify"
                    }
                    CloseRequest::Abort => "asked-abort-connection",
                    _ => "asked-close",
                };
            }
            Event::HalfCloseRequested => event.event = "asked-half-close",
            _ => {}
        }
        event
    }
}

/// A trace file: the trial, its case, and its runs worth reading.
#[derive(Serialize)]
struct TraceFile<'a> {
    #[serde(flatten)]
    record: &'a TrialRecord,
    about: &'a str,
    server_peer: String,
    client_peer: String,
    expected_server: String,
    expected_client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    traces: &'a [RunTrace],
}

/// The file name of a trial's trace: its name with `::` as `.`, and anything that is not
/// safe in a file name as `_` (reactor names are the user's).
pub fn trace_file_name(trial: &str) -> String {
    let safe: String = trial
        .replace("::", ".")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// Where a trial's trace file goes, relative to the report folder.
pub fn trace_path(trial: &str) -> String {
    format!("{TRACES}/{}", trace_file_name(trial))
}

/// Writes the trace file of one trial at [`trace_path`]; false (with a warning) if it could
/// not be written, which costs the report that trace but not the run.
pub fn write_trace(dir: &Path, case: &Case, record: &TrialRecord, traces: &[RunTrace]) -> bool {
    let relative = trace_path(&record.trial);
    let file = TraceFile {
        record,
        about: &case.about,
        server_peer: case.server.describe(),
        client_peer: case.client.describe(),
        expected_server: super::expectation(&case.expect_server),
        expected_client: super::expectation(&case.expect_client),
        message: record.message.as_deref(),
        traces,
    };
    let written = serde_json::to_vec_pretty(&file)
        .map_err(|e| e.to_string())
        .and_then(|json| std::fs::write(dir.join(&relative), json).map_err(|e| e.to_string()));
    match written {
        Ok(()) => true,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "warning: cannot write {}: {error}",
                    dir.join(&relative).display()
                );
            }
            false
        }
    }
}

/// `--report DIR`: `results.json` in the report folder.
pub struct ResultsFile {
    /// The (staging) report folder.
    pub dir: std::path::PathBuf,
}

impl super::Reporter for ResultsFile {
    fn write(&self, run: &super::Run<'_>) -> Result<(), String> {
        Results::new(run.seed, run.repeat, run.records).write(&self.dir)
    }
}

/// `results.json`: the run's settings, the counts, and one entry per trial.
#[derive(Serialize)]
pub struct Results<'a> {
    /// The seed of chunked delivery.
    pub seed: u64,
    /// Runs per trial.
    pub repeat: u32,
    /// The counts over every trial.
    pub summary: Summary,
    /// The counts of each suite, in name order.
    pub suites: Vec<SuiteSummary>,
    /// Every trial selected, ran or skipped, in name order.
    pub trials: &'a [TrialRecord],
}

/// One suite's counts.
#[derive(Serialize)]
pub struct SuiteSummary {
    /// The suite's name.
    pub suite: String,
    /// Its counts.
    pub summary: Summary,
}

impl<'a> Results<'a> {
    /// The results of `trials`.
    pub fn new(seed: u64, repeat: u32, trials: &'a [TrialRecord]) -> Self {
        let mut names: Vec<&str> = trials.iter().map(|t| t.suite.as_str()).collect();
        names.dedup();
        names.sort_unstable();
        names.dedup();
        let suites = names
            .into_iter()
            .map(|suite| SuiteSummary {
                suite: suite.to_owned(),
                summary: Summary::of(trials.iter().filter(|t| t.suite == suite)),
            })
            .collect();
        Self {
            seed,
            repeat,
            summary: Summary::of(trials),
            suites,
            trials,
        }
    }

    /// Writes `results.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join("results.json");
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_file_names_are_safe() {
        let cases = [
            (
                "closing::closing_later::tcp::tokio-ct::whole",
                "closing.closing_later.tcp.tokio-ct.whole.json",
            ),
            (
                "a::b::memory-tls::my/reactor x::chunked",
                "a.b.memory-tls.my_reactor_x.chunked.json",
            ),
        ];
        for (trial, file) in cases {
            assert_eq!(trace_file_name(trial), file);
        }
    }
}
