//! The event trace of one side: what its protocol saw, when, and what it received.
//!
//! The reactor records the trace, not the probe, so every probe gets one for free and a
//! failing trial can show both sides' traces side by side.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use crate::ReasonKind;
use crate::buffers::RECEIVED_BUFFERS;
use crate::transport::CloseRequest;

/// By default at most this many received bytes are kept for expectations; the count goes on.
/// A side that needs fewer says so ([`ConnectableProtocol::keep_received`]).
///
/// [`ConnectableProtocol::keep_received`]: crate::ConnectableProtocol::keep_received
pub const RECEIVED_KEPT: usize = 4 << 20;

/// At most this many events are kept one by one. Past it, a `data` event that follows another
/// is merged into it (bytes added, chunks counted): a peer flooding a side that gets its bytes
/// one at a time would otherwise grow the trace by an event, 48 bytes, for every byte.
pub const EVENTS_KEPT: usize = 1 << 16;

/// At most this many events of a side are written one by one to a report (see
/// [`Trace::reported`]): the first half and the last half, the ones between merged into one
/// entry with their counts. A flood case's 65,536 events made a 10-14 MB trace file, and the
/// catalogue's report 1.3 GB, too large for a CI artifact.
pub const EVENTS_REPORTED: usize = 256;

/// At most this many lines show a trace (see [`Trace::lines`]).
pub const LINES_SHOWN: usize = 400;

/// What is kept of the received bytes grows by doubling up to this size, and straight to
/// [`RECEIVED_KEPT`] past it.
const RECEIVED_GROWS_TO_CAP: usize = 64 * 1024;

/// Something that happened to one side's protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// This side is a TLS client that does not verify the server's certificate, because its
    /// case says `tls = { verify = false }`; recorded when the pairing starts.
    Unverified,
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
    /// The protocol asked the connection to end (shown, not matched by `events`: the
    /// callback it asked in is what suites match).
    CloseRequested(CloseRequest),
    /// The protocol asked to half-close (shown, not matched by `events`).
    HalfCloseRequested,
    /// `connection_lost` ran with a reason of this kind.
    Lost(ReasonKind),
    /// A callback failed (panicked or returned an error) with this message.
    CallbackFailed(String),
}

impl Event {
    /// Every word an `events` expectation can use, in documentation order.
    pub const WORDS: &'static [&'static str] = &[
        "unverified",
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
            Self::Unverified => Some("unverified"),
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
            Self::Timer
            | Self::CloseRequested(_)
            | Self::HalfCloseRequested
            | Self::CallbackFailed(_) => None,
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

/// A side's events as a report shows them ([`Trace::reported`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedEvents<'a> {
    /// The first events, one by one (all of them when nothing is merged).
    pub first: &'a [TimedEvent],
    /// The events between the first and the last, merged.
    pub merged: Option<MergedEvents>,
    /// The last events, one by one.
    pub last: &'a [TimedEvent],
}

/// Events merged in a report: when they happened, and how many of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedEvents {
    /// When the first of them happened.
    pub from: Duration,
    /// When the last of them happened.
    pub to: Duration,
    /// How many (data chunks counted one by one).
    pub events: u64,
    /// The bytes of their `data` events.
    pub data_bytes: u64,
    /// How many of each kind, by event word, in the order first seen.
    pub counts: Vec<(&'static str, u64)>,
}

/// Everything recorded for one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    events: Vec<TimedEvent>,
    /// Past [`EVENTS_KEPT`]: the index of each merged `data` event, with how many more chunks
    /// than one it stands for.
    merged: Vec<(usize, u64)>,
    received: Vec<u8>,
    received_total: u64,
    /// At most this many of the received bytes are kept.
    received_limit: usize,
    /// What the received bytes are compared with as they arrive, all of them, when a side's
    /// expectation compares content (keeping a copy of everything would not scale).
    comparison: Option<ReceivedComparison>,
}

