//! `reason`: how the side's connection ended.

use super::{Family, Key, Sides};

pub(super) const FAMILY: Family = Family {
    name: "reason",
    sides: Sides::Probe,
    one_of: false,
    keys: &[Key {
        name: "reason",
        value: "a reason word, or a non-empty list of them (any one of them)",
        checks: "how the side's connection ended",
    }],
};
