//! `unread-writer`: pauses reading when connected and writes on a timer until its connection
//! is lost (Twisted's `UnreadingWriter` and its `Infinite` producer, in
//! `test_writeAfterShutdownWithoutReading`).
//!
//! Its reading stays paused, so it never sees its peer's EOF: the only way it can learn that
//! the peer has gone is that its writes fail once the peer's socket is closed (a reset). A
//! reactor that waited for a read event to notice would leave it open forever. The writes are
//! paced (`chunk` bytes every `every_ms`) and bounded (`size` in all, after which it writes no
//! more and waits), so that the case's timeout, not the machine's memory, ends a reactor that
//! never notices.

use std::time::Duration;

use connectable::{CallbackResult, Protocol, TimerId, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build, generated};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "unread-writer",
    about: "pauses reading when connected, then writes on a timer until the connection is lost",
    arguments: &[
        Argument {
            name: "chunk",
            kind: ArgKind::BYTES,
            about: "bytes per write (default 1024); at most 1 GiB",
        },
        Argument {
            name: "every_ms",
            kind: ArgKind::MILLISECONDS,
            about: "milliseconds between writes (default 1); at most an hour",
        },
        Argument {
            name: "size",
            kind: ArgKind::BYTES,
            about: "the most bytes it writes in all, then it waits (default 64 MiB); at most 1 GiB",
        },
    ],
    build: |arguments| build(arguments, UnreadWriter::new),
};

/// The arguments of `unread-writer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// Bytes per write.
    pub(crate) chunk: Option<u64>,
    /// Milliseconds between writes.
    pub(crate) every_ms: Option<u64>,
    /// Bytes in all.
    pub(crate) size: Option<u64>,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        let mut found: Vec<(&'static str, u64)> = Vec::new();
        found.extend(self.chunk.map(|n| ("chunk", n)));
        found.extend(self.every_ms.map(|n| ("every_ms", n)));
        found.extend(self.size.map(|n| ("size", n)));
        found
    }
}

/// The `unread-writer` probe.
#[derive(Debug)]
pub(crate) struct UnreadWriter {
    chunk: u64,
    every: Duration,
    size: u64,
    written: u64,
    next: Option<TimerId>,
}

impl UnreadWriter {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            chunk: arguments.chunk.unwrap_or(1024).max(1),
            every: Duration::from_millis(arguments.every_ms.unwrap_or(1)),
            size: arguments.size.unwrap_or(64 << 20),
            written: 0,
            next: None,
        }
    }

    /// Writes the next chunk, and sets the timer for the one after, while `size` allows.
    fn write_next(&mut self, transport: &mut Transport) {
        let n = self.chunk.min(self.size - self.written);
        if n == 0 {
            return;
        }
        let chunk: Vec<u8> = (self.written..self.written + n).map(generated).collect();
        transport.write(&chunk);
        self.written += n;
        self.next = Some(transport.call_later(self.every));
    }
}

impl Protocol for UnreadWriter {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        transport.pause_reading();
        self.write_next(transport);
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        // Reading is paused from the start: nothing arrives (the trace would show it if it
        // did, and the case's `received` checks it).
        Ok(())
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        if self.next == Some(timer) {
            self.write_next(transport);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{Delivery, DisconnectReason};

    use crate::testing::parse_toml;

    /// Rows: arguments, timer rounds fired, then the bytes written in all and whether a
    /// timer is still set. Reading stays paused whatever arrives.
    #[test]
    #[rustfmt::skip]
    fn writes_paced_chunks_up_to_size_without_reading() {
        let rows: [(&str, usize, usize, bool); 4] = [
            ("",                        0, 1024, true),
            ("",                        3, 4096, true),
            ("chunk = 3, size = 7",     1, 6,    true),
            ("chunk = 3, size = 7",     5, 7,    false),
        ];
        for (arguments, rounds, written, more) in rows {
            let spec = parse_toml("unread-writer", arguments).unwrap();
            let mut harness = Harness::new(spec.instantiate(), Delivery::Whole);
            harness.feed(b"ignored while paused");
            harness.fire_timers(rounds);
            let context = format!("{arguments} after {rounds} rounds");
            assert_eq!(harness.written().len(), written, "{context}");
            let expected: Vec<u8> = (0..written as u64).map(crate::generated).collect();
            assert_eq!(harness.written(), expected, "{context}: the generated pattern");
            assert_eq!(!harness.timers().is_empty(), more, "{context}");
            assert!(!harness.wants_read(), "{context}: reading stays paused");
            assert_eq!(harness.trace().received(), b"", "{context}");
            harness.end(DisconnectReason::Lost("reset".into()));
            assert_eq!(harness.trace().words(), ["made", "paused", "lost"], "{context}");
        }
    }
}
