//! One `[[case]]`: its name, its peers, its matrix, its flags and its expectations, each key
//! checked and every problem reported with its place.

use super::*;
use crate::expectations::{self, Sides};

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
        let skip = table
            .get("skip")
            .map(|value| self.non_empty_text(&ctx, "skip", value));
        let xfail = table
            .get("xfail")
            .map(|value| self.non_empty_text(&ctx, "xfail", value));
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
            skip: skip.flatten(),
            requires,
            matrix_location,
            xfail: xfail.flatten(),
            tls: tls?,
            expect_server,
            expect_client,
        };
        Some(case)
    }

    // -- Expectations -------------------------------------------------------------------

    pub(super) fn expect(&mut self, ctx: &str, value: &Value<'_>) -> (Expectation, Expectation) {
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

    pub(super) fn side(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Expectation {
        let mut expectation = Expectation::default();
        let Some(table) = self.table(ctx, key, value) else {
            return expectation;
        };
        self.unknown_keys(&format!("{ctx}{key}: "), table, &expectations::keys());

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
        let Some(DeValue::Table(keys)) = expect.get(side).map(|v| v.get_ref()) else {
            return;
        };
        let sides = if peer.is_external() {
            Sides::External
        } else {
            Sides::Probe
        };
        let (allowed, what) = (expectations::keys_for(sides), sides.describe());
        let every = expectations::keys();
        for (key, _) in sorted(keys) {
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

    /// `exit = 0`, `exit = [0, 1]`, `exit = "killed"`, `exit = [0, "killed"]`.
    pub(super) fn exit(
        &mut self,
        ctx: &str,
        path: &str,
        value: &Value<'_>,
    ) -> Option<Vec<Option<i32>>> {
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
