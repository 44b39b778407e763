//! `host` and `peer`: a side's own address and its peer's, described by words (Twisted's
//! `getHost()` and `getPeer()` checks: `test_addresses`, `test_serverGetHostOnIPv4`,
//! `test_hostAddress`).

use connectable::{Address, ConnectableProtocol};

use super::{Family, Found, Key, Keys, Sides};

/// The words a `host` or `peer` expectation may use, each a property the address must have.
const ADDRESS_WORDS: &[&str] = &["ipv4", "ipv6", "unix", "loopback", "listener", "ephemeral"];

/// Words of which at most one can hold of one address.
const EXCLUSIVE: &[&[&str]] = &[&["ipv4", "ipv6", "unix"], &["listener", "ephemeral"]];

/// `host = ["ipv4", "loopback", "listener"]`, `peer = [...]`: every word holds of the side's
/// host (or peer) address.
pub struct Addresses;

/// What `host` and `peer` ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressWords {
    /// The words the side's own address must have.
    pub host: Option<Vec<String>>,
    /// The words its peer's address must have.
    pub peer: Option<Vec<String>>,
}

impl Family for Addresses {
    type Value = AddressWords;
    const NAME: &'static str = "addresses";
    const SIDES: Sides = Sides::Probe;
    const KEYS: &'static [Key] = &[
        Key {
            name: "host",
            value: "set of address words: `ipv4`, `ipv6`, `unix`, `loopback`, `listener`, `ephemeral`",
            checks: "each word holds of the side's own address (below)",
        },
        Key {
            name: "peer",
            value: "set of address words, as `host`",
            checks: "each word holds of the address of the side's peer",
        },
    ];

    fn parse(keys: &mut dyn Keys<'_>) -> Option<Self::Value> {
        let read = |key: &str, keys: &mut dyn Keys<'_>| {
            let words = keys.word_list(key, "address word", ADDRESS_WORDS, true)?;
            for group in EXCLUSIVE {
                let given: Vec<&str> = words.iter().copied().filter(|w| group.contains(w)).collect();
                if given.len() > 1 {
                    let span = keys.get(key).map_or(0..0, |value| value.span());
                    keys.problem(
                        key,
                        span,
                        &format!(
                            "{} cannot hold of one address together: give one of {}",
                            given.join(" and "),
                            group.join(", ")
                        ),
                    );
                    return None;
                }
            }
            Some(words.into_iter().map(str::to_owned).collect::<Vec<_>>())
        };
        let value = AddressWords {
            host: read("host", keys),
            peer: read("peer", keys),
        };
        (value.host.is_some() || value.peer.is_some()).then_some(value)
    }

    fn check_probe(want: &Self::Value, side: &ConnectableProtocol) -> Vec<Found> {
        let addresses = side.addresses();
        let ends = side.ends();
        let mut found = Vec::new();
        for (key, words, address) in [
            ("host", &want.host, addresses.as_ref().map(|(host, _)| host)),
            ("peer", &want.peer, addresses.as_ref().map(|(_, peer)| peer)),
        ] {
            let Some(words) = words else { continue };
            let failing: Vec<&str> = words
                .iter()
                .map(String::as_str)
                .filter(|word| !holds(word, address, ends.as_ref()))
                .collect();
            if failing.is_empty() {
                continue;
            }
            let got = match address {
                None => "no address: the side never connected".to_owned(),
                Some(address) => format!(
                    "{address}, which is not {} (the pairing's ends, as the peer saw them: {})",
                    failing.join(", "),
                    ends.as_ref().map_or_else(
                        || "unknown".to_owned(),
                        |(listening, connecting)| format!(
                            "listening {listening}, connecting {connecting}"
                        )
                    )
                ),
            };
            found.push(Found {
                key,
                expected: words.join(", "),
                got: Some(got),
            });
        }
        found
    }

    fn describe(want: &Self::Value) -> Vec<String> {
        [("host", &want.host), ("peer", &want.peer)]
            .into_iter()
            .filter_map(|(key, words)| Some(format!("{key} [{}]", words.as_ref()?.join(", "))))
            .collect()
    }
}

