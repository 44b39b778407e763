//! The probe catalogue: ClosingLaterProtocol and its siblings, and the registry that names them.
//!
//! A probe is a small [`Protocol`](connectable::Protocol) that does one thing to a connection
//! (close after one byte, echo, abort on data, ...). Suites name probes and give them typed
//! arguments; the registry turns a name and arguments into a [`ProbeSpec`], which is cheap to
//! build and clone (no I/O) and makes a fresh protocol for each trial.
//!
//! Arguments are plain serde structs with unknown fields rejected, so this crate knows no file
//! format: the runner hands [`parse`] whatever serde `Deserializer` its suite format gives.

mod abort_on_data;
mod accumulate;
mod closing;
mod closing_later;
mod echo;
mod idle;
mod registry;
mod send;
#[cfg(test)]
mod testing;

pub use registry::{ArgumentInfo, PROBES, ProbeInfo, ProbeSpec, info, parse};
