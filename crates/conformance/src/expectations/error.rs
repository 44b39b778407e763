//! `error`: a substring of the reason's detail.

use connectable::{ConnectableProtocol, DisconnectReason};

use super::{Family, Found, Key, Keys, Sides, shown_reason};

/// `error = "reset"`: the reason's detail contains this text.
pub struct Error;

impl Family for Error {
    type Value = String;
    const NAME: &'static str = "error";
    const SIDES: Sides = Sides::Probe;
    const KEYS: &'static [Key] = &[Key {
        name: "error",
        value: "text",
        checks: "a substring of the reason's detail (the error text, the TLS alert)",
    }];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        keys.text("error")
    }

    fn check_probe(want: &Self::Value, side: &ConnectableProtocol) -> Vec<Found> {
        let reason = side.disconnect_reason();
        let detail = reason.as_ref().map_or("", DisconnectReason::detail);
        if detail.contains(want.as_str()) {
            return Vec::new();
        }
        vec![Found {
            key: "error",
            expected: format!("the reason's detail to contain {want:?}"),
            got: Some(shown_reason(reason.as_ref())),
        }]
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        vec![format!("error containing {want:?}")]
    }
}
