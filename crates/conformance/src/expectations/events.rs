//! `events`: the side's callbacks, in order.

use connectable::ConnectableProtocol;

use super::{Family, Found, Key, Keys, Sides};

/// The words an `events` expectation may use.
pub const EVENT_WORDS: &[&str] = connectable::Event::WORDS;

/// `events = ["made", "data", "lost"]`: the callback sequence, consecutive `data` merged.
pub struct Events;

impl Family for Events {
    type Value = Vec<String>;
    const NAME: &'static str = "events";
    const SIDES: Sides = Sides::Probe;
    const KEYS: &'static [Key] = &[Key {
        name: "events",
        value: "list of event words (below)",
        checks: "the side's callbacks, in order, consecutive `data` merged into one",
    }];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let words = keys.word_list("events", "event", EVENT_WORDS, false)?;
        Some(words.into_iter().map(str::to_owned).collect())
    }

    fn check_probe(want: &Self::Value, side: &ConnectableProtocol) -> Vec<Found> {
        let trace = side.trace();
        let got = trace.words();
        if got.iter().copied().eq(want.iter().map(String::as_str)) {
            return Vec::new();
        }
        vec![Found {
            key: "events",
            expected: format!("[{}]", want.join(", ")),
            got: Some(format!("[{}]", got.join(", "))),
        }]
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        vec![format!("events [{}]", want.join(", "))]
    }
}
