//! Loading suite files: `suites/*.toml` in, the [`crate::suite`] model out, or every problem
//! with its place.
//!
//! The file is parsed into toml's spanned document tree and walked by hand, so that one pass
//! reports every problem it finds (unknown keys, unknown words, bad values, missing keys,
//! duplicate names), each at its own line and column, with the valid choices and a "did you
//! mean" when a choice is close. Probe arguments are checked against the catalogue entry's
//! argument list first, then handed to [`ProbeEntry::parse`] as a serde deserializer whose
//! errors still point into the file. Nothing here panics on any input.
//!
//! The text decides, and nothing else: the probes and the reactor names a suite may use are
//! arguments (a [`Runner`](crate::Runner) holds them), and
//! nothing here reads the environment, looks at PATH or expands the matrix (the plan does,
//! [`crate::plan`]). `diagnostics.rs` holds the problems and their words, `case.rs` a case and
//! its expectations, `peer.rs` a side, `tls.rs` the TLS profile.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use connectable::Delivery;
use connectable::pki::{Alpn, ClientCert, ServerCert, TlsProfile, TlsVersions};
use protocols::{ArgKind, Argument, Catalogue, ProbeEntry};
use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod case;
mod diagnostics;
mod peer;
mod tls;

pub use diagnostics::Diagnostic;
pub(crate) use diagnostics::quote;
use diagnostics::{
    Words, bad_hex, did_you_mean, erased_message, found, io_message, trim_message, unknown_word,
};

use crate::suite::{
    AddressSpec, Case, CommandSpec, Location, Mark, PLACEHOLDERS, PeerSpec, Piece,
    SCRIPT_PLACEHOLDERS, Stdin, Suite, TransportKind, pieces,
};

/// Loads every `*.toml` file directly in `dir` (not in subdirectories), sorted by file name.
/// `probes` are the probes a suite may name, `reactors` the reactor names a suite may give
/// (and what a case without `reactors` runs on): the loader knows no probe or reactor of its
/// own.
///
/// Returns every problem of every file, not only the first; a directory that cannot be read
/// or holds no suite file is a problem too.
pub fn load_dir(
    dir: &Path,
    probes: &Catalogue,
    reactors: &[&str],
) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            return Err(vec![Diagnostic::whole(
                dir,
                format!("cannot read the suite directory: {}", io_message(&error)),
            )]);
        }
    };
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                    files.push(path);
                }
            }
            Err(error) => diagnostics.push(Diagnostic::whole(
                dir,
                format!("cannot read the suite directory: {}", io_message(&error)),
            )),
        }
    }
    files.sort();
    if files.is_empty() && diagnostics.is_empty() {
        diagnostics.push(Diagnostic::whole(
            dir,
            "no suite files (*.toml) in this directory",
        ));
    }
    let mut suites = Vec::new();
    for file in files {
        match std::fs::read(&file).map(String::from_utf8) {
            Ok(Ok(text)) => match load_str(&file, &text, probes, reactors) {
                Ok(suite) => suites.push(suite),
                Err(problems) => diagnostics.extend(problems),
            },
            Ok(Err(not_utf8)) => diagnostics.push(not_utf8_at(&file, not_utf8.as_bytes())),
            Err(error) => diagnostics.push(Diagnostic::whole(
                &file,
                format!("cannot read the suite file: {}", io_message(&error)),
            )),
        }
    }
    if diagnostics.is_empty() {
        Ok(suites)
    } else {
        Err(diagnostics)
    }
}

/// The problem of a suite file that is not UTF-8, placed at its first invalid byte.
fn not_utf8_at(path: &Path, bytes: &[u8]) -> Diagnostic {
    let valid_up_to = std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len);
    let valid = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or_default();
    let valid = valid.strip_prefix('\u{feff}').unwrap_or(valid);
    Diagnostic::after(
        path,
        valid,
        format!(
            "the suite file is not UTF-8 text: byte 0x{:02x} (offset {valid_up_to}) is not valid UTF-8",
            bytes.get(valid_up_to).copied().unwrap_or_default()
        ),
    )
}

