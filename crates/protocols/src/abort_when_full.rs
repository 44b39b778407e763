//! `abort-when-full`: a streaming producer that aborts once its write buffer is full.
//!
//! It ports Twisted's `StreamingProducerClient` (`twisted/internet/test/test_tcp.py`,
//! `AbortConnectionMixin.test_fullWriteBuffer`): it registers as a streaming producer and
//! writes 32 MiB at once; the write buffer passes the high-water mark and it is told
//! `pause_producing`; `delay_ms` (10) milliseconds later, once the reactor has filled the
//! kernel's buffers too, it aborts. That is the common real use of an abort: giving up on a
//! peer that stopped reading, with everything full. Pair it with a peer that pauses reading.
//! With `when = "data"` it starts on the first data instead of when connected
//! (`StreamingProducerClientLater`, `test_fullWriteBufferAfterByteExchange`), so that over
//! TLS the handshake is over; `send` is written when connected, to get the peer talking.
//!
//! Like Twisted's client it checks what it relies on, by failing (the side then ends `error`):
//! the timer must find it still paused (if the buffer drained first, the abort did not happen
//! with the buffer full), and `connection_lost` must come after `stop_producing`.

use std::time::Duration;

use connectable::{
    Bytes, CallbackResult, DisconnectReason, ProducerKind, Protocol, TimerId, Transport,
};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "abort-when-full",
    about: "writes 32 MiB as a streaming producer, aborts shortly after being paused",
    arguments: &[
        Argument {
            name: "when",
            kind: ArgKind::OneOf(&["made", "data"]),
            about: "start writing in connection_made (default), or on the first data",
        },
        Argument {
            name: "send",
            kind: ArgKind::Text,
            about: "written when the connection is made (default: nothing)",
        },
        Argument {
            name: "size",
            kind: ArgKind::BYTES,
            about: "how many bytes to write, all at once (default 33554432, 32 MiB); at most 1 GiB",
        },
        Argument {
            name: "delay_ms",
            kind: ArgKind::MILLISECONDS,
            about: "abort this many milliseconds after the first pause_producing (default 10); at most an hour",
        },
    ],
    build: |arguments| build(arguments, AbortWhenFull::new),
};

/// When `abort-when-full` starts writing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum When {
    /// In `connection_made`.
    #[default]
    Made,
    /// On the first data.
    Data,
}

/// The arguments of `abort-when-full`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// When to start writing.
    #[serde(default)]
    pub(crate) when: When,
    /// Written in `connection_made`.
    pub(crate) send: Option<String>,
    /// How many bytes to write.
    #[serde(default = "thirty_two_mib")]
    pub(crate) size: usize,
    /// How long after being paused to abort.
    #[serde(default = "ten")]
    pub(crate) delay_ms: u64,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        vec![("size", crate::wide(self.size)), ("delay_ms", self.delay_ms)]
    }
}

fn thirty_two_mib() -> usize {
    32 << 20
}

fn ten() -> u64 {
    10
}

/// The `abort-when-full` probe.
#[derive(Debug)]
pub(crate) struct AbortWhenFull {
    arguments: Arguments,
    streaming: bool,
    paused: bool,
    abort: Option<TimerId>,
    stopped: bool,
}

impl AbortWhenFull {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            streaming: false,
            paused: false,
            abort: None,
            stopped: false,
        }
    }

    fn stream(&mut self, transport: &mut Transport) {
        if self.streaming {
            return;
        }
        self.streaming = true;
        transport.register_producer(ProducerKind::Streaming);
        // Twisted writes b"1234567890" * 32000, a hundred times; the pause comes after.
        let chunk = Bytes::from(b"1234567890".repeat(6554));
        let mut left = self.arguments.size;
        while left > 0 {
            let n = left.min(chunk.len());
            transport.write_shared(chunk.slice(..n));
            left -= n;
        }
    }
}

impl Protocol for AbortWhenFull {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.arguments.send {
            transport.write(send.as_bytes());
        }
        if self.arguments.when == When::Made {
            self.stream(transport);
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        self.stream(transport);
        Ok(())
    }

    fn pause_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        self.paused = true;
        if self.abort.is_none() {
            let delay = Duration::from_millis(self.arguments.delay_ms);
            self.abort = Some(transport.call_later(delay));
        }
        Ok(())
    }

    fn resume_producing(&mut self, _: &mut Transport) -> CallbackResult {
        self.paused = false;
        Ok(())
    }

    fn stop_producing(&mut self, _: &mut Transport) -> CallbackResult {
        self.stopped = true;
        Ok(())
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        if self.abort == Some(timer) {
            transport.abort_connection();
            if !self.paused {
                return Err("the write buffer drained before the abort".into());
            }
        }
        Ok(())
    }

    fn connection_lost(&mut self, _: &mut Transport, _: &DisconnectReason) -> CallbackResult {
        if self.streaming && !self.stopped {
            return Err("stop_producing was never called".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, OPEN, Probe, Step};

    /// Over the high-water mark (64 KiB) with a peer that reads nothing: paused, then aborted
    /// by the timer, which discards what is still buffered.
    #[test]
    #[rustfmt::skip]
    fn aborts_after_being_paused() {
        let probe = Probe("abort-when-full");
        let later = r#"when = "data", send = "hello", size = 70000"#;
        let aborted = "made, data, pause-producing, timer, stop-producing, lost => aborted";
        probe.check_trace(later, true,  &[Step::Feed("h"), Step::Feed("i")],         b"hello", OPEN,  ["hi", "hi"], "made, data, pause-producing, data, stop-producing, lost => done");
        probe.check_trace(later, true,  &[Step::Feed("h"), Step::Timers, Step::Feed("i")], b"hello", ABORT, ["h", "h"], aborted);
        // Below the high-water mark it is never paused, so it never aborts.
        let small = r#"when = "data", size = 65536"#;
        probe.check_trace(small, true,  &[Step::Feed("h"), Step::Timers],            b"",      OPEN,  ["h", "h"], "made, data, stop-producing, lost => done");
    }

    /// A peer that took everything before the timer fired: the abort still happens (as in
    /// Twisted), but the probe fails, since the buffer was not full when it aborted.
    #[test]
    #[rustfmt::skip]
    fn fails_if_the_buffer_drained_before_the_abort() {
        let probe = Probe("abort-when-full");
        let written = "1234567890".repeat(7000);
        let drained = "made, pause-producing, resume-producing, timer, \
                       failed(the write buffer drained before the abort), stop-producing, lost => error";
        probe.check_trace("size = 70000", false, &[Step::Timers], written.as_bytes(), ABORT, ["", ""], drained);
    }
}
