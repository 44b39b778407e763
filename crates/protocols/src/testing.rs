//! Test helpers: build a probe from the catalogue with suite-like arguments and drive it through
//! [`Harness`], whole and one byte at a time, checking what it wrote, how it asked to close and
//! what it was handed.

use connectable::harness::Harness;
use connectable::{CloseRequest, Delivery, DisconnectReason, Event, ReasonKind};

use crate::{ProbeSpec, parse};

/// The probe did not ask to close.
pub(crate) const OPEN: Option<CloseRequest> = None;
/// The probe called `lose_connection`.
pub(crate) const LOSE: Option<CloseRequest> = Some(CloseRequest::Lose);
/// The probe called `abort_connection`.
pub(crate) const ABORT: Option<CloseRequest> = Some(CloseRequest::Abort);

/// Parses the probe `name` with `arguments` written as the inside of a TOML inline table, as
/// in a suite file (`data = "x", then = "close"`).
pub(crate) fn parse_toml(name: &str, arguments: &str) -> Result<ProbeSpec, String> {
    let document: toml::Table = format!("arguments = {{ {arguments} }}")
        .parse()
        .unwrap_or_else(|e| panic!("test arguments {{ {arguments} }} are not toml: {e}"));
    let arguments = document["arguments"].clone();
    parse(name, arguments).map_err(|e| e.to_string().trim_end().to_owned())
}

/// A probe of the catalogue, by name, to [`check`](Probe::check) row after row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe(pub(crate) &'static str);

impl Probe {
    /// Feeds `input` (chunk after chunk) to the probe with `arguments`, once with
    /// [`Delivery::Whole`] and once with [`Delivery::Bytewise`], and checks that it wrote
    /// `written`, asked for `close`, and was handed `seen[0]` (whole) and `seen[1]` (bytewise)
    /// in all: no data is delivered once it asked to close. Then ends the connection and
    /// checks that no callback failed.
    #[track_caller]
    pub(crate) fn check(
        self,
        arguments: &str,
        input: &[&str],
        written: &[u8],
        close: Option<CloseRequest>,
        seen: [&str; 2],
    ) {
        let Self(name) = self;
        let spec = parse_toml(name, arguments)
            .unwrap_or_else(|e| panic!("{name} {{ {arguments} }} does not parse: {e}"));
        assert_eq!(spec.name(), name);
        for (delivery, seen) in Delivery::ALL.into_iter().zip(seen) {
            let context = format!("{name} {{ {arguments} }} fed {input:?} {}", delivery.word());
            let mut harness = Harness::new(spec.instantiate(), delivery);
            for chunk in input {
                harness.feed(chunk.as_bytes());
            }
            let shown = crate::bytes::describe;
            assert_eq!(
                shown(harness.written()),
                shown(written),
                "{context}: written"
            );
            assert_eq!(
                harness.close_requested(),
                close,
                "{context}: close requested"
            );
            let trace = harness.trace();
            assert_eq!(
                shown(trace.received()),
                shown(seen.as_bytes()),
                "{context}: handed"
            );
            if delivery == Delivery::Bytewise {
                let chunks = trace.events().iter().filter_map(|e| match e.event {
                    Event::Data(n) => Some(n),
                    _ => None,
                });
                assert!(chunks.into_iter().all(|n| n == 1), "{context}: {trace:?}");
            }

            harness.end(DisconnectReason::Done);
            assert_eq!(
                harness.reason(),
                Some(DisconnectReason::Done),
                "{context}: reason"
            );
            assert_eq!(
                shown(harness.written()),
                shown(written),
                "{context}: written at the end"
            );
            let trace = harness.trace();
            let mut words = vec!["made"];
            if !seen.is_empty() {
                words.push("data");
            }
            words.push("lost");
            assert_eq!(trace.words(), words, "{context}: events");
            assert_eq!(
                trace.events().last().map(|e| &e.event),
                Some(&Event::Lost(ReasonKind::Done)),
                "{context}: {trace:?}"
            );
            assert!(
                !trace
                    .events()
                    .iter()
                    .any(|e| matches!(e.event, Event::CallbackFailed(_))),
                "{context}: a callback failed: {trace:?}"
            );
        }
    }
}

