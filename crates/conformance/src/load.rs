//! Loading suite files: `suites/*.toml` in, the [`crate::suite`] model out, or every problem
//! with its place.
//!
//! The file is parsed into toml's spanned document tree and walked by hand, so that one pass
//! reports every problem it finds (unknown keys, unknown words, bad values, missing keys,
//! duplicate names), each at its own line and column, with the valid choices and a "did you
//! mean" when a choice is close. Probe arguments are checked against the registry's argument
//! list first, then handed to [`protocols::parse`] as a serde deserializer whose errors still
//! point into the file. Nothing here panics on any input.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connectable::pki::{ClientCert, ServerCert, TlsProfile};
use connectable::reactor::{self, Reactor};
use connectable::{Delivery, ReasonKind};
use protocols::{ArgKind, Argument, Catalogue, ProbeEntry};
use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::suite::{
    AddressSpec, Case, CommandSpec, EVENT_WORDS, Expectation, Location, PLACEHOLDERS, PeerSpec,
    Received, Suite, TransportKind,
};

/// One problem found while loading suites: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or directory) the problem is in.
    pub path: PathBuf,
    /// The 1-based line and column (in characters), when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    /// What is wrong: lowercase, no trailing period.
    pub message: String,
}

impl Diagnostic {
    fn whole(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            position: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// Loads every `*.toml` file directly in `dir` (not in subdirectories), sorted by file name.
///
/// Returns every problem of every file, not only the first; a directory that cannot be read
/// or holds no suite file is a problem too.
pub fn load_dir(dir: &Path) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    load_dir_with(dir, &protocols::catalogue(), reactor::builtin())
}

/// [`load_dir`] with the probes of `probes` and the reactors of `reactors` (the built-in
/// ones and a user's own, as a [`Runner`](crate::Runner) holds them).
pub fn load_dir_with(
    dir: &Path,
    probes: &Catalogue,
    reactors: &[&'static dyn Reactor],
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
            Ok(Ok(text)) => match load_str_with(&file, &text, probes, reactors) {
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
    let line = valid.matches('\n').count() + 1;
    let column = valid
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    Diagnostic {
        path: path.to_owned(),
        position: Some((line, column)),
        message: format!(
            "the suite file is not UTF-8 text: byte 0x{:02x} (offset {valid_up_to}) is not valid UTF-8",
            bytes.get(valid_up_to).copied().unwrap_or_default()
        ),
    }
}

/// Loads one suite from `text`, read from `path`; the suite's name is the file's stem, which
/// must be a valid suite name (`[a-z0-9_]+`, as case names), so that two files never give
/// one trial name or one trace file. A byte order mark at the start is skipped.
///
/// Returns every problem in the text, in file order, not only the first.
pub fn load_str(path: &Path, text: &str) -> Result<Suite, Vec<Diagnostic>> {
    load_str_with(path, text, &protocols::catalogue(), reactor::builtin())
}

/// [`load_str`] with the probes of `probes` and the reactors of `reactors`.
pub fn load_str_with(
    path: &Path,
    text: &str,
    probes: &Catalogue,
    reactors: &[&'static dyn Reactor],
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
const TOP_KEYS: &[&str] = &["defaults", "case"];
const DEFAULTS_KEYS: &[&str] = &["transports", "reactors", "delivery", "timeout"];
const CASE_KEYS: &[&str] = &[
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
];
const COMMAND_KEYS: &[&str] = &["command", "ready", "env", "cwd", "stop_grace"];
const ADDRESS_KEYS: &[&str] = &["address", "server_name", "ca"];
const TLS_KEYS: &[&str] = &[
    "server_cert",
    "client_cert",
    "require_client_cert",
    "verify",
];
const EXPECT_KEYS: &[&str] = &["server", "client"];
const SIDE_KEYS: &[&str] = &[
    "reason",
    "received",
    "received_hex",
    "received_len",
    "received_generated",
    "events",
    "error",
    "exit",
    "stdout",
    "stderr",
];
/// What can be checked on a side our reactor drives, and on a side someone else runs.
const PROBE_SIDE_KEYS: &[&str] = &[
    "reason",
    "received",
    "received_hex",
    "received_len",
    "received_generated",
    "events",
    "error",
];
const EXTERNAL_SIDE_KEYS: &[&str] = &["exit", "stdout", "stderr"];
const RECEIVED_KEYS: &[&str] = &[
    "received",
    "received_hex",
    "received_len",
    "received_generated",
];

/// How long a pairing may take when the suite says nothing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest `timeout` (and script `wait`): an hour. Every duration a suite gives is
/// bounded, so no deadline computed from one (`Instant + Duration`) can overflow.
pub const MAX_DURATION: Duration = Duration::from_millis(protocols::MAX_WAIT_MS);

/// The most bytes `received_len` and `received_generated` may expect: 4 GiB, more than any
/// four probes can send ([`protocols::MAX_SIZE`] each).
pub const MAX_RECEIVED: u64 = 4 << 30;

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
    fn new(reactors: &[&'static dyn Reactor]) -> Self {
        Self {
            transports: TransportKind::ALL.to_vec(),
            reactors: reactors.iter().map(|r| r.name().to_owned()).collect(),
            delivery: Delivery::ALL.to_vec(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A list of words and what to call them in messages.
struct Words<'a> {
    /// The key, as a path from the context (`transports`, `expect.server.reason`).
    key: &'a str,
    /// What one word is (`transport`, `reason`).
    noun: &'a str,
    /// The valid words.
    valid: &'a [&'static str],
    /// A set: not empty, no word twice. Otherwise a sequence: may be empty, may repeat.
    set: bool,
}

/// Walks one file's document tree, collecting problems.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    /// The probes suites may name.
    probes: &'a Catalogue,
    /// The reactors cases run on unless they narrow them.
    reactors: &'a [&'static dyn Reactor],
    /// The byte offset where each line starts: 0, then one past each newline.
    line_starts: Vec<usize>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    // -- Places and problems ------------------------------------------------------------

    /// The 1-based line and column (in characters) of a byte offset into the text.
    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // The number of lines starting at or before `offset`; the first starts at 0.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    fn at(&mut self, span: Span, message: impl Into<String>) {
        let position = Some(self.position(span.start));
        self.diagnostics.push(Diagnostic {
            path: self.path.to_owned(),
            position,
            message: message.into(),
        });
    }

    fn whole(&mut self, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::whole(self.path, message));
    }

    /// Where a syntax error that the parser gives without a place (a key with too many
    /// dotted parts) is: at the first line that makes it. TOML reads front to back, so the
    /// first lines of a file give the errors of those lines; the shortest such prefix is
    /// found by bisection, a few parses of a file that failed anyway.
    fn unplaced(&self, message: &str) -> Option<Span> {
        let lines = self.line_starts.len();
        let gives_it = |count: usize| {
            let end = self
                .line_starts
                .get(count)
                .copied()
                .unwrap_or(self.text.len());
            let (_, errors) = DeTable::parse_recoverable(&self.text[..end]);
            errors
                .iter()
                .any(|e| e.span().is_none() && e.message() == message)
        };
        if !gives_it(lines) {
            return None;
        }
        // The fewest first lines that give it: `high` always does, fewer than `low` never.
        let (mut low, mut high) = (1, lines);
        while low < high {
            let middle = low + (high - low) / 2;
            if gives_it(middle) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        let start = self.line_starts[high - 1];
        let indent = self.text[start..]
            .find(|c: char| c != ' ' && c != '\t')
            .unwrap_or(0);
        Some(start + indent..start + indent)
    }

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

    fn case(
        &mut self,
        number: usize,
        value: &Value<'_>,
        defaults: &Defaults,
        seen: &mut HashMap<String, usize>,
    ) -> Option<Case> {
        let before = self.diagnostics.len();
        let mut ctx = format!("case #{number}: ");
        let DeValue::Table(table) = value.get_ref() else {
            self.at(
                value.span(),
                format!("{ctx}expected a table, found {}", found(value.get_ref())),
            );
            return None;
        };
        let span = value.span();

        let mut name = None;
        match table.get("name") {
            None => self.at(span.clone(), format!("{ctx}missing key \"name\"")),
            Some(value) => match value.get_ref().as_str() {
                Some(text) if is_case_name(text) => {
                    ctx = format!("case {}: ", quote(text));
                    let line = self.position(value.span().start).0;
                    match seen.get(text) {
                        Some(first) => self.at(
                            value.span(),
                            format!(
                                "{ctx}duplicate name; the first case {} is at line {first}",
                                quote(text)
                            ),
                        ),
                        None => {
                            seen.insert(text.to_owned(), line);
                        }
                    }
                    name = Some(text.to_owned());
                }
                Some(text) if text.chars().count() > MAX_NAME => self.at(
                    value.span(),
                    format!(
                        "{ctx}bad name {}: {} characters, at most {MAX_NAME}",
                        quote(text),
                        text.chars().count()
                    ),
                ),
                Some(text) => self.at(
                    value.span(),
                    format!("{ctx}bad name {}: use only a-z, 0-9 and _", quote(text)),
                ),
                None => self.at(
                    value.span(),
                    format!("{ctx}name: expected text, found {}", found(value.get_ref())),
                ),
            },
        }
        self.unknown_keys(&ctx, table, CASE_KEYS);

        let about = match table.get("about") {
            None => {
                self.at(span.clone(), format!("{ctx}missing key \"about\""));
                None
            }
            Some(value) => self.non_empty_text(&ctx, "about", value),
        };
        let server = match table.get("server") {
            None => {
                self.at(span.clone(), format!("{ctx}missing key \"server\""));
                None
            }
            Some(value) => self.peer(&ctx, "server", value),
        };
        let client = match table.get("client") {
            None => {
                self.at(span.clone(), format!("{ctx}missing key \"client\""));
                None
            }
            Some(value) => self.peer(&ctx, "client", value),
        };
        let transports = match table.get("transports") {
            None => Some(defaults.transports.clone()),
            Some(value) => self.transports(&ctx, value),
        };
        let reactors = match table.get("reactors") {
            None => Some(defaults.reactors.clone()),
            Some(value) => self.reactors(&ctx, value),
        };
        let delivery = match table.get("delivery") {
            None => Some(defaults.delivery.clone()),
            Some(value) => self.delivery(&ctx, value),
        };
        let timeout = match table.get("timeout") {
            None => Some(defaults.timeout),
            Some(value) => self.duration(&ctx, "timeout", value),
        };
        let mut skip = table
            .get("skip")
            .map(|value| self.non_empty_text(&ctx, "skip", value));
        let xfail = table
            .get("xfail")
            .map(|value| self.non_empty_text(&ctx, "xfail", value));
        if let Some(value) = table.get("requires") {
            let mut programs = Vec::new();
            match value.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        programs.extend(self.non_empty_text(&ctx, "requires", item));
                    }
                }
                other => self.at(
                    value.span(),
                    format!(
                        "{ctx}requires: expected a list of program names, found {}",
                        found(other)
                    ),
                ),
            }
            // Decided when the list is built: a missing program makes the case show as
            // skipped, with the reason, rather than fail or pass.
            let missing: Vec<String> = programs
                .into_iter()
                .filter(|p| !crate::external::on_path(p))
                .collect();
            if skip.is_none() && !missing.is_empty() {
                skip = Some(Some(format!(
                    "requires {}, not found on PATH",
                    missing.join(", ")
                )));
            }
        }
        let tls = match table.get("tls") {
            None => Some(TlsProfile::default()),
            Some(value) => self.tls(&ctx, value),
        };
        let (expect_server, expect_client) = match table.get("expect") {
            None => (Expectation::default(), Expectation::default()),
            Some(value) => self.expect(&ctx, value),
        };
        if let (Some(server), Some(client)) = (&server, &client) {
            if server.is_external() && client.is_external() {
                self.at(
                    span.clone(),
                    format!(
                        "{ctx}both sides are external; at least one must be a probe or a script"
                    ),
                );
            }
            for (side, peer) in [("server", server), ("client", client)] {
                self.side_keys_fit(&ctx, side, peer, table.get("expect"));
            }
            if client.is_external()
                && let Some(DeValue::Table(keys)) = table.get("tls").map(|v| v.get_ref())
                && let Some(verify) = keys.get("verify")
                && matches!(verify.get_ref(), DeValue::Boolean(false))
            {
                self.at(
                    verify.span(),
                    format!(
                        "{ctx}tls.verify: only our client can be told not to verify, and this \
                         case's client is external (its command decides what it verifies)"
                    ),
                );
            }
        }

        if self.diagnostics.len() != before {
            return None;
        }
        let (line, column) = self.position(span.start);
        let case = Case {
            name: name?,
            about: about?,
            location: Location {
                path: self.path.to_owned(),
                line,
                column,
            },
            server: server?,
            client: client?,
            transports: transports?,
            reactors: reactors?,
            delivery: delivery?,
            timeout: timeout?,
            skip: skip.flatten(),
            xfail: xfail.flatten(),
            tls: tls?,
            expect_server,
            expect_client,
        };
        // A case that expands to no trial would pass by running nothing.
        if crate::trials::cells(&case, 0, self.reactors).is_empty() {
            let place = ["transports", "reactors"]
                .iter()
                .find_map(|key| table.get(*key))
                .map_or(span, |value| value.span());
            self.at(place, format!("{ctx}{}", empty_matrix(&case)));
            return None;
        }
        Some(case)
    }

    // -- Peers ----------------------------------------------------------------------------

    fn peer(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<PeerSpec> {
        match value.get_ref() {
            DeValue::String(name) => {
                let info = self.probe_name(ctx, name, value.span())?;
                let arguments = Spanned::new(value.span(), DeValue::Table(DeTable::new()));
                self.parse_probe(ctx, key, info, arguments)
            }
            DeValue::Table(table) if table.get("command").is_some() => {
                self.unknown_keys(&format!("{ctx}{key}: "), table, COMMAND_KEYS);
                self.command(ctx, key, table)
            }
            DeValue::Table(table) if table.get("address").is_some() => {
                self.unknown_keys(&format!("{ctx}{key}: "), table, ADDRESS_KEYS);
                if key != "server" {
                    self.at(
                        value.span(),
                        format!(
                            "{ctx}{key}: an address can only be the server (a client someone \
                             else wrote is a command)"
                        ),
                    );
                    return None;
                }
                self.address(ctx, key, table)
            }
            DeValue::Table(table) if table.get("script").is_some() => {
                self.unknown_keys(&format!("{ctx}{key}: "), table, &["script"]);
                self.script(ctx, key, table.get("script")?)
            }
            DeValue::Table(table) => {
                let Some(name) = table.get("probe") else {
                    const HOW: &str = "(a peer is a probe name, or a table with probe, script, \
                                       command or address)";
                    let misspelt = sorted(table)
                        .map(|(k, _)| k)
                        .find(|k| !did_you_mean(k.get_ref(), &["probe"]).is_empty());
                    match misspelt {
                        Some(k) => self.at(
                            k.span(),
                            format!(
                                "{ctx}{key}: unknown key {}; did you mean \"probe\"? {HOW}",
                                quote(k.get_ref())
                            ),
                        ),
                        None => self.at(
                            value.span(),
                            format!("{ctx}{key}: missing key \"probe\" {HOW}"),
                        ),
                    }
                    return None;
                };
                let Some(text) = name.get_ref().as_str() else {
                    self.at(
                        name.span(),
                        format!(
                            "{ctx}{key}.probe: expected a probe name, found {}",
                            found(name.get_ref())
                        ),
                    );
                    return None;
                };
                let info = self.probe_name(ctx, text, name.span())?;
                let mut arguments = DeTable::new();
                let mut good = true;
                for (argument, argument_value) in sorted(table) {
                    if argument.get_ref() == "probe" {
                        continue;
                    }
                    match info.arguments.iter().find(|a| a.name == argument.get_ref()) {
                        Some(argument_info) => {
                            let path = format!("{key}.{}", argument.get_ref());
                            good &= self.argument(ctx, &path, argument_info, argument_value);
                        }
                        None => {
                            good = false;
                            self.unknown_argument(ctx, info, argument.get_ref(), argument.span());
                        }
                    }
                    arguments.insert(argument.clone(), argument_value.clone());
                }
                if !good {
                    return None;
                }
                let arguments = Spanned::new(value.span(), DeValue::Table(arguments));
                self.parse_probe(ctx, key, info, arguments)
            }
            other => {
                self.at(
                    value.span(),
                    format!(
                        "{ctx}{key}: expected a probe name or a table {{ probe = \"name\", \
                         ...arguments }}, found {}",
                        found(other)
                    ),
                );
                None
            }
        }
    }

    /// `script = [ { step = value }, ... ]`: each step a table with one known key, then the
    /// values checked by `protocols::Script`'s own parsing.
    fn script(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<PeerSpec> {
        let path = format!("{key}.script");
        let DeValue::Array(steps) = value.get_ref() else {
            self.at(
                value.span(),
                format!(
                    "{ctx}{path}: expected a list of steps, found {}",
                    found(value.get_ref())
                ),
            );
            return None;
        };
        let before = self.diagnostics.len();
        for (i, step) in steps.iter().enumerate() {
            let step_ctx = format!("{ctx}{path}: step {}: ", i + 1);
            let DeValue::Table(table) = step.get_ref() else {
                self.at(
                    step.span(),
                    format!(
                        "{step_ctx}expected a table such as {{ send = \"x\" }}, found {}",
                        found(step.get_ref())
                    ),
                );
                continue;
            };
            self.unknown_keys(&step_ctx, table, protocols::Step::WORDS);
            self.step_bounds(&step_ctx, table);
            if table.len() != 1 {
                let keys: Vec<&str> = sorted(table).map(|(k, _)| k.get_ref().as_ref()).collect();
                self.at(
                    step.span(),
                    format!(
                        "{step_ctx}a step has exactly one key, found {}",
                        if keys.is_empty() {
                            "none".to_owned()
                        } else {
                            keys.join(", ")
                        }
                    ),
                );
            }
        }
        if self.diagnostics.len() != before {
            return None;
        }
        match protocols::Script::deserialize(value.clone().into_deserializer()) {
            Ok(script) => Some(PeerSpec::Script(script)),
            Err(error) => {
                let message = format!("{ctx}{path}: {}", trim_message(error.message()));
                self.at(error.span().unwrap_or(value.span()), message);
                None
            }
        }
    }

    /// The bounds of a script step's values: sizes up to [`protocols::MAX_SIZE`], waits up to
    /// [`MAX_DURATION`]. Other mistakes are left to the script's own parser.
    fn step_bounds(&mut self, ctx: &str, table: &DeTable<'_>) {
        for (key, value) in sorted(table) {
            let key = key.get_ref().as_ref();
            match (key, value.get_ref()) {
                ("send_size" | "expect_size", DeValue::Integer(integer)) => {
                    if let Ok(n) = u64::from_str_radix(integer.as_str(), integer.radix())
                        && n > protocols::MAX_SIZE
                    {
                        self.at(
                            value.span(),
                            format!(
                                "{ctx}{key}: at most {}, not {n}",
                                protocols::shown_bound(protocols::MAX_SIZE)
                            ),
                        );
                    }
                }
                ("wait", DeValue::String(text)) => {
                    if let Ok(wait) = protocols::parse_duration(text)
                        && wait > MAX_DURATION
                    {
                        self.at(
                            value.span(),
                            format!(
                                "{ctx}wait: bad duration {}: must be at most an hour (\"60m\", \"3600s\")",
                                quote(text)
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// `{ command = [argv...], ready = "...", env = { ... }, cwd = "..." }`.
    fn command(&mut self, ctx: &str, key: &str, table: &DeTable<'_>) -> Option<PeerSpec> {
        let before = self.diagnostics.len();
        let mut argv = Vec::new();
        let value = table.get("command")?;
        let path = format!("{key}.command");
        match value.get_ref() {
            DeValue::Array(items) if !items.is_empty() => {
                for item in items.iter() {
                    if let Some(text) = self.text(ctx, &path, item) {
                        self.placeholders(ctx, &path, &text, item.span());
                        argv.push(text);
                    }
                }
            }
            DeValue::Array(_) => self.at(
                value.span(),
                format!("{ctx}{path}: empty list; give the program and its arguments"),
            ),
            other => self.at(
                value.span(),
                format!(
                    "{ctx}{path}: expected a list of texts (the program and its arguments), \
                     found {}",
                    found(other)
                ),
            ),
        }
        let ready = table
            .get("ready")
            .and_then(|v| self.non_empty_text(ctx, &format!("{key}.ready"), v));
        if key == "client"
            && let Some(value) = table.get("ready")
        {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}.ready: only a server has a ready text (an external client is \
                     started once our server listens); remove it"
                ),
            );
        }
        let stop_grace = match table.get("stop_grace") {
            None => Some(crate::external::DEFAULT_STOP_GRACE),
            Some(value) => self.stop_grace(ctx, &format!("{key}.stop_grace"), value),
        };
        let mut env = Vec::new();
        if let Some(value) = table.get("env")
            && let Some(vars) = self.table(ctx, &format!("{key}.env"), value)
        {
            for (name, var) in sorted(vars) {
                let path = format!("{key}.env.{}", name.get_ref());
                if let Some(text) = self.text(ctx, &path, var) {
                    self.placeholders(ctx, &path, &text, var.span());
                    env.push((name.get_ref().to_string(), text));
                }
            }
        }
        let cwd = table.get("cwd").and_then(|v| {
            let path = format!("{key}.cwd");
            let text = self.non_empty_text(ctx, &path, v)?;
            self.placeholders(ctx, &path, &text, v.span());
            Some(text)
        });
        (self.diagnostics.len() == before).then_some(PeerSpec::Command(CommandSpec {
            argv,
            ready,
            env,
            cwd,
            stop_grace: stop_grace?,
        }))
    }

    /// `stop_grace = "300ms"`: zero to [`crate::external::MAX_STOP_GRACE`].
    fn stop_grace(&mut self, ctx: &str, path: &str, value: &Value<'_>) -> Option<Duration> {
        let max = crate::external::MAX_STOP_GRACE;
        let text = value.get_ref().as_str();
        if text.is_some_and(|t| t.trim().trim_end_matches(char::is_alphabetic).trim() == "0") {
            return Some(Duration::ZERO);
        }
        let grace = self.duration(ctx, path, value)?;
        if grace > max {
            self.at(
                value.span(),
                format!(
                    "{ctx}{path}: {} is too long: a stop grace is at most {max:?} (every \
                     trial against the program may cost it twice)",
                    quote(text.unwrap_or_default())
                ),
            );
            return None;
        }
        Some(grace)
    }

    /// Every `{name}` in `text` must be a known placeholder.
    fn placeholders(&mut self, ctx: &str, path: &str, text: &str, span: Span) {
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let name = &rest[open + 1..open + close];
            if !PLACEHOLDERS.contains(&name) {
                let shown = quote(&format!("{{{name}}}"));
                let hint = did_you_mean(name, PLACEHOLDERS);
                self.at(
                    span.clone(),
                    format!(
                        "{ctx}{path}: unknown placeholder {shown}{hint} \
                         (valid: {{host}}, {{port}}, {{cert}}, {{key}}, {{ca}})"
                    ),
                );
            }
            rest = &rest[open + close + 1..];
        }
    }

    /// `{ address = "host:port", server_name = "...", ca = "path" }`.
    fn address(&mut self, ctx: &str, key: &str, table: &DeTable<'_>) -> Option<PeerSpec> {
        let before = self.diagnostics.len();
        let value = table.get("address")?;
        let address = self.text(ctx, &format!("{key}.address"), value);
        if let Some(text) = &address
            && text
                .rsplit_once(':')
                .is_none_or(|(_, port)| port.parse::<u16>().is_err())
        {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}.address: expected \"host:port\", found {}",
                    quote(text)
                ),
            );
        }
        let server_name = table
            .get("server_name")
            .and_then(|v| self.non_empty_text(ctx, &format!("{key}.server_name"), v));
        let ca = table
            .get("ca")
            .and_then(|v| self.non_empty_text(ctx, &format!("{key}.ca"), v));
        if self.diagnostics.len() != before {
            return None;
        }
        Some(PeerSpec::Address(AddressSpec {
            address: address?,
            server_name,
            ca,
        }))
    }

    fn probe_name(&mut self, ctx: &str, name: &str, span: Span) -> Option<&'a ProbeEntry> {
        let entry = self.probes.find(name);
        if entry.is_none() {
            let valid = self.probes.names();
            self.at(span, unknown_word(ctx, "probe", name, &valid));
        }
        entry
    }

    fn unknown_argument(&mut self, ctx: &str, entry: &ProbeEntry, argument: &str, span: Span) {
        let probe = quote(entry.name);
        let names: Vec<&str> = entry.arguments.iter().map(|a| a.name).collect();
        let message = if names.is_empty() {
            format!(
                "{ctx}unknown argument {} for probe {probe} (probe {probe} takes no arguments)",
                quote(argument)
            )
        } else {
            format!(
                "{ctx}unknown argument {} for probe {probe}{} (probe {probe} takes: {})",
                quote(argument),
                did_you_mean(argument, &names),
                names.join(", ")
            )
        };
        self.at(span, message);
    }

    /// Checks the type of one argument against its [`ArgKind`]. Returns whether the value is
    /// fine.
    fn argument(
        &mut self,
        ctx: &str,
        path: &str,
        argument: &'static Argument,
        value: &Value<'_>,
    ) -> bool {
        let expected = match (argument.kind, value.get_ref()) {
            (ArgKind::Integer { at_most }, DeValue::Integer(integer)) => {
                match u64::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(n) if n > at_most => {
                        self.at(
                            value.span(),
                            format!(
                                "{ctx}{path}: at most {}, not {n}",
                                protocols::shown_bound(at_most)
                            ),
                        );
                        return false;
                    }
                    // Negative values are left to the probe's own parser, which says so.
                    _ => return true,
                }
            }
            // A list and its items' types are left to the probe's own parser.
            (ArgKind::TextList, _) => return true,
            (ArgKind::Text, DeValue::String(_)) | (ArgKind::Boolean, DeValue::Boolean(_)) => {
                return true;
            }
            (ArgKind::Hex, DeValue::String(text)) => {
                if parse_hex(text).is_some() {
                    return true;
                }
                self.at(value.span(), bad_hex(ctx, path, text));
                return false;
            }
            (ArgKind::OneOf(valid), DeValue::String(word)) => {
                if valid.contains(&word.as_ref()) {
                    return true;
                }
                let prefix = format!("{ctx}{path}: ");
                self.at(value.span(), unknown_word(&prefix, "value", word, valid));
                return false;
            }
            (ArgKind::Text, _) => "text".to_owned(),
            (ArgKind::Hex, _) => "hex text".to_owned(),
            (ArgKind::Integer { .. }, _) => "an integer".to_owned(),
            (ArgKind::Boolean, _) => "true or false".to_owned(),
            (ArgKind::OneOf(valid), _) => format!("one of: {}", valid.join(", ")),
        };
        self.at(
            value.span(),
            format!(
                "{ctx}{path}: expected {expected}, found {}",
                found(value.get_ref())
            ),
        );
        false
    }

    fn parse_probe(
        &mut self,
        ctx: &str,
        key: &str,
        entry: &ProbeEntry,
        arguments: Value<'_>,
    ) -> Option<PeerSpec> {
        let span = arguments.span();
        let places: HashMap<String, Span> = match arguments.get_ref() {
            DeValue::Table(table) => table
                .iter()
                .map(|(name, value)| (name.get_ref().to_string(), value.span()))
                .collect(),
            _ => HashMap::new(),
        };
        match entry.parse(arguments.into_deserializer()) {
            Ok(spec) => Some(PeerSpec::Probe(spec)),
            Err(error) => {
                // The entry parses through a type-erased deserializer, which keeps toml's
                // message and the key it names (`in `size``) as text but not its span: the
                // argument's own place is found again from that key.
                let (said, argument) = erased_message(error.message());
                let message = format!("{ctx}{key}: probe {}: {said}", quote(entry.name));
                let place = argument.and_then(|a| places.get(a).cloned());
                self.at(error.span().or(place).unwrap_or(span), message);
                None
            }
        }
    }

    // -- TLS profile ----------------------------------------------------------------------

    fn tls(&mut self, ctx: &str, value: &Value<'_>) -> Option<TlsProfile> {
        let table = self.table(ctx, "tls", value)?;
        let before = self.diagnostics.len();
        self.unknown_keys(&format!("{ctx}tls: "), table, TLS_KEYS);
        let mut profile = TlsProfile::default();
        if let Some(value) = table.get("server_cert") {
            let valid: Vec<&'static str> = ServerCert::ALL.iter().map(|c| c.word()).collect();
            let words = Words {
                key: "tls.server_cert",
                noun: "server certificate",
                valid: &valid,
                set: false,
            };
            if let Some(word) = self.single_word(ctx, &words, value) {
                profile.server_cert = ServerCert::from_word(word).unwrap_or_default();
            }
        }
        if let Some(value) = table.get("client_cert") {
            let valid: Vec<&'static str> = ClientCert::ALL.iter().map(|c| c.word()).collect();
            let words = Words {
                key: "tls.client_cert",
                noun: "client certificate",
                valid: &valid,
                set: false,
            };
            if let Some(word) = self.single_word(ctx, &words, value) {
                profile.client_cert = ClientCert::from_word(word).unwrap_or_default();
            }
        }
        if let Some(value) = table.get("require_client_cert")
            && let Some(required) = self.boolean(ctx, "tls.require_client_cert", value)
        {
            profile.require_client_cert = required;
        }
        // The only way to switch certificate verification off: by name, in the case.
        if let Some(value) = table.get("verify")
            && let Some(verify) = self.boolean(ctx, "tls.verify", value)
        {
            profile.verify = verify;
        }
        (self.diagnostics.len() == before).then_some(profile)
    }

    /// A value that must be one word of `words.valid`.
    fn single_word(
        &mut self,
        ctx: &str,
        words: &Words<'_>,
        value: &Value<'_>,
    ) -> Option<&'static str> {
        match value.get_ref() {
            DeValue::String(text) => self.word(ctx, words, text, value.span()),
            other => {
                self.at(
                    value.span(),
                    format!(
                        "{ctx}{}: expected a word, found {}",
                        words.key,
                        found(other)
                    ),
                );
                None
            }
        }
    }

