//! [`Endpoint`]: what kind of connection a pairing runs over.
//!
//! A network (TCP on IPv4 or IPv6 loopback, a UNIX domain socket, or an in-memory pipe) and,
//! optionally, TLS on top. An endpoint is built when a trial runs, never when trials are
//! listed: a TLS endpoint holds configurations built from the process's
//! [`TestPki`](crate::pki::TestPki).

use std::fmt;

use crate::Error;
use crate::pki::{TlsConfigs, TlsProfile};

/// The byte stream under a pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Network {
    /// TCP on an ephemeral 127.0.0.1 port.
    Tcp,
    /// TCP on an ephemeral `[::1]` port.
    Tcp6,
    /// A UNIX domain stream socket at a fresh path, removed afterwards.
    Unix,
    /// An in-process pipe ([`crate::memory`]): no sockets, no kernel.
    Memory,
}

/// The connection a pairing runs over: a network, and TLS or not.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The byte stream.
    pub network: Network,
    /// TLS on top of it, with these configurations.
    pub tls: Option<TlsConfigs>,
    /// How long a client's connect may take before it is given up and the side ends
    /// `refused` ([`Reactor::connect`](crate::Reactor::connect)); `None`: as long as the
    /// side's own timeout. Twisted's `connectTCP(..., timeout=)`.
    pub connect_timeout: Option<std::time::Duration>,
}

impl Endpoint {
    /// Plain TCP on IPv4 loopback.
    pub fn tcp() -> Self {
        Self::plain(Network::Tcp)
    }

    /// A network without TLS.
    pub fn plain(network: Network) -> Self {
        Self {
            network,
            tls: None,
            connect_timeout: None,
        }
    }

    /// TLS over TCP on IPv4 loopback with the process's test PKI (generated on first use).
    pub fn tls() -> Result<Self, Error> {
        Self::tls_with(TlsProfile::default())
    }

    /// TLS over TCP with the certificates of `profile`.
    pub fn tls_with(profile: TlsProfile) -> Result<Self, Error> {
        Self::plain(Network::Tcp).with_tls(profile)
    }

    /// This network with TLS on top, with the certificates of `profile`.
    pub fn with_tls(self, profile: TlsProfile) -> Result<Self, Error> {
        Ok(Self {
            tls: Some(TlsConfigs::for_profile(profile)?),
            ..self
        })
    }

    /// This endpoint with a bound on how long a client's connect may take (see
    /// [`connect_timeout`](Self::connect_timeout)).
    pub fn with_connect_timeout(self, bound: std::time::Duration) -> Self {
        Self {
            connect_timeout: Some(bound),
            ..self
        }
    }

    /// The word trial names use: `tcp`, `tcp6`, `unix`, `memory`, `tls` (TLS over TCP),
    /// `memory-tls`, or `NETWORK-tls` for the other combinations.
    pub fn word(&self) -> &'static str {
        match (self.network, self.tls.is_some()) {
            (Network::Tcp, false) => "tcp",
            (Network::Tcp, true) => "tls",
            (Network::Tcp6, false) => "tcp6",
            (Network::Tcp6, true) => "tcp6-tls",
            (Network::Unix, false) => "unix",
            (Network::Unix, true) => "unix-tls",
            (Network::Memory, false) => "memory",
            (Network::Memory, true) => "memory-tls",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}
