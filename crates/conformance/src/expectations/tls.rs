//! `tls_version`, `alpn`: what a side's TLS handshake agreed on, as its trace recorded it.

use connectable::ConnectableProtocol;
use connectable::pki::TlsVersions;
use toml::de::DeValue;

use super::{Family, Found, Key, Keys, Sides, words};

/// `tls_version = "1.2"`, `alpn = "http/1.1"` (or `false`): the negotiated version and ALPN
/// protocol of one of our sides.
pub struct Tls;

/// What a side's handshake must have agreed on; at least one is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiation {
    /// One of these versions (`1.2`, `1.3`).
    pub version: Option<Vec<&'static str>>,
    /// This ALPN protocol; `Some(None)`: none agreed on.
    pub alpn: Option<Option<String>>,
}

impl Family for Tls {
    type Value = Negotiation;
    const NAME: &'static str = "tls";
    const SIDES: Sides = Sides::Probe;
    const KEYS: &'static [Key] = &[
        Key {
            name: "tls_version",
            value: "`\"1.2\"` or `\"1.3\"`, or a list of them",
            checks: "the TLS version the side's handshake agreed on (a side that made no TLS handshake fails it)",
        },
        Key {
            name: "alpn",
            value: "text, or `false`",
            checks: "the ALPN protocol the side's handshake agreed on; `false`: none (a side that made no TLS handshake fails it)",
        },
    ];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let version = keys.word_or_words("tls_version", "TLS version", &TlsVersions::WORDS);
        let alpn = alpn(keys);
        let wanted = Negotiation { version, alpn };
        (wanted != Negotiation::default()).then_some(wanted)
    }

    fn check_probe(want: &Self::Value, side: &ConnectableProtocol) -> Vec<Found> {
        let trace = side.trace();
        let negotiated = trace.negotiated();
        let none = || "no TLS handshake completed".to_owned();
        let mut found = Vec::new();
        if let Some(versions) = &want.version {
            let got = negotiated.map(|n| n.version.as_str());
            if !got.is_some_and(|got| versions.contains(&got)) {
                found.push(Found {
                    key: "tls_version",
                    expected: words(versions.iter().copied()),
                    got: Some(got.map_or_else(none, str::to_owned)),
                });
            }
        }
        if let Some(alpn) = &want.alpn {
            let got = negotiated.map(|n| n.alpn.as_deref());
            if got != Some(alpn.as_deref()) {
                found.push(Found {
                    key: "alpn",
                    expected: shown_alpn(alpn.as_deref()),
                    got: Some(got.map_or_else(none, shown_alpn)),
                });
            }
        }
        found
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(versions) = &want.version {
            parts.push(format!("TLS {}", words(versions.iter().copied())));
        }
        if let Some(alpn) = &want.alpn {
            parts.push(format!("ALPN {}", shown_alpn(alpn.as_deref())));
        }
        parts
    }
}

/// `alpn = "h2"` or `alpn = false`; an empty name is a mistake (ALPN has none), and says
/// how to write "none".
fn alpn(keys: &mut dyn Keys<'_>) -> Option<Option<String>> {
    let value = keys.get("alpn")?;
    match value.get_ref() {
        DeValue::Boolean(false) => Some(None),
        DeValue::String(name) if !name.is_empty() => Some(Some(name.to_string())),
        DeValue::String(_) | DeValue::Boolean(true) => {
            keys.problem(
                "alpn",
                value.span(),
                "expected a protocol name such as \"http/1.1\", or false for none",
            );
            None
        }
        _ => {
            keys.wrong_type("alpn", value, "a protocol name or false");
            None
        }
    }
}

fn shown_alpn(alpn: Option<&str>) -> String {
    alpn.map_or_else(|| "none".to_owned(), |name| format!("{name:?}"))
}