/// Loads one suite from `text`, read from `path`; the suite's name is the file's stem, which
/// must be a valid suite name (`[a-z0-9_]+`, as case names), so that two files never give
/// one trial name or one trace file. A byte order mark at the start is skipped.
///
/// Returns every problem in the text, in file order, not only the first. The text alone
/// decides: nothing here looks at the machine (no PATH, no reactor's abilities, no matrix),
/// which is the plan's work ([`crate::plan`]).
pub fn load_str(
    path: &Path,
    text: &str,
    probes: &Catalogue,
    reactors: &[&str],
) -> Result<Suite, Vec<Diagnostic>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad_name = (!is_case_name(&name)).then(|| {
        Diagnostic::whole(
            path,
            format!(
                "bad suite file name {}: the name before .toml is the suite's name; use only \
                 a-z, 0-9 and _, at most {MAX_NAME} characters",
                quote(&name)
            ),
        )
    });
    let line_starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut checker = Checker {
        path,
        text,
        probes,
        reactors,
        line_starts,
        diagnostics: Vec::new(),
    };
    let cases = checker.document();
    checker.diagnostics.extend(bad_name);
    if checker.diagnostics.is_empty() {
        Ok(Suite {
            name,
            path: path.to_owned(),
            cases,
        })
    } else {
        // File order; problems without a place last. The sort is stable, so problems at one
        // place keep the order they were found in.
        checker
            .diagnostics
            .sort_by_key(|d| d.position.unwrap_or((usize::MAX, usize::MAX)));
        Err(checker.diagnostics)
    }
}

/// The keys each table may have.
pub(crate) const TOP_KEYS: &[&str] = &["defaults", "case"];
pub(crate) const DEFAULTS_KEYS: &[&str] = &["transports", "reactors", "delivery", "timeout"];
pub(crate) const CASE_KEYS: &[&str] = &[
    "name",
    "about",
    "server",
    "client",
    "transports",
    "reactors",
    "delivery",
    "timeout",
    "skip",
    "xfail",
    "requires",
    "tls",
    "expect",
    "connect_timeout",
    "linger",
];
pub(crate) const MARK_KEYS: &[&str] = &["reactors", "transports", "delivery", "why"];
pub(crate) const COMMAND_KEYS: &[&str] = &[
    "command",
    "ready",
    "env",
    "cwd",
    "stop_grace",
    "files",
    "stdin",
    "stdin_hex",
];
/// The keys of a command peer that an address peer cannot have: what is given to a program
/// the runner starts.
pub(crate) const PROGRAM_ONLY_KEYS: &[&str] = &["files", "stdin", "stdin_hex"];
pub(crate) const ADDRESS_KEYS: &[&str] = &["address", "server_name", "ca"];
pub(crate) const TLS_KEYS: &[&str] = &[
    "server_cert",
    "client_cert",
    "require_client_cert",
    "verify",
    "versions",
    "alpn",
];
const EXPECT_KEYS: &[&str] = &["server", "client"];
// The keys of a side (`expect.server`) come from the expectation table:
// [`crate::expectations::FAMILIES`].

/// How long a pairing may take when the suite says nothing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest `timeout` (and script `wait`): an hour. Every duration a suite gives is
/// bounded, so no deadline computed from one (`Instant + Duration`) can overflow.
pub const MAX_DURATION: Duration = Duration::from_millis(protocols::MAX_WAIT_MS);

/// The most bytes `received_len` and `received_generated` may expect (the `received` family's
/// bound, named here as before).
pub use crate::expectations::MAX_RECEIVED;

/// The most connections a side given as a list may make in one trial.
pub const MAX_CONNECTIONS: usize = 100;

/// The longest case name, in characters: it is part of every trial name and trace file name.
pub const MAX_NAME: usize = 100;
/// Words and keys longer than this are not compared for a "did you mean", and are shortened
/// in messages.
const LONGEST_SHOWN: usize = 64;

type Value<'i> = Spanned<DeValue<'i>>;
type Span = Range<usize>;

/// What every case inherits unless it says otherwise.
struct Defaults {
    transports: Vec<TransportKind>,
    reactors: Vec<String>,
    delivery: Vec<Delivery>,
    timeout: Duration,
}