/// Whether `word` holds of `address`, given the pairing's (listening, connecting) ends as the
/// other side saw them.
fn holds(word: &str, address: Option<&Address>, ends: Option<&(Address, Address)>) -> bool {
    let Some(address) = address else {
        return false;
    };
    let port = |a: &Address| match a {
        Address::Ip(ip) => Some(ip.port()),
        _ => None,
    };
    match word {
        "ipv4" => matches!(address, Address::Ip(ip) if ip.is_ipv4()),
        "ipv6" => matches!(address, Address::Ip(ip) if ip.is_ipv6()),
        "unix" => matches!(address, Address::Unix(_)),
        "loopback" => matches!(address, Address::Ip(ip) if ip.ip().is_loopback()),
        // The listening end: a port (or a path) someone listened on, the one the other side
        // saw too.
        "listener" => ends.is_some_and(|(listening, _)| {
            address == listening
                && match address {
                    Address::Ip(ip) => ip.port() != 0,
                    Address::Unix(path) => !path.as_os_str().is_empty(),
                    _ => false,
                }
        }),
        // The connecting end: a port the system chose, not the listener's (a UNIX socket's
        // connecting end has no name), the one the other side saw too.
        "ephemeral" => ends.is_some_and(|(listening, connecting)| {
            address == connecting
                && match address {
                    Address::Ip(ip) => ip.port() != 0 && Some(ip.port()) != port(listening),
                    Address::Unix(path) => path.as_os_str().is_empty(),
                    _ => false,
                }
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    /// Each word against addresses of every kind, with the ends a pairing noted.
    #[test]
    fn words_hold_of_the_addresses_they_describe() {
        let ip = |s: &str| Address::Ip(s.parse::<SocketAddr>().expect("an address"));
        let unix = |s: &str| Address::Unix(s.into());
        let tcp_ends = (ip("127.0.0.1:4000"), ip("127.0.0.1:51000"));
        let unix_ends = (unix("/tmp/x.sock"), unix(""));
        type Ends = (Address, Address);
        let rows: [(&str, Address, Option<&Ends>, bool); 17] = [
            ("ipv4", ip("127.0.0.1:4000"), None, true),
            ("ipv4", ip("[::1]:4000"), None, false),
            ("ipv6", ip("[::1]:4000"), None, true),
            ("unix", unix("/tmp/x.sock"), None, true),
            ("unix", ip("127.0.0.1:1"), None, false),
            ("loopback", ip("127.0.0.1:4000"), None, true),
            ("loopback", ip("[::1]:4000"), None, true),
            ("loopback", ip("10.0.0.1:4000"), None, false),
            ("loopback", unix("/tmp/x.sock"), None, false),
            ("listener", ip("127.0.0.1:4000"), Some(&tcp_ends), true),
            ("listener", ip("127.0.0.1:4000"), None, false),
            ("listener", ip("127.0.0.1:51000"), Some(&tcp_ends), false),
            ("ephemeral", ip("127.0.0.1:51000"), Some(&tcp_ends), true),
            ("ephemeral", ip("127.0.0.1:4000"), Some(&tcp_ends), false),
            ("listener", unix("/tmp/x.sock"), Some(&unix_ends), true),
            ("ephemeral", unix(""), Some(&unix_ends), true),
            ("ephemeral", unix("/tmp/x.sock"), Some(&unix_ends), false),
        ];
        for (word, address, ends, expected) in rows {
            assert_eq!(
                holds(word, Some(&address), ends),
                expected,
                "{word} of {address} with ends {ends:?}"
            );
        }
        assert!(!holds("ipv4", None, Some(&tcp_ends)), "no address, no word");
    }
}
