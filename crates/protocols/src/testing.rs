//! Test helpers: build a probe from the registry with suite-like arguments and drive it through
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

/// A probe of the registry, by name, to [`check`](Probe::check) row after row.
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
            let shown = |bytes: &[u8]| bytes.escape_ascii().to_string();
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
