//! `large-buffer-writer`: writes all but the last byte of a large payload at once, the last byte
//! a moment later, then closes.
//!
//! It ports Twisted's `LargeBufferWriterProtocol` (`twisted/test/test_tcp.py`,
//! `LargeBufferTests.testWriter`): one `write` of 60 MiB - 1 bytes of `X` in `connectionMade`
//! (a single huge buffer, which some platforms' sockets cannot take in one call), then, 1 ms
//! later (`callLater(0.001, ...)`), one more `X` and `loseConnection`: a second write while
//! the first is still being flushed (Twisted issue #9446). The reader must count exactly
//! `size` bytes, no fewer and no more, and both sides must end cleanly. The delay is a timer
//! ([`Transport::call_later`]), so the probe stays clock-free.

use std::time::Duration;

use connectable::{Bytes, CallbackResult, Protocol, TimerId, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "large-buffer-writer",
    about: "writes size - 1 bytes of X when connected, then after delay_ms the last X, then closes (lose_connection)",
    arguments: &[
        Argument {
            name: "size",
            kind: ArgKind::BYTES,
            about: "the payload's length in bytes, all X (required; 0 writes nothing and only closes); at most 1 GiB",
        },
        Argument {
            name: "delay_ms",
            kind: ArgKind::MILLISECONDS,
            about: "milliseconds between the big write and the last byte (default 1, as in Twisted); at most an hour",
        },
    ],
    build: |arguments| build(arguments, LargeBufferWriter::new),
};

/// The arguments of `large-buffer-writer`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// The payload's length.
    pub(crate) size: u64,
    /// Milliseconds before the last byte and the close.
    #[serde(default = "one")]
    pub(crate) delay_ms: u64,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        vec![("size", self.size), ("delay_ms", self.delay_ms)]
    }
}

fn one() -> u64 {
    1
}

/// What is written: Twisted writes `X`s. A slice of this is written again and again, so a
/// large payload is never built in one piece by the probe.
static XS: [u8; 64 * 1024] = [b'X'; 64 * 1024];

/// The `large-buffer-writer` probe.
#[derive(Debug)]
pub(crate) struct LargeBufferWriter {
    arguments: Arguments,
    last: Option<TimerId>,
}

impl LargeBufferWriter {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            last: None,
        }
    }
}

impl Protocol for LargeBufferWriter {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        let mut left = self.arguments.size.saturating_sub(1);
        while left > 0 {
            let n = usize::try_from(left).map_or(XS.len(), |left| left.min(XS.len()));
            transport.write_shared(Bytes::from_static(&XS[..n]));
            left -= n as u64;
        }
        let delay = Duration::from_millis(self.arguments.delay_ms);
        self.last = Some(transport.call_later(delay));
        Ok(())
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        if self.last == Some(timer) {
            self.last = None;
            if self.arguments.size > 0 {
                transport.write(b"X");
            }
            transport.lose_connection();
        }
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use connectable::harness::Harness;
    use connectable::{Delivery, TimerId};

    use crate::testing::Step::{Feed, Timers};
    use crate::testing::{LOSE, OPEN, Probe, parse_toml};

    #[test]
    #[rustfmt::skip]
    fn writes_all_but_one_byte_then_the_last_and_closes_on_the_timer() {
        let probe = Probe("large-buffer-writer");
        probe.check_steps("size = 3",                &[],                   b"XX",  OPEN, ["", ""]);
        probe.check_steps("size = 3",                &[Feed("ab")],         b"XX",  OPEN, ["ab", "ab"]);
        probe.check_steps("size = 3",                &[Timers],             b"XXX", LOSE, ["", ""]);
        probe.check_steps("size = 3, delay_ms = 0",  &[Feed("a"), Timers],  b"XXX", LOSE, ["a", "a"]);
        // Once it closed, nothing more is handed over.
        probe.check_steps("size = 3",                &[Timers, Feed("a")],  b"XXX", LOSE, ["", ""]);
        probe.check_steps("size = 1",                &[],                   b"",    OPEN, ["", ""]);
        probe.check_steps("size = 1",                &[Timers],             b"X",   LOSE, ["", ""]);
        probe.check_steps("size = 0",                &[Timers],             b"",    LOSE, ["", ""]);
    }

    #[test]
    fn a_large_payload_is_all_xs_in_one_buffer() {
        let size = 3 * 64 * 1024 + 5;
        let expected = vec![b'X'; size];
        let probe = Probe("large-buffer-writer");
        probe.check_steps(
            &format!("size = {size}"),
            &[],
            &expected[1..],
            OPEN,
            ["", ""],
        );
        probe.check_steps(
            &format!("size = {size}"),
            &[Timers],
            &expected,
            LOSE,
            ["", ""],
        );
    }

    #[test]
    #[rustfmt::skip]
    fn sets_one_timer_with_the_delay() {
        let cases: &[(&str, u64)] = &[
            ("size = 3",                  1),
            ("size = 3, delay_ms = 0",    0),
            ("size = 3, delay_ms = 250",  250),
        ];
        for (arguments, millis) in cases {
            let spec = parse_toml("large-buffer-writer", arguments).unwrap();
            let harness = Harness::new(spec.instantiate(), Delivery::Whole);
            assert_eq!(
                harness.timers(),
                [(TimerId(0), Duration::from_millis(*millis))],
                "{arguments}"
            );
        }
    }
}
