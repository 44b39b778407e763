//! The registry: every probe's name, description, arguments, and how to build it.
//!
//! Each probe lives in its own module, which owns its [`ProbeInfo`] (`INFO`), its argument
//! struct and its protocol; this module only lists them and dispatches on the name.

use connectable::Protocol;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

// The closing and abort probes (Twisted's AbortConnectionMixin and test_writeAfterDisconnect).
use crate::{
    abort_between_writes, abort_in_resume, abort_on_data, abort_when_full, accumulate,
    calls_in_lost, close_after_handshake, close_twice, closing, closing_later, echo, flood,
    half_close, idle, large_buffer_writer, never_close, panic_on_data, pause_reading, producer,
    reject_data, reply_then_pause, send, write_sequence,
};

/// What the registry knows about one probe, for suites, error messages and documentation.
#[derive(Clone, Copy, Debug)]
pub struct ProbeInfo {
    /// The name suites use (`closing-later`).
    pub name: &'static str,
    /// One sentence on what the probe does.
    pub about: &'static str,
    /// The arguments it takes.
    pub arguments: &'static [ArgumentInfo],
}

/// One argument of a probe.
#[derive(Clone, Copy, Debug)]
pub struct ArgumentInfo {
    /// The key suites use.
    pub name: &'static str,
    /// The kind of value, as shown to users (`text`, `integer`, `wait | close | abort`).
    pub kind: &'static str,
    /// What it does.
    pub about: &'static str,
}

/// Every probe, in documentation order.
pub const PROBES: &[ProbeInfo] = &[
    closing_later::INFO,
    closing::INFO,
    echo::INFO,
    send::INFO,
    accumulate::INFO,
    abort_on_data::INFO,
    close_twice::INFO,
    calls_in_lost::INFO,
    reject_data::INFO,
    abort_between_writes::INFO,
    abort_in_resume::INFO,
    abort_when_full::INFO,
    reply_then_pause::INFO,
    write_sequence::INFO,
    large_buffer_writer::INFO,
    close_after_handshake::INFO,
    pause_reading::INFO,
    producer::INFO,
    half_close::INFO,
    panic_on_data::INFO,
    never_close::INFO,
    flood::INFO,
    idle::INFO,
];

/// The most bytes an integer argument that counts bytes may give (`size`, `chunk`,
/// `before`, `close_after`, ...), and a script's `send_size` or `expect_size`: 1 GiB. A probe
/// holds what it writes in memory, so a size past what a machine can allocate would abort
/// the whole run instead of failing one trial.
pub const MAX_SIZE: u64 = 1 << 30;

/// The longest wait an argument in milliseconds (`delay_ms`, `resume_after_ms`) may give, and
/// a script's `wait`: an hour, the longest a trial may last (its `timeout`).
pub const MAX_WAIT_MS: u64 = 3_600_000;

/// The largest value this integer argument accepts: [`MAX_WAIT_MS`] for a wait in
/// milliseconds (a name ending `_ms`), [`MAX_SIZE`] for the others, which count bytes;
/// `None` for an argument that is not an integer.
pub fn bound(argument: &ArgumentInfo) -> Option<u64> {
    (argument.kind == "integer").then(|| {
        if argument.name.ends_with("_ms") {
            MAX_WAIT_MS
        } else {
            MAX_SIZE
        }
    })
}

/// `1073741824 (1 GiB)`, `3600000 (an hour)`: a bound as errors and documents show it.
pub fn shown_bound(bound: u64) -> String {
    match bound {
        MAX_SIZE => format!("{bound} (1 GiB)"),
        MAX_WAIT_MS => format!("{bound} (an hour)"),
        other => other.to_string(),
    }
}

/// The probe with this name.
pub fn info(name: &str) -> Option<&'static ProbeInfo> {
    PROBES.iter().find(|p| p.name == name)
}

