//! `abort-in-resume`: a pull producer that aborts from `resume_producing`.
//!
//! It ports Twisted's `ProducerAbortingClient` (`twisted/internet/test/test_tcp.py`,
//! `AbortConnectionMixin.test_resumeProducingAbort`): it writes 762,000 bytes (`lalala...`),
//! registers as a pull producer, and when the transport asks for more (`resume_producing`, once
//! the write buffer has drained) it aborts: the abort comes from inside the reactor's write
//! path. With `when = "data"` it does so on the first data instead of when connected
//! (`ProducerAbortingClientLater`, `test_resumeProducingAbortLater`), so that over TLS the
//! handshake is over. With `fail = true` it then returns an error from `resume_producing`
//! (`ResumeThrowsClient`, `test_resumeProducingThrows`): the side ends `error`, recorded once.
//!
//! The `resume_producing` that registering a pull producer sets off (Twisted calls it from
//! inside `registerProducer`) is not the one it aborts on. Like Twisted's client, it fails
//! from `connection_lost` if `stop_producing` never ran (the producer must be told the
//! connection ended), except with `fail`, after which a transport may drop the producer.

use connectable::{CallbackResult, DisconnectReason, ProducerKind, Protocol, Transport};
use serde::Deserialize;

use crate::{ArgKind, Argument, ProbeEntry, build};

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "abort-in-resume",
    about: "writes a lot as a pull producer, then aborts when told resume_producing",
    arguments: &[
        Argument {
            name: "when",
            kind: ArgKind::OneOf(&["made", "data"]),
            about: "write and register in connection_made (default), or on the first data",
        },
        Argument {
            name: "size",
            kind: ArgKind::BYTES,
            about: "how many bytes to write before registering (default 762000, as Twisted); at most 1 GiB",
        },
        Argument {
            name: "fail",
            kind: ArgKind::Boolean,
            about: "return an error from resume_producing right after aborting (default false)",
        },
    ],
    build: |arguments| build(arguments, AbortInResume::new),
};

/// What the error of `fail` says.
const FAILURE: &str = "resume_producing failed on purpose after aborting";

/// When `abort-in-resume` writes and registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum When {
    /// In `connection_made`.
    #[default]
    Made,
    /// On the first data.
    Data,
}

/// The arguments of `abort-in-resume`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Arguments {
    /// When to write and register.
    #[serde(default)]
    pub(crate) when: When,
    /// How many bytes to write.
    #[serde(default = "twisted_size")]
    pub(crate) size: usize,
    /// Whether `resume_producing` fails after aborting.
    #[serde(default)]
    pub(crate) fail: bool,
}

impl crate::ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        vec![("size", crate::wide(self.size))]
    }
}

/// Twisted's `b"lalala" * 127000`.
fn twisted_size() -> usize {
    762_000
}

/// The `abort-in-resume` probe.
#[derive(Debug)]
pub(crate) struct AbortInResume {
    arguments: Arguments,
    registered: bool,
    resumes: u32,
    stopped: bool,
}

impl AbortInResume {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            registered: false,
            resumes: 0,
            stopped: false,
        }
    }

    fn write_and_register(&mut self, transport: &mut Transport) {
        if !self.registered {
            self.registered = true;
            write_repeated(transport, b"la", self.arguments.size);
            transport.register_producer(ProducerKind::Pull);
        }
    }
}

/// Writes `size` bytes of `unit` repeated, a chunk at a time.
fn write_repeated(transport: &mut Transport, unit: &[u8], size: usize) {
    // A whole number of units, so every chunk continues the pattern.
    let chunk: Vec<u8> = unit
        .iter()
        .copied()
        .cycle()
        .take(unit.len() * 8192)
        .collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        transport.write(&chunk[..n]);
        left -= n;
    }
}

impl Protocol for AbortInResume {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if self.arguments.when == When::Made {
            self.write_and_register(transport);
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        self.write_and_register(transport);
        Ok(())
    }

    fn resume_producing(&mut self, transport: &mut Transport) -> CallbackResult {
        self.resumes += 1;
        // The first one comes from registering; the next from the drained write buffer.
        if self.resumes == 2 {
            transport.abort_connection();
            if self.arguments.fail {
                return Err(FAILURE.into());
            }
        }
        Ok(())
    }

    fn stop_producing(&mut self, _: &mut Transport) -> CallbackResult {
        self.stopped = true;
        Ok(())
    }

    fn connection_lost(&mut self, _: &mut Transport, _: &DisconnectReason) -> CallbackResult {
        if self.registered && !self.stopped && !self.arguments.fail {
            return Err("stop_producing was never called".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ABORT, OPEN, Probe, Step};

    #[test]
    #[rustfmt::skip]
    fn aborts_once_the_written_bytes_have_drained() {
        let probe = Probe("abort-in-resume");
        let aborted = "made, resume-producing, resume-producing, stop-producing, lost => aborted";
        // Connected: the write drains at once (nothing held), the second resume aborts.
        probe.check_trace("size = 6",    false, &[],                       b"lalala", ABORT, ["", ""],   aborted);
        probe.check_trace("size = 3",    false, &[Step::Feed("x")],        b"lal",    ABORT, ["", ""],   aborted);
        // Twisted's size: 762,000 bytes, many chunks; all of it went out before the abort.
        let twisted = "la".repeat(381_000);
        probe.check_trace("",            false, &[],                       twisted.as_bytes(), ABORT, ["", ""], aborted);
        // On data: nothing until the first data, then the same.
        let later = r#"when = "data", size = 4"#;
        let aborted_later = "made, data, resume-producing, resume-producing, stop-producing, lost => aborted";
        probe.check_trace(later,         false, &[Step::Handshake],        b"",       OPEN,  ["", ""],   "made, handshake, lost => done");
        probe.check_trace(later,         false, &[Step::Feed("a"), Step::Feed("bc")], b"lala", ABORT, ["a", "a"], aborted_later);
        // A peer that reads nothing: the buffer never drains, no second resume, no abort.
        let waiting = "made, data, resume-producing, data, stop-producing, lost => done";
        probe.check_trace(later,         true,  &[Step::Feed("a"), Step::Feed("bc")], b"",   OPEN,  ["abc", "abc"], waiting);
    }

    /// A failure after the abort is recorded once; the side ends `error`; stop_producing still
    /// runs (this reactor does not drop the producer), and its absence would not be an error.
    #[test]
    #[rustfmt::skip]
    fn a_failure_after_aborting_is_recorded_once() {
        let probe = Probe("abort-in-resume");
        let failed = "made, resume-producing, resume-producing, \
                      failed(resume_producing failed on purpose after aborting), stop-producing, lost => error";
        probe.check_trace("size = 2, fail = true", false, &[], b"la", ABORT, ["", ""], failed);
    }
}