/// The probe called `lose_connection_without_close_notify`.
pub(crate) const LOSE_WITHOUT_CLOSE_NOTIFY: Option<CloseRequest> =
    Some(CloseRequest::LoseWithoutCloseNotify);

/// One thing that happens to a probe in a [`Probe::check_steps`] script, in order.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// The peer's bytes arrive (handed over whole or one byte at a time).
    Feed(&'static str),
    /// The TLS handshake completes (`handshake_completed`).
    Handshake,
    /// Every timer set so far fires, and those they set in turn (a few rounds).
    Timers,
}

impl Probe {
    /// Like [`check`](Probe::check), for probes that also react to the TLS handshake and to
    /// their timers: plays `steps` in order, once [`Delivery::Whole`] and once
    /// [`Delivery::Bytewise`], and checks what the probe wrote, how it asked to close, and
    /// what it was handed (`seen[0]` whole, `seen[1]` bytewise). Then ends the connection and
    /// checks that the trace runs from `made` to `lost` (with `handshake` if the script had
    /// one) and that no callback failed.
    #[track_caller]
    pub(crate) fn check_steps(
        self,
        arguments: &str,
        steps: &[Step],
        written: &[u8],
        close: Option<CloseRequest>,
        seen: [&str; 2],
    ) {
        let Self(name) = self;
        let spec = parse_toml(name, arguments)
            .unwrap_or_else(|e| panic!("{name} {{ {arguments} }} does not parse: {e}"));
        assert_eq!(spec.name(), name);
        let shown = crate::bytes::describe;
        for (delivery, seen) in Delivery::ALL.into_iter().zip(seen) {
            let context = format!("{name} {{ {arguments} }} in {steps:?} {}", delivery.word());
            let mut harness = Harness::new(spec.instantiate(), delivery);
            for step in steps {
                match step {
                    Step::Feed(chunk) => harness.feed(chunk.as_bytes()),
                    Step::Handshake => harness.handshake(),
                    Step::Timers => harness.fire_timers(8),
                };
            }
            assert_eq!(
                shown(harness.written()),
                shown(written),
                "{context}: written"
            );
            assert_eq!(
                harness.close_requested(),
                close,
                "{context}: close requested"
            );
            let trace = harness.trace();
            assert_eq!(
                shown(trace.received()),
                shown(seen.as_bytes()),
                "{context}: handed"
            );
            if delivery == Delivery::Bytewise {
                let mut chunks = trace.events().iter().filter_map(|e| match e.event {
                    Event::Data(n) => Some(n),
                    _ => None,
                });
                assert!(chunks.all(|n| n == 1), "{context}: {trace:?}");
            }

            harness.end(DisconnectReason::Done);
            assert_eq!(
                harness.reason(),
                Some(DisconnectReason::Done),
                "{context}: reason"
            );
            assert_eq!(
                shown(harness.written()),
                shown(written),
                "{context}: written at the end"
            );
            let trace = harness.trace();
            let words = trace.words();
            assert_eq!(words.first(), Some(&"made"), "{context}: events {words:?}");
            assert_eq!(words.last(), Some(&"lost"), "{context}: events {words:?}");
            assert_eq!(
                words.contains(&"handshake"),
                steps.iter().any(|s| matches!(s, Step::Handshake)),
                "{context}: events {words:?}"
            );
            assert!(
                !trace
                    .events()
                    .iter()
                    .any(|e| matches!(e.event, Event::CallbackFailed(_))),
                "{context}: a callback failed: {trace:?}"
            );
        }
    }
}

