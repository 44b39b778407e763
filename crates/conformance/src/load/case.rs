//! One `[[case]]`: its name, its peers, its matrix, its flags and its expectations, each key
//! checked and every problem reported with its place.

use super::*;
use crate::expectations::{self, Sides};
use crate::suite::Expectation;

/// A side's expectation: one table (for the side, or for each of its connections), and the
/// list of one per connection when the suite gives a list (else empty).
type SideExpect = (Expectation, Vec<Expectation>);

/// Whether a script (`{ script = [...] }`) uses `{host}` or `{port}` in a step.
fn script_names_the_address(peer: &PeerSpec) -> bool {
    let PeerSpec::Script(script) = peer else {
        return false;
    };
    script.steps().iter().any(|step| match step {
        protocols::Step::Send(text)
        | protocols::Step::Expect(text)
        | protocols::Step::ExpectUntil(text) => pieces(text)
            .iter()
            .any(|piece| matches!(piece, Piece::Placeholder(_))),
        _ => false,
    })
}

impl Checker<'_> {
    pub(super) fn case(
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
            Some(value) => self.side_peer(&ctx, "server", value),
        };
        let client = match table.get("client") {
            None => {
                self.at(span.clone(), format!("{ctx}missing key \"client\""));
                None
            }
            Some(value) => self.side_peer(&ctx, "client", value),
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
        let (skip, skip_cells) = match table.get("skip") {
            None => (Some(None), Some(Vec::new())),
            Some(value) if matches!(value.get_ref(), DeValue::String(_)) => (
                Some(self.non_empty_text(&ctx, "skip", value)),
                Some(Vec::new()),
            ),
            Some(value) => (Some(None), self.marks(&ctx, "skip", value)),
        };
        let xfail = match table.get("xfail") {
            None => Some(Vec::new()),
            Some(value) if matches!(value.get_ref(), DeValue::String(_)) => self
                .non_empty_text(&ctx, "xfail", value)
                .map(|why| vec![Mark::everywhere(why)]),
            Some(value) => self.marks(&ctx, "xfail", value),
        };
        let mut requires = Vec::new();
        if let Some(value) = table.get("requires") {
            match value.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        requires.extend(self.non_empty_text(&ctx, "requires", item));
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
        }
        let tls = match table.get("tls") {
            None => Some(TlsProfile::default()),
            Some(value) => self.tls(&ctx, value),
        };
        let ((expect_server, expect_server_each), (expect_client, expect_client_each)) =
            match table.get("expect") {
                None => Default::default(),
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
                self.connections_fit(&ctx, side, peer, table, server, client);
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

        let connect_timeout = table
            .get("connect_timeout")
            .map(|value| (value, self.duration(&ctx, "connect_timeout", value)));
        self.unreachable_fits(
            &ctx,
            span.clone(),
            server.as_ref(),
            connect_timeout,
            timeout,
            table.get("expect"),
        );
        let connect_timeout = connect_timeout.and_then(|(_, bound)| bound);
        let linger = table.get("linger").and_then(|value| {
            let linger = self.duration(&ctx, "linger", value)?;
            if let Some(timeout) = timeout
                && linger >= timeout
            {
                self.at(
                    value.span(),
                    format!(
                        "{ctx}linger: {linger:?} is not shorter than the timeout ({timeout:?}): \
                         a close would wait the trial out"
                    ),
                );
                return None;
            }
            Some(linger)
        });
        if self.diagnostics.len() != before {
            return None;
        }
        let (line, column) = self.position(span.start);
        // The plan places an empty matrix here: the first key that narrows it.
        let matrix_span = ["transports", "reactors"]
            .iter()
            .find_map(|key| table.get(*key))
            .map_or(span.clone(), |value| value.span());
        let (matrix_line, matrix_column) = self.position(matrix_span.start);
        let matrix_location = Location {
            path: self.path.to_owned(),
            line: matrix_line,
            column: matrix_column,
        };
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
            connect_timeout,
            linger: linger.unwrap_or(connectable::LINGER),
            skip: skip?,
            skip_cells: skip_cells?,
            requires,
            matrix_location,
            xfail: xfail?,
            tls: tls?,
            expect_server,
            expect_client,
            expect_server_each,
            expect_client_each,
        };
        Some(case)
    }

    // -- Expectations -------------------------------------------------------------------

    /// `expect = { server = ..., client = ... }`: each side's table, or its list of tables
    /// (one per connection of a side given as a list).
    pub(super) fn expect(&mut self, ctx: &str, value: &Value<'_>) -> (SideExpect, SideExpect) {
        let mut server = SideExpect::default();
        let mut client = SideExpect::default();
        let Some(table) = self.table(ctx, "expect", value) else {
            return (server, client);
        };
        self.unknown_keys(&format!("{ctx}expect: "), table, EXPECT_KEYS);
        if let Some(value) = table.get("server") {
            server = self.side_or_each(ctx, "expect.server", value);
        }
        if let Some(value) = table.get("client") {
            client = self.side_or_each(ctx, "expect.client", value);
        }
        (server, client)
    }

    /// One table for the side (or for each of its connections), or a list of tables, one
    /// per connection (`expect.client#2` in messages).
    fn side_or_each(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> SideExpect {
        let DeValue::Array(items) = value.get_ref() else {
            return (self.side(ctx, key, value), Vec::new());
        };
        if items.is_empty() {
            self.at(
                value.span(),
                format!("{ctx}{key}: empty list; give one table per connection, or one table"),
            );
        }
        let each = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.side(ctx, &format!("{key}#{}", i + 1), item))
            .collect();
        (Expectation::default(), each)
    }

    /// A side: one peer, or a list of probes and scripts (`client = [ {...}, {...} ]`), the
    /// connections that side makes (or accepts) one after another.
    pub(super) fn side_peer(
        &mut self,
        ctx: &str,
        key: &str,
        value: &Value<'_>,
    ) -> Option<PeerSpec> {
        let DeValue::Array(items) = value.get_ref() else {
            return self.peer(ctx, key, value);
        };
        if items.is_empty() || items.len() > MAX_CONNECTIONS {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}: a list of {} connections; give 1 to {MAX_CONNECTIONS}, each a \
                     probe or a script",
                    items.len()
                ),
            );
            return None;
        }
        let before = self.diagnostics.len();
        let mut connections = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{key}#{}", i + 1);
            if let DeValue::Table(table) = item.get_ref()
                && (table.get("command").is_some() || table.get("address").is_some())
            {
                self.at(
                    item.span(),
                    format!(
                        "{ctx}{path}: a list of connections is ours, each a probe or a script \
                         (an external program or address is one peer: give it as the other side)"
                    ),
                );
                continue;
            }
            if let Some(peer) = self.peer(ctx, &path, item) {
                connections.push(peer);
            }
        }
        (self.diagnostics.len() == before).then_some(PeerSpec::Connections(connections))
    }

    /// A side given as a list needs an external peer on the other side; an expectation list
    /// needs its side given as a list of the same length; a script's `{host}` and `{port}`
    /// need an external peer to name.
    fn connections_fit(
        &mut self,
        ctx: &str,
        side: &str,
        peer: &PeerSpec,
        table: &DeTable<'_>,
        server: &PeerSpec,
        client: &PeerSpec,
    ) {
        let other_is_external = if side == "server" {
            client.is_external()
        } else {
            server.is_external()
        };
        let place = table.get(side).map(|v| v.span()).unwrap_or_default();
        if let PeerSpec::Connections(_) = peer
            && !other_is_external
        {
            self.at(
                place.clone(),
                format!(
                    "{ctx}{side}: a list of connections needs an external peer on the other \
                     side (a command, or an address); two sides of ours make one connection \
                     per pairing: write a case for each"
                ),
            );
        }
        if !other_is_external && peer.connections().iter().any(script_names_the_address) {
            self.at(
                place,
                format!(
                    "{ctx}{side}.script: {{host}} and {{port}} in a script step name the \
                     external peer's address; between two sides of ours there is none (write \
                     {{{{ and }}}} for literal braces)"
                ),
            );
        }
        let Some(DeValue::Table(expect)) = table.get("expect").map(|v| v.get_ref()) else {
            return;
        };
        let Some(value) = expect.get(side) else {
            return;
        };
        let DeValue::Array(items) = value.get_ref() else {
            return;
        };
        match peer {
            PeerSpec::Connections(list) if list.len() != items.len() && !items.is_empty() => {
                self.at(
                    value.span(),
                    format!(
                        "{ctx}expect.{side}: a list of {} expectations, but {side} makes {} \
                         connections; give one table per connection, or a single table for each",
                        items.len(),
                        list.len()
                    ),
                );
            }
            PeerSpec::Connections(_) => {}
            _ => self.at(
                value.span(),
                format!(
                    "{ctx}expect.{side}: a list of expectations is one per connection, and \
                     {side} is one connection; give a table (or give {side} as a list)"
                ),
            ),
        }
    }

    /// One side's expectation (`expect.server`): its keys are checked against the families'
    /// keys, then every family reads its own ([`Expectation::parse`]).
    pub(super) fn side(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Expectation {
        let Some(table) = self.table(ctx, key, value) else {
            return Expectation::default();
        };
        self.unknown_keys(&format!("{ctx}{key}: "), table, &expectations::keys());
        for family in expectations::one_of_families() {
            let names: Vec<&str> = family.keys.iter().map(|k| k.name).collect();
            let mut given: Vec<(&str, Span)> = sorted(table)
                .filter_map(|(key, _)| {
                    let name = names.iter().find(|r| **r == key.get_ref().as_ref())?;
                    Some((*name, key.span()))
                })
                .collect();
            if given.len() > 1 {
                let found: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
                let span = given.swap_remove(1).1;
                self.at(
                    span,
                    format!(
                        "{ctx}{key}: give only one of {} (found {})",
                        names.join(", "),
                        found.join(", ")
                    ),
                );
            }
        }
        Expectation::parse(&mut SideKeys {
            checker: self,
            ctx,
            side: key,
            table,
        })
    }

    /// An external side can only be checked on its exit status and output; a probe side on
    /// everything else.
    pub(super) fn side_keys_fit(
        &mut self,
        ctx: &str,
        side: &str,
        peer: &PeerSpec,
        expect: Option<&Value<'_>>,
    ) {
        let Some(DeValue::Table(expect)) = expect.map(|v| v.get_ref()) else {
            return;
        };
        let tables: Vec<&DeTable<'_>> = match expect.get(side).map(|v| v.get_ref()) {
            Some(DeValue::Table(keys)) => vec![keys],
            Some(DeValue::Array(items)) => items
                .iter()
                .filter_map(|i| i.get_ref().as_table())
                .collect(),
            _ => return,
        };
        let sides = if peer.is_external() {
            Sides::External
        } else {
            Sides::Probe
        };
        let (allowed, what) = (expectations::keys_for(sides), sides.describe());
        let every = expectations::keys();
        for (key, _) in tables.into_iter().flat_map(sorted) {
            let name = key.get_ref().as_ref();
            if every.contains(&name) && !allowed.contains(&name) {
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

    // -- Values -------------------------------------------------------------------------

    pub(super) fn transports(
        &mut self,
        ctx: &str,
        value: &Value<'_>,
    ) -> Option<Vec<TransportKind>> {
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

    /// The table forms of `xfail` and `skip`: `{ reactors = [...], transports = [...],
    /// delivery = [...], why = "..." }` (`reactors` and `why` required), or a list of them.
    fn marks(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<Vec<Mark>> {
        match value.get_ref() {
            DeValue::Table(_) => Some(vec![self.mark(ctx, key, value)?]),
            DeValue::Array(items) if !items.is_empty() => {
                let marks: Vec<Option<Mark>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.mark(ctx, &format!("{key}[{i}]"), item))
                    .collect();
                marks.into_iter().collect()
            }
            other => {
                self.at(
                    value.span(),
                    format!(
                        "{ctx}{key}: expected text (why), a table {{ reactors = [...], why = \
                         \"...\" }} or a non-empty list of them, found {}",
                        found(other)
                    ),
                );
                None
            }
        }
    }

    fn mark(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<Mark> {
        let table = self.table(ctx, key, value)?;
        self.unknown_keys(&format!("{ctx}{key}: "), table, MARK_KEYS);
        for name in ["why", "reactors"] {
            if table.get(name).is_none() {
                self.at(
                    value.span(),
                    format!("{ctx}{key}: missing key {}", quote(name)),
                );
            }
        }
        let why = table
            .get("why")
            .and_then(|why| self.non_empty_text(ctx, &format!("{key}.why"), why));
        let reactors = table
            .get("reactors")
            .and_then(|reactors| self.mark_reactors(&format!("{ctx}{key}.reactors"), reactors));
        let transports = match table.get("transports") {
            Some(value) => Some(Some(self.transports(&format!("{ctx}{key}: "), value)?)),
            None => Some(None),
        };
        let delivery = match table.get("delivery") {
            Some(value) => Some(Some(self.delivery(&format!("{ctx}{key}: "), value)?)),
            None => Some(None),
        };
        Some(Mark {
            why: why?,
            reactors: Some(reactors?),
            transports: transports?,
            delivery: delivery?,
        })
    }

    /// A mark's `reactors`: it may name a reactor this run does not have (a shim that is not
    /// registered: the catalogue marks asyncio's differences, and loads without it), so a
    /// name is refused only when it is not a reactor name at all, or so close to one this run
    /// has that it is a typo.
    fn mark_reactors(&mut self, path: &str, value: &Value<'_>) -> Option<Vec<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.at(
                value.span(),
                format!(
                    "{path}: expected a non-empty list of reactor names, found {}",
                    found(value.get_ref())
                ),
            );
            return None;
        };
        if items.is_empty() {
            self.at(
                value.span(),
                format!("{path}: empty list; name at least one reactor"),
            );
            return None;
        }
        let mut names = Vec::new();
        let mut good = true;
        for item in items.iter() {
            let Some(name) = item.get_ref().as_str() else {
                self.at(
                    item.span(),
                    format!(
                        "{path}: expected a reactor name, found {}",
                        found(item.get_ref())
                    ),
                );
                good = false;
                continue;
            };
            let known = self.reactors.contains(&name);
            let well_formed = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            let close = if known {
                String::new()
            } else {
                did_you_mean(name, self.reactors)
            };
            if !well_formed || !close.is_empty() {
                self.at(
                    item.span(),
                    format!(
                        "{path}: unknown reactor {}{close} (valid: {}, or a shim's name)",
                        quote(name),
                        self.reactors.join(", ")
                    ),
                );
                good = false;
                continue;
            }
            names.push(name.to_owned());
        }
        good.then_some(names)
    }

    pub(super) fn reactors(&mut self, ctx: &str, value: &Value<'_>) -> Option<Vec<String>> {
        let words = Words {
            key: "reactors",
            noun: "reactor",
            valid: self.reactors,
            set: true,
        };
        let words = self.word_list(ctx, &words, value)?;
        Some(words.into_iter().map(str::to_owned).collect())
    }

    pub(super) fn delivery(&mut self, ctx: &str, value: &Value<'_>) -> Option<Vec<Delivery>> {
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
}

/// The keys of one side's expectation (`expect.server`), as a key family reads them
/// ([`expectations::Keys`]), with the case's context and the side's path for messages.
struct SideKeys<'c, 'a, 't> {
    checker: &'c mut Checker<'a>,
    ctx: &'c str,
    side: &'c str,
    table: &'t DeTable<'t>,
}

impl<'t> expectations::Keys<'t> for SideKeys<'_, '_, 't> {
    fn get(&self, key: &str) -> Option<&'t Value<'t>> {
        self.table.get(key)
    }

    fn problem(&mut self, key: &str, span: Span, message: &str) {
        let (ctx, side) = (self.ctx, self.side);
        self.checker
            .at(span, format!("{ctx}{side}.{key}: {message}"));
    }

    fn wrong_type(&mut self, key: &str, value: &Value<'_>, expected: &str) {
        let message = format!("expected {expected}, found {}", found(value.get_ref()));
        self.problem(key, value.span(), &message);
    }

    fn text(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?;
        let path = format!("{}.{key}", self.side);
        self.checker.text(self.ctx, &path, value)
    }

    fn hex(&mut self, key: &str) -> Option<Vec<u8>> {
        let value = self.get(key)?;
        let path = format!("{}.{key}", self.side);
        let text = self.checker.text(self.ctx, &path, value)?;
        let bytes = parse_hex(&text);
        if bytes.is_none() {
            self.checker
                .at(value.span(), bad_hex(self.ctx, &path, &text));
        }
        bytes
    }

    fn count(&mut self, key: &str, max: u64, max_shown: &str) -> Option<u64> {
        let value = self.get(key)?;
        let path = format!("{}.{key}", self.side);
        let n = self.checker.count(self.ctx, &path, value)?;
        if n > max {
            let message = format!("at most {max} ({max_shown}), not {n}");
            self.problem(key, value.span(), &message);
            return None;
        }
        Some(n)
    }

    fn word_list<'w>(
        &mut self,
        key: &str,
        noun: &str,
        valid: &[&'w str],
        set: bool,
    ) -> Option<Vec<&'w str>> {
        let value = self.get(key)?;
        let path = format!("{}.{key}", self.side);
        let words = Words {
            key: &path,
            noun,
            valid,
            set,
        };
        self.checker.word_list(self.ctx, &words, value)
    }

    fn word_or_words<'w>(
        &mut self,
        key: &str,
        noun: &str,
        valid: &[&'w str],
    ) -> Option<Vec<&'w str>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(word) => {
                let path = format!("{}.{key}", self.side);
                let words = Words {
                    key: &path,
                    noun,
                    valid,
                    set: true,
                };
                self.checker
                    .word(self.ctx, &words, word, value.span())
                    .map(|w| vec![w])
            }
            DeValue::Array(_) => self.word_list(key, noun, valid, true),
            _ => {
                self.wrong_type(key, value, "a word or a list of words");
                None
            }
        }
    }
}