impl Default for Trace {
    fn default() -> Self {
        Self {
            events: Vec::new(),
            merged: Vec::new(),
            received: Vec::new(),
            received_total: 0,
            received_limit: RECEIVED_KEPT,
            comparison: None,
        }
    }
}

impl Trace {
    /// The events, in order.
    pub fn events(&self) -> &[TimedEvent] {
        &self.events
    }

    /// The bytes received, up to [`RECEIVED_KEPT`] (or the side's own limit).
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

    /// What comparing every received byte with the side's expected bytes found, when it
    /// was asked for ([`ConnectableProtocol::compare_received`]).
    ///
    /// [`ConnectableProtocol::compare_received`]: crate::ConnectableProtocol::compare_received
    pub fn received_comparison(&self) -> Option<&ReceivedComparison> {
        self.comparison.as_ref()
    }

    /// The events as a report writes them, at most `limit` one by one: all of them when they
    /// are that few, otherwise the first and the last `limit / 2` with what is between
    /// merged and counted (which a reader of a long trace needs: how it started, how it
    /// ended, and how much happened in between).
    pub fn reported(&self, limit: usize) -> ReportedEvents<'_> {
        let events = &self.events;
        if events.len() <= limit {
            return ReportedEvents {
                first: events,
                merged: None,
                last: &[],
            };
        }
        let half = limit / 2;
        let (first, rest) = events.split_at(half);
        let (between, last) = rest.split_at(rest.len() - half);
        let mut merged = MergedEvents {
            from: between.first().map_or(Duration::ZERO, |e| e.at),
            to: between.last().map_or(Duration::ZERO, |e| e.at),
            events: 0,
            data_bytes: 0,
            counts: Vec::new(),
        };
        let range = half..half + between.len();
        for timed in between {
            let word = timed.event.word().unwrap_or(match timed.event {
                Event::Timer => "timer-fired",
                Event::CallbackFailed(_) => "callback-failed",
                _ => "asked-close",
            });
            merged.events += 1;
            if let Event::Data(bytes) = timed.event {
                merged.data_bytes += bytes as u64;
            }
            match merged.counts.iter_mut().find(|(w, _)| *w == word) {
                Some((_, count)) => *count += 1,
                None => merged.counts.push((word, 1)),
            }
        }
        // Chunks merged into one event while the side ran count as what they were.
        let more: u64 = self
            .merged
            .iter()
            .filter(|(index, _)| range.contains(index))
            .map(|(_, more)| more)
            .sum();
        if more > 0 {
            merged.events += more;
            if let Some((_, count)) = merged.counts.iter_mut().find(|(w, _)| *w == "data") {
                *count += more;
            }
        }
        ReportedEvents {
            first,
            merged: Some(merged),
            last,
        }
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

    /// Lines for display, consecutive data chunks merged with their count and sizes. A trace
    /// of more than [`LINES_SHOWN`] lines shows its first and last halves of that, with one
    /// line in between saying how many were left out: a side that ran for seconds of turns
    /// (a flood) would otherwise make a failure message of megabytes.
    pub fn lines(&self) -> Vec<String> {
        // Where each line starts: a run of data events is one line.
        let mut starts = Vec::new();
        let mut i = 0;
        while i < self.events.len() {
            starts.push(i);
            i += match self.events[i].event {
                Event::Data(_) => self.events[i..]
                    .iter()
                    .take_while(|e| matches!(e.event, Event::Data(_)))
                    .count(),
                _ => 1,
            };
        }
        starts.push(self.events.len());
        let line = |k: usize| self.line(starts[k]..starts[k + 1]);
        let count = starts.len() - 1;
        if count <= LINES_SHOWN {
            return (0..count).map(line).collect();
        }
        let half = LINES_SHOWN / 2;
        let mut lines: Vec<String> = (0..half).map(line).collect();
        lines.push(format!(
            "{} ... {} more lines",
            stamp(self.events[starts[half]].at),
            count - 2 * half
        ));
        lines.extend((count - half..count).map(line));
        lines
    }

