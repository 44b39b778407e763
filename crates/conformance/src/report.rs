//! What a failing trial says: the case, what was expected, what happened, and both sides'
//! traces side by side in time order.

use std::fmt::Write as _;

use connectable::{ConnectableProtocol, Trace};

use crate::check::describe_bytes;
use crate::suite::{Case, Expectation, Received};

/// Width of the server's column in the side-by-side trace.
const COLUMN: usize = 40;

/// The message of a failed trial. `problems` are the mismatches (or the timeout), one a line.
pub fn failure(
    case: &Case,
    problems: &[String],
    server: &ConnectableProtocol,
    client: &ConnectableProtocol,
) -> String {
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
    let _ = writeln!(
        out,
        "  server ({}): {}",
        case.server.describe(),
        expectation(&case.expect_server)
    );
    let _ = writeln!(
        out,
        "  client ({}): {}",
        case.client.describe(),
        expectation(&case.expect_client)
    );
    let _ = writeln!(out, "happened:");
    let _ = writeln!(out, "  server: {}", happened(server));
    let _ = writeln!(out, "  client: {}", happened(client));
    out.push_str(&side_by_side(&server.trace(), &client.trace()));
    out
}

fn expectation(expect: &Expectation) -> String {
    let mut parts = Vec::new();
    if let Some(reasons) = &expect.reason {
        let words: Vec<&str> = reasons.iter().map(|r| r.word()).collect();
        parts.push(format!("reason {}", words.join(" | ")));
    }
    match &expect.received {
        Some(Received::Text(text)) => {
            parts.push(format!("received {}", describe_bytes(text.as_bytes())));
        }
        Some(Received::Hex(bytes)) => parts.push(format!("received {}", describe_bytes(bytes))),
        Some(Received::Len(n)) => parts.push(format!("received {n} bytes")),
        None => {}
    }
    if let Some(events) = &expect.events {
        parts.push(format!("events [{}]", events.join(", ")));
    }
    if let Some(error) = &expect.error {
        parts.push(format!("error containing {error:?}"));
    }
    if parts.is_empty() {
        "anything".into()
    } else {
        parts.join(", ")
    }
}

fn happened(side: &ConnectableProtocol) -> String {
    let trace = side.trace();
    let reason = side
        .disconnect_reason()
        .map_or_else(|| "still open".to_owned(), |r| r.to_string());
    let received = if trace.received_truncated() {
        format!("{} bytes", trace.received_total())
    } else {
        describe_bytes(trace.received())
    };
    format!("{reason}, received {received}")
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
