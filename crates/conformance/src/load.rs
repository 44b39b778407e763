//! Loading suite files (being written).
