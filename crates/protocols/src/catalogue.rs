//! The catalogue: probes as values, each one a [`ProbeEntry`] its own module exports.
//!
//! An entry says what suites and documents need (name, one sentence, typed arguments with
//! their bounds) and how to build the probe from serde arguments. A [`Catalogue`] is a list of
//! entries: [`catalogue`](crate::catalogue) gives the built-in ones, and a user's crate adds
//! entries of its own the same way, so its probes get the runner's located errors, did-you-mean
//! and argument checks. Nothing here is global: two catalogues in one process are unrelated.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use connectable::Protocol;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};

/// The most bytes an integer argument that counts bytes may give (`size`, `chunk`,
/// `before`, `close_after`, ...), and a script's `send_size` or `expect_size`: 1 GiB. A probe
/// holds what it writes in memory, so a size past what a machine can allocate would abort
/// the whole run instead of failing one trial.
pub const MAX_SIZE: u64 = 1 << 30;

/// The longest wait an argument in milliseconds (`delay_ms`, `resume_after_ms`) may give, and
/// a script's `wait`: an hour, the longest a trial may last (its `timeout`).
pub const MAX_WAIT_MS: u64 = 3_600_000;

/// `1073741824 (1 GiB)`, `3600000 (an hour)`: a bound as errors and documents show it.
pub fn shown_bound(bound: u64) -> String {
    match bound {
        MAX_SIZE => format!("{bound} (1 GiB)"),
        MAX_WAIT_MS => format!("{bound} (an hour)"),
        other => other.to_string(),
    }
}

/// The kind of value an argument takes: what the runner's loader checks before the probe's
/// own parsing, and what the reference documentation shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A string, written as it is.
    Text,
    /// A string of hex digits, two per byte.
    Hex,
    /// A non-negative integer of at most `at_most`.
    Integer {
        /// The largest value accepted.
        at_most: u64,
    },
    /// `true` or `false`.
    Boolean,
    /// An array of strings.
    TextList,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

impl ArgKind {
    /// An integer that counts bytes: at most [`MAX_SIZE`].
    pub const BYTES: Self = Self::Integer { at_most: MAX_SIZE };
    /// An integer of milliseconds: at most [`MAX_WAIT_MS`].
    pub const MILLISECONDS: Self = Self::Integer {
        at_most: MAX_WAIT_MS,
    };

    /// The kind as users read it: `text`, `integer`, `wait | close | abort`.
    pub fn shown(&self) -> String {
        match self {
            Self::Text => "text".to_owned(),
            Self::Hex => "hex".to_owned(),
            Self::Integer { .. } => "integer".to_owned(),
            Self::Boolean => "boolean".to_owned(),
            Self::TextList => "list of text".to_owned(),
            Self::OneOf(words) => words.join(" | "),
        }
    }

    /// The largest value of an integer argument; `None` for the other kinds.
    pub fn bound(&self) -> Option<u64> {
        match self {
            Self::Integer { at_most } => Some(*at_most),
            _ => None,
        }
    }
}

/// One argument of a probe.
#[derive(Clone, Copy, Debug)]
pub struct Argument {
    /// The key suites use (the serde field name).
    pub name: &'static str,
    /// The kind of value.
    pub kind: ArgKind,
    /// What it does.
    pub about: &'static str,
}

/// What builds a probe from its arguments: see [`build`].
pub type Build = fn(&mut dyn erased_serde::Deserializer<'_>) -> Result<Built, erased_serde::Error>;

/// One probe of a catalogue: what suites, errors and documents show, and how to build it.
#[derive(Clone, Copy)]
pub struct ProbeEntry {
    /// The name suites use (`closing-later`).
    pub name: &'static str,
    /// One sentence on what the probe does.
    pub about: &'static str,
    /// The arguments it takes, in the order serde knows its fields.
    pub arguments: &'static [Argument],
    /// Parses the arguments and keeps them with the protocol's constructor: a closure
    /// calling [`build`], as in `build: |arguments| build(arguments, Echo::new)`.
    pub build: Build,
}

impl fmt::Debug for ProbeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeEntry")
            .field("name", &self.name)
            .field("about", &self.about)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

impl ProbeEntry {
    /// The argument called `name`.
    pub fn argument(&self, name: &str) -> Option<&'static Argument> {
        self.arguments.iter().find(|a| a.name == name)
    }

    /// Parses this probe's arguments (a map of argument name to value, without the probe's
    /// name) from any serde deserializer. Unknown, ill-typed and out-of-bound arguments are
    /// errors; bounds come from the arguments' [`ArgKind`].
    pub fn parse<'de, D: Deserializer<'de>>(&self, arguments: D) -> Result<ProbeSpec, D::Error> {
        let mut erased = <dyn erased_serde::Deserializer<'_>>::erase(arguments);
        let built = (self.build)(&mut erased).map_err(D::Error::custom)?;
        for (argument, value) in built.0.integers() {
            let bound = self
                .argument(argument)
                .and_then(|a| a.kind.bound())
                .unwrap_or(MAX_SIZE);
            if value > bound {
                return Err(D::Error::custom(format!(
                    "`{argument}` is at most {}, not {value}",
                    shown_bound(bound)
                )));
            }
        }
        Ok(ProbeSpec {
            name: self.name,
            built,
        })
    }
}

