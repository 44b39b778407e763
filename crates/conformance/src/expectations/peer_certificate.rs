//! `peer_certificate`: which certificate the TLS peer presented in the handshake (Twisted's
//! `getPeerCertificate`, `test_getPeerCertificate` and `test_handshakeNotification`).

use connectable::ConnectableProtocol;
use connectable::pki::{PEER_CERTIFICATE_WORDS, TestPki};

use super::{Family, Found, Key, Keys, Sides};

/// `peer_certificate = "server-valid"`: the peer presented that certificate of the test PKI
/// (compared byte for byte), `other` (one the test PKI did not make) or `none`.
pub struct PeerCertificate;

impl Family for PeerCertificate {
    type Value = String;
    const NAME: &'static str = "peer_certificate";
    const SIDES: Sides = Sides::Probe;
    const KEYS: &'static [Key] = &[Key {
        name: "peer_certificate",
        value: "`none`, `server-valid`, `server-expired`, `server-not-yet-valid`, `server-wrong-host`, `server-unknown-ca`, `server-self-signed`, `client-valid`, `client-unknown-ca` or `other`",
        checks: "the certificate the TLS peer presented, recorded as the handshake completed (before `handshake_completed` ran): that one of the test PKI, byte for byte, one it did not make (`other`), or none",
    }];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let words = keys.word_or_words("peer_certificate", "peer certificate", PEER_CERTIFICATE_WORDS)?;
        match words.as_slice() {
            [word] => Some((*word).to_owned()),
            _ => {
                let span = keys.get("peer_certificate").map_or(0..0, |v| v.span());
                keys.problem(
                    "peer_certificate",
                    span,
                    "expected one certificate word: a peer presents one certificate",
                );
                None
            }
        }
    }

    fn check_probe(want: &Self::Value, side: &ConnectableProtocol) -> Vec<Found> {
        let got = match side.peer_certificate() {
            None => "none",
            Some(der) => match TestPki::get() {
                Ok(pki) => pki.name_of(&der),
                Err(_) => "other",
            },
        };
        if got == want {
            return Vec::new();
        }
        vec![Found {
            key: "peer_certificate",
            expected: want.clone(),
            got: Some(got.to_owned()),
        }]
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        vec![format!("peer certificate {want}")]
    }
}
