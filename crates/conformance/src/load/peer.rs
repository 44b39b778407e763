//! One side of a case: a probe (its name and arguments, checked against its catalogue entry,
//! then handed to [`ProbeEntry::parse`]), a script, an external command or an address.

use super::*;

impl<'a> Checker<'a> {
    // -- Peers ----------------------------------------------------------------------------

    pub(super) fn peer(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<PeerSpec> {
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
    pub(super) fn script(&mut self, ctx: &str, key: &str, value: &Value<'_>) -> Option<PeerSpec> {
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
    pub(super) fn step_bounds(&mut self, ctx: &str, table: &DeTable<'_>) {
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
    pub(super) fn command(
        &mut self,
        ctx: &str,
        key: &str,
        table: &DeTable<'_>,
    ) -> Option<PeerSpec> {
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
    pub(super) fn stop_grace(
        &mut self,
        ctx: &str,
        path: &str,
        value: &Value<'_>,
    ) -> Option<Duration> {
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
    pub(super) fn placeholders(&mut self, ctx: &str, path: &str, text: &str, span: Span) {
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
    pub(super) fn address(
        &mut self,
        ctx: &str,
        key: &str,
        table: &DeTable<'_>,
    ) -> Option<PeerSpec> {
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

    pub(super) fn probe_name(
        &mut self,
        ctx: &str,
        name: &str,
        span: Span,
    ) -> Option<&'a ProbeEntry> {
        let entry = self.probes.find(name);
        if entry.is_none() {
            let valid = self.probes.names();
            self.at(span, unknown_word(ctx, "probe", name, &valid));
        }
        entry
    }

    pub(super) fn unknown_argument(
        &mut self,
        ctx: &str,
        entry: &ProbeEntry,
        argument: &str,
        span: Span,
    ) {
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
    pub(super) fn argument(
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

    pub(super) fn parse_probe(
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
        // As the suite gave them, for shims: the probe's own parse below has checked them.
        let given = match serde_json::Value::deserialize(arguments.clone().into_deserializer()) {
            Ok(serde_json::Value::Object(given)) => given,
            _ => serde_json::Map::new(),
        };
        match entry.parse(arguments.into_deserializer()) {
            Ok(spec) => Some(PeerSpec::Probe(spec, std::sync::Arc::new(given))),
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
}
