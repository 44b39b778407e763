//! A case's `tls` table: which certificates each side shows, whether they are checked, and
//! the versions and ALPN protocols our sides offer.

use super::*;

impl Checker<'_> {
    // -- TLS profile ----------------------------------------------------------------------

    pub(super) fn tls(&mut self, ctx: &str, value: &Value<'_>) -> Option<TlsProfile> {
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
        if let Some(value) = table.get("versions") {
            let words = Words {
                key: "tls.versions",
                noun: "TLS version",
                valid: &TlsVersions::WORDS,
                set: true,
            };
            if let Some(versions) = self.word_list(ctx, &words, value) {
                profile.versions = TlsVersions::from_words(versions).unwrap_or_default();
            }
        }
        if let Some(value) = table.get("alpn") {
            profile.alpn = self.alpn(ctx, value).unwrap_or_default();
        }
        (self.diagnostics.len() == before).then_some(profile)
    }

    /// `alpn = ["h2", "http/1.1"]`: protocol names, in order of preference, each 1 to 255
    /// bytes (what ALPN can carry), none twice.
    fn alpn(&mut self, ctx: &str, value: &Value<'_>) -> Option<Alpn> {
        let DeValue::Array(items) = value.get_ref() else {
            self.at(
                value.span(),
                format!(
                    "{ctx}tls.alpn: expected a list of protocol names such as [\"http/1.1\"], found {}",
                    found(value.get_ref())
                ),
            );
            return None;
        };
        if items.is_empty() {
            self.at(
                value.span(),
                format!("{ctx}tls.alpn: empty list; give a protocol name such as \"http/1.1\", or leave it out"),
            );
            return None;
        }
        let before = self.diagnostics.len();
        let mut names: Vec<String> = Vec::new();
        for item in items.iter() {
            let Some(name) = self.text(ctx, "tls.alpn", item) else {
                continue;
            };
            if name.is_empty() || name.len() > 255 {
                self.at(
                    item.span(),
                    format!(
                        "{ctx}tls.alpn: a protocol name is 1 to 255 bytes, not {}",
                        name.len()
                    ),
                );
            } else if names.contains(&name) {
                self.at(
                    item.span(),
                    format!("{ctx}tls.alpn: {} is listed twice", quote(&name)),
                );
            } else {
                names.push(name);
            }
        }
        (self.diagnostics.len() == before).then(|| Alpn::new(&names))
    }

    /// A value that must be one word of `words.valid`.
    pub(super) fn single_word<'w>(
        &mut self,
        ctx: &str,
        words: &Words<'_, 'w>,
        value: &Value<'_>,
    ) -> Option<&'w str> {
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
}