    /// The line of the events in `range`: one event, or a run of data events.
    fn line(&self, range: std::ops::Range<usize>) -> String {
        let TimedEvent { at, event } = &self.events[range.start];
        let stamp = stamp(*at);
        if !matches!(event, Event::Data(_)) {
            return format!("{stamp} {event}");
        }
        let bytes: usize = self.events[range.clone()]
            .iter()
            .map(|e| match e.event {
                Event::Data(n) => n,
                _ => 0,
            })
            .sum();
        let merged: u64 = self
            .merged
            .iter()
            .filter(|(index, _)| range.contains(index))
            .map(|(_, more)| more)
            .sum();
        let chunks = range.len() as u64 + merged;
        if chunks == 1 {
            format!("{stamp} data {bytes} bytes")
        } else {
            format!("{stamp} data {bytes} bytes in {chunks} chunks")
        }
    }

    pub(crate) fn push(&mut self, at: Duration, event: Event) {
        if let Event::Data(n) = event
            && self.events.len() >= EVENTS_KEPT
            && let Some(TimedEvent {
                event: Event::Data(bytes),
                ..
            }) = self.events.last_mut()
        {
            *bytes += n;
            let last = self.events.len() - 1;
            match self.merged.last_mut() {
                Some((index, more)) if *index == last => *more += 1,
                _ => self.merged.push((last, 1)),
            }
            return;
        }
        self.events.push(TimedEvent { at, event });
    }

    /// Keeps at most `limit` received bytes from now on (those kept already stay).
    pub(crate) fn set_received_limit(&mut self, limit: usize) {
        self.received_limit = limit;
    }

    /// Compares every byte received from now on with `expected`.
    pub(crate) fn compare_received(&mut self, expected: ExpectedBytes) {
        self.comparison = Some(ReceivedComparison::new(expected));
    }

    /// Counts bytes received elsewhere and reported by length only.
    pub(crate) fn count_received(&mut self, bytes: u64) {
        self.received_total += bytes;
    }

    pub(crate) fn record_received(&mut self, data: &[u8]) {
        self.received_total += data.len() as u64;
        if let Some(comparison) = &mut self.comparison {
            comparison.feed(data);
        }
        let room = self.received_limit.saturating_sub(self.received.len());
        let kept = &data[..data.len().min(room)];
        if self.received.len() + kept.len() > RECEIVED_GROWS_TO_CAP
            && self.received.capacity() < self.received_limit
        {
            // Past this, room for up to the cap at once: doubling would copy (and fault in)
            // everything kept so far again at each step. A buffer a finished trace gave back
            // has its pages already; a fresh reservation costs a page fault per 4 KiB as it
            // fills, about as much as receiving those bytes over loopback.
            match RECEIVED_BUFFERS.take_at_least(self.received_limit) {
                Some(mut kept_before) => {
                    kept_before.clear();
                    kept_before.extend_from_slice(&self.received);
                    self.received = kept_before;
                }
                None => self
                    .received
                    .reserve_exact(self.received_limit.saturating_sub(self.received.len())),
            }
        }
        self.received.extend_from_slice(kept);
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        // Only a buffer grown to the cap is kept (see `RECEIVED_BUFFERS`).
        RECEIVED_BUFFERS.give_back(std::mem::take(&mut self.received));
    }
}

/// The bytes a side is expected to receive, compared with what arrives as it arrives, so that
/// a check covers every byte however many there are, without keeping them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpectedBytes {
    /// Exactly these bytes.
    Exact(Arc<[u8]>),
    /// The first `len` bytes of `pattern` repeated over and over (an empty pattern expects
    /// nothing): a generated bulk transfer, described in a few bytes.
    Cycle {
        /// The bytes that repeat.
        pattern: Arc<[u8]>,
        /// How many bytes are expected in all.
        len: u64,
    },
}

impl ExpectedBytes {
    /// How many bytes are expected.
    pub fn len(&self) -> u64 {
        match self {
            Self::Exact(bytes) => bytes.len() as u64,
            Self::Cycle { pattern, .. } if pattern.is_empty() => 0,
            Self::Cycle { len, .. } => *len,
        }
    }

