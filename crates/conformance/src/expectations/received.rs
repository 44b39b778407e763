//! `received*`: every byte handed to the side's `data_received`, compared as it streams in;
//! at most one of the keys.

use super::{Family, Key, Sides};

pub(super) const FAMILY: Family = Family {
    name: "received",
    sides: Sides::Probe,
    one_of: true,
    keys: &[
        Key {
            name: "received",
            value: "text",
            checks: "the side received exactly these bytes (UTF-8), in all",
        },
        Key {
            name: "received_hex",
            value: "hex digits",
            checks: "the side received exactly these bytes",
        },
        Key {
            name: "received_len",
            value: "integer",
            checks: "the side received exactly this many bytes; at most 4 GiB (4294967296)",
        },
        Key {
            name: "received_generated",
            value: "integer",
            checks: "the side received exactly the first N bytes of the generated pattern that `send { size }` and `producer` write (byte *i* is `'a' + i % 26`): a lost, repeated or reordered byte shows; at most 4 GiB (4294967296)",
        },
    ],
};