impl Defaults {
    /// Every transport, reactor and delivery mode, and [`DEFAULT_TIMEOUT`].
    fn new(reactors: &[&str]) -> Self {
        Self {
            transports: TransportKind::ALL.to_vec(),
            reactors: reactors.iter().map(|&name| name.to_owned()).collect(),
            delivery: Delivery::ALL.to_vec(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Walks one file's document tree, collecting problems.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    /// The probes a suite may name.
    probes: &'a Catalogue,
    /// The reactor names a suite may give.
    reactors: &'a [&'a str],
    /// The byte offset where each line starts: 0, then one past each newline.
    line_starts: Vec<usize>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    // -- The document ---------------------------------------------------------------------

    fn document(&mut self) -> Vec<Case> {
        let (root, mut errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            // A broken document recovers only partly: checking what was recovered would
            // report problems that are not there, so report the syntax alone.
            errors.sort_by_key(|e| e.span().map_or(usize::MAX, |s| s.start));
            for error in errors {
                let mut message = format!("invalid TOML: {}", trim_message(error.message()));
                if error.message() == "duplicate key"
                    && let Some(key) = error.span().and_then(|s| self.text.get(s))
                {
                    message = format!("invalid TOML: duplicate key {}", quote(key.trim()));
                }
                if error.message() == "recursion limit" {
                    message.push_str(" (a key with too many dotted parts)");
                }
                match error.span().or_else(|| self.unplaced(error.message())) {
                    Some(span) => self.at(span, message),
                    None => self.whole(message),
                }
            }
            return Vec::new();
        }
        let root = root.into_inner();
        self.unknown_keys("", &root, TOP_KEYS);
        let defaults = match root.get("defaults") {
            Some(value) => self.defaults(value),
            None => Defaults::new(self.reactors),
        };
        let mut cases = Vec::new();
        let Some(value) = root.get("case") else {
            self.whole("no cases: add at least one [[case]]");
            return cases;
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.at(
                value.span(),
                format!(
                    "case: expected a list of tables ([[case]]), found {}",
                    found(value.get_ref())
                ),
            );
            return cases;
        };
        if items.is_empty() {
            self.at(value.span(), "no cases: add at least one [[case]]");
        }
        let mut seen = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            if let Some(case) = self.case(index + 1, item, &defaults, &mut seen) {
                cases.push(case);
            }
        }
        cases
    }

    fn defaults(&mut self, value: &Value<'_>) -> Defaults {
        let mut defaults = Defaults::new(self.reactors);
        let Some(table) = self.table("", "defaults", value) else {
            return defaults;
        };
        let ctx = "defaults: ";
        self.unknown_keys(ctx, table, DEFAULTS_KEYS);
        if let Some(value) = table.get("transports")
            && let Some(transports) = self.transports(ctx, value)
        {
            defaults.transports = transports;
        }
        if let Some(value) = table.get("reactors")
            && let Some(reactors) = self.reactors(ctx, value)
        {
            defaults.reactors = reactors;
        }
        if let Some(value) = table.get("delivery")
            && let Some(delivery) = self.delivery(ctx, value)
        {
            defaults.delivery = delivery;
        }
        if let Some(value) = table.get("timeout")
            && let Some(timeout) = self.duration(ctx, "timeout", value)
        {
            defaults.timeout = timeout;
        }
        defaults
    }

    /// A non-negative integer.
    fn count(&mut self, ctx: &str, path: &str, value: &Value<'_>) -> Option<u64> {
        let shown = match value.get_ref() {
            DeValue::Integer(integer) => {
                match u64::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(n) => return Some(n),
                    Err(_) => integer.as_str().to_owned(),
                }
            }
            other => found(other).to_owned(),
        };
        self.at(
            value.span(),
            format!("{ctx}{path}: expected a non-negative integer, found {shown}"),
        );
        None
    }

    fn duration(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<Duration> {
        let Some(text) = value.get_ref().as_str() else {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}: expected a duration such as \"5s\", found {}",
                    found(value.get_ref())
                ),
            );
            return None;
        };
        match parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(why) => {
                self.at(
                    value.span(),
                    format!("{ctx}{key}: bad duration {}: {why}", quote(text)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            other => {
                self.at(
                    value.span(),
                    format!("{ctx}{key}: expected true or false, found {}", found(other)),
                );
                None
            }
        }
    }

    fn text(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<String> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.clone().into_owned()),
            other => {
                self.at(
                    value.span(),
                    format!("{ctx}{key}: expected text, found {}", found(other)),
                );
                None
            }
        }
    }

    fn non_empty_text(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<String> {
        let text = self.text(ctx, key, value)?;
        if text.trim().is_empty() {
            self.at(value.span(), format!("{ctx}{key}: must not be empty"));
            return None;
        }
        Some(text)
    }

    fn table<'v, 'i>(
        &mut self,
        ctx: &str,
        key: &str,
        value: &'v Value<'i>,
    ) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                self.at(
                    value.span(),
                    format!("{ctx}{key}: expected a table, found {}", found(other)),
                );
                None
            }
        }
    }

    fn unknown_keys(&mut self, ctx: &str, table: &DeTable<'_>, allowed: &[&str]) {
        for (key, _) in sorted(table) {
            if !allowed.contains(&key.get_ref().as_ref()) {
                self.at(key.span(), unknown_word(ctx, "key", key.get_ref(), allowed));
            }
        }
    }
}

