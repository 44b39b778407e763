//! `events`: the side's callbacks, in order.

use super::{Family, Key, Sides};

pub(super) const FAMILY: Family = Family {
    name: "events",
    sides: Sides::Probe,
    one_of: false,
    keys: &[Key {
        name: "events",
        value: "list of event words (below)",
        checks: "the side's callbacks, in order, consecutive `data` merged into one",
    }],
};