    /// Whether no byte is expected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The expected bytes at the offsets in `range`, cut at the end of what is expected.
    pub fn window(&self, range: Range<u64>) -> Vec<u8> {
        let end = range.end.min(self.len());
        (range.start.min(end)..end).map(|i| self.at(i)).collect()
    }

    /// The expected byte at `offset`, which is below [`len`](Self::len).
    fn at(&self, offset: u64) -> u8 {
        match self {
            Self::Exact(bytes) => bytes[offset as usize],
            Self::Cycle { pattern, .. } => pattern[(offset % pattern.len() as u64) as usize],
        }
    }

    /// Where `got`, received from byte `start` on and no longer than what is still
    /// expected, first differs from what is expected there.
    fn mismatch(&self, start: u64, got: &[u8]) -> Option<usize> {
        match self {
            Self::Exact(bytes) => {
                let wanted = &bytes[start as usize..start as usize + got.len()];
                (wanted != got).then(|| first_unequal(wanted, got))
            }
            Self::Cycle { pattern, .. } => {
                // Compared a run of the pattern at a time, which the compiler makes a memcmp.
                let mut done = 0;
                let mut phase = (start % pattern.len() as u64) as usize;
                while done < got.len() {
                    let run = (pattern.len() - phase).min(got.len() - done);
                    let (wanted, part) = (&pattern[phase..phase + run], &got[done..done + run]);
                    if wanted != part {
                        return Some(done + first_unequal(wanted, part));
                    }
                    done += run;
                    phase = 0;
                }
                None
            }
        }
    }
}

fn first_unequal(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0)
}

/// How many expected bytes a [`Difference`] shows before the first difference.
pub const WINDOW_BEFORE: u64 = 8;
/// How many bytes a [`Difference`] shows from the first difference on.
pub const WINDOW_AFTER: u64 = 16;

/// Every received byte compared with the [`ExpectedBytes`], as they arrive: the count and the
/// first difference (with the bytes received just after it) are all that is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedComparison {
    expected: ExpectedBytes,
    compared: u64,
    /// Where the first difference is, and up to [`WINDOW_AFTER`] bytes received from there.
    different: Option<(u64, Vec<u8>)>,
}

/// Where what was received first differs from what was expected, with a short window of
/// both around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The offset of the first byte that differs (or of the first byte missing, or extra).
    pub offset: u64,
    /// The offset the windows start at: up to [`WINDOW_BEFORE`] bytes before `offset`.
    pub window_start: u64,
    /// The expected bytes from `window_start`, up to [`WINDOW_AFTER`] past `offset`.
    pub expected: Vec<u8>,
    /// The received bytes from `window_start`, up to [`WINDOW_AFTER`] past `offset`.
    pub got: Vec<u8>,
}

impl ReceivedComparison {
    /// A comparison that has seen nothing yet.
    pub fn new(expected: ExpectedBytes) -> Self {
        Self {
            expected,
            compared: 0,
            different: None,
        }
    }

    /// Compares the next bytes received.
    pub fn feed(&mut self, data: &[u8]) {
        let start = self.compared;
        self.compared += data.len() as u64;
        if let Some((_, after)) = &mut self.different {
            let room = (WINDOW_AFTER as usize).saturating_sub(after.len());
            after.extend_from_slice(&data[..data.len().min(room)]);
            return;
        }
        let still_expected = self.expected.len().saturating_sub(start);
        let comparable = data
            .len()
            .min(usize::try_from(still_expected).unwrap_or(usize::MAX));
        let at = match self.expected.mismatch(start, &data[..comparable]) {
            Some(at) => at,
            None if comparable < data.len() => comparable,
            None => return,
        };
        let after = &data[at..];
        self.different = Some((
            start + at as u64,
            after[..after.len().min(WINDOW_AFTER as usize)].to_vec(),
        ));
    }

    /// What the bytes are compared with.
    pub fn expected(&self) -> &ExpectedBytes {
        &self.expected
    }