/// The trace of one side as [`Probe::check_trace`] compares it: the event words in order
/// (consecutive `data` merged), `timer` for a timer that fired, `failed(message)` for a
/// callback that failed, then ` => ` and the recorded reason once the side has ended. The
/// notes of a close the probe asked for are left out: the tables check those through
/// `close_requested` and the reason, and the rendering stays the callbacks Twisted's tests list.
pub(crate) fn render(trace: &connectable::Trace, reason: Option<&DisconnectReason>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for event in trace.events() {
        let part = match &event.event {
            Event::CloseRequested(_) | Event::HalfCloseRequested => continue,
            Event::Timer => "timer".to_owned(),
            Event::CallbackFailed(message) => format!("failed({message})"),
            other => other.word().unwrap_or("?").to_owned(),
        };
        if !(part == "data" && parts.last().is_some_and(|p| p == "data")) {
            parts.push(part);
        }
    }
    let mut shown = parts.join(", ");
    if let Some(reason) = reason {
        shown.push_str(" => ");
        shown.push_str(reason.kind().word());
    }
    shown
}

impl Probe {
    /// Like [`check_steps`](Probe::check_steps), for probes whose point is how the connection
    /// ends (aborts, producers, timers, failing callbacks). With `hold`, the peer reads
    /// nothing from the first step on: writes stay in the write buffer, so a streaming
    /// producer is paused past the high-water mark and a pull producer is not resumed. Plays
    /// `steps`, once whole and once bytewise, and checks what the probe wrote (sent, not
    /// held), how it asked to close and what it was handed, as `check_steps` does. Then ends
    /// the connection as the reactor would after what the probe asked (`aborted` after an
    /// abort, `done` otherwise; a failed callback makes it `error`), checks that nothing more
    /// was written, and compares the whole trace with `trace`, as [`render`] shows it
    /// (`"made, data, lost => aborted"`): callbacks that fail, and how many times, show there.
    #[track_caller]
    #[allow(clippy::too_many_arguments)] // one argument per column of a row table
    pub(crate) fn check_trace(
        self,
        arguments: &str,
        hold: bool,
        steps: &[Step],
        written: &[u8],
        close: Option<CloseRequest>,
        seen: [&str; 2],
        trace: &str,
    ) {
        let Self(name) = self;
        let spec = parse_toml(name, arguments)
            .unwrap_or_else(|e| panic!("{name} {{ {arguments} }} does not parse: {e}"));
        assert_eq!(spec.name(), name);
        let shown = crate::bytes::describe;
        for (delivery, seen) in Delivery::ALL.into_iter().zip(seen) {
            let held = if hold { " (peer not reading)" } else { "" };
            let context = format!(
                "{name} {{ {arguments} }} in {steps:?}{held} {}",
                delivery.word()
            );
            let mut harness = Harness::new(spec.instantiate(), delivery);
            harness.hold_writes(hold);
            for step in steps {
                match step {
                    Step::Feed(chunk) => harness.feed(chunk.as_bytes()),
                    Step::Handshake => harness.handshake(),
                    Step::Timers => harness.fire_timers(8),
                };
            }
            assert_eq!(
                shown(harness.written()),
                shown(written),
                "{context}: written"
            );
            assert_eq!(
                harness.close_requested(),
                close,
                "{context}: close requested"
            );
            let recorded = harness.trace();
            assert_eq!(
                shown(recorded.received()),
                shown(seen.as_bytes()),
                "{context}: handed"
            );
            if delivery == Delivery::Bytewise {
                let mut chunks = recorded.events().iter().filter_map(|e| match e.event {
                    Event::Data(n) => Some(n),
                    _ => None,
                });
                assert!(chunks.all(|n| n == 1), "{context}: {recorded:?}");
            }

            let end = match harness.close_requested() {
                ABORT => DisconnectReason::Aborted,
                _ => DisconnectReason::Done,
            };
            harness.end(end);
            assert_eq!(
                shown(harness.written()),
                shown(written),
                "{context}: written at the end"
            );
            assert_eq!(
                render(&harness.trace(), harness.reason().as_ref()),
                trace,
                "{context}: trace"
            );
        }
    }
}
