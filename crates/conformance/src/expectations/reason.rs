//! `reason`: how the side's connection ended.

use connectable::{ConnectableProtocol, ReasonKind};

use super::{Family, Found, Key, Keys, Sides, shown_reason, words};

/// `reason = "done"` or `reason = ["done", "lost"]`: any one of these.
pub struct Reason;

impl Family for Reason {
    type Value = Vec<ReasonKind>;
    const NAME: &'static str = "reason";
    const SIDES: Sides = Sides::Probe;
    const KEYS: &'static [Key] = &[Key {
        name: "reason",
        value: "a reason word, or a non-empty list of them (any one of them)",
        checks: "how the side's connection ended",
    }];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let valid: Vec<&'static str> = ReasonKind::ALL.iter().map(|r| r.word()).collect();
        let words = keys.word_or_words("reason", "reason", &valid)?;
        Some(
            words
                .into_iter()
                .filter_map(ReasonKind::from_word)
                .collect(),
        )
    }

    fn check_probe(want: &Self::Value, side: &ConnectableProtocol) -> Vec<Found> {
        match side.disconnect_reason() {
            Some(r) if want.contains(&r.kind()) => Vec::new(),
            got => vec![Found {
                key: "reason",
                expected: words(want.iter().map(|k| k.word())),
                got: Some(shown_reason(got.as_ref())),
            }],
        }
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        let words: Vec<&str> = want.iter().map(|r| r.word()).collect();
        vec![format!("reason {}", words.join(" | "))]
    }
}
