//! A case's `tls` table: which certificates each side shows and whether they are checked.

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
        (self.diagnostics.len() == before).then_some(profile)
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