    // -- Expectations -------------------------------------------------------------------

    fn expect(&mut self, ctx: &str, value: &Value<'_>) -> (Expectation, Expectation) {
        let mut server = Expectation::default();
        let mut client = Expectation::default();
        let Some(table) = self.table(ctx, "expect", value) else {
            return (server, client);
        };
        self.unknown_keys(&format!("{ctx}expect: "), table, EXPECT_KEYS);
        if let Some(value) = table.get("server") {
            server = self.side(ctx, "expect.server", value);
        }
        if let Some(value) = table.get("client") {
            client = self.side(ctx, "expect.client", value);
        }
        (server, client)
    }

    fn side(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Expectation {
        let mut expectation = Expectation::default();
        let Some(table) = self.table(ctx, key, value) else {
            return expectation;
        };
        self.unknown_keys(&format!("{ctx}{key}: "), table, SIDE_KEYS);

        if let Some(value) = table.get("reason") {
            let path = format!("{key}.reason");
            let valid: Vec<&'static str> = ReasonKind::ALL.iter().map(|r| r.word()).collect();
            let words = Words {
                key: &path,
                noun: "reason",
                valid: &valid,
                set: true,
            };
            let reasons = match value.get_ref() {
                DeValue::String(word) => {
                    self.word(ctx, &words, word, value.span()).map(|w| vec![w])
                }
                DeValue::Array(_) => self.word_list(ctx, &words, value),
                other => {
                    self.at(
                        value.span(),
                        format!(
                            "{ctx}{path}: expected a word or a list of words, found {}",
                            found(other)
                        ),
                    );
                    None
                }
            };
            expectation.reason = reasons.map(|words| {
                words
                    .into_iter()
                    .filter_map(ReasonKind::from_word)
                    .collect()
            });
        }

        let mut given: Vec<(&str, Span)> = sorted(table)
            .filter_map(|(key, _)| {
                let name = RECEIVED_KEYS
                    .iter()
                    .find(|r| **r == key.get_ref().as_ref())?;
                Some((*name, key.span()))
            })
            .collect();
        if given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
            let span = given.swap_remove(1).1;
            self.at(
                span,
                format!(
                    "{ctx}{key}: give only one of {} (found {})",
                    RECEIVED_KEYS.join(", "),
                    names.join(", ")
                ),
            );
        }
        if let Some(value) = table.get("received")
            && let Some(text) = self.text(ctx, &format!("{key}.received"), value)
        {
            expectation.received = Some(Received::Text(text));
        }
        if let Some(value) = table.get("received_hex") {
            let path = format!("{key}.received_hex");
            if let Some(text) = self.text(ctx, &path, value) {
                match parse_hex(&text) {
                    Some(bytes) => expectation.received = Some(Received::Hex(bytes)),
                    None => self.at(value.span(), bad_hex(ctx, &path, &text)),
                }
            }
        }
        for (name, make) in [
            ("received_len", Received::Len as fn(u64) -> Received),
            ("received_generated", Received::Generated),
        ] {
            if let Some(value) = table.get(name) {
                let path = format!("{key}.{name}");
                if let Some(n) = self.count(ctx, &path, value) {
                    if n > MAX_RECEIVED {
                        self.at(
                            value.span(),
                            format!("{ctx}{path}: at most {MAX_RECEIVED} (4 GiB), not {n}"),
                        );
                    } else {
                        expectation.received = Some(make(n));
                    }
                }
            }
        }

        if let Some(value) = table.get("events") {
            let path = format!("{key}.events");
            let words = Words {
                key: &path,
                noun: "event",
                valid: EVENT_WORDS,
                set: false,
            };
            expectation.events = self
                .word_list(ctx, &words, value)
                .map(|words| words.into_iter().map(str::to_owned).collect());
        }
        if let Some(value) = table.get("error") {
            expectation.error = self.text(ctx, &format!("{key}.error"), value);
        }
        if let Some(value) = table.get("exit") {
            expectation.exit = self.exit(ctx, &format!("{key}.exit"), value);
        }
        if let Some(value) = table.get("stdout") {
            expectation.stdout = self.text(ctx, &format!("{key}.stdout"), value);
        }
        if let Some(value) = table.get("stderr") {
            expectation.stderr = self.text(ctx, &format!("{key}.stderr"), value);
        }
        expectation
    }

