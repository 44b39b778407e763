//! The suite model: what a `suites/*.toml` file means once loaded and checked.
//!
//! Nothing here knows TOML; [`crate::load`] builds these values and reports every problem with
//! its place. Building them does no I/O beyond reading the files: no keys, no sockets.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use connectable::pki::TlsProfile;
use connectable::{Delivery, Network};
use protocols::{ProbeSpec, Script};

/// One suite file: its stem is the suite's name.
#[derive(Clone, Debug)]
pub struct Suite {
    /// The file's stem (`closing` for `suites/closing.toml`).
    pub name: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// Its cases, in file order.
    pub cases: Vec<Case>,
}

/// One `[[case]]`, with the suite's defaults already applied.
#[derive(Clone, Debug)]
pub struct Case {
    /// `[a-z0-9_]+`, unique in its suite.
    pub name: String,
    /// What the case checks and why its expectations are what they are.
    pub about: String,
    /// Where the case starts in its file, for messages.
    pub location: Location,
    /// The accepting side.
    pub server: PeerSpec,
    /// The connecting side.
    pub client: PeerSpec,
    /// The transports it runs over (never empty).
    pub transports: Vec<TransportKind>,
    /// The reactors it runs on, by name (never empty).
    pub reactors: Vec<String>,
    /// The delivery modes it runs with (never empty).
    pub delivery: Vec<Delivery>,
    /// How long a pairing may take.
    pub timeout: Duration,
    /// How long the client's connect may take before it ends `refused` (`connect_timeout`);
    /// `None`: as long as `timeout`.
    pub connect_timeout: Option<Duration>,
    /// How long a close of our sides waits for its last writes and the peer's EOF (`linger`;
    /// [`connectable::LINGER`] unless the case says).
    pub linger: Duration,
    /// Why the case is skipped, if it is (`skip = "why"`): its trials show as ignored.
    pub skip: Option<String>,
    /// The programs the case needs on PATH (`requires = [...]`); the plan skips the case, with
    /// the reason, where one is missing.
    pub requires: Vec<String>,
    /// Where the case's matrix is given (its `transports` or `reactors` key, else the case),
    /// for the plan's message when the matrix is empty.
    pub matrix_location: Location,
    /// Why the case is expected to fail, and where (`xfail = "why"` everywhere; `xfail = {
    /// reactors = [...], why = "..." }`, or a list of such tables, on those cells only): its
    /// trials there pass while an expectation fails, and fail as an unexpected pass once every
    /// expectation holds.
    pub xfail: Vec<Mark>,
    /// The cells skipped with a reason of their own (`skip = { reactors = [...], why = "..."
    /// }` or a list of such tables): a known difference whose outcome depends on the seed of
    /// chunked delivery, say, which an `xfail` could not state.
    pub skip_cells: Vec<Mark>,
    /// The certificates of the TLS transports (`tls = { ... }`); unused over plain TCP.
    pub tls: TlsProfile,
    /// What the server side must show.
    pub expect_server: Expectation,
    /// What the client side must show.
    pub expect_client: Expectation,
    /// What each connection of a server given as a list must show, when the suite gives a
    /// list of tables (as long as the server's list); empty when `expect_server` applies to
    /// each.
    pub expect_server_each: Vec<Expectation>,
    /// The same for a client given as a list.
    pub expect_client_each: Vec<Expectation>,
}

impl Case {
    /// What connection `i` (from 0) of a side must show: its own table when the suite gives
    /// a list, else the side's one table.
    pub fn expectation(&self, server: bool, i: usize) -> &Expectation {
        let (one, each) = if server {
            (&self.expect_server, &self.expect_server_each)
        } else {
            (&self.expect_client, &self.expect_client_each)
        };
        each.get(i).unwrap_or(one)
    }
}

/// A place in a suite file, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// What plays one side of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerSpec {
    /// A probe from the catalogue, with its arguments: built, and as the suite gave them (a
    /// shim, which runs the probe itself in another language, is sent those).
    Probe(ProbeSpec, ProbeArguments),
    /// A conversation written in the suite file (`{ script = [...] }`).
    Script(Script),
    /// A program someone else wrote, started for the trial (`{ command = [...] }`).
    Command(CommandSpec),
    /// A server that is already running (`{ address = "host:port" }`); server side only.
    Address(AddressSpec),
    /// Several connections of ours, one after another, against one external peer
    /// (`client = [ {...}, {...} ]`): each a probe or a script.
    Connections(Vec<PeerSpec>),
    /// No server: the client connects to a loopback address where no connection can be
    /// made, and must end `refused` (`server = { unreachable = "..." }`).
    Unreachable(Unreachable),
}

