//! A `received*` expectation compares every byte, however many: a corruption anywhere in a
//! large transfer, the last byte included, fails the check and is located.
//!
//! Each row pairs, over real loopback TCP and TLS, a sender that writes the generated pattern
//! (with one byte flipped, or cut short) and closes, with a receiver set up as the runner sets
//! up a side (a 64 KiB sample kept, every byte compared as it arrives: `check::expected_bytes`),
//! then runs the runner's own check (`check::mismatches`) on the receiver. A `received_regex`
//! keeps the first MiB for it (`check::judged_on`), and fails when more arrived.

use std::time::Duration;

use connectable::{
    CallbackResult, ConnectableProtocol, Endpoint, Network, Protocol, Transport, run_protocols,
};

use conformance::check::{expected_bytes, judged_on, mismatches};
use conformance::record::Role;
use conformance::suite::{Expectation, Received};

const MIB: u64 = 1 << 20;

/// Writes `len` bytes of the generated pattern, the byte at `flip` (if any) inverted, then
/// closes.
struct Sender {
    len: u64,
    flip: Option<u64>,
}

impl Protocol for Sender {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        let mut bytes: Vec<u8> = (0..self.len).map(protocols::generated).collect();
        if let Some(at) = self.flip {
            bytes[at as usize] ^= 0xff;
        }
        transport.write_shared(bytes);
        transport.lose_connection();
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

/// Reads everything until the peer closes.
struct Sink;

impl Protocol for Sink {
    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

/// Bytes sent, the byte flipped, what the receiver expects, then the mismatch's text (`None`:
/// the check holds).
type Row = (u64, Option<u64>, Received, Option<&'static str>);

#[test]
fn a_corruption_anywhere_fails_the_check() {
    let pattern = |text: &str| Received::Regex(protocols::Pattern::anywhere(text).unwrap());
    let rows: [Row; 11] = [
        (8 * MIB, None, Received::Generated(8 * MIB), None),
        (
            8 * MIB,
            Some(8 * MIB - 1),
            Received::Generated(8 * MIB),
            Some(
                "first difference at byte 8388607: from byte 8388599, expected \"lmnopqrst\", got hex 6c6d6e6f707172738b",
            ),
        ),
        (
            8 * MIB,
            Some(4 * MIB + 3),
            Received::Generated(8 * MIB),
            Some("first difference at byte 4194307: from byte 4194299"),
        ),
        (
            8 * MIB - 1,
            None,
            Received::Generated(8 * MIB),
            Some("got 8388607 bytes (the first 65536 kept); first difference at byte 8388607"),
        ),
        (
            8 * MIB,
            None,
            Received::Generated(8 * MIB - 2),
            Some(
                "first difference at byte 8388606: from byte 8388598, expected \"klmnopqr\", got \"klmnopqrst\"",
            ),
        ),
        (
            5,
            Some(2),
            Received::Text("abcde".into()),
            Some("expected \"abcde\" (5 bytes), got hex 6162"),
        ),
        // A regex is judged on the first 1 MiB, kept for it; the last byte is `v`.
        (MIB, None, pattern("^abcde.*v$"), None),
        (
            MIB,
            Some(MIB - 1),
            pattern("v$"),
            Some("expected bytes matching \"v$\", got \"abcdefghijklmnopqrstuvwxyz"),
        ),
        (
            MIB + 1,
            None,
            pattern("^abc"),
            Some(
                "got 1048577 bytes, more than the 1048576 a regex is judged on (1 MiB), so it was not judged",
            ),
        ),
        (5, None, pattern("^abcde$"), None),
        (
            5,
            Some(4),
            pattern("^abcde$"),
            Some(
                "expected bytes matching \"^abcde$\", got \"abcd\\x9a\" (5 bytes, hex 616263649a)",
            ),
        ),
    ];
    let reactor = connectable::reactor::builtin()[0];
    for tls in [false, true] {
        let endpoint = Endpoint::plain(Network::Tcp);
        let endpoint = if tls {
            endpoint.with_tls(Default::default()).expect("the test PKI")
        } else {
            endpoint
        };
        for (len, flip, received, mismatch) in &rows {
            let expect = Expectation {
                received: Some(received.clone()),
                ..Expectation::default()
            };
            let receiver = ConnectableProtocol::new(Sink)
                .keep_received(judged_on(received).unwrap_or(64 * 1024));
            let receiver = match expected_bytes(received) {
                Some(expected) => receiver.compare_received(expected),
                None => receiver,
            };
            let sender = ConnectableProtocol::new(Sender {
                len: *len,
                flip: *flip,
            });
            let pairing = run_protocols(
                reactor,
                &endpoint,
                receiver,
                sender,
                Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("tls {tls}, {len} bytes: the pairing failed: {e}"));
            let found = mismatches(Role::Server, &expect, &pairing.server);
            let context = format!("tls {tls}, {len} bytes, flip {flip:?}, {received:?}");
            match mismatch {
                None => assert!(found.is_empty(), "{context}: {found:?}"),
                Some(text) => {
                    assert_eq!(found.len(), 1, "{context}: {found:?}");
                    assert_eq!(found[0].key, "received", "{context}: {}", found[0]);
                    assert!(
                        found[0].to_string().contains(text),
                        "{context}: {}",
                        found[0]
                    );
                }
            }
        }
    }
}
