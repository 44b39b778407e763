//! What the framework costs, measured against the floor: the same exchange written directly
//! with tokio and tokio-rustls, in the same process and the same run.
//!
//! These machines are shared and noisy, so an absolute time means little; a ratio of two
//! medians measured in alternation, where noise hits both alike, is what is worth quoting.
//! [`floor`] holds the hand-written exchanges, [`framework`] the same exchanges as
//! `run_protocols` with the catalogue's probes. The `bench` program (`cargo xtask bench`)
//! interleaves them and prints the figures that BENCHMARKS.md records; connectable's
//! `cargo bench` times one pairing of each with divan.

pub mod floor;
pub mod framework;

use std::fmt;
use std::time::Duration;

/// Why a measured exchange could not run, or ran wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A socket or TLS operation of the floor failed.
    Io(std::io::Error),
    /// Building the floor's TLS configurations failed.
    Tls(rustls::Error),
    /// The framework could not run a pairing (its message: `connectable::Error` holds the
    /// protocols of a timed-out pairing, which need not be `Sync`).
    Pairing(String),
    /// An exchange ended otherwise than it must (a side not `done`, bytes missing).
    Unexpected(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "floor i/o: {e}"),
            Self::Tls(e) => write!(f, "floor tls configuration: {e}"),
            Self::Pairing(message) => write!(f, "framework pairing: {message}"),
            Self::Unexpected(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Tls(e) => Some(e),
            Self::Pairing(_) | Self::Unexpected(_) => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Self::Tls(e)
    }
}

impl From<connectable::Error> for Error {
    fn from(e: connectable::Error) -> Self {
        Self::Pairing(e.to_string())
    }
}

/// The median of `samples` (the mean of the middle two for an even count); zero if empty.
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    match samples.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => samples[n / 2],
        n => (samples[n / 2 - 1] + samples[n / 2]) / 2,
    }
}