    /// An external side can only be checked on its exit status and output; a probe side on
    /// everything else.
    fn side_keys_fit(
        &mut self,
        ctx: &str,
        side: &str,
        peer: &PeerSpec,
        expect: Option<&Value<'_>>,
    ) {
        let Some(DeValue::Table(expect)) = expect.map(|v| v.get_ref()) else {
            return;
        };
        let Some(DeValue::Table(keys)) = expect.get(side).map(|v| v.get_ref()) else {
            return;
        };
        let (allowed, what) = if peer.is_external() {
            (EXTERNAL_SIDE_KEYS, "an external side")
        } else {
            (PROBE_SIDE_KEYS, "a probe or script side")
        };
        for (key, _) in sorted(keys) {
            let name = key.get_ref().as_ref();
            if SIDE_KEYS.contains(&name) && !allowed.contains(&name) {
                self.at(
                    key.span(),
                    format!(
                        "{ctx}expect.{side}: {} cannot be checked on {what} (valid: {})",
                        quote(name),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// `exit = 0`, `exit = [0, 1]`, `exit = "killed"`, `exit = [0, "killed"]`.
    fn exit(&mut self, ctx: &str, path: &str, value: &Value<'_>) -> Option<Vec<Option<i32>>> {
        let items: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::Array(items) if items.is_empty() => {
                self.at(
                    value.span(),
                    format!("{ctx}{path}: empty list; give at least one exit status"),
                );
                return None;
            }
            DeValue::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut codes = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::Integer(integer) => {
                    match i32::from_str_radix(integer.as_str(), integer.radix()) {
                        Ok(code) => codes.push(Some(code)),
                        Err(_) => self.at(
                            item.span(),
                            format!("{ctx}{path}: {} is not an exit status", integer.as_str()),
                        ),
                    }
                }
                DeValue::String(word) if word == "killed" => codes.push(None),
                other => self.at(
                    item.span(),
                    format!(
                        "{ctx}{path}: expected an exit status or \"killed\", found {}",
                        found(other)
                    ),
                ),
            }
        }
        Some(codes)
    }

    // -- Values -------------------------------------------------------------------------

    fn transports(&mut self, ctx: &str, value: &Value<'_>) -> Option<Vec<TransportKind>> {
        let valid: Vec<&'static str> = TransportKind::ALL.iter().map(|t| t.word()).collect();
        let words = Words {
            key: "transports",
            noun: "transport",
            valid: &valid,
            set: true,
        };
        let words = self.word_list(ctx, &words, value)?;
        Some(
            words
                .into_iter()
                .filter_map(TransportKind::from_word)
                .collect(),
        )
    }

    fn reactors(&mut self, ctx: &str, value: &Value<'_>) -> Option<Vec<String>> {
        let valid: Vec<&'static str> = self.reactors.iter().map(|r| r.name()).collect();
        let words = Words {
            key: "reactors",
            noun: "reactor",
            valid: &valid,
            set: true,
        };
        let words = self.word_list(ctx, &words, value)?;
        Some(words.into_iter().map(str::to_owned).collect())
    }

    fn delivery(&mut self, ctx: &str, value: &Value<'_>) -> Option<Vec<Delivery>> {
        let valid: Vec<&'static str> = Delivery::ALL.iter().map(|d| d.word()).collect();
        let words = Words {
            key: "delivery",
            noun: "delivery mode",
            valid: &valid,
            set: true,
        };
        let words = self.word_list(ctx, &words, value)?;
        Some(words.into_iter().filter_map(Delivery::from_word).collect())
    }

    /// A list of words, each checked; `None` (with every problem reported) if any is bad.
    fn word_list(
        &mut self,
        ctx: &str,
        words: &Words<'_>,
        value: &Value<'_>,
    ) -> Option<Vec<&'static str>> {
        let key = words.key;
        let DeValue::Array(items) = value.get_ref() else {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}: expected a list of words, found {}",
                    found(value.get_ref())
                ),
            );
            return None;
        };
        if words.set && items.is_empty() {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}: empty list; give at least one of: {}",
                    words.valid.join(", ")
                ),
            );
            return None;
        }
        let mut good = true;
        let mut result: Vec<&'static str> = Vec::new();
        for item in items.iter() {
            let Some(text) = item.get_ref().as_str() else {
                self.at(
                    item.span(),
                    format!(
                        "{ctx}{key}: expected a word, found {}",
                        found(item.get_ref())
                    ),
                );
                good = false;
                continue;
            };
            match self.word(ctx, words, text, item.span()) {
                Some(word) if words.set && result.contains(&word) => {
                    self.at(
                        item.span(),
                        format!("{ctx}{key}: {} is listed twice", quote(word)),
                    );
                    good = false;
                }
                Some(word) => result.push(word),
                None => good = false,
            }
        }
        good.then_some(result)
    }

    /// One word, checked against the valid ones.
    fn word(
        &mut self,
        ctx: &str,
        words: &Words<'_>,
        text: &str,
        span: Span,
    ) -> Option<&'static str> {
        let word = words.valid.iter().copied().find(|w| *w == text);
        if word.is_none() {
            self.at(span, unknown_word(ctx, words.noun, text, words.valid));
        }
        word
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

