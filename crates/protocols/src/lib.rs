//! The probe catalogue: ClosingLaterProtocol and its siblings, and the registry that names them.
//!
//! A probe is a small [`Protocol`](connectable::Protocol) that does one thing to a connection
//! (close after one byte, echo, abort on data, ...). Suites name probes and give them typed
//! arguments; the registry turns a name and arguments into a [`ProbeSpec`], which is cheap to
//! build and clone (no I/O) and makes a fresh protocol for each trial.
//!
//! Arguments are plain serde structs with unknown fields rejected, so this crate knows no file
//! format: the runner hands [`parse`] whatever serde `Deserializer` its suite format gives.

mod abort_between_writes;
mod abort_in_resume;
mod abort_on_data;
mod abort_when_full;
mod accumulate;
pub mod bytes;
mod calls_in_lost;
mod close_after_handshake;
mod close_twice;
mod closing;
mod closing_later;
mod echo;
mod flood;
mod half_close;
mod idle;
mod large_buffer_writer;
mod never_close;
mod panic_on_data;
mod pause_reading;
mod producer;
mod registry;
mod reject_data;
mod reply_then_pause;
mod script;
mod send;
#[cfg(test)]
mod testing;
mod then;
mod write_sequence;

pub use registry::{ArgumentInfo, PROBES, ProbeInfo, ProbeSpec, info, parse};
pub use registry::{MAX_SIZE, MAX_WAIT_MS, bound, shown_bound};
pub use script::{Script, Step, parse_duration};

/// Byte `i` of the generated payloads (`send { size }`, `producer`): `'a' + i % 26`, printable
/// and position-dependent, so a lost, repeated or reordered byte shows.
pub fn generated(i: u64) -> u8 {
    b'a' + (i % 26) as u8
}
