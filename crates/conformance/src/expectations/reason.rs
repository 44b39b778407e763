//! `reason`: how the side's connection ended.

use connectable::{ConnectableProtocol, ReasonKind};

use super::{Family, Key, Sides, shown_reason, words};
use crate::load::SideKeys;
use crate::record::{Mismatch, Role};

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

    fn parse(keys: &mut SideKeys<'_, '_, '_>) -> Option<Self::Value> {
        let valid: Vec<&'static str> = ReasonKind::ALL.iter().map(|r| r.word()).collect();
        let words = keys.word_or_words("reason", "reason", &valid)?;
        Some(
            words
                .into_iter()
                .filter_map(ReasonKind::from_word)
                .collect(),
        )
    }

    fn check_probe(want: &Self::Value, role: Role, side: &ConnectableProtocol) -> Vec<Mismatch> {
        match side.disconnect_reason() {
            Some(r) if want.contains(&r.kind()) => Vec::new(),
            got => vec![Mismatch {
                side: role,
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