impl Checker<'_> {
    /// A case whose server is `unreachable`: only the client is checked, so `expect.server`
    /// is a mistake; `connect_timeout` bounds the client's connect, is shorter than the
    /// case's `timeout` (the side would otherwise be cut off unfinished) and is only for such
    /// a case; a listener that never accepts needs it.
    fn unreachable_fits(
        &mut self,
        ctx: &str,
        case: Span,
        server: Option<&PeerSpec>,
        connect_timeout: Option<(&Value<'_>, Option<Duration>)>,
        timeout: Option<Duration>,
        expect: Option<&Value<'_>>,
    ) {
        let unreachable = match server {
            Some(PeerSpec::Unreachable(how)) => Some(*how),
            _ => None,
        };
        if let Some(how) = unreachable
            && let Some(DeValue::Table(expect)) = expect.map(|v| v.get_ref())
            && let Some((key, _)) = sorted(expect).find(|(k, _)| k.get_ref() == "server")
        {
            self.at(
                key.span(),
                format!(
                    "{ctx}expect.server: the server is unreachable ({}): there is no server \
                     connection to check; check the client's `refused`",
                    how.word()
                ),
            );
        }
        match (unreachable, connect_timeout) {
            (None, Some((value, _))) => self.at(
                value.span(),
                format!(
                    "{ctx}connect_timeout: only a case whose server is unreachable has a \
                     connect to bound (server = {{ unreachable = \"never-accepts\" }})"
                ),
            ),
            (Some(crate::suite::Unreachable::NeverAccepts), None) => self.at(
                case,
                format!(
                    "{ctx}a server that never accepts needs connect_timeout (shorter than the \
                     timeout), or the client's connect hangs until the trial's timeout"
                ),
            ),
            (Some(_), Some((value, Some(bound)))) if timeout.is_some_and(|t| bound >= t) => {
                self.at(
                    value.span(),
                    format!(
                        "{ctx}connect_timeout: {bound:?} is not shorter than the timeout \
                         ({:?}); the trial would end before the connect is given up",
                        timeout.unwrap_or_default()
                    ),
                );
            }
            _ => {}
        }
    }
}