// -- Messages ---------------------------------------------------------------------------

/// `{ctx}unknown {noun} "word"; did you mean "x"? (valid: a, b, c)`
fn unknown_word(ctx: &str, noun: &str, word: &str, valid: &[&str]) -> String {
    format!(
        "{ctx}unknown {noun} {}{} (valid: {})",
        quote(word),
        did_you_mean(word, valid),
        valid.join(", ")
    )
}

/// `; did you mean "x"?` when one of `valid` is close to `word`, else nothing.
fn did_you_mean(word: &str, valid: &[&str]) -> String {
    if word.chars().count() > LONGEST_SHOWN {
        return String::new();
    }
    let word = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for candidate in valid {
        let edits = strsim::normalized_damerau_levenshtein(&word, candidate);
        let prefix = strsim::jaro_winkler(&word, candidate);
        if edits < 0.6 && prefix < 0.85 {
            continue;
        }
        let score = edits + prefix;
        if best.is_none_or(|(best, _)| score > best) {
            best = Some((score, candidate));
        }
    }
    best.map_or_else(String::new, |(_, candidate)| {
        format!("; did you mean {}?", quote(candidate))
    })
}

/// A user's text in quotes, escaped, shortened if long.
fn quote(text: &str) -> String {
    if text.chars().count() > LONGEST_SHOWN {
        let short: String = text.chars().take(LONGEST_SHOWN).collect();
        format!("{:?}...", short)
    } else {
        format!("{text:?}")
    }
}

