//! `error`: a substring of the reason's detail.

use connectable::{ConnectableProtocol, DisconnectReason};

use super::{Family, Key, Sides, shown_reason};
use crate::load::SideKeys;
use crate::record::{Mismatch, Role};

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

    fn parse(keys: &mut SideKeys<'_, '_, '_>) -> Option<Self::Value> {
        keys.text("error")
    }

    fn check_probe(want: &Self::Value, role: Role, side: &ConnectableProtocol) -> Vec<Mismatch> {
        let reason = side.disconnect_reason();
        let detail = reason.as_ref().map_or("", DisconnectReason::detail);
        if detail.contains(want.as_str()) {
            return Vec::new();
        }
        vec![Mismatch {
            side: role,
            key: "error",
            expected: format!("the reason's detail to contain {want:?}"),
            got: Some(shown_reason(reason.as_ref())),
        }]
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        vec![format!("error containing {want:?}")]
    }
}
