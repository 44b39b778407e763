//! What a TLS handshake agreed on is recorded on both of our sides and checked by
//! `tls_version` and `alpn`: each row pairs two sides of ours over real loopback TLS (or plain
//! TCP) with a case's `versions` and `alpn`, on every built-in reactor (each records it on
//! its own handshake path), and runs the runner's own check (`check::mismatches`) on both
//! sides: the keys that must not hold, and only those, are reported.

use std::time::Duration;

use connectable::pki::{Alpn, TlsProfile, TlsVersions};
use connectable::{
    CallbackResult, ConnectableProtocol, Endpoint, Network, Protocol, Transport, run_protocols,
};

use conformance::check::mismatches;
use conformance::record::Role;
use conformance::suite::{Expectation, Negotiation};

/// Closes as soon as it is connected (over TLS, once the handshake completed).
struct CloseWhenReady;

impl Protocol for CloseWhenReady {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        transport.lose_connection();
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

/// Waits for the peer.
struct Sink;

impl Protocol for Sink {
    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

#[test]
fn the_negotiated_version_and_alpn_are_checked_on_both_sides() {
    // Rows: TLS (with versions and ALPN list) or plain TCP, the expected version and ALPN
    // (`Some(None)`: none), and the keys that must fail on each side.
    type Row = (
        Option<(&'static [&'static str], &'static [&'static str])>,
        Option<&'static [&'static str]>,
        Option<Option<&'static str>>,
        &'static [&'static str],
    );
    let rows: [Row; 8] = [
        (
            Some((&["1.2"], &["http/1.1"])),
            Some(&["1.2"]),
            Some(Some("http/1.1")),
            &[],
        ),
        (
            Some((&["1.2", "1.3"], &[])),
            Some(&["1.3"]),
            Some(None),
            &[],
        ),
        (
            Some((&["1.3"], &["h2", "http/1.1"])),
            Some(&["1.3"]),
            Some(Some("h2")),
            &[],
        ),
        (
            Some((&["1.2", "1.3"], &[])),
            Some(&["1.2"]),
            None,
            &["tls_version"],
        ),
        (Some((&["1.2"], &[])), Some(&["1.3", "1.2"]), None, &[]),
        (Some((&["1.3"], &["h2"])), None, Some(None), &["alpn"]),
        (Some((&["1.3"], &[])), None, Some(Some("h2")), &["alpn"]),
        (None, Some(&["1.3"]), Some(None), &["tls_version", "alpn"]),
    ];
    for reactor in connectable::reactor::builtin() {
        for (tls, version, alpn, failing) in rows {
            let endpoint = match tls {
                Some((versions, protocols)) => {
                    let profile = TlsProfile {
                        versions: TlsVersions::from_words(versions.iter().copied())
                            .expect("valid versions"),
                        alpn: Alpn::new(protocols),
                        ..TlsProfile::default()
                    };
                    Endpoint::plain(Network::Tcp)
                        .with_tls(profile)
                        .expect("the test PKI")
                }
                None => Endpoint::plain(Network::Tcp),
            };
            let expect = Expectation {
                tls: Some(Negotiation {
                    version: version.map(<[&str]>::to_vec),
                    alpn: alpn.map(|a| a.map(str::to_owned)),
                }),
                ..Expectation::default()
            };
            let pairing = run_protocols(
                *reactor,
                &endpoint,
                ConnectableProtocol::new(Sink),
                ConnectableProtocol::new(CloseWhenReady),
                Duration::from_secs(30),
            )
            .unwrap_or_else(|e| panic!("{}: the pairing failed: {e}", reactor.name()));
            for (role, side) in [
                (Role::Server, &pairing.server),
                (Role::Client, &pairing.client),
            ] {
                let found = mismatches(role, &expect, side);
                let keys: Vec<&str> = found.iter().map(|m| m.key).collect();
                assert_eq!(
                    keys,
                    failing,
                    "{} {tls:?} expecting {version:?} {alpn:?}, {role:?}: {found:?}",
                    reactor.name()
                );
            }
        }
    }
}
