//! `error`: a substring of the reason's detail.

use super::{Family, Key, Sides};

pub(super) const FAMILY: Family = Family {
    name: "error",
    sides: Sides::Probe,
    one_of: false,
    keys: &[Key {
        name: "error",
        value: "text",
        checks: "a substring of the reason's detail (the error text, the TLS alert)",
    }],
};