/// How a server is not there (`server = { unreachable = "WORD" }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// A socket bound to a loopback port, which does not listen: a connect to it is refused
    /// at once (ECONNREFUSED), and the port stays reserved while the trial runs.
    NothingListens,
    /// A listener whose backlog of one is full and which never accepts: the kernel drops
    /// the client's SYN, so its connect hangs until the case's `connect_timeout`.
    NeverAccepts,
    /// A TLS server that is never reached: a plain TCP listener accepts, reads the client's
    /// first TLS record (its ClientHello) and closes with a FIN, mid-handshake (Twisted's
    /// `test_disorderlyShutdown`). TLS only; the client is connected (`connection_made`
    /// runs) and ends `lost`.
    ClosesInHandshake,
}

impl Unreachable {
    /// Every kind, in documentation order.
    pub const ALL: [Unreachable; 3] = [
        Self::NothingListens,
        Self::NeverAccepts,
        Self::ClosesInHandshake,
    ];
    /// Every word, in documentation order.
    pub const WORDS: &[&str] = &["nothing-listens", "never-accepts", "closes-in-handshake"];

    /// The word suites use.
    pub fn word(self) -> &'static str {
        match self {
            Self::NothingListens => "nothing-listens",
            Self::NeverAccepts => "never-accepts",
            Self::ClosesInHandshake => "closes-in-handshake",
        }
    }

    /// The kind a suite word names, if any.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.word() == word)
    }
}

/// A probe's arguments as the suite gave them (defaults not applied), as JSON values.
pub type ProbeArguments = std::sync::Arc<serde_json::Map<String, serde_json::Value>>;

/// A mark on some cells of a case (`xfail`, or `skip` in its table form): why, and which
/// cells: those of the reactors named, and of the transports and delivery modes named, if
/// any are; a mark without reactors (`xfail = "why"`) is on every cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Why.
    pub why: String,
    /// The reactors, by name; `None`: every reactor.
    pub reactors: Option<Vec<String>>,
    /// The transports; `None`: every transport.
    pub transports: Option<Vec<TransportKind>>,
    /// The delivery modes (seeds ignored); `None`: every mode.
    pub delivery: Option<Vec<Delivery>>,
}

impl Mark {
    /// A mark on every cell (`xfail = "why"`).
    pub fn everywhere(why: String) -> Self {
        Self {
            why,
            reactors: None,
            transports: None,
            delivery: None,
        }
    }

    /// Whether the mark is on the cell of `reactor`, `transport` and `delivery`.
    pub fn covers(&self, reactor: &str, transport: TransportKind, delivery: Delivery) -> bool {
        self.reactors
            .as_ref()
            .is_none_or(|r| r.iter().any(|name| name == reactor))
            && self
                .transports
                .as_ref()
                .is_none_or(|t| t.contains(&transport))
            && self
                .delivery
                .as_ref()
                .is_none_or(|d| d.iter().any(|mode| mode.word() == delivery.word()))
    }
}

/// Why the first of `marks` that covers the cell marks it, if one does.
pub fn marked<'m>(
    marks: &'m [Mark],
    reactor: &str,
    transport: TransportKind,
    delivery: Delivery,
) -> Option<&'m str> {
    marks
        .iter()
        .find(|m| m.covers(reactor, transport, delivery))
        .map(|m| m.why.as_str())
}

/// An external program playing one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program and its arguments, with `{host}`, `{port}`, `{cert}`, `{key}`, `{ca}`
    /// still to be substituted.
    pub argv: Vec<String>,
    /// A text whose appearance on the program's stdout or stderr means it is ready (servers
    /// only); without it, a server is ready once its port is listening.
    pub ready: Option<String>,
    /// Extra environment variables (values substituted too).
    pub env: Vec<(String, String)>,
    /// The working directory (substituted too), or the runner's.
    pub cwd: Option<String>,
    /// How long the program may take to exit by itself once our side has ended, and again
    /// after SIGTERM before SIGKILL (`stop_grace`).
    pub stop_grace: std::time::Duration,
    /// Files written into the trial's private folder (`{dir}`) before the program starts:
    /// plain names and their contents, placeholders still to be substituted (`files`).
    pub files: Vec<(String, String)>,
    /// What is written to the program's standard input, which is then closed (`stdin`,
    /// `stdin_hex`); without it, stdin is `/dev/null`.
    pub stdin: Option<Stdin>,
}

