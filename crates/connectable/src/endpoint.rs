//! [`Endpoint`]: what kind of connection a pairing runs over.
//!
//! An endpoint is built when a trial runs, never when trials are listed: a TLS endpoint holds
//! configurations built from the process's [`TestPki`](crate::pki::TestPki).

use std::fmt;

use crate::Error;
use crate::pki::{TlsConfigs, TlsProfile};

/// The connection a pairing runs over.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP on an ephemeral 127.0.0.1 port.
    Tcp,
    /// TLS over TCP on an ephemeral 127.0.0.1 port, with these configurations.
    Tls(TlsConfigs),
}

impl Endpoint {
    /// Plain TCP on loopback.
    pub fn tcp() -> Self {
        Self::Tcp
    }

    /// TLS on loopback with the process's test PKI (generated on first use).
    pub fn tls() -> Result<Self, Error> {
        TlsConfigs::get().map(Self::Tls)
    }

    /// TLS on loopback with the certificates of `profile`.
    pub fn tls_with(profile: TlsProfile) -> Result<Self, Error> {
        TlsConfigs::for_profile(profile).map(Self::Tls)
    }

    /// The word trial names use: `tcp`, `tls`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Tls(_) => "tls",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}
