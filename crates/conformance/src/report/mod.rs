//! What a run tells its readers: the message of a failing trial (the case, what was
//! expected, what happened, both sides' traces side by side in time order), and with
//! `--junit` and `--report` the files CI dashboards and people read afterwards: JUnit XML
//! ([`junit`]), JSON traces and results ([`json`]), and the matrix page ([`html`]).

pub mod folder;
pub mod html;
pub mod json;
pub mod junit;

use std::fmt::Write as _;

use connectable::{Event, TimedEvent, Trace};

use protocols::bytes::describe;

use crate::outcome::TrialRecord;
use crate::record::{Problem, Role, Side};
use crate::suite::{Case, Expectation};

/// What every reporter is given once the trials are done.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    /// The seed of chunked delivery.
    pub seed: u64,
    /// Runs per trial (`--repeat`).
    pub repeat: u32,
    /// Every selected trial's record, ran or skipped, in name order.
    pub records: &'a [TrialRecord],
    /// The run's reactors by name, in the order they are listed (the matrix page's columns).
    pub reactors: &'a [&'a str],
}

/// A format a run is written in. Each format is a file of this folder implementing it, and
/// an option that adds it to the run's list ([`reporters`]).
pub trait Reporter {
    /// Writes the report of `run`, or says why it cannot.
    fn write(&self, run: &Run<'_>) -> Result<(), String>;
}

/// The reporters a run's options ask for, in the order they write: the JUnit file
/// (`--junit PATH`), then, into the staging report folder (`--report DIR`), `results.json`
/// and the matrix page.
pub fn reporters(
    junit: Option<&std::path::Path>,
    folder: Option<&std::path::Path>,
) -> Vec<Box<dyn Reporter>> {
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if let Some(path) = junit {
        reporters.push(Box::new(junit::Junit {
            path: path.to_owned(),
        }));
    }
    if let Some(dir) = folder {
        reporters.push(Box::new(json::ResultsFile {
            dir: dir.to_owned(),
        }));
        reporters.push(Box::new(html::Page {
            dir: dir.to_owned(),
        }));
    }
    reporters
}

/// Width of the server's column in the side-by-side trace.
const COLUMN: usize = 40;

/// The message of a failed trial. `problems` are the mismatches (or the timeout), one a line.
pub fn failure(case: &Case, problems: &[Problem], server: &Side, client: &Side) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: case {:?}", case.location, case.name);
    for line in case.about.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "  {}", line.trim());
    }
    let _ = writeln!(out, "failed:");
    for problem in problems {
        let _ = writeln!(out, "  {problem}");
    }
    let _ = writeln!(out, "expected:");
    for (role, peer, one, each) in [
        (
            Role::Server,
            &case.server,
            &case.expect_server,
            &case.expect_server_each,
        ),
        (
            Role::Client,
            &case.client,
            &case.expect_client,
            &case.expect_client_each,
        ),
    ] {
        let name = role.word();
        if each.is_empty() {
            let _ = writeln!(out, "  {name} ({}): {}", peer.describe(), expectation(one));
        } else {
            let _ = writeln!(out, "  {name} ({}):", peer.describe());
            for (i, expect) in each.iter().enumerate() {
                let _ = writeln!(out, "    {name}#{}: {}", i + 1, expectation(expect));
            }
        }
    }
    let _ = writeln!(out, "happened:");
    for (role, side) in [(Role::Server, server), (Role::Client, client)] {
        match side {
            Side::Connections(list) => {
                for (i, record) in list.iter().enumerate() {
                    let _ = writeln!(out, "  {}#{}: {}", role.word(), i + 1, happened_to(record));
                }
            }
            _ => {
                let _ = writeln!(out, "  {}: {}", role.word(), happened(side));
            }
        }
    }
    let trace = |side: &Side| match side {
        Side::Probe(record) => record.trace(),
        Side::External(_) | Side::Connections(_) => Trace::default(),
    };
    let connections = [(Role::Server, server), (Role::Client, client)]
        .into_iter()
        .find_map(|(role, side)| match side {
            Side::Connections(list) => Some((role, list)),
            _ => None,
        });
    match connections {
        None => out.push_str(&side_by_side(&trace(server), &trace(client))),
        // One trace a connection, each timed from its own start, its column its side's.
        Some((role, list)) => {
            for (i, record) in list.iter().enumerate() {
                let (left, right) = match role {
                    Role::Server => (record.trace(), Trace::default()),
                    Role::Client => (Trace::default(), record.trace()),
                };
                out.push_str(&side_by_side(&left, &right).replacen(
                    "trace (ms since the pairing started)",
                    &format!(
                        "{}#{} trace (ms since that connection started)",
                        role.word(),
                        i + 1
                    ),
                    1,
                ));
            }
        }
    }
    for (name, side) in [("server", server), ("client", client)] {
        if let Side::External(record) = side {
            for (stream, text) in [("stdout", &record.stdout), ("stderr", &record.stderr)] {
                if !text.is_empty() {
                    let _ = writeln!(out, "{name} {stream}:");
                    for line in text.lines() {
                        let _ = writeln!(out, "  | {line}");
                    }
                }
            }
        }
    }
    out
}

/// One side's expectation in words: each key family describes its own keys.
pub(crate) fn expectation(expect: &Expectation) -> String {
    expect.describe()
}