/// A probe chosen by name with its arguments checked: cheap, no I/O, cloneable; makes a
/// fresh protocol for each trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSpec(Kind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    ClosingLater(closing_later::Arguments),
    Closing,
    Echo,
    Send(send::Arguments),
    Accumulate(accumulate::Arguments),
    AbortOnData(abort_on_data::Arguments),
    CloseTwice(close_twice::Arguments),
    CallsInLost(calls_in_lost::Arguments),
    RejectData(reject_data::Arguments),
    AbortBetweenWrites(abort_between_writes::Arguments),
    AbortInResume(abort_in_resume::Arguments),
    AbortWhenFull(abort_when_full::Arguments),
    ReplyThenPause(reply_then_pause::Arguments),
    WriteSequence(write_sequence::Arguments),
    LargeBufferWriter(large_buffer_writer::Arguments),
    CloseAfterHandshake(close_after_handshake::Arguments),
    PauseReading(pause_reading::Arguments),
    Producer(producer::Arguments),
    HalfClose(half_close::Arguments),
    PanicOnData(panic_on_data::Arguments),
    NeverClose(never_close::Arguments),
    Flood(flood::Arguments),
    Idle,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

/// The one argument of the probes that only speak when connected, then react to the peer.
pub(crate) const SEND_ON_MADE: &[ArgumentInfo] = &[ArgumentInfo {
    name: "send",
    kind: "text",
    about: "written when the connection is made (default: nothing)",
}];

/// The arguments of a probe whose only argument is [`SEND_ON_MADE`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendOnMade {
    /// Written in `connection_made`.
    pub(crate) send: Option<String>,
}

/// Parses the arguments of the probe called `name` (a map of argument name to value, without
/// the name itself). Unknown probes and unknown or ill-typed arguments are errors.
pub fn parse<'de, D: Deserializer<'de>>(name: &str, arguments: D) -> Result<ProbeSpec, D::Error> {
    let kind = match name {
        "closing-later" => Kind::ClosingLater(Deserialize::deserialize(arguments)?),
        "closing" => {
            NoArguments::deserialize(arguments)?;
            Kind::Closing
        }
        "echo" => {
            NoArguments::deserialize(arguments)?;
            Kind::Echo
        }
        "send" => Kind::Send(Deserialize::deserialize(arguments)?),
        "accumulate" => Kind::Accumulate(Deserialize::deserialize(arguments)?),
        "abort-on-data" => Kind::AbortOnData(Deserialize::deserialize(arguments)?),
        "close-twice" => Kind::CloseTwice(Deserialize::deserialize(arguments)?),
        "calls-in-lost" => Kind::CallsInLost(Deserialize::deserialize(arguments)?),
        "reject-data" => Kind::RejectData(Deserialize::deserialize(arguments)?),
        "abort-between-writes" => Kind::AbortBetweenWrites(Deserialize::deserialize(arguments)?),
        "abort-in-resume" => Kind::AbortInResume(Deserialize::deserialize(arguments)?),
        "abort-when-full" => Kind::AbortWhenFull(Deserialize::deserialize(arguments)?),
        "reply-then-pause" => Kind::ReplyThenPause(Deserialize::deserialize(arguments)?),
        "write-sequence" => Kind::WriteSequence(Deserialize::deserialize(arguments)?),
        "large-buffer-writer" => Kind::LargeBufferWriter(Deserialize::deserialize(arguments)?),
        "close-after-handshake" => Kind::CloseAfterHandshake(Deserialize::deserialize(arguments)?),
        "pause-reading" => Kind::PauseReading(Deserialize::deserialize(arguments)?),
        "producer" => Kind::Producer(Deserialize::deserialize(arguments)?),
        "half-close" => Kind::HalfClose(Deserialize::deserialize(arguments)?),
        "panic-on-data" => Kind::PanicOnData(Deserialize::deserialize(arguments)?),
        "never-close" => Kind::NeverClose(Deserialize::deserialize(arguments)?),
        "flood" => Kind::Flood(Deserialize::deserialize(arguments)?),
        "idle" => {
            NoArguments::deserialize(arguments)?;
            Kind::Idle
        }
        other => return Err(D::Error::custom(format!("unknown probe \"{other}\""))),
    };
    for (argument, value) in kind.integers() {
        let bound = info(name)
            .and_then(|i| i.arguments.iter().find(|a| a.name == argument))
            .and_then(bound)
            .unwrap_or(MAX_SIZE);
        if value > bound {
            return Err(D::Error::custom(format!(
                "`{argument}` is at most {}, not {value}",
                shown_bound(bound)
            )));
        }
    }
    Ok(ProbeSpec(kind))
}

