//! The probe catalogue: ClosingLaterProtocol and its siblings, each an entry of the catalogue.
//!
//! A probe is a small [`Protocol`](connectable::Protocol) that does one thing to a connection
//! (close after one byte, echo, abort on data, ...). Suites name probes and give them typed
//! arguments; each probe's module exports its [`ProbeEntry`] (name, one sentence, typed
//! arguments, how to build it), [`catalogue`] lists them, and an entry turns arguments into a
//! [`ProbeSpec`], which is cheap to build and clone (no I/O) and makes a fresh protocol for
//! each trial. A user's crate writes entries for its own protocols the same way.
//!
//! Arguments are plain serde structs with unknown fields rejected, so this crate knows no file
//! format: the runner hands [`ProbeEntry::parse`] whatever serde `Deserializer` its suite format gives.

pub mod bytes;
mod catalogue;
mod pattern;
mod script;
#[cfg(test)]
mod testing;
mod then;

pub use catalogue::{
    ArgKind, Argument, Build, Built, Catalogue, MAX_SIZE, MAX_WAIT_MS, NoArguments, ProbeArguments,
    ProbeEntry, ProbeSpec, build, shown_bound,
};
pub use pattern::Pattern;
pub use script::{MATCH_WINDOW, Script, Step, parse_duration};

/// Declares each probe's module and lists its [`ProbeEntry`] in [`PROBES`], in documentation
/// order: adding a probe is its file and one word here.
macro_rules! probes {
    ($($probe:ident),* $(,)?) => {
        $(mod $probe;)*

        /// Every built-in probe, in documentation order.
        pub const PROBES: &[ProbeEntry] = &[$($probe::ENTRY),*];
    };
}

probes! {
    closing_later,
    closing,
    echo,
    send,
    accumulate,
    abort_on_data,
    close_twice,
    calls_in_lost,
    reject_data,
    abort_between_writes,
    abort_in_resume,
    abort_when_full,
    reply_then_pause,
    write_sequence,
    large_buffer_writer,
    close_after_handshake,
    pause_reading,
    producer,
    half_close,
    panic_on_data,
    never_close,
    flood,
    idle,
    unread_writer,
    producer_at_close,
}

/// The built-in probes as a [`Catalogue`], to which a user's crate may add its own entries.
pub fn catalogue() -> Catalogue {
    Catalogue::new(PROBES.iter().copied())
}

/// The built-in probe with this name.
pub fn info(name: &str) -> Option<&'static ProbeEntry> {
    PROBES.iter().find(|p| p.name == name)
}

/// Parses the arguments of the built-in probe called `name` (a map of argument name to value,
/// without the name itself): [`Catalogue::parse`] on [`catalogue`].
pub fn parse<'de, D: serde::Deserializer<'de>>(
    name: &str,
    arguments: D,
) -> Result<ProbeSpec, D::Error> {
    match info(name) {
        Some(entry) => entry.parse(arguments),
        None => Err(serde::de::Error::custom(format!(
            "unknown probe \"{name}\""
        ))),
    }
}

/// The one argument of the probes that only speak when connected, then react to the peer.
pub(crate) const SEND_ON_MADE: &[Argument] = &[Argument {
    name: "send",
    kind: ArgKind::Text,
    about: "written when the connection is made (default: nothing)",
}];

/// The arguments of a probe whose only argument is [`SEND_ON_MADE`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendOnMade {
    /// Written in `connection_made`.
    pub(crate) send: Option<String>,
}

impl ProbeArguments for SendOnMade {}

/// A count of bytes as the bounds compare it.
pub(crate) fn wide(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Byte `i` of the generated payloads (`send { size }`, `producer`): `'a' + i % 26`, printable
/// and position-dependent, so a lost, repeated or reordered byte shows.
pub fn generated(i: u64) -> u8 {
    b'a' + (i % 26) as u8
}