/// What a program is given on its standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stdin {
    /// `stdin = "text"`: placeholders substituted, then written.
    Text(String),
    /// `stdin_hex = "..."`: these bytes, as they are.
    Bytes(Vec<u8>),
}

/// The placeholders a command's arguments, environment, working directory, files and stdin
/// may use.
pub const PLACEHOLDERS: &[&str] = &[
    "host",
    "port",
    "cert",
    "key",
    "ca",
    "dir",
    "transport",
    "client_cert",
    "client_key",
];

/// The files the runner writes into a trial's folder itself (`{cert}`, `{key}`, `{ca}`,
/// `{client_cert}`, `{client_key}`): a suite's `files` cannot use these names.
pub const RUNNER_FILES: &[&str] = &[
    "cert.pem",
    "key.pem",
    "ca.pem",
    "client-cert.pem",
    "client-key.pem",
];

/// The placeholders a script step's text may use (against an external peer: the address our
/// side connects to or listens on).
pub const SCRIPT_PLACEHOLDERS: &[&str] = &["host", "port"];

/// One piece of a text with placeholders: `{name}` is a placeholder, `{{` and `}}` are literal
/// braces, a `{` with no `}` after it is itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'t> {
    /// Text as it is.
    Text(&'t str),
    /// A `{name}`: the name.
    Placeholder(&'t str),
}

/// The pieces of `text`, in order.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            pieces.push(Piece::Text(&tail[..1]));
            rest = &tail[2..];
        } else if let Some(after) = tail.strip_prefix('}') {
            pieces.push(Piece::Text("}"));
            rest = after;
        } else if let Some(close) = tail.find('}') {
            pieces.push(Piece::Placeholder(&tail[1..close]));
            rest = &tail[close + 1..];
        } else {
            pieces.push(Piece::Text(tail));
            rest = "";
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// `text` with each placeholder replaced by `value(name)` (left as `{name}` where that is
/// `None`: the loader has refused every unknown name already) and `{{`, `}}` made braces.
pub fn substitute(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(name) => match value(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// A server someone else runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSpec {
    /// `host:port`.
    pub address: String,
    /// The name a TLS client verifies (default `localhost`).
    pub server_name: Option<String>,
    /// A PEM file of the CAs a TLS client trusts (default: the generated test CA).
    pub ca: Option<String>,
}

impl PeerSpec {
    /// Whether this side is outside the runner's process (its record is an exit status and
    /// output, not a trace).
    pub fn is_external(&self) -> bool {
        matches!(self, Self::Command(_) | Self::Address(_))
    }

    /// Whether this is no server at all (`unreachable`): the case runs over tcp, tcp6 and
    /// tls only, and only its client is checked.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }

    /// Whether the case runs over `transport` at all, whatever the reactor: an unreachable
    /// server over tcp, tcp6 and tls (one that closes in the handshake over tls only).
    pub fn unreachable_over(&self, transport: TransportKind) -> bool {
        match self {
            Self::Unreachable(Unreachable::ClosesInHandshake) => transport == TransportKind::Tls,
            Self::Unreachable(_) => matches!(
                transport,
                TransportKind::Tcp | TransportKind::Tcp6 | TransportKind::Tls
            ),
            _ => true,
        }
    }
}

impl PeerSpec {
    /// How the side is shown in messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Probe(spec, _) => format!("probe {}", spec.name()),
            Self::Script(script) => format!("script of {} steps", script.steps().len()),
            Self::Command(command) => format!("command {}", command.argv.join(" ")),
            Self::Address(address) => format!("server at {}", address.address),
            Self::Connections(list) => format!(
                "{} connections: {}",
                list.len(),
                list.iter()
                    .map(Self::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::Unreachable(how) => format!("no server ({})", how.word()),
        }
    }

    /// The connections this side makes or accepts: the list's, or itself.
    pub fn connections(&self) -> &[PeerSpec] {
        match self {
            Self::Connections(list) => list,
            one => std::slice::from_ref(one),
        }
    }
}

/// A transport a case can run over: a network, and TLS or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// TCP on 127.0.0.1.
    Tcp,
    /// TCP on `[::1]` (skipped where the machine has no IPv6 loopback).
    Tcp6,
    /// TLS over TCP on 127.0.0.1, with the generated test PKI.
    Tls,
    /// A UNIX domain socket at a fresh path.
    Unix,
    /// An in-process pipe: no sockets.
    Memory,
    /// TLS over the in-process pipe.
    MemoryTls,
}

impl TransportKind {
    /// Every transport, in documentation order.
    pub const ALL: [TransportKind; 6] = [
        Self::Tcp,
        Self::Tcp6,
        Self::Tls,
        Self::Unix,
        Self::Memory,
        Self::MemoryTls,
    ];

    /// The word suites and trial names use.
    pub fn word(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Tcp6 => "tcp6",
            Self::Tls => "tls",
            Self::Unix => "unix",
            Self::Memory => "memory",
            Self::MemoryTls => "memory-tls",
        }
    }

    /// The transport a suite word names.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.word() == word)
    }

    /// The byte stream under it.
    pub fn network(self) -> Network {
        match self {
            Self::Tcp | Self::Tls => Network::Tcp,
            Self::Tcp6 => Network::Tcp6,
            Self::Unix => Network::Unix,
            Self::Memory | Self::MemoryTls => Network::Memory,
        }
    }

    /// Whether it carries TLS.
    pub fn tls(self) -> bool {
        matches!(self, Self::Tls | Self::MemoryTls)
    }
}