/// What a value is, for "expected X, found Y".
fn found(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

/// Why a case's matrix has no cell (see [`crate::trials::cells`]).
fn empty_matrix(case: &Case) -> String {
    let external = case.server.is_external() || case.client.is_external();
    let shared: Vec<&str> = case
        .transports
        .iter()
        .filter(|t| !external || matches!(t, TransportKind::Tcp | TransportKind::Tls))
        .map(|t| t.word())
        .collect();
    if shared.is_empty() {
        let listed: Vec<&str> = case.transports.iter().map(|t| t.word()).collect();
        format!(
            "empty matrix: an external peer runs over tcp or tls only, and the transports are {}",
            listed.join(", ")
        )
    } else {
        format!(
            "empty matrix: none of the reactors ({}) drives any of the transports ({})",
            case.reactors.join(", "),
            shared.join(", ")
        )
    }
}

fn bad_hex(ctx: &str, path: &str, text: &str) -> String {
    format!(
        "{ctx}{path}: bad hex {}: write pairs of hex digits, e.g. \"0d0a\"",
        quote(text)
    )
}

/// A message from elsewhere, in our style: no trailing period.
/// A probe's parse error as the type-erased deserializer hands it on: toml's message, then
/// perhaps blank lines and `in `key``, the argument it is about (`size`; for an item of a
/// list, the list). Gives the message alone and that argument.
fn erased_message(message: &str) -> (&str, Option<&str>) {
    let message = message.trim();
    let Some((said, keys)) = message.rsplit_once("\nin `") else {
        return (trim_message(message), None);
    };
    let keys = keys.strip_suffix('`').unwrap_or(keys);
    let argument = keys.split(['.', '[']).next().filter(|a| !a.is_empty());
    (trim_message(said), argument)
}

fn trim_message(message: &str) -> &str {
    message.trim().trim_end_matches('.')
}

/// An I/O error's message, lowercased at the start as ours are.
fn io_message(error: &std::io::Error) -> String {
    let message = error.to_string();
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => message,
    }
}