/// A table's entries in file order (toml keeps them sorted by key).
fn sorted<'t, 'i>(
    table: &'t DeTable<'i>,
) -> impl Iterator<Item = (&'t Spanned<std::borrow::Cow<'i, str>>, &'t Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries.into_iter()
}

// -- Value syntax -------------------------------------------------------------------------

fn is_case_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `250ms`, `5s`, `2m`: a whole number and a unit (the scripts' syntax), more than zero and
/// at most [`MAX_DURATION`].
fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    let duration = protocols::parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than zero");
    }
    if duration > MAX_DURATION {
        return Err("must be at most an hour (\"60m\", \"3600s\")");
    }
    Ok(duration)
}

/// Pairs of hex digits, without separators (`"0d0a"`).
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    protocols::bytes::decode_hex(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Expectation, Received};
    use connectable::ReasonKind;

    const PATH: &str = "suites/t.toml";

    fn reactor_names() -> Vec<&'static str> {
        connectable::reactor::builtin()
            .iter()
            .map(|r| r.name())
            .collect()
    }

    /// A probe built the way the registry documents, for comparing with what was loaded.
    fn probe(name: &str, arguments: &str) -> PeerSpec {
        let mut document: serde_json::Map<String, serde_json::Value> =
            toml::from_str(&format!("given = {arguments}")).expect("valid TOML");
        let Some(serde_json::Value::Object(given)) = document.remove("given") else {
            panic!("arguments are an inline table: {arguments}");
        };
        let arguments = toml::de::ValueDeserializer::parse(arguments).expect("valid TOML");
        PeerSpec::Probe(
            protocols::parse(name, arguments).expect("valid arguments"),
            std::sync::Arc::new(given),
        )
    }

    const VALID: &str = r#"[defaults]
transports = ["tcp"]
timeout = "250ms"

[[case]]
name = "closing_later_after_one_byte"
about = "The client writes one byte; the server closes once it has it."
server = "closing-later"
client = { probe = "send", data = "x" }
expect.server = { reason = "done", received = "x" }
expect.client = { reason = ["done", "lost"], events = ["made", "data", "lost"] }

[[case]]
name = "bulk_2"
about = "Overrides every default."
transports = ["tls", "tcp"]
reactors = ["tokio-ct"]
delivery = ["bytewise"]
timeout = "2m"
skip = "too slow"
server = { probe = "echo" }
client = { probe = "send", data_hex = "00ff", then = "close" }
expect.server = { received_hex = "00ff", error = "reset" }