    /// How many bytes were compared: every byte received since the comparison started.
    pub fn compared(&self) -> u64 {
        self.compared
    }

    /// The first difference, counting bytes still missing at the end; `None` when every
    /// expected byte arrived and nothing more.
    pub fn first_difference(&self) -> Option<Difference> {
        let (offset, after) = match &self.different {
            Some((offset, after)) => (*offset, after.as_slice()),
            None if self.compared < self.expected.len() => (self.compared, &[][..]),
            None => return None,
        };
        let window_start = offset.saturating_sub(WINDOW_BEFORE);
        let mut got = self.expected.window(window_start..offset);
        got.extend_from_slice(after);
        Some(Difference {
            offset,
            window_start,
            expected: self.expected.window(window_start..offset + WINDOW_AFTER),
            got,
        })
    }
}

/// A trace of these events with nothing received: for tests of code that reads traces
/// (reports, explanations) without running a pairing.
impl FromIterator<TimedEvent> for Trace {
    fn from_iter<I: IntoIterator<Item = TimedEvent>>(events: I) -> Self {
        let mut trace = Self::default();
        trace.events = events.into_iter().collect();
        trace
    }
}

/// A time since the pairing started as trace lines show it, right-aligned so that comparing
/// stamps as text orders them.
fn stamp(at: Duration) -> String {
    format!("{:>9.3}ms", at.as_secs_f64() * 1e3)
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Data(n) => write!(f, "data {n} bytes"),
            Self::Timer => f.write_str("timer fired"),
            Self::CloseRequested(CloseRequest::Lose) => f.write_str("asked: lose_connection"),
            Self::CloseRequested(CloseRequest::LoseWithoutCloseNotify) => {
                f.write_str("asked: lose_connection_without_close_notify")
            }
            Self::CloseRequested(CloseRequest::Abort) => f.write_str("asked: abort_connection"),
            Self::HalfCloseRequested => f.write_str("asked: half_close"),
            Self::Unverified => {
                f.write_str("unverified: tls verify = false, any server certificate is accepted")
            }
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
    fn data_past_the_kept_events_is_merged_but_counted() {
        let mut trace = Trace::default();
        let at = Duration::ZERO;
        trace.push(at, Event::Made);
        for _ in 1..EVENTS_KEPT {
            trace.push(at, Event::Data(1));
        }
        // A million more one-byte chunks, a pause in the middle, then the end.
        for i in 0..1_000_000 {
            if i == 500_000 {
                trace.push(at, Event::Paused);
            }
            trace.push(at, Event::Data(1));
        }
        trace.push(at, Event::Lost(ReasonKind::Lost));
        assert_eq!(trace.events().len(), EVENTS_KEPT + 3);
        assert_eq!(trace.words(), ["made", "data", "paused", "data", "lost"]);
        let lines = trace.lines();
        let chunks = EVENTS_KEPT - 1 + 500_000;
        assert!(
            lines[1].ends_with(&format!("data {chunks} bytes in {chunks} chunks")),
            "{lines:?}"
        );
        assert!(
            lines[3].ends_with("data 500000 bytes in 500000 chunks"),
            "{lines:?}"
        );
    }

    /// Rows: a trace (built by pushing `made`, `data_chunks` one-byte chunks, `pairs` x (a
    /// timer, 2 bytes of data), then `lost`) and the limit; then how many events are reported
    /// one by one (first, last) and what is merged (events, data bytes, counts by word).
    #[test]
    fn a_report_keeps_the_first_and_last_events_and_counts_the_rest() {
        type Merged = (u64, u64, &'static [(&'static str, u64)]);
        /// Data chunks, pairs, limit; first and last reported; what is merged.
        type Row = (usize, usize, usize, (usize, usize), Option<Merged>);
        let rows: &[Row] = &[
            // Few enough: everything, nothing merged.
            (0, 3, 8, (8, 0), None),
            (0, 0, 2, (2, 0), None),
            // 202 events, limit 8: made t1 d1 t2 | d2 .. t99 | d99 t100 d100 lost.
            (
                0,
                100,
                8,
                (4, 4),
                Some((194, 194, &[("data", 97), ("timer-fired", 97)])),
            ),
            // 1,001 chunks merged into one event while the side ran (past EVENTS_KEPT) are
            // counted one by one.
            (
                EVENTS_KEPT + 1000,
                100,
                8,
                (4, 4),
                Some((66_730, 66_729, &[("data", 66_631), ("timer-fired", 99)])),
            ),
        ];
        for &(data_chunks, pairs, limit, (first, last), expected) in rows {
            let mut trace = Trace::default();
            trace.push(Duration::ZERO, Event::Made);
            for _ in 0..data_chunks {
                trace.push(Duration::from_millis(1), Event::Data(1));
            }
            for i in 0..pairs as u64 {
                trace.push(Duration::from_millis(i + 2), Event::Timer);
                trace.push(Duration::from_millis(i + 2), Event::Data(2));
            }
            trace.push(Duration::from_secs(2), Event::Lost(ReasonKind::Done));
            let context = format!("chunks {data_chunks}, pairs {pairs}, limit {limit}");
            let reported = trace.reported(limit);
            assert_eq!(
                (reported.first.len(), reported.last.len()),
                (first, last),
                "{context}"
            );
            assert_eq!(reported.first[0].event, Event::Made, "{context}");
            let end = reported.last.last().or(reported.first.last());
            assert_eq!(
                end.map(|e| &e.event),
                Some(&Event::Lost(ReasonKind::Done)),
                "{context}"
            );
            let merged = reported
                .merged
                .as_ref()
                .map(|m| (m.events, m.data_bytes, m.counts.as_slice()));
            assert_eq!(merged, expected, "{context}");
            if let Some(merged) = &reported.merged {
                // Every chunk is reported one by one or merged: none twice, none lost.
                let chunks = 2 + 2 * pairs as u64 + data_chunks as u64;
                let shown_chunks: u64 = (first + last) as u64
                    + trace
                        .merged
                        .iter()
                        .filter(|(i, _)| *i < first || *i >= trace.events().len() - last)
                        .map(|(_, more)| more)
                        .sum::<u64>();
                assert_eq!(shown_chunks + merged.events, chunks, "{context}");
                assert!(merged.from <= merged.to, "{context}");
            }
        }
    }

    #[test]
    fn a_long_trace_shows_its_beginning_and_end() {
        let mut trace = Trace::default();
        trace.push(Duration::ZERO, Event::Made);
        for i in 1..10_000 {
            trace.push(Duration::from_millis(i), Event::Timer);
            trace.push(Duration::from_millis(i), Event::Data(2));
        }
        trace.push(Duration::from_secs(10), Event::Lost(ReasonKind::Lost));
        let lines = trace.lines();
        assert_eq!(lines.len(), LINES_SHOWN + 1);
        assert!(lines[0].ends_with("0.000ms made"), "{lines:?}");
        assert!(lines[1].ends_with("1.000ms timer fired"), "{lines:?}");
        assert!(lines[2].ends_with("1.000ms data 2 bytes"), "{lines:?}");
        let skipped = 2 * 9_999 + 2 - LINES_SHOWN;
        let middle = &lines[LINES_SHOWN / 2];
        assert!(
            middle.ends_with(&format!("100.000ms ... {skipped} more lines")),
            "{middle}"
        );
        assert!(
            lines[LINES_SHOWN].ends_with("10000.000ms lost: lost"),
            "{lines:?}"
        );
    }

    /// Expected bytes, the chunks received, then the first difference's offset, expected
    /// window and received window (`None`: every byte matched).
    type ComparisonRow<'a> = (
        ExpectedBytes,
        &'a [&'a [u8]],
        Option<(u64, &'a [u8], &'a [u8])>,
    );

    #[test]
    fn every_received_byte_is_compared() {
        let exact = |b: &[u8]| ExpectedBytes::Exact(Arc::from(b));
        let cycle = |len| ExpectedBytes::Cycle {
            pattern: Arc::from(&b"abc"[..]),
            len,
        };
        let rows: [ComparisonRow<'_>; 12] = [
            (exact(b"ping"), &[b"pi", b"ng"], None),
            (
                exact(b"ping"),
                &[b"p", b"o", b"ng"],
                Some((1, b"ping", b"pong")),
            ),
            (exact(b"ping"), &[b"pi"], Some((2, b"ping", b"pi"))),
            (
                exact(b"ping"),
                &[b"ping", b"!?"],
                Some((4, b"ping", b"ping!?")),
            ),
            (exact(b""), &[], None),
            (exact(b""), &[b"x"], Some((0, b"", b"x"))),
            (cycle(7), &[b"abcabca"], None),
            (cycle(7), &[b"ab", b"cab", b"ca"], None),
            (
                cycle(7),
                &[b"abcab", b"cb"],
                Some((6, b"abcabca", b"abcabcb")),
            ),
            (cycle(3), &[b"abc", b"abc"], Some((3, b"abc", b"abcabc"))),
            // The window: 8 bytes before the difference, 16 from it, across chunks.
            (
                cycle(30),
                &[b"abcabcabcabcabcabcab", b"Xa", b"bcabcabcab"],
                Some((20, b"abcabcabcabcabcabc", b"abcabcabXabcabcabcab")),
            ),
            (cycle(0), &[], None),
        ];
        for (expected, chunks, difference) in rows {
            let mut comparison = ReceivedComparison::new(expected.clone());
            for chunk in chunks {
                comparison.feed(chunk);
            }
            let total: usize = chunks.iter().map(|c| c.len()).sum();
            assert_eq!(
                comparison.compared(),
                total as u64,
                "{expected:?} {chunks:?}"
            );
            let found = comparison.first_difference();
            let found = found
                .as_ref()
                .map(|d| (d.offset, d.expected.as_slice(), d.got.as_slice()));
            assert_eq!(found, difference, "{expected:?} {chunks:?}");
        }
    }

    #[test]
    fn a_trace_compares_beyond_what_it_keeps() {
        // 8 MiB of the pattern, only 64 bytes kept, the very last byte corrupted.
        let len = 8 << 20;
        let mut trace = Trace::default();
        trace.set_received_limit(64);
        trace.compare_received(ExpectedBytes::Cycle {
            pattern: Arc::from(&b"abcdefghijklmnopqrstuvwxyz"[..]),
            len,
        });
        let chunk = 65_536u64;
        for start in (0..len).step_by(chunk as usize) {
            let mut piece: Vec<u8> = (start..start + chunk)
                .map(|i| b'a' + (i % 26) as u8)
                .collect();
            if start + chunk == len {
                *piece.last_mut().unwrap() ^= 0xff;
            }
            trace.record_received(&piece);
        }
        assert_eq!(trace.received().len(), 64);
        let comparison = trace.received_comparison().unwrap();
        assert_eq!(comparison.compared(), len);
        let difference = comparison.first_difference().unwrap();
        assert_eq!(difference.offset, len - 1);
        assert_eq!(difference.expected.len(), 9);
        assert_ne!(difference.expected[8], difference.got[8]);
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

    #[test]
    fn a_side_can_keep_fewer_received_bytes() {
        for (limit, reads, kept) in [
            (3, &[&b"abcdef"[..]][..], &b"abc"[..]),
            (3, &[b"ab", b"cd"], b"abc"),
            (0, &[b"ab"], b""),
            (8, &[b"ab", b"cd"], b"abcd"),
        ] {
            let mut trace = Trace::default();
            trace.set_received_limit(limit);
            for read in reads {
                trace.record_received(read);
            }
            let total: usize = reads.iter().map(|r| r.len()).sum();
            assert_eq!(trace.received(), kept, "limit {limit}");
            assert_eq!(trace.received_total(), total as u64);
            assert_eq!(trace.received_truncated(), total > kept.len());
        }
    }
}