impl Kind {
    /// Every integer argument given, by name: what [`bound`] limits.
    fn integers(&self) -> Vec<(&'static str, u64)> {
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let mut found = Vec::new();
        match self {
            Self::Send(a) => {
                if let send::Payload::Generated(n) = a.payload {
                    found.push(("size", wide(n)));
                }
            }
            Self::CloseAfterHandshake(a) => {
                if let close_after_handshake::Payload::Generated(n) = a.payload {
                    found.push(("size", wide(n)));
                }
            }
            Self::Accumulate(a) => found.extend(a.close_after.map(|n| ("close_after", n))),
            Self::AbortBetweenWrites(a) => {
                found.extend([("before", wide(a.before)), ("after", wide(a.after))]);
            }
            Self::AbortInResume(a) => found.push(("size", wide(a.size))),
            Self::AbortWhenFull(a) => {
                found.extend([("size", wide(a.size)), ("delay_ms", a.delay_ms)]);
            }
            Self::LargeBufferWriter(a) => {
                found.extend([("size", a.size), ("delay_ms", a.delay_ms)]);
            }
            Self::PauseReading(a) => {
                found.extend(a.resume_after_ms.map(|n| ("resume_after_ms", n)));
                found.extend(a.close_after.map(|n| ("close_after", n)));
            }
            Self::ReplyThenPause(a) => {
                found.extend(a.resume_after_ms.map(|n| ("resume_after_ms", n)));
            }
            Self::Producer(a) => {
                found.push(("size", a.size));
                found.extend(a.chunk.map(|n| ("chunk", n)));
            }
            Self::Flood(a) => found.extend(a.chunk.map(|n| ("chunk", wide(n)))),
            _ => {}
        }
        found
    }
}