[case.expect.client]
received_len = 0
"#;

    #[test]
    fn a_valid_suite_loads_with_defaults_and_overrides() {
        let suite = load_str(
            Path::new(PATH),
            VALID,
            &protocols::catalogue(),
            &reactor_names(),
        )
        .unwrap_or_else(|diagnostics| {
            panic!(
                "{}",
                diagnostics
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert_eq!(suite.name, "t");
        assert_eq!(suite.path, Path::new(PATH));
        let [first, second] = suite.cases.as_slice() else {
            panic!("expected two cases, got {:#?}", suite.cases);
        };

        assert_eq!(first.name, "closing_later_after_one_byte");
        assert_eq!(
            first.about,
            "The client writes one byte; the server closes once it has it."
        );
        assert_eq!(first.location.to_string(), "suites/t.toml:5:1");
        assert_eq!(first.server, probe("closing-later", "{}"));
        assert_eq!(first.client, probe("send", r#"{ data = "x" }"#));
        assert_eq!(first.transports, [TransportKind::Tcp]);
        let every_reactor: Vec<&str> = connectable::reactor::builtin()
            .iter()
            .map(|r| r.name())
            .collect();
        assert_eq!(first.reactors, every_reactor);
        assert_eq!(first.delivery, Delivery::ALL);
        assert_eq!(first.timeout, Duration::from_millis(250));
        assert_eq!(first.skip, None);
        assert_eq!(
            first.expect_server,
            Expectation {
                reason: Some(vec![ReasonKind::Done]),
                received: Some(Received::Text("x".to_owned())),
                ..Expectation::default()
            }
        );
        assert_eq!(
            first.expect_client,
            Expectation {
                reason: Some(vec![ReasonKind::Done, ReasonKind::Lost]),
                events: Some(vec!["made".into(), "data".into(), "lost".into()]),
                ..Expectation::default()
            }
        );

        assert_eq!(second.name, "bulk_2");
        assert_eq!(second.location.to_string(), "suites/t.toml:13:1");
        assert_eq!(second.server, probe("echo", "{}"));
        assert_eq!(second.server.describe(), "probe echo");
        assert_eq!(
            second.client,
            probe("send", r#"{ data_hex = "00ff", then = "close" }"#)
        );
        assert_eq!(second.transports, [TransportKind::Tls, TransportKind::Tcp]);
        assert_eq!(second.reactors, ["tokio-ct"]);
        assert_eq!(second.delivery, [Delivery::Bytewise]);
        assert_eq!(second.timeout, Duration::from_secs(120));
        assert_eq!(second.skip.as_deref(), Some("too slow"));
        assert_eq!(
            second.expect_server,
            Expectation {
                received: Some(Received::Hex(vec![0x00, 0xff])),
                error: Some("reset".to_owned()),
                ..Expectation::default()
            }
        );
        assert_eq!(
            second.expect_client,
            Expectation {
                received: Some(Received::Len(0)),
                ..Expectation::default()
            }
        );
    }

    #[test]
    fn without_defaults_every_transport_and_delivery_mode_is_used() {
        let text = "[[case]]\nname = \"a\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n";
        let suite = load_str(
            Path::new(PATH),
            text,
            &protocols::catalogue(),
            &reactor_names(),
        )
        .expect("a valid suite");
        let case = &suite.cases[0];
        assert_eq!(case.transports, TransportKind::ALL);
        assert_eq!(case.reactors.len(), connectable::reactor::builtin().len());
        assert_eq!(case.delivery, Delivery::ALL);
        assert_eq!(case.timeout, Duration::from_secs(5));
        assert_eq!(case.expect_server, Expectation::default());
        assert_eq!(case.expect_client, Expectation::default());
    }

    /// Every prefix of the valid file and of a file of odd characters: broken input gives
    /// diagnostics, never a panic (`tests/bad_suites.rs` does the same for every malformed row).
    #[test]
    fn truncated_files_never_panic() {
        let texts = [VALID, "\u{feff}é = \"\u{1F600}"];
        for text in texts {
            for (end, _) in text.char_indices() {
                let _ = load_str(
                    Path::new(PATH),
                    &text[..end],
                    &protocols::catalogue(),
                    &reactor_names(),
                );
            }
        }
    }

    /// suites/README.md is the format reference: every key the loader takes is in it.
    #[test]
    fn every_key_is_documented() {
        let path = crate::cli::default_suites().join("README.md");
        let reference = std::fs::read_to_string(&path).expect("suites/README.md is readable");
        let lists = [
            TOP_KEYS,
            DEFAULTS_KEYS,
            CASE_KEYS,
            COMMAND_KEYS,
            ADDRESS_KEYS,
            TLS_KEYS,
            EXPECT_KEYS,
            &crate::expectations::keys(),
        ];
        let missing: Vec<&str> = lists
            .iter()
            .flat_map(|keys| keys.iter().copied())
            .filter(|key| {
                [
                    format!("`{key}`"),
                    format!("`[{key}]`"),
                    format!("`[[{key}]]`"),
                    format!("`{key}."),
                    format!("`{key} = "),
                ]
                .iter()
                .all(|shown| !reference.contains(shown.as_str()))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{} does not document {missing:?}",
            path.display()
        );
    }

    #[test]
    fn directories_are_checked() {
        let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-directory");
        let diagnostics = load_dir(&missing, &protocols::catalogue(), &reactor_names())
            .expect_err("a missing directory");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].position, None);
        assert!(
            diagnostics[0]
                .to_string()
                .ends_with("no-such-directory: cannot read the suite directory: no such file or directory (os error 2)"),
            "{}",
            diagnostics[0]
        );

        // This crate's sources: a directory without a single *.toml file.
        let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let diagnostics = load_dir(&sources, &protocols::catalogue(), &reactor_names())
            .expect_err("no suite files");
        let shown: Vec<String> = diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(shown, ["no suite files (*.toml) in this directory"]);
    }
}