fn happened(side: &Side) -> String {
    match side {
        Side::Probe(side) => happened_to(side),
        Side::External(record) => record.summary(),
        Side::Connections(list) => format!("{} connections", list.len()),
    }
}

/// How one connection of ours ended, and what it received.
fn happened_to(side: &connectable::ConnectableProtocol) -> String {
    let trace = side.trace();
    let reason = side
        .disconnect_reason()
        .map_or_else(|| "still open".to_owned(), |r| r.to_string());
    let received = if trace.received_truncated() {
        format!("{} bytes", trace.received_total())
    } else {
        describe(trace.received())
    };
    format!("{reason}, received {received}")
}

/// What a side still open at the timeout was waiting for, read off its trace: the last step
/// it reached, and since when. `tls` says whether a handshake was due.
pub fn waiting_for(trace: &Trace, tls: bool) -> String {
    let events = trace.events();
    let since = |event: &TimedEvent| format!("{:.1}ms", event.at.as_secs_f64() * 1e3);
    let last = |wanted: fn(&Event) -> bool| events.iter().rev().find(|e| wanted(&e.event));
    let last_event = events.last().map_or_else(
        || "no event at all".to_owned(),
        |e| format!("its last event: {} at {}", e.event, since(e)),
    );
    let state = if events.is_empty() {
        "waiting for the connection: connection_made never ran".to_owned()
    } else if let Some(close) = last(|e| matches!(e, Event::CloseRequested(_))) {
        format!(
            "it {} at {}, and waits for its writes to drain and the close to go out (the \
             peer is not reading?) or for the peer's close",
            close.event,
            since(close)
        )
    } else if tls && last(|e| matches!(e, Event::Handshake)).is_none() {
        "waiting for the TLS handshake to complete".to_owned()
    } else if let Some(paused) =
        last(|e| matches!(e, Event::Paused | Event::Resumed)).filter(|e| e.event == Event::Paused)
    {
        format!(
            "its protocol paused reading at {} and never resumed, so it cannot see the peer's \
             data or close",
            since(paused)
        )
    } else if let Some(half) = last(|e| matches!(e, Event::ReadLost)) {
        format!(
            "the peer half-closed at {}; waiting for this side's protocol to close its own \
             side",
            since(half)
        )
    } else if let Some(half) = last(|e| matches!(e, Event::HalfCloseRequested)) {
        format!(
            "it half-closed at {}; waiting for the peer to close",
            since(half)
        )
    } else {
        "connected; waiting for the peer's data or close, and its protocol never asked to \
         close"
            .to_owned()
    };
    format!("{state}; {last_event}")
}

/// Both traces merged in time order, the server's events on the left, the client's on the
/// right.
pub(crate) fn side_by_side(server: &Trace, client: &Trace) -> String {
    let left = server.lines();
    let right = client.lines();
    let mut out = format!(
        "trace (ms since the pairing started):\n  {:<COLUMN$}client\n",
        "server"
    );
    let (mut l, mut r) = (0, 0);
    // Lines start with their time stamp, right-aligned to the same width, so comparing the
    // stamps as text orders them.
    while l < left.len() || r < right.len() {
        let take_left = r == right.len()
            || (l < left.len() && stamp(&left[l]).total_cmp(&stamp(&right[r])).is_le());
        if take_left {
            let _ = writeln!(out, "  {}", left[l]);
            l += 1;
        } else {
            let _ = writeln!(out, "  {:<COLUMN$}{}", "", right[r]);
            r += 1;
        }
    }
    out
}

fn stamp(line: &str) -> f64 {
    line.trim_start()
        .split("ms")
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use connectable::{CloseRequest, Event, TimedEvent, Trace};

    use super::waiting_for;

    /// A trace with these events, one millisecond apart.
    fn trace(events: &[Event]) -> Trace {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| TimedEvent {
                at: Duration::from_millis(i as u64 + 1),
                event: e.clone(),
            })
            .collect()
    }

    #[test]
    fn a_timeout_says_what_the_open_side_waited_for() {
        let cases: [(&[Event], bool, &str); 7] = [
            (
                &[],
                false,
                "waiting for the connection: connection_made never ran; no event at all",
            ),
            (
                &[Event::Made],
                true,
                "waiting for the TLS handshake to complete; its last event: made at 1.0ms",
            ),
            (
                &[Event::Made, Event::CloseRequested(CloseRequest::Lose)],
                false,
                "it asked: lose_connection at 2.0ms, and waits for its writes to drain",
            ),
            (
                &[Event::Made, Event::Paused, Event::Data(3)],
                false,
                "its protocol paused reading at 2.0ms and never resumed",
            ),
            (
                &[Event::Made, Event::Paused, Event::Resumed],
                false,
                "connected; waiting for the peer's data or close, and its protocol never asked to close; its last event: resumed at 3.0ms",
            ),
            (
                &[Event::Made, Event::Data(1), Event::ReadLost],
                false,
                "the peer half-closed at 3.0ms; waiting for this side's protocol",
            ),
            (
                &[Event::Made, Event::HalfCloseRequested, Event::WriteLost],
                false,
                "it half-closed at 2.0ms; waiting for the peer to close; its last event: write-lost at 3.0ms",
            ),
        ];
        for (events, tls, said) in cases {
            let explained = waiting_for(&trace(events), tls);
            assert!(explained.starts_with(said), "{events:?}: {explained}");
        }
    }
}