// -- Value syntax -------------------------------------------------------------------------

fn is_case_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `250ms`, `5s`, `2m`: a whole number and a unit, more than zero.
fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    const HOW: &str = "write a number and a unit, e.g. \"5s\", \"250ms\"";
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let Ok(number) = number.parse::<u64>() else {
        return Err(HOW);
    };
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.checked_mul(60).ok_or(HOW)?),
        _ => return Err(HOW),
    };
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
    let digits: Vec<u8> = text
        .bytes()
        .map(|b| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    Some(
        digits
            .chunks(2)
            .map(|pair| (pair[0] << 4) | pair[1])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "suites/t.toml";

    /// Loads `text` and compares every diagnostic, shown as `line:col: message` (or just the
    /// message when it has no place), with `expected`, in order. Returns the mismatch.
    fn check(text: &str, expected: &[&str]) -> Option<String> {
        let shown: Vec<String> = match load_str(Path::new(PATH), text) {
            Ok(suite) => return Some(format!("loaded {suite:#?}\n--- from:\n{text}")),
            Err(diagnostics) => diagnostics
                .iter()
                .map(|d| {
                    let line = d.to_string();
                    let rest = line.strip_prefix(PATH).unwrap_or(&line);
                    rest.trim_start_matches(':').trim_start().to_owned()
                })
                .collect(),
        };
        // The catalogue grows; rows say {probes} for the list of every probe name.
        let probes: Vec<&str> = protocols::catalogue().names();
        let transports: Vec<&str> = TransportKind::ALL.iter().map(|t| t.word()).collect();
        let reactors: Vec<&str> = reactor::builtin().iter().map(|r| r.name()).collect();
        let delivery: Vec<&str> = Delivery::ALL.iter().map(|d| d.word()).collect();
        let expected: Vec<String> = expected
            .iter()
            .map(|e| {
                e.replace("{probes}", &probes.join(", "))
                    .replace("{transports}", &transports.join(", "))
                    .replace("{reactors}", &reactors.join(", "))
                    .replace("{delivery}", &delivery.join(", "))
            })
            .collect();
        (shown != expected).then(|| {
            format!("--- from:\n{text}--- expected:\n{expected:#?}\n--- got:\n{shown:#?}\n")
        })
    }

    /// Each row: a suite file and every diagnostic it must give, in order.
    const ROWS: &[(&str, &[&str])] = &[
        // TOML syntax: every syntax error, nothing else.
        (
            "[[case]]\nname = \"x\nabout = \"y\"\n",
            &["2:10: invalid TOML: invalid basic string, expected `\"`"],
        ),
        (
            "a = 1\na = 2\n[[case]]\nname = = 4\n",
            &[
                "2:1: invalid TOML: duplicate key \"a\"",
                "4:8: invalid TOML: extra `=`, expected nothing",
                "4:10: invalid TOML: unexpected key or value, expected newline, `#`",
            ],
        ),
        // A syntax error the parser gives without a place (found by the fuzzer): placed at
        // the line that makes it, by bisection.
        (
            "[[case]]\nname = \"x\"\n\n  k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k = 1\nabout = \"a\"\n",
            &["4:3: invalid TOML: recursion limit (a key with too many dotted parts)"],
        ),
        // The document.
        ("", &["no cases: add at least one [[case]]"]),
        ("case = []\n", &["1:8: no cases: add at least one [[case]]"]),
        (
            "[case]\nname = \"a\"\n",
            &["1:1: case: expected a list of tables ([[case]]), found a table"],
        ),
        (
            "case = [1]\n",
            &["1:9: case #1: expected a table, found an integer"],
        ),
        (
            "cases = 1\n[[case]]\nname = \"a\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &["1:1: unknown key \"cases\"; did you mean \"case\"? (valid: defaults, case)"],
        ),
        // [defaults]
        (
            "[defaults]\ntimout = \"1s\"\ntransports = [\"tpc\"]\ndelivery = []\nreactors = \"tokio-ct\"\n\
             [[case]]\nname = \"a\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &[
                "2:1: defaults: unknown key \"timout\"; did you mean \"timeout\"? (valid: transports, reactors, delivery, timeout)",
                "3:15: defaults: unknown transport \"tpc\"; did you mean \"tcp\"? (valid: {transports})",
                "4:12: defaults: delivery: empty list; give at least one of: {delivery}",
                "5:12: defaults: reactors: expected a list of words, found a string",
            ],
        ),
        (
            "defaults = 3\n[[case]]\nname = \"a\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &["1:12: defaults: expected a table, found an integer"],
        ),
        // [[case]] keys, names and required keys.
        (
            "[[case]]\nname = \"a\"\nabut = \"a\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &[
                "3:1: case \"a\": unknown key \"abut\"; did you mean \"about\"? (valid: name, about, server, client, transports, reactors, delivery, timeout, skip, xfail, requires, tls, expect)",
            ],
        ),
        (
            "[[case]]\nname = \"Bad-Name\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &["2:8: case #1: bad name \"Bad-Name\": use only a-z, 0-9 and _"],
        ),
        (
            "[[case]]\nname = 7\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &["2:8: case #1: name: expected text, found an integer"],
        ),
        (
            "[[case]]\nname = \"a\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\n\
             [[case]]\nname = \"a\"\nabout = \"b\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &["8:8: case \"a\": duplicate name; the first case \"a\" is at line 2"],
        ),
        (
            "[[case]]\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &["1:1: case #1: missing key \"name\""],
        ),
        (
            "[[case]]\nname = \"a\"\n",
            &[
                "1:1: case \"a\": missing key \"about\"",
                "1:1: case \"a\": missing key \"server\"",
                "1:1: case \"a\": missing key \"client\"",
            ],
        ),
        (
            "[[case]]\nname = \"a\"\nabout = \" \"\nskip = \"\"\nserver = \"idle\"\nclient = \"idle\"\n",
            &[
                "3:9: case \"a\": about: must not be empty",
                "4:8: case \"a\": skip: must not be empty",
            ],
        ),
        // Peers.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"closing_later\"\nclient = \"idle\"\n",
            &[
                "4:10: case \"x\": unknown probe \"closing_later\"; did you mean \"closing-later\"? (valid: {probes})",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = { probe = \"ecko\" }\nclient = \"idle\"\n",
            &["4:20: case \"x\": unknown probe \"ecko\"; did you mean \"echo\"? (valid: {probes})"],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", dta = \"x\" }\n",
            &[
                "5:28: case \"x\": unknown argument \"dta\" for probe \"send\"; did you mean \"data\"? (probe \"send\" takes: data, data_hex, size, then)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = { probe = \"echo\", data = \"x\" }\nclient = \"idle\"\n",
            &[
                "4:28: case \"x\": unknown argument \"data\" for probe \"echo\" (probe \"echo\" takes no arguments)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", size = \"ten\", then = \"clse\" }\n",
            &[
                "5:35: case \"x\": client.size: expected an integer, found a string",
                "5:49: case \"x\": client.then: unknown value \"clse\"; did you mean \"close\"? (valid: wait, close, abort)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", data = \"x\", then = true }\n",
            &[
                "5:47: case \"x\": client.then: expected one of: wait, close, abort, found a boolean",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", data = 1 }\n",
            &["5:35: case \"x\": client.data: expected text, found an integer"],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", size = -1 }\n",
            &[
                "5:35: case \"x\": client: probe \"send\": invalid value: integer `-1`, expected usize",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"write-sequence\", parts = [\"a\", 1] }\n",
            &[
                "5:46: case \"x\": client: probe \"write-sequence\": invalid type: integer `1`, expected a string",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", data = \"x\", size = 3 }\n",
            &[
                "5:10: case \"x\": client: probe \"send\": give exactly one of \"data\", \"data_hex\", \"size\" (got \"data\", \"size\")",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"send\"\n",
            &[
                "5:10: case \"x\": client: probe \"send\": give exactly one of \"data\", \"data_hex\", \"size\" (got none)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { probe = \"send\", data_hex = \"0g\" }\n",
            &[
                "5:39: case \"x\": client.data_hex: bad hex \"0g\": write pairs of hex digits, e.g. \"0d0a\"",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = { data = \"x\" }\nclient = 3\n",
            &[
                "4:10: case \"x\": server: missing key \"probe\" (a peer is a probe name, or a table with probe, script, command or address)",
                "5:10: case \"x\": client: expected a probe name or a table { probe = \"name\", ...arguments }, found an integer",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = { prbe = \"send\", data = \"x\" }\n",
            &[
                "5:12: case \"x\": client: unknown key \"prbe\"; did you mean \"probe\"? (a peer is a probe name, or a table with probe, script, command or address)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = { probe = 1 }\nclient = \"idle\"\n",
            &["4:20: case \"x\": server.probe: expected a probe name, found an integer"],
        ),
        // Transports, reactors, delivery, timeout.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             transports = []\nreactors = [\"tokio\"]\ndelivery = [\"whole\", \"whole\", 3]\n",
            &[
                "6:14: case \"x\": transports: empty list; give at least one of: {transports}",
                "7:13: case \"x\": unknown reactor \"tokio\"; did you mean \"tokio-ct\"? (valid: {reactors})",
                "8:22: case \"x\": delivery: \"whole\" is listed twice",
                "8:31: case \"x\": delivery: expected a word, found an integer",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\ntransports = [\"udp\"]\n",
            &["6:15: case \"x\": unknown transport \"udp\" (valid: {transports})"],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\ntimeout = \"5 sec\"\n\n\
             [[case]]\nname = \"y\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\ntimeout = \"0s\"\n\n\
             [[case]]\nname = \"z\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\ntimeout = 5\n",
            &[
                "6:11: case \"x\": timeout: bad duration \"5 sec\": write a number and a unit, e.g. \"5s\", \"250ms\"",
                "13:11: case \"y\": timeout: bad duration \"0s\": must be more than zero",
                "20:11: case \"z\": timeout: expected a duration such as \"5s\", found an integer",
            ],
        ),
        // Scripts.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"echo\"\n\
             client = { script = [ { sned = \"x\" }, { send = \"a\", close = true }, 3, { wait = \"1 s\" } ], probe = \"echo\" }\n",
            &[
                "5:25: case \"x\": client.script: step 1: unknown key \"sned\"; did you mean \"send\"? (valid: send, send_hex, send_size, expect, expect_hex, expect_size, wait, pause_reading, resume_reading, half_close, close, abort, expect_closed)",
                "5:39: case \"x\": client.script: step 2: a step has exactly one key, found send, close",
                "5:69: case \"x\": client.script: step 3: expected a table such as { send = \"x\" }, found an integer",
                "5:92: case \"x\": client: unknown key \"probe\" (valid: script)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"echo\"\n\
             client = { script = [ { send = \"a\" }, { wait = \"1 s\" } ] }\n",
            &[
                "5:39: case \"x\": client.script: bad duration \"1 s\": write a number and a unit, e.g. \"5s\", \"250ms\"",
            ],
        ),
        // External peers.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nrequires = \"openssl\"\n\
             server = { command = [\"openssl\", \"-accept\", \"{prot}\"], redy = \"x\" }\n\
             client = { command = [] }\n\
             expect.server = { reason = \"done\", exit = \"crashed\" }\n\
             expect.client = { exit = 0 }\n",
            &[
                "4:12: case \"x\": requires: expected a list of program names, found a string",
                "5:45: case \"x\": server.command: unknown placeholder \"{prot}\"; did you mean \"port\"? (valid: {host}, {port}, {cert}, {key}, {ca})",
                "5:56: case \"x\": server: unknown key \"redy\"; did you mean \"ready\"? (valid: command, ready, env, cwd, stop_grace)",
                "6:22: case \"x\": client.command: empty list; give the program and its arguments",
                "7:43: case \"x\": expect.server.exit: expected an exit status or \"killed\", found a string",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\n\
             server = { command = \"openssl s_server\" }\nclient = \"idle\"\n",
            &[
                "4:22: case \"x\": server.command: expected a list of texts (the program and its arguments), found a string",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\n\
             server = { address = \"localhost:80\", servername = \"a\" }\nclient = \"idle\"\n",
            &[
                "4:38: case \"x\": server: unknown key \"servername\"; did you mean \"server_name\"? (valid: address, server_name, ca)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\n\
             server = { command = [\"srv\"] }\n\
             client = { address = \"localhost\" }\n\
             expect.server = { reason = \"done\" }\n\
             expect.client = { stdout = \"x\" }\n",
            &[
                "5:10: case \"x\": client: an address can only be the server (a client someone else wrote is a command)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\n\
             server = { address = \"localhost\" }\n\
             client = \"idle\"\n\
             expect.server = { reason = \"done\" }\n\
             expect.client = { stdout = \"x\" }\n",
            &["4:22: case \"x\": server.address: expected \"host:port\", found \"localhost\""],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\n\
             server = { address = \"localhost:80\" }\n\
             client = \"idle\"\n\
             expect.server = { reason = \"done\" }\n\
             expect.client = { stdout = \"x\" }\n",
            &[
                "6:19: case \"x\": expect.server: \"reason\" cannot be checked on an external side (valid: exit, stdout, stderr)",
                "7:19: case \"x\": expect.client: \"stdout\" cannot be checked on a probe or script side (valid: reason, received, received_hex, received_len, received_generated, events, error)",
            ],
        ),
        // TLS profiles.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             tls = { server_cert = \"expird\", client_cert = 3, require_client_cert = \"yes\", verify = \"no\", verfy = false }\n",
            &[
                "6:23: case \"x\": unknown server certificate \"expird\"; did you mean \"expired\"? (valid: valid, expired, not-yet-valid, wrong-host, unknown-ca, self-signed)",
                "6:47: case \"x\": tls.client_cert: expected a word, found an integer",
                "6:72: case \"x\": tls.require_client_cert: expected true or false, found a string",
                "6:88: case \"x\": tls.verify: expected true or false, found a string",
                "6:94: case \"x\": tls: unknown key \"verfy\"; did you mean \"verify\"? (valid: server_cert, client_cert, require_client_cert, verify)",
            ],
        ),
        // Verification is switched off for our client only.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\n\
             client = { command = [\"openssl\", \"s_client\"] }\ntls = { verify = false }\n",
            &[
                "6:18: case \"x\": tls.verify: only our client can be told not to verify, and this case's client is external (its command decides what it verifies)",
            ],
        ),
        // An empty matrix: the case would run nothing.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             reactors = [\"threads\"]\ntransports = [\"memory\", \"memory-tls\"]\n",
            &[
                "7:14: case \"x\": empty matrix: none of the reactors (threads) drives any of the transports (memory, memory-tls)",
            ],
        ),
        (
            "[defaults]\ntransports = [\"unix\"]\nreactors = [\"threads\"]\n\
             [[case]]\nname = \"x\"\nabout = \"a\"\nserver = { command = [\"srv\"] }\nclient = \"idle\"\n",
            &[
                "4:1: case \"x\": empty matrix: an external peer runs over tcp or tls only, and the transports are unix",
            ],
        ),
        // Expectations.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.sever = { reason = \"done\" }\n",
            &[
                "6:8: case \"x\": expect: unknown key \"sever\"; did you mean \"server\"? (valid: server, client)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { reasons = \"done\" }\n",
            &[
                "6:19: case \"x\": expect.server: unknown key \"reasons\"; did you mean \"reason\"? (valid: reason, received, received_hex, received_len, received_generated, events, error, exit, stdout, stderr)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { reason = \"don\" }\nexpect.client = { reason = [\"lost\", \"abort\"] }\n",
            &[
                "6:28: case \"x\": unknown reason \"don\"; did you mean \"done\"? (valid: done, lost, aborted, tls, refused, error)",
                "7:37: case \"x\": unknown reason \"abort\"; did you mean \"aborted\"? (valid: done, lost, aborted, tls, refused, error)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { reason = 1, events = [\"made\", \"mad\"], error = 2 }\nexpect.client = { reason = [] }\n",
            &[
                "6:28: case \"x\": expect.server.reason: expected a word or a list of words, found an integer",
                "6:49: case \"x\": unknown event \"mad\"; did you mean \"made\"? (valid: unverified, made, handshake, data, read-lost, write-lost, paused, resumed, pause-producing, resume-producing, stop-producing, lost)",
                "6:65: case \"x\": expect.server.error: expected text, found an integer",
                "7:28: case \"x\": expect.client.reason: empty list; give at least one of: done, lost, aborted, tls, refused, error",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { received_hex = \"abc\" }\nexpect.client = { received_len = -1 }\n",
            &[
                "6:34: case \"x\": expect.server.received_hex: bad hex \"abc\": write pairs of hex digits, e.g. \"0d0a\"",
                "7:34: case \"x\": expect.client.received_len: expected a non-negative integer, found -1",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { received = \"a\", received_hex = \"61\" }\n",
            &[
                "6:35: case \"x\": expect.server: give only one of received, received_hex, received_len, received_generated (found received, received_hex)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { received = \"a\", received_len = 1, received_hex = \"61\" }\n",
            &[
                "6:35: case \"x\": expect.server: give only one of received, received_hex, received_len, received_generated (found received, received_len, received_hex)",
            ],
        ),
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\nexpect = 1\n\n\
             [[case]]\nname = \"y\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\nexpect.server = \"done\"\n",
            &[
                "6:10: case \"x\": expect: expected a table, found an integer",
                "13:17: case \"y\": expect.server: expected a table, found a string",
            ],
        ),
        // Columns count characters, not bytes.
        (
            "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n\
             expect.server = { error = \"\u{e9}\", reason = \"lst\" }\n",
            &[
                "6:41: case \"x\": unknown reason \"lst\"; did you mean \"lost\"? (valid: done, lost, aborted, tls, refused, error)",
            ],
        ),
        // One file with many problems: every one is reported, in file order.
        (
            "[defaults]\ntransports = [\"tcp\", \"tls\", \"tcp\"]\n\n\
             [[case]]\nname = \"first\"\nabout = \"a\"\nserver = \"closing-latr\"\nclient = { probe = \"send\", dat = \"x\" }\n\
             expect.server = { reason = \"dne\" }\n\n\
             [[case]]\nname = \"first\"\nabout = \"b\"\nserver = \"echo\"\n\
             expect.client = { received = \"x\", received_len = 1 }\n\n\
             [[case]]\nabout = \"c\"\nserver = \"echo\"\nclient = \"idle\"\ntimeout = \"soon\"\n",
            &[
                "2:29: defaults: transports: \"tcp\" is listed twice",
                "7:10: case \"first\": unknown probe \"closing-latr\"; did you mean \"closing-later\"? (valid: {probes})",
                "8:28: case \"first\": unknown argument \"dat\" for probe \"send\"; did you mean \"data\"? (probe \"send\" takes: data, data_hex, size, then)",
                "9:28: case \"first\": unknown reason \"dne\"; did you mean \"done\"? (valid: done, lost, aborted, tls, refused, error)",
                "11:1: case \"first\": missing key \"client\"",
                "12:8: case \"first\": duplicate name; the first case \"first\" is at line 5",
                "15:35: case \"first\": expect.client: give only one of received, received_hex, received_len, received_generated (found received, received_len)",
                "17:1: case #3: missing key \"name\"",
                "21:11: case #3: timeout: bad duration \"soon\": write a number and a unit, e.g. \"5s\", \"250ms\"",
            ],
        ),
    ];

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let failures: Vec<String> = ROWS
            .iter()
            .filter_map(|(text, expected)| check(text, expected))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// A probe built the way the registry documents, for comparing with what was loaded.
    fn probe(name: &str, arguments: &str) -> PeerSpec {
        let arguments = toml::de::ValueDeserializer::parse(arguments).expect("valid TOML");
        PeerSpec::Probe(protocols::parse(name, arguments).expect("valid arguments"))
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
        let suite = load_str(Path::new(PATH), VALID).unwrap_or_else(|diagnostics| {
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
        let every_reactor: Vec<&str> = reactor::builtin().iter().map(|r| r.name()).collect();
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
        let suite = load_str(Path::new(PATH), text).expect("a valid suite");
        let case = &suite.cases[0];
        assert_eq!(case.transports, TransportKind::ALL);
        assert_eq!(case.reactors.len(), reactor::builtin().len());
        assert_eq!(case.delivery, Delivery::ALL);
        assert_eq!(case.timeout, Duration::from_secs(5));
        assert_eq!(case.expect_server, Expectation::default());
        assert_eq!(case.expect_client, Expectation::default());
    }

    /// Every prefix of every test file: broken input gives diagnostics, never a panic.
    #[test]
    fn truncated_files_never_panic() {
        let texts = ROWS
            .iter()
            .map(|(text, _)| *text)
            .chain([VALID, "\u{feff}é = \"\u{1F600}"]);
        for text in texts {
            for (end, _) in text.char_indices() {
                let _ = load_str(Path::new(PATH), &text[..end]);
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
            SIDE_KEYS,
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
        let diagnostics = load_dir(&missing).expect_err("a missing directory");
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
        let diagnostics = load_dir(&sources).expect_err("no suite files");
        let shown: Vec<String> = diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(shown, ["no suite files (*.toml) in this directory"]);
    }
}