// What one side must show, its fields the key families of `expectations` (which own their
// value types); named here too, as part of the model.
pub use crate::expectations::{EVENT_WORDS, Expectation, Negotiation, Received};

#[cfg(test)]
mod tests {
    use super::*;

    /// `{name}` is a placeholder, `{{` and `}}` are braces, anything else is itself.
    #[test]
    fn placeholders_and_braces() {
        let value = |name: &str| match name {
            "port" => Some("8080".to_owned()),
            "dir" => Some("/tmp/t".to_owned()),
            _ => None,
        };
        let rows = [
            ("{port}", "8080"),
            ("listen {port}; root {dir};", "listen 8080; root /tmp/t;"),
            ("events {{ }}", "events { }"),
            ("{{port}}", "{port}"),
            ("{{{port}}}", "{8080}"),
            ("%{{http_code}}", "%{http_code}"),
            ("a } b", "a } b"),
            ("open { never closed", "open { never closed"),
            // An unknown name (the loader refuses it first) is left as it was written.
            ("{other}", "{other}"),
            ("", ""),
            ("no braces", "no braces"),
        ];
        for (text, expected) in rows {
            assert_eq!(substitute(text, value), expected, "{text:?}");
        }
    }

    #[test]
    fn a_mark_covers_the_cells_it_names() {
        let mark = |reactors: Option<&[&str]>,
                    transports: Option<&[TransportKind]>,
                    delivery: Option<&[Delivery]>| Mark {
            why: "w".into(),
            reactors: reactors.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
            transports: transports.map(<[_]>::to_vec),
            delivery: delivery.map(<[_]>::to_vec),
        };
        let (tcp, tls) = (TransportKind::Tcp, TransportKind::Tls);
        // Rows: the mark, the cell (reactor, transport, delivery), whether it covers it.
        let rows = [
            (
                Mark::everywhere("w".into()),
                ("tokio-ct", tcp, Delivery::Whole),
                true,
            ),
            (
                mark(Some(&["asyncio"]), None, None),
                ("asyncio", tls, Delivery::Bytewise),
                true,
            ),
            (
                mark(Some(&["asyncio"]), None, None),
                ("tokio-ct", tls, Delivery::Bytewise),
                false,
            ),
            (
                mark(Some(&["asyncio"]), Some(&[tcp]), None),
                ("asyncio", tls, Delivery::Whole),
                false,
            ),
            (
                mark(Some(&["asyncio"]), Some(&[tcp]), None),
                ("asyncio", tcp, Delivery::Whole),
                true,
            ),
            // A chunked cell carries its seed; the mark names the mode.
            (
                mark(Some(&["asyncio"]), None, Some(&[Delivery::Chunked(0)])),
                ("asyncio", tcp, Delivery::Chunked(42)),
                true,
            ),
            (
                mark(Some(&["asyncio"]), None, Some(&[Delivery::Bytewise])),
                ("asyncio", tcp, Delivery::Chunked(42)),
                false,
            ),
        ];
        for (mark, (reactor, transport, delivery), covers) in rows {
            assert_eq!(
                mark.covers(reactor, transport, delivery),
                covers,
                "{mark:?} on {reactor} {transport:?} {delivery:?}"
            );
            let marks = [mark];
            assert_eq!(
                marked(&marks, reactor, transport, delivery).is_some(),
                covers
            );
        }
    }
}
