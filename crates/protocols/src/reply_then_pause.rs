//! `reply-then-pause`: answers the first data, then stops reading.
//!
//! It ports Twisted's `EventualNoReadServer` (`twisted/internet/test/test_tcp.py`, the server of
//! `AbortConnectionMixin.test_fullWriteBufferAfterByteExchange`): once some bytes have arrived
//! (over TLS, the handshake is then over) it writes `send` and stops reading, so that the
//! peer's writes pile up in the kernel's buffers and then in the peer's write buffer. Writing
//! goes on while reading is paused, so the reply still goes out.
//!
//! Twisted's test has the peer restart this side's reading from its `connectionLost`, so that
//! it notices the connection is gone; probes cannot reach each other, so this one resumes
//! reading by itself `resume_after_ms` milliseconds after pausing (never, if not given). Give
//! the peer ample time to do what it must before then: while reading is paused a reset is not
//! seen either.

use std::time::Duration;

use connectable::{CallbackResult, Protocol, TimerId, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "reply-then-pause",
    about: "on the first data writes a reply and pauses reading, resumes after a delay",
    arguments: &[
        Argument {
            name: "send",
            kind: ArgKind::Text,
            about: "the reply, written when the first data arrives (default: nothing)",
        },
        Argument {
            name: "resume_after_ms",
            kind: ArgKind::MILLISECONDS,
            about: "resume reading this many milliseconds after pausing (default: never); at most an hour",
        },
    ],
    build: |arguments| build(arguments, ReplyThenPause::new),
};

/// The arguments of `reply-then-pause`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// The reply.
    pub(crate) send: Option<String>,
    /// How long to stay paused.
    pub(crate) resume_after_ms: Option<u64>,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        self.resume_after_ms.map(|n| ("resume_after_ms", n)).into_iter().collect()
    }
}

/// The `reply-then-pause` probe.
#[derive(Debug)]
pub(crate) struct ReplyThenPause {
    arguments: Arguments,
    replied: bool,
    resume: Option<TimerId>,
}

impl ReplyThenPause {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            replied: false,
            resume: None,
        }
    }
}

impl Protocol for ReplyThenPause {
    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        if !self.replied {
            self.replied = true;
            if let Some(send) = &self.arguments.send {
                transport.write(send.as_bytes());
            }
            transport.pause_reading();
            if let Some(ms) = self.arguments.resume_after_ms {
                self.resume = Some(transport.call_later(Duration::from_millis(ms)));
            }
        }
        Ok(())
    }

    fn timer_fired(&mut self, transport: &mut Transport, timer: TimerId) -> CallbackResult {
        if self.resume == Some(timer) {
            transport.resume_reading();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{OPEN, Probe, Step};

    /// The first byte (whole: the first chunk) is handed over, the rest waits until the timer
    /// resumes reading; the reply goes out at once.
    #[test]
    #[rustfmt::skip]
    fn replies_pauses_and_resumes() {
        let probe = Probe("reply-then-pause");
        let resumes = r#"send = "hello", resume_after_ms = 100"#;
        probe.check_trace(resumes, false, &[],                                         b"",      OPEN, ["", ""],       "made, lost => done");
        probe.check_trace(resumes, false, &[Step::Feed("a"), Step::Feed("bc")],       b"hello", OPEN, ["a", "a"],     "made, data, paused, lost => done");
        probe.check_trace(resumes, false, &[Step::Feed("a"), Step::Feed("bc"), Step::Timers], b"hello", OPEN, ["abc", "abc"], "made, data, paused, timer, resumed, data, lost => done");
        // Without resume_after_ms it stays paused; without send it replies nothing.
        probe.check_trace("",      false, &[Step::Feed("a"), Step::Timers, Step::Feed("b")], b"", OPEN, ["a", "a"],       "made, data, paused, lost => done");
    }
}
