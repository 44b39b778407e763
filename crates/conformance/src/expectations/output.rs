//! `stdout`, `stderr`: what an external program printed.

use super::{Family, Key, Sides};

pub(super) const FAMILY: Family = Family {
    name: "output",
    sides: Sides::External,
    one_of: false,
    keys: &[
        Key {
            name: "stdout",
            value: "text",
            checks: "a substring of what it printed",
        },
        Key {
            name: "stderr",
            value: "text",
            checks: "a substring of its errors",
        },
    ],
};
