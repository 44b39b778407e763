//! [`Error`]: everything that can go wrong in this crate, outside a protocol's own callbacks.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::Pairing;

/// Why a pairing could not be run to the end.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation of the reactor failed before the connection existed (binding the
    /// listener, building a runtime).
    Io {
        /// What the reactor was doing.
        context: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// Generating the test PKI or building a TLS configuration failed.
    Pki(String),
    /// A [`ConnectableProtocol`](crate::ConnectableProtocol) was paired a second time; its
    /// protocol was already used.
    AlreadyPaired,
    /// At least one side was still open when the timeout expired. The pairing holds both
    /// sides' records as they were then.
    TimedOut {
        /// The timeout that expired.
        after: Duration,
        /// What was recorded, for the report.
        pairing: Box<Pairing>,
    },
}

impl Error {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { context, source } => write!(f, "{context}: {source}"),
            Self::Pki(message) => write!(f, "test pki: {message}"),
            Self::AlreadyPaired => f.write_str("this side was already paired once"),
            Self::TimedOut { after, pairing } => {
                let open = pairing.still_open();
                write!(
                    f,
                    "timed out after {after:?}; still open: {}",
                    open.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