/// The arguments of a probe, as [`build`] needs them: serde-parsed, comparable, and able to
/// say which integers they hold so that [`ProbeEntry::parse`] can check their bounds.
pub trait ProbeArguments:
    DeserializeOwned + fmt::Debug + PartialEq + Send + Sync + 'static
{
    /// Every integer argument given, by name: what the [`ArgKind`] bounds limit.
    fn integers(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// The arguments of a probe that takes none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

impl ProbeArguments for NoArguments {}

/// A probe's parsed arguments and its constructor, type-erased.
#[derive(Clone)]
pub struct Built(Arc<dyn Instance>);

/// Parses arguments of type `A` and pairs them with `make`, which builds one fresh protocol
/// per trial: the body of every [`ProbeEntry::build`].
pub fn build<A: ProbeArguments, P: Protocol + 'static>(
    arguments: &mut dyn erased_serde::Deserializer<'_>,
    make: fn(&A) -> P,
) -> Result<Built, erased_serde::Error> {
    let arguments: A = erased_serde::deserialize(arguments)?;
    Ok(Built(Arc::new(Typed { arguments, make })))
}

/// What [`Built`] hides: typed arguments and their constructor.
trait Instance: Send + Sync {
    fn instantiate(&self) -> Box<dyn Protocol>;
    fn integers(&self) -> Vec<(&'static str, u64)>;
    fn arguments(&self) -> &dyn Any;
    fn same(&self, other: &dyn Any) -> bool;
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

struct Typed<A, P> {
    arguments: A,
    make: fn(&A) -> P,
}

impl<A: ProbeArguments, P: Protocol + 'static> Instance for Typed<A, P> {
    fn instantiate(&self) -> Box<dyn Protocol> {
        Box::new((self.make)(&self.arguments))
    }

    fn integers(&self) -> Vec<(&'static str, u64)> {
        self.arguments.integers()
    }

    fn arguments(&self) -> &dyn Any {
        &self.arguments
    }

    fn same(&self, other: &dyn Any) -> bool {
        other
            .downcast_ref::<A>()
            .is_some_and(|other| *other == self.arguments)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.arguments.fmt(f)
    }
}

/// A probe chosen by name with its arguments checked: cheap, no I/O, cloneable; makes a
/// fresh protocol for each trial.
#[derive(Clone)]
pub struct ProbeSpec {
    name: &'static str,
    built: Built,
}

impl ProbeSpec {
    /// The probe's name in its catalogue.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A fresh protocol for one trial.
    pub fn instantiate(&self) -> Box<dyn Protocol> {
        self.built.0.instantiate()
    }

    /// A spec of `name` with these arguments, for tests that compare parsed arguments.
    #[cfg(test)]
    pub(crate) fn of<A: ProbeArguments, P: Protocol + 'static>(
        name: &'static str,
        arguments: A,
        make: fn(&A) -> P,
    ) -> Self {
        Self {
            name,
            built: Built(Arc::new(Typed { arguments, make })),
        }
    }
}

impl PartialEq for ProbeSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.built.0.same(other.built.0.arguments())
    }
}

impl Eq for ProbeSpec {}

impl fmt::Debug for ProbeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProbeSpec({:?}, ", self.name)?;
        self.built.0.describe(f)?;
        f.write_str(")")
    }
}

/// A list of probe entries, looked up by name: what the runner's loader checks suites
/// against.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    entries: Vec<ProbeEntry>,
}

impl Catalogue {
    /// A catalogue of these entries, in documentation order.
    pub fn new(entries: impl IntoIterator<Item = ProbeEntry>) -> Self {
        Self {
            entries: entries.into_iter().collect(),
        }
    }

    /// Adds an entry; an entry of the same name is replaced, in its place (so that a user
    /// may swap a built-in probe for one of their own).
    pub fn add(&mut self, entry: ProbeEntry) {
        match self.entries.iter_mut().find(|e| e.name == entry.name) {
            Some(taken) => *taken = entry,
            None => self.entries.push(entry),
        }
    }

    /// The entry called `name`.
    pub fn find(&self, name: &str) -> Option<&ProbeEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every name, in order: the valid choices an error shows.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[ProbeEntry] {
        &self.entries
    }

