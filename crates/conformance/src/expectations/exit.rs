//! `exit`: how an external program ended.

use super::{Family, Key, Sides};

pub(super) const FAMILY: Family = Family {
    name: "exit",
    sides: Sides::External,
    one_of: false,
    keys: &[Key {
        name: "exit",
        value: "an exit status, `\"killed\"` (it was still running at the end and the runner stopped it, with SIGTERM or SIGKILL), or a list of them",
        checks: "how the program ended",
    }],
};