impl ProbeSpec {
    /// The probe's registered name.
    pub fn name(&self) -> &'static str {
        let info = match self.0 {
            Kind::ClosingLater(_) => &closing_later::INFO,
            Kind::Closing => &closing::INFO,
            Kind::Echo => &echo::INFO,
            Kind::Send(_) => &send::INFO,
            Kind::Accumulate(_) => &accumulate::INFO,
            Kind::AbortOnData(_) => &abort_on_data::INFO,
            Kind::CloseTwice(_) => &close_twice::INFO,
            Kind::CallsInLost(_) => &calls_in_lost::INFO,
            Kind::RejectData(_) => &reject_data::INFO,
            Kind::AbortBetweenWrites(_) => &abort_between_writes::INFO,
            Kind::AbortInResume(_) => &abort_in_resume::INFO,
            Kind::AbortWhenFull(_) => &abort_when_full::INFO,
            Kind::ReplyThenPause(_) => &reply_then_pause::INFO,
            Kind::WriteSequence(_) => &write_sequence::INFO,
            Kind::LargeBufferWriter(_) => &large_buffer_writer::INFO,
            Kind::CloseAfterHandshake(_) => &close_after_handshake::INFO,
            Kind::PauseReading(_) => &pause_reading::INFO,
            Kind::Producer(_) => &producer::INFO,
            Kind::HalfClose(_) => &half_close::INFO,
            Kind::PanicOnData(_) => &panic_on_data::INFO,
            Kind::NeverClose(_) => &never_close::INFO,
            Kind::Flood(_) => &flood::INFO,
            Kind::Idle => &idle::INFO,
        };
        info.name
    }

    /// A fresh protocol for one trial.
    pub fn instantiate(&self) -> Box<dyn Protocol> {
        match &self.0 {
            Kind::ClosingLater(arguments) => Box::new(closing_later::ClosingLater::new(arguments)),
            Kind::Closing => Box::new(closing::Closing),
            Kind::Echo => Box::new(echo::Echo),
            Kind::Send(arguments) => Box::new(send::SendPayload::new(arguments)),
            Kind::Accumulate(arguments) => Box::new(accumulate::Accumulate::new(arguments)),
            Kind::AbortOnData(arguments) => Box::new(abort_on_data::AbortOnData::new(arguments)),
            Kind::CloseTwice(arguments) => Box::new(close_twice::CloseTwice::new(arguments)),
            Kind::CallsInLost(arguments) => Box::new(calls_in_lost::CallsInLost::new(arguments)),
            Kind::RejectData(arguments) => Box::new(reject_data::RejectData::new(arguments)),
            Kind::AbortBetweenWrites(arguments) => {
                Box::new(abort_between_writes::AbortBetweenWrites::new(arguments))
            }
            Kind::AbortInResume(arguments) => {
                Box::new(abort_in_resume::AbortInResume::new(arguments))
            }
            Kind::AbortWhenFull(arguments) => {
                Box::new(abort_when_full::AbortWhenFull::new(arguments))
            }
            Kind::ReplyThenPause(arguments) => {
                Box::new(reply_then_pause::ReplyThenPause::new(arguments))
            }
            Kind::WriteSequence(arguments) => {
                Box::new(write_sequence::WriteSequence::new(arguments))
            }
            Kind::LargeBufferWriter(arguments) => {
                Box::new(large_buffer_writer::LargeBufferWriter::new(arguments))
            }
            Kind::CloseAfterHandshake(arguments) => {
                Box::new(close_after_handshake::CloseAfterHandshake::new(arguments))
            }
            Kind::PauseReading(arguments) => Box::new(pause_reading::PauseReading::new(arguments)),
            Kind::Producer(arguments) => Box::new(producer::Producer::new(arguments)),
            Kind::HalfClose(arguments) => Box::new(half_close::HalfClose::new(arguments)),
            Kind::PanicOnData(arguments) => Box::new(panic_on_data::PanicOnData::new(arguments)),
            Kind::NeverClose(arguments) => Box::new(never_close::NeverClose::new(arguments)),
            Kind::Flood(arguments) => Box::new(flood::Flood::new(arguments)),
            Kind::Idle => Box::new(idle::Idle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::{Payload, Then};
    use crate::testing::parse_toml;

    /// Parses `name { arguments }` and compares the outcome: the probe it makes, or a
    /// substring of the error.
    #[track_caller]
    fn check(name: &str, arguments: &str, expected: Result<Kind, &str>) {
        let outcome = parse_toml(name, arguments);
        let context = format!("{name} {{ {arguments} }}");
        match (outcome, expected) {
            (Ok(spec), Ok(kind)) => {
                assert_eq!(spec, ProbeSpec(kind), "{context}");
                assert_eq!(spec.name(), name, "{context}");
            }
            (Err(error), Err(part)) => assert!(
                error.contains(part),
                "{context}: error {error:?} does not contain {part:?}"
            ),
            (outcome, expected) => panic!("{context}: got {outcome:?}, expected {expected:?}"),
        }
    }

    fn closing_later(send: Option<&str>) -> Kind {
        let send = send.map(str::to_owned);
        Kind::ClosingLater(closing_later::Arguments { send })
    }

    fn abort_on_data(send: Option<&str>) -> Kind {
        let send = send.map(str::to_owned);
        Kind::AbortOnData(abort_on_data::Arguments { send })
    }

    fn send(payload: Payload, then: Then) -> Kind {
        Kind::Send(send::Arguments { payload, then })
    }

    fn bytes(data: &[u8]) -> Payload {
        Payload::Bytes(data.to_vec())
    }

    fn accumulate(close_after: Option<u64>) -> Kind {
        Kind::Accumulate(accumulate::Arguments { close_after })
    }

    #[test]
    #[rustfmt::skip]
    fn parses_valid_arguments() {
        check("closing-later", "",                                 Ok(closing_later(None)));
        check("closing-later", r#"send = "x""#,                    Ok(closing_later(Some("x"))));
        check("closing",       "",                                 Ok(Kind::Closing));
        check("echo",          "",                                 Ok(Kind::Echo));
        check("send",          r#"data = "x""#,                    Ok(send(bytes(b"x"), Then::Wait)));
        check("send",          r#"data = "", then = "wait""#,      Ok(send(bytes(b""), Then::Wait)));
        check("send",          r#"data = "é", then = "close""#,    Ok(send(bytes("é".as_bytes()), Then::Close)));
        check("send",          r#"data_hex = "00fF""#,             Ok(send(bytes(b"\x00\xff"), Then::Wait)));
        check("send",          r#"data_hex = "", then = "abort""#, Ok(send(bytes(b""), Then::Abort)));
        check("send",          "size = 0",                         Ok(send(Payload::Generated(0), Then::Wait)));
        check("send",          "size = 1048576",                   Ok(send(Payload::Generated(1 << 20), Then::Wait)));
        check("accumulate",    "",                                 Ok(accumulate(None)));
        check("accumulate",    "close_after = 0",                  Ok(accumulate(Some(0))));
        check("accumulate",    "close_after = 12",                 Ok(accumulate(Some(12))));
        check("abort-on-data", "",                                 Ok(abort_on_data(None)));
        check("abort-on-data", r#"send = "x""#,                    Ok(abort_on_data(Some("x"))));
        check("idle",          "",                                 Ok(Kind::Idle));
    }

    #[test]
    #[rustfmt::skip]
    fn rejects_bad_arguments() {
        check("closing_later", "",                                 Err(r#"unknown probe "closing_later""#));
        check("",              "",                                 Err(r#"unknown probe """#));
        check("closing-later", r#"sned = "x""#,                    Err("unknown field `sned`, expected `send`"));
        check("closing-later", "send = 1",                         Err("invalid type: integer `1`, expected a string"));
        check("closing",       r#"send = "x""#,                    Err("unknown field `send`, there are no fields"));
        check("echo",          "x = 1",                            Err("unknown field `x`, there are no fields"));
        check("idle",          "x = 1",                            Err("unknown field `x`, there are no fields"));
        check("send",          "",                                 Err(r#"give exactly one of "data", "data_hex", "size" (got none)"#));
        check("send",          r#"then = "close""#,                Err(r#"give exactly one of "data", "data_hex", "size" (got none)"#));
        check("send",          r#"data = "x", size = 1"#,          Err(r#"(got "data", "size")"#));
        check("send",          r#"data = "x", data_hex = "00", size = 1"#, Err(r#"(got "data", "data_hex", "size")"#));
        check("send",          r#"data_hex = "00fg""#,             Err("data_hex: invalid hex digit 'g' at position 4"));
        check("send",          r#"data_hex = "0""#,                Err("data_hex: odd number of hex digits (1): each byte takes two"));
        check("send",          "data_hex = 0",                     Err("invalid type: integer `0`, expected a string"));
        check("send",          r#"data = "x", then = "later""#,    Err("unknown variant `later`, expected one of `wait`, `close`, `abort`"));
        check("send",          r#"data = "x", then = "Close""#,    Err("unknown variant `Close`"));
        check("send",          r#"data = "x", than = "close""#,    Err("unknown field `than`, expected one of `data`"));
        check("send",          "size = -1",                        Err("invalid value: integer `-1`, expected usize"));
        check("send",          r#"size = "3""#,                    Err(r#"invalid type: string "3", expected usize"#));
        check("accumulate",    "close_after = -1",                 Err("invalid value: integer `-1`, expected u64"));
        check("accumulate",    "close_after = 1.5",                Err("invalid type: floating point `1.5`, expected u64"));
        check("accumulate",    r#"close_after = "3""#,             Err(r#"invalid type: string "3", expected u64"#));
        check("accumulate",    "close = 3",                        Err("unknown field `close`, expected `close_after`"));
        check("abort-on-data", "send = true",                      Err("invalid type: boolean `true`, expected a string"));
    }

    /// The bulk and TLS probes: `write-sequence`, `large-buffer-writer`, `close-after-handshake`.
    #[test]
    #[rustfmt::skip]
    fn parses_bulk_and_tls_probe_arguments() {
        use crate::close_after_handshake::{Payload as After, Then as AfterThen};
        let sequence = |parts: &[&str], then| Ok(Kind::WriteSequence(write_sequence::Arguments {
            parts: parts.iter().map(|p| (*p).to_owned()).collect(),
            then,
        }));
        let large = |size, delay_ms| Ok(Kind::LargeBufferWriter(large_buffer_writer::Arguments { size, delay_ms }));
        let after = |send: Option<&str>, payload, then| Ok(Kind::CloseAfterHandshake(close_after_handshake::Arguments {
            send: send.map(str::to_owned),
            payload,
            then,
        }));
        check("write-sequence",        r#"parts = ["a", "b"]"#,                 sequence(&["a", "b"], Then::Wait));
        check("write-sequence",        r#"parts = [], then = "close""#,         sequence(&[], Then::Close));
        check("write-sequence",        r#"parts = [""], then = "abort""#,       sequence(&[""], Then::Abort));
        check("write-sequence",        "",                                      Err("missing field `parts`"));
        check("write-sequence",        r#"parts = "ab""#,                       Err(r#"invalid type: string "ab", expected a sequence"#));
        check("write-sequence",        "parts = [1]",                           Err("invalid type: integer `1`, expected a string"));
        check("write-sequence",        r#"parts = ["a"], then = "later""#,      Err("unknown variant `later`"));
        check("write-sequence",        r#"part = ["a"]"#,                       Err("unknown field `part`, expected `parts` or `then`"));
        check("large-buffer-writer",   "size = 62914560",                       large(62_914_560, 1));
        check("large-buffer-writer",   "size = 0, delay_ms = 0",                large(0, 0));
        check("large-buffer-writer",   "size = 3, delay_ms = 250",              large(3, 250));
        check("large-buffer-writer",   "",                                      Err("missing field `size`"));
        check("large-buffer-writer",   "delay_ms = 1",                          Err("missing field `size`"));
        check("large-buffer-writer",   "size = -1",                             Err("invalid value: integer `-1`, expected u64"));
        check("large-buffer-writer",   r#"size = 1, delay_ms = "1ms""#,         Err(r#"invalid type: string "1ms", expected u64"#));
        check("large-buffer-writer",   "size = 1, delay = 1",                   Err("unknown field `delay`, expected `size` or `delay_ms`"));
        check("close-after-handshake", "",                                      after(None, After::Bytes(Vec::new()), AfterThen::Close));
        check("close-after-handshake", r#"data = "hello""#,                     after(None, After::Bytes(b"hello".to_vec()), AfterThen::Close));
        check("close-after-handshake", r#"size = 900000, then = "close""#,      after(None, After::Generated(900_000), AfterThen::Close));
        check("close-after-handshake", r#"then = "close-without-close-notify""#, after(None, After::Bytes(Vec::new()), AfterThen::CloseWithoutCloseNotify));
        check("close-after-handshake", r#"send = "u", then = "abort""#,         after(Some("u"), After::Bytes(Vec::new()), AfterThen::Abort));
        check("close-after-handshake", r#"data = "x", size = 1"#,               Err(r#"give at most one of "data", "size" (got both)"#));
        check("close-after-handshake", r#"then = "lose""#,                      Err("unknown variant `lose`, expected one of `close`, `close-without-close-notify`, `abort`"));
        check("close-after-handshake", "then = true",                           Err("invalid type"));
        check("close-after-handshake", "size = -1",                             Err("invalid value: integer `-1`, expected usize"));
        check("close-after-handshake", "close_notify = false",                  Err("unknown field `close_notify`, expected one of `send`, `data`, `size`, `then`"));
    }

    /// The closing and abort probes: `close-twice`, `calls-in-lost`, `reject-data`,
    /// `abort-between-writes`, `abort-in-resume`, `abort-when-full`, `reply-then-pause`.
    #[test]
    #[rustfmt::skip]
    fn parses_closing_and_abort_probe_arguments() {
        use close_twice::{Close, When};
        let twice = |send: Option<&str>, when, first, second| Ok(Kind::CloseTwice(close_twice::Arguments {
            send: send.map(str::to_owned), when, first, second,
        }));
        let in_lost = |send: Option<&str>, on_data| Ok(Kind::CallsInLost(calls_in_lost::Arguments {
            send: send.map(str::to_owned), on_data,
        }));
        let reject = |send: Option<&str>, allow: &str| Ok(Kind::RejectData(reject_data::Arguments {
            send: send.map(str::to_owned), allow: allow.to_owned(),
        }));
        let between = |before, after, then, fail| Ok(Kind::AbortBetweenWrites(abort_between_writes::Arguments {
            before, after, then, fail,
        }));
        let resume = |when, size, fail| Ok(Kind::AbortInResume(abort_in_resume::Arguments { when, size, fail }));
        let full = |when, send: Option<&str>, size, delay_ms| Ok(Kind::AbortWhenFull(abort_when_full::Arguments {
            when, send: send.map(str::to_owned), size, delay_ms,
        }));
        let reply = |send: Option<&str>, resume_after_ms| Ok(Kind::ReplyThenPause(reply_then_pause::Arguments {
            send: send.map(str::to_owned), resume_after_ms,
        }));
        use abort_between_writes::Then as After;
        use calls_in_lost::OnData;
        check("close-twice",          r#"first = "lose", second = "abort""#,             twice(None, When::Data, Close::Lose, Close::Abort));
        check("close-twice",          r#"send = "x", when = "made", first = "abort", second = "abort""#, twice(Some("x"), When::Made, Close::Abort, Close::Abort));
        check("close-twice",          r#"first = "lose""#,                               Err("missing field `second`"));
        check("close-twice",          r#"first = "close", second = "lose""#,             Err("unknown variant `close`, expected `lose` or `abort`"));
        check("close-twice",          r#"first = "lose", second = "lose", when = "now""#, Err("unknown variant `now`, expected `made` or `data`"));
        check("calls-in-lost",        "",                                                in_lost(None, OnData::Lose));
        check("calls-in-lost",        r#"send = "x", on_data = "wait""#,                 in_lost(Some("x"), OnData::Wait));
        check("calls-in-lost",        r#"on_data = "close""#,                            Err("unknown variant `close`, expected one of `lose`, `abort`, `wait`"));
        check("reject-data",          "",                                                reject(None, ""));
        check("reject-data",          r#"send = "ready", allow = "X""#,                  reject(Some("ready"), "X"));
        check("reject-data",          "allow = 1",                                       Err("invalid type: integer `1`, expected a string"));
        check("abort-between-writes", "",                                                between(10_000, 10_000, After::Wait, false));
        check("abort-between-writes", r#"before = 0, after = 1, then = "lose", fail = true"#, between(0, 1, After::Close, true));
        check("abort-between-writes", r#"then = "abort""#,                               between(10_000, 10_000, After::Abort, false));
        check("abort-between-writes", r#"fail = "yes""#,                                 Err(r#"invalid type: string "yes", expected a boolean"#));
        check("abort-between-writes", "before = -1",                                     Err("invalid value: integer `-1`, expected usize"));
        check("abort-in-resume",      "",                                                resume(abort_in_resume::When::Made, 762_000, false));
        check("abort-in-resume",      r#"when = "data", size = 6, fail = true"#,         resume(abort_in_resume::When::Data, 6, true));
        check("abort-in-resume",      "sizes = 6",                                       Err("unknown field `sizes`, expected one of `when`, `size`, `fail`"));
        check("abort-when-full",      "",                                                full(abort_when_full::When::Made, None, 32 << 20, 10));
        check("abort-when-full",      r#"when = "data", send = "hello", size = 70000, delay_ms = 0"#, full(abort_when_full::When::Data, Some("hello"), 70_000, 0));
        check("abort-when-full",      r#"delay_ms = "10ms""#,                            Err(r#"invalid type: string "10ms", expected u64"#));
        check("reply-then-pause",     "",                                                reply(None, None));
        check("reply-then-pause",     r#"send = "hello", resume_after_ms = 100"#,        reply(Some("hello"), Some(100)));
        check("reply-then-pause",     "resume_after = 100",                              Err("unknown field `resume_after`, expected `send` or `resume_after_ms`"));
    }

    /// The misbehaving probes: `panic-on-data`, `never-close`, `flood`.
    #[test]
    #[rustfmt::skip]
    fn parses_misbehaving_probe_arguments() {
        let panic = |send: Option<&str>| Ok(Kind::PanicOnData(panic_on_data::Arguments { send: send.map(str::to_owned) }));
        let never = |send: Option<&str>| Ok(Kind::NeverClose(never_close::Arguments { send: send.map(str::to_owned) }));
        let flood = |chunk| Ok(Kind::Flood(flood::Arguments { chunk }));
        check("panic-on-data", "",                  panic(None));
        check("panic-on-data", r#"send = "x""#,     panic(Some("x")));
        check("never-close",   "",                  never(None));
        check("never-close",   r#"send = "hi""#,    never(Some("hi")));
        check("never-close",   "send = 1",          Err("invalid type: integer `1`, expected a string"));
        check("never-close",   "close = true",      Err("unknown field `close`, expected `send`"));
        check("flood",         "",                  flood(None));
        check("flood",         "chunk = 1",         flood(Some(1)));
        check("flood",         "chunk = -1",        Err("invalid value: integer `-1`, expected usize"));
        check("flood",         r#"chunk = "64k""#,  Err(r#"invalid type: string "64k", expected usize"#));
        check("flood",         "size = 10",         Err("unknown field `size`, expected `chunk`"));
    }

    /// The registry's argument names are the serde field names: the unknown-field error lists
    /// the fields serde knows, and they must be exactly the documented ones, in order.
    #[test]
    #[rustfmt::skip]
    fn integer_arguments_are_bounded() {
        let at_most_size = "is at most 1073741824 (1 GiB), not 1073741825";
        let at_most_wait = "is at most 3600000 (an hour), not 3600001";
        check("send",                  "size = 1073741824",                     Ok(send(Payload::Generated(1 << 30), Then::Wait)));
        check("send",                  "size = 1073741825",                     Err(&format!("`size` {at_most_size}")));
        check("send",                  "size = 9223372036854775807",            Err("`size` is at most 1073741824 (1 GiB), not 9223372036854775807"));
        check("close-after-handshake", "size = 1073741825",                     Err(&format!("`size` {at_most_size}")));
        check("accumulate",            "close_after = 1073741825",              Err(&format!("`close_after` {at_most_size}")));
        check("abort-between-writes",  "after = 1073741825",                    Err(&format!("`after` {at_most_size}")));
        check("abort-in-resume",       "size = 1073741825",                     Err(&format!("`size` {at_most_size}")));
        check("abort-when-full",       "delay_ms = 3600001",                    Err(&format!("`delay_ms` {at_most_wait}")));
        check("large-buffer-writer",   "size = 1073741825",                     Err(&format!("`size` {at_most_size}")));
        check("large-buffer-writer",   "size = 1, delay_ms = 3600001",          Err(&format!("`delay_ms` {at_most_wait}")));
        check("pause-reading",         "resume_after_ms = 3600001",             Err(&format!("`resume_after_ms` {at_most_wait}")));
        check("reply-then-pause",      "resume_after_ms = 3600001",             Err(&format!("`resume_after_ms` {at_most_wait}")));
        check("producer",              "kind = \"pull\", size = 1073741825",    Err(&format!("`size` {at_most_size}")));
        check("producer",              "kind = \"pull\", size = 1, chunk = 1073741825", Err(&format!("`chunk` {at_most_size}")));
        check("flood",                 "chunk = 1073741825",                    Err(&format!("`chunk` {at_most_size}")));
    }

    #[test]
    fn every_integer_argument_says_its_bound() {
        for probe in PROBES {
            for argument in probe.arguments.iter().filter(|a| a.kind == "integer") {
                let said = if argument.name.ends_with("_ms") {
                    "at most an hour"
                } else {
                    "at most 1 GiB"
                };
                assert!(
                    argument.about.contains(said),
                    "{}: {argument:?}",
                    probe.name
                );
            }
        }
    }

    #[test]
    fn documented_arguments_are_the_accepted_ones() {
        for probe in PROBES {
            let error = parse_toml(probe.name, "unknown_argument = 1").unwrap_err();
            let quoted: Vec<&str> = error.split('`').skip(1).step_by(2).collect();
            let documented: Vec<&str> = probe.arguments.iter().map(|a| a.name).collect();
            assert_eq!(
                quoted.first(),
                Some(&"unknown_argument"),
                "{}: {error}",
                probe.name
            );
            assert_eq!(quoted[1..], documented, "{}: {error}", probe.name);
        }
    }

    #[test]
    fn the_catalogue_is_consistent() {
        // What the runner's loader checks a value against; `a | b` is a choice of words.
        let kinds = ["text", "hex", "integer", "boolean", "list of text"];
        for (i, probe) in PROBES.iter().enumerate() {
            assert!(
                PROBES[..i].iter().all(|p| p.name != probe.name),
                "{} is listed twice",
                probe.name
            );
            assert_eq!(info(probe.name).map(|p| p.about), Some(probe.about));
            for argument in probe.arguments {
                assert!(
                    kinds.contains(&argument.kind) || argument.kind.contains(" | "),
                    "{}: {argument:?}",
                    probe.name
                );
            }
        }
        assert!(info("closing_later").is_none());
    }
}
