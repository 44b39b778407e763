//! How a side's connection ended: [`DisconnectReason`] and the words suites use for it.
//!
//! Twisted distinguishes `ConnectionDone` from `ConnectionLost`; we keep that split and add the
//! outcomes a conformance suite needs to tell apart (this side aborted, TLS failed, the
//! connection never existed, the probe itself failed).

use std::fmt;

/// Why a side's connection ended, with the detail the reactor had (error text, TLS alert).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// Orderly close: every byte written before the close was flushed, and the close went out
    /// (FIN; over TLS close_notify then FIN), or the peer closed cleanly (over TLS: its
    /// close_notify was seen).
    Done,
    /// Unclean end: a reset, an EOF without close_notify over TLS, an I/O error.
    Lost(String),
    /// This side called `abort_connection`: pending writes were discarded, the socket reset.
    Aborted,
    /// The TLS handshake or a TLS record failed; the detail keeps rustls' error or the alert.
    Tls(String),
    /// The connection was never established; `connection_made` never ran.
    Refused(String),
    /// A callback of this side panicked or returned an error; the connection was aborted.
    Error(String),
}

impl DisconnectReason {
    /// The word a suite uses for this reason.
    pub fn kind(&self) -> ReasonKind {
        match self {
            Self::Done => ReasonKind::Done,
            Self::Lost(_) => ReasonKind::Lost,
            Self::Aborted => ReasonKind::Aborted,
            Self::Tls(_) => ReasonKind::Tls,
            Self::Refused(_) => ReasonKind::Refused,
            Self::Error(_) => ReasonKind::Error,
        }
    }

    /// The detail kept with the reason (empty for `done` and `aborted`).
    pub fn detail(&self) -> &str {
        match self {
            Self::Done | Self::Aborted => "",
            Self::Lost(d) | Self::Tls(d) | Self::Refused(d) | Self::Error(d) => d,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            "" => f.write_str(self.kind().word()),
            detail => write!(f, "{} ({detail})", self.kind().word()),
        }
    }
}

/// The kind of a [`DisconnectReason`], without its detail: what suites match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReasonKind {
    /// See [`DisconnectReason::Done`].
    Done,
    /// See [`DisconnectReason::Lost`].
    Lost,
    /// See [`DisconnectReason::Aborted`].
    Aborted,
    /// See [`DisconnectReason::Tls`].
    Tls,
    /// See [`DisconnectReason::Refused`].
    Refused,
    /// See [`DisconnectReason::Error`].
    Error,
}

impl ReasonKind {
    /// Every kind, in the order documentation lists them.
    pub const ALL: [ReasonKind; 6] = [
        Self::Done,
        Self::Lost,
        Self::Aborted,
        Self::Tls,
        Self::Refused,
        Self::Error,
    ];

    /// The word suites use: `done`, `lost`, `aborted`, `tls`, `refused`, `error`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Lost => "lost",
            Self::Aborted => "aborted",
            Self::Tls => "tls",
            Self::Refused => "refused",
            Self::Error => "error",
        }
    }

    /// What the word means, as the suite format reference shows it (generated into
    /// suites/README.md by `cargo xtask codegen`).
    pub fn about(self) -> &'static str {
        match self {
            Self::Done => {
                "orderly close: everything written before the close was flushed and the close \
                 went out (FIN; over TLS close_notify, then FIN), or the peer closed cleanly \
                 (over TLS: its close_notify was seen)"
            }
            Self::Lost => {
                "unclean end: a reset, an EOF without close_notify over TLS, an I/O error"
            }
            Self::Aborted => {
                "this side called abort_connection: pending writes were discarded and the \
                 connection reset"
            }
            Self::Tls => {
                "the TLS handshake or a record failed; the alert or error is kept as detail \
                 (match it with `error`)"
            }
            Self::Refused => "the connection was never established; connection_made never ran",
            Self::Error => {
                "a callback of this side panicked or returned an error; the connection was aborted"
            }
        }
    }

    /// The kind a suite word names, if any.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.word() == word)
    }
}

impl fmt::Display for ReasonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for kind in ReasonKind::ALL {
            assert_eq!(ReasonKind::from_word(kind.word()), Some(kind));
        }
        assert_eq!(ReasonKind::from_word("closed"), None);
    }

    #[test]
    fn display_keeps_detail() {
        let cases = [
            (DisconnectReason::Done, "done"),
            (DisconnectReason::Aborted, "aborted"),
            (
                DisconnectReason::Tls("received fatal alert: UnknownCA".into()),
                "tls (received fatal alert: UnknownCA)",
            ),
            (
                DisconnectReason::Lost("connection reset".into()),
                "lost (connection reset)",
            ),
        ];
        for (reason, shown) in cases {
            assert_eq!(reason.to_string(), shown);
        }
    }
}