    /// Parses the arguments of the probe called `name` (see [`ProbeEntry::parse`]); an
    /// unknown name is an error.
    pub fn parse<'de, D: Deserializer<'de>>(
        &self,
        name: &str,
        arguments: D,
    ) -> Result<ProbeSpec, D::Error> {
        match self.find(name) {
            Some(entry) => entry.parse(arguments),
            None => Err(D::Error::custom(format!("unknown probe \"{name}\""))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::{Payload, Then};
    use crate::testing::parse_toml;
    use crate::{
        PROBES, abort_between_writes, abort_in_resume, abort_on_data, abort_when_full, accumulate,
        calls_in_lost, close_after_handshake, close_twice, closing_later, flood, info,
        large_buffer_writer, never_close, panic_on_data, reject_data, reply_then_pause, send,
        write_sequence,
    };

    /// The probe's parsed arguments, to compare with what parsing gave (the name is the
    /// row's).
    fn spec<A: ProbeArguments>(arguments: A) -> ProbeSpec {
        ProbeSpec::of("", arguments, |_| crate::idle::Idle)
    }

    /// Parses `name { arguments }` and compares the outcome: the probe it makes, or a
    /// substring of the error.
    #[track_caller]
    fn check(name: &str, arguments: &str, expected: Result<ProbeSpec, &str>) {
        let outcome = parse_toml(name, arguments);
        let context = format!("{name} {{ {arguments} }}");
        match (outcome, expected) {
            (Ok(spec), Ok(expected)) => {
                let expected = ProbeSpec {
                    name: spec.name,
                    ..expected
                };
                assert_eq!(spec, expected, "{context}");
                assert_eq!(spec.name(), name, "{context}");
            }
            (Err(error), Err(part)) => assert!(
                error.contains(part),
                "{context}: error {error:?} does not contain {part:?}"
            ),
            (outcome, expected) => panic!("{context}: got {outcome:?}, expected {expected:?}"),
        }
    }

    fn closing_later(send: Option<&str>) -> ProbeSpec {
        let send = send.map(str::to_owned);
        spec(closing_later::Arguments { send })
    }

    fn abort_on_data(send: Option<&str>) -> ProbeSpec {
        let send = send.map(str::to_owned);
        spec(abort_on_data::Arguments { send })
    }

    fn send(payload: Payload, then: Then) -> ProbeSpec {
        spec(send::Arguments { payload, then })
    }

    fn bytes(data: &[u8]) -> Payload {
        Payload::Bytes(data.to_vec())
    }

    fn accumulate(close_after: Option<u64>) -> ProbeSpec {
        spec(accumulate::Arguments { close_after })
    }

    #[test]
    #[rustfmt::skip]
    fn parses_valid_arguments() {
        check("closing-later", "",                                 Ok(closing_later(None)));
        check("closing-later", r#"send = "x""#,                    Ok(closing_later(Some("x"))));
        check("closing",       "",                                 Ok(spec(NoArguments {})));
        check("echo",          "",                                 Ok(spec(NoArguments {})));
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
        check("idle",          "",                                 Ok(spec(NoArguments {})));
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
        let sequence = |parts: &[&str], then| Ok(spec(write_sequence::Arguments {
            parts: parts.iter().map(|p| (*p).to_owned()).collect(),
            then,
        }));
        let large = |size, delay_ms| Ok(spec(large_buffer_writer::Arguments { size, delay_ms }));
        let after = |send: Option<&str>, payload, then| Ok(spec(close_after_handshake::Arguments {
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
        let twice = |send: Option<&str>, when, first, second| Ok(spec(close_twice::Arguments {
            send: send.map(str::to_owned), when, first, second,
        }));
        let in_lost = |send: Option<&str>, on_data| Ok(spec(calls_in_lost::Arguments {
            send: send.map(str::to_owned), on_data,
        }));
        let reject = |send: Option<&str>, allow: &str| Ok(spec(reject_data::Arguments {
            send: send.map(str::to_owned), allow: allow.to_owned(),
        }));
        let between = |before, after, then, fail| Ok(spec(abort_between_writes::Arguments {
            before, after, then, fail,
        }));
        let resume = |when, size, fail| Ok(spec(abort_in_resume::Arguments { when, size, fail }));
        let full = |when, send: Option<&str>, size, delay_ms| Ok(spec(abort_when_full::Arguments {
            when, send: send.map(str::to_owned), size, delay_ms,
        }));
        let reply = |send: Option<&str>, resume_after_ms| Ok(spec(reply_then_pause::Arguments {
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
        let panic = |send: Option<&str>| Ok(spec(panic_on_data::Arguments { send: send.map(str::to_owned) }));
        let never = |send: Option<&str>| Ok(spec(never_close::Arguments { send: send.map(str::to_owned) }));
        let flood = |chunk| Ok(spec(flood::Arguments { chunk }));
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

    /// The catalogue's argument names are the serde field names: the unknown-field error lists
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
            for argument in probe.arguments {
                let said = match argument.kind.bound() {
                    Some(MAX_WAIT_MS) => "at most an hour",
                    Some(MAX_SIZE) => "at most 1 GiB",
                    Some(other) => panic!("{}: a bound of {other}", probe.name),
                    None => continue,
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
        for (i, probe) in PROBES.iter().enumerate() {
            assert!(
                PROBES[..i].iter().all(|p| p.name != probe.name),
                "{} is listed twice",
                probe.name
            );
            assert_eq!(info(probe.name).map(|p| p.about), Some(probe.about));
            for argument in probe.arguments {
                if let ArgKind::OneOf(words) = argument.kind {
                    assert!(words.len() > 1, "{}: {argument:?}", probe.name);
                }
            }
        }
        assert!(info("closing_later").is_none());
    }
}
