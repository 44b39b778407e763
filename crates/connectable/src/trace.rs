//! The event trace of one side: what its protocol saw, when, and what it received.
//!
//! The reactor records the trace, not the probe, so every probe gets one for free and a
//! failing trial can show both sides' traces side by side.

use std::fmt;
use std::time::Duration;

use crate::ReasonKind;

/// At most this many received bytes are kept for expectations; the count goes on.
pub const RECEIVED_KEPT: usize = 4 << 20;

/// What is kept of the received bytes grows by doubling up to this size, and straight to
/// [`RECEIVED_KEPT`] past it.
const RECEIVED_GROWS_TO_CAP: usize = 64 * 1024;

/// Something that happened to one side's protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `connection_made` ran.
    Made,
    /// `handshake_completed` ran.
    Handshake,
    /// `data_received` ran with a chunk of this many bytes.
    Data(usize),
    /// `read_connection_lost` ran: the peer half-closed.
    ReadLost,
    /// `write_connection_lost` ran: this side's half-close completed.
    WriteLost,
    /// The protocol paused reading.
    Paused,
    /// The protocol resumed reading.
    Resumed,
    /// `pause_producing` ran: the write buffer passed the high-water mark.
    PauseProducing,
    /// `resume_producing` ran.
    ResumeProducing,
    /// `stop_producing` ran: the connection ended under a registered producer.
    StopProducing,
    /// A timer set with `call_later` fired (shown, not matched by `events`).
    Timer,
    /// `connection_lost` ran with a reason of this kind.
    Lost(ReasonKind),
    /// A callback failed (panicked or returned an error) with this message.
    CallbackFailed(String),
}

impl Event {
    /// Every word an `events` expectation can use, in documentation order.
    pub const WORDS: &'static [&'static str] = &[
        "made",
        "handshake",
        "data",
        "read-lost",
        "write-lost",
        "paused",
        "resumed",
        "pause-producing",
        "resume-producing",
        "stop-producing",
        "lost",
    ];

    /// The word suites use in `events` expectations; `None` for events that are shown but
    /// not matched (timers, callback failures).
    pub fn word(&self) -> Option<&'static str> {
        match self {
            Self::Made => Some("made"),
            Self::Handshake => Some("handshake"),
            Self::Data(_) => Some("data"),
            Self::ReadLost => Some("read-lost"),
            Self::WriteLost => Some("write-lost"),
            Self::Paused => Some("paused"),
            Self::Resumed => Some("resumed"),
            Self::PauseProducing => Some("pause-producing"),
            Self::ResumeProducing => Some("resume-producing"),
            Self::StopProducing => Some("stop-producing"),
            Self::Lost(_) => Some("lost"),
            Self::Timer | Self::CallbackFailed(_) => None,
        }
    }
}

/// An [`Event`] and when it happened, from the start of the pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    /// Time since the pairing started.
    pub at: Duration,
    /// What happened.
    pub event: Event,
}

/// Everything recorded for one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    events: Vec<TimedEvent>,
    received: Vec<u8>,
    received_total: u64,
}

impl Trace {
    /// The events, in order.
    pub fn events(&self) -> &[TimedEvent] {
        &self.events
    }

    /// The bytes received, up to [`RECEIVED_KEPT`].
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// How many bytes were received in all.
    pub fn received_total(&self) -> u64 {
        self.received_total
    }

    /// Whether more bytes arrived than were kept.
    pub fn received_truncated(&self) -> bool {
        self.received_total > self.received.len() as u64
    }

    /// The matched event words, consecutive `data` merged into one: what `events = [...]`
    /// in a suite is compared with.
    pub fn words(&self) -> Vec<&'static str> {
        let mut words: Vec<&'static str> = Vec::new();
        for word in self.events.iter().filter_map(|e| e.event.word()) {
            if !(word == "data" && words.last() == Some(&"data")) {
                words.push(word);
            }
        }
        words
    }

    /// Lines for display, consecutive data chunks merged with their count and sizes.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut i = 0;
        while i < self.events.len() {
            let TimedEvent { at, event } = &self.events[i];
            let stamp = format!("{:>9.3}ms", at.as_secs_f64() * 1e3);
            if let Event::Data(_) = event {
                let run = self.events[i..]
                    .iter()
                    .take_while(|e| matches!(e.event, Event::Data(_)))
                    .count();
                let bytes: usize = self.events[i..i + run]
                    .iter()
                    .map(|e| match e.event {
                        Event::Data(n) => n,
                        _ => 0,
                    })
                    .sum();
                let chunks = if run == 1 {
                    String::new()
                } else {
                    format!(" in {run} chunks")
                };
                lines.push(format!("{stamp} data {bytes} bytes{chunks}"));
                i += run;
                continue;
            }
            lines.push(format!("{stamp} {event}"));
            i += 1;
        }
        lines
    }

    pub(crate) fn push(&mut self, at: Duration, event: Event) {
        self.events.push(TimedEvent { at, event });
    }

    pub(crate) fn record_received(&mut self, data: &[u8]) {
        self.received_total += data.len() as u64;
        let room = RECEIVED_KEPT.saturating_sub(self.received.len());
        let kept = &data[..data.len().min(room)];
        if self.received.len() + kept.len() > RECEIVED_GROWS_TO_CAP {
            // Past this, reserve up to the cap at once: the pages of a large reservation are
            // only faulted in as they are written, and doubling would copy (and fault)
            // everything kept so far again at each step.
            self.received
                .reserve_exact(RECEIVED_KEPT.saturating_sub(self.received.len()));
        }
        self.received.extend_from_slice(kept);
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Data(n) => write!(f, "data {n} bytes"),
            Self::Timer => f.write_str("timer fired"),
            Self::Lost(kind) => write!(f, "lost: {kind}"),
            Self::CallbackFailed(message) => write!(f, "callback failed: {message}"),
            other => f.write_str(other.word().unwrap_or("?")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_merge_consecutive_data() {
        let mut trace = Trace::default();
        let events = [
            Event::Made,
            Event::Data(1),
            Event::Data(1),
            Event::Handshake,
            Event::Data(3),
            Event::Lost(ReasonKind::Done),
        ];
        for (i, e) in events.into_iter().enumerate() {
            trace.push(Duration::from_millis(i as u64), e);
        }
        assert_eq!(trace.words(), ["made", "data", "handshake", "data", "lost"]);
        let lines = trace.lines();
        assert_eq!(lines.len(), 5);
        assert!(lines[1].ends_with("data 2 bytes in 2 chunks"), "{lines:?}");
    }

    #[test]
    fn received_is_capped_but_counted() {
        let mut trace = Trace::default();
        trace.record_received(&vec![b'x'; RECEIVED_KEPT]);
        trace.record_received(b"yz");
        assert_eq!(trace.received().len(), RECEIVED_KEPT);
        assert_eq!(trace.received_total(), RECEIVED_KEPT as u64 + 2);
        assert!(trace.received_truncated());
    }
}
