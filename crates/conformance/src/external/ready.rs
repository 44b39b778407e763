//! When an external server is ready, and what is kept of a program's output.
//!
//! A server is ready when its port is listening, over IPv4 or IPv6 (a dual-stack `[::]`
//! listener, the default of Node, Go and Java, accepts our IPv4 connection too), read from
//! the kernel's socket tables so that no probing connection is spent (`openssl s_server
//! -naccept 1` accepts exactly one); or, with a `ready` text, when that text appears on its
//! stdout or stderr, newline or not, wherever the chunks it arrives in are split. Output is
//! kept up to a bound per stream, whatever its lines look like, and the truncation is said.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// At most this much of each output stream is kept.
pub const OUTPUT_KEPT: usize = 64 * 1024;

/// Finds a text in a stream that arrives in chunks, split anywhere.
#[derive(Debug)]
pub struct ReadyMatcher {
    wanted: Vec<u8>,
    /// The last `wanted.len() - 1` bytes seen: a match may start in them.
    tail: Vec<u8>,
    found: bool,
}

impl ReadyMatcher {
    /// A matcher for `wanted` (not empty: the loader refuses an empty `ready`).
    pub fn new(wanted: &str) -> Self {
        Self {
            wanted: wanted.as_bytes().to_vec(),
            tail: Vec::new(),
            found: false,
        }
    }

    /// Feeds the next chunk; true once the text has appeared (and from then on).
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        if self.found || self.wanted.is_empty() {
            self.found = true;
            return true;
        }
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(chunk);
        self.found = window
            .windows(self.wanted.len())
            .any(|w| w == self.wanted.as_slice());
        let keep = self.wanted.len() - 1;
        self.tail = window[window.len().saturating_sub(keep)..].to_vec();
        self.found
    }
}

/// One output stream, kept up to a bound: the first [`OUTPUT_KEPT`] bytes, and how many
/// there were in all.
#[derive(Debug, Default)]
pub struct Bounded {
    kept: Vec<u8>,
    total: u64,
}

impl Bounded {
    /// Keeps what fits of `chunk`, counts all of it.
    pub fn push(&mut self, chunk: &[u8]) {
        let room = OUTPUT_KEPT.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.total += chunk.len() as u64;
    }

    /// Whether some of the stream was not kept.
    pub fn truncated(&self) -> bool {
        self.total > self.kept.len() as u64
    }

    /// What was kept, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.kept).into_owned()
    }
}

/// A listening socket's local address from one line of `/proc/net/tcp` or
/// `/proc/net/tcp6`; `None` for the header, a malformed line, or a socket not listening.
pub fn listener(line: &str) -> Option<(IpAddr, u16)> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = fields.next()?;
    let _remote = fields.next()?;
    if fields.next()? != "0A" {
        return None;
    }
    let (address, port) = local.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints each 32-bit word of the address as the machine reads it: its bytes
    // in memory order are the address's bytes in network order.
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(address)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(address.get(i * 8..i * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Whether a listener on `ip` accepts a connection to 127.0.0.1, where our client connects:
/// 127.0.0.1 or 0.0.0.0, and over IPv6 `::` (dual-stack) or `::ffff:127.0.0.1`.
pub fn reachable_from_loopback_v4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4 == Ipv4Addr::LOCALHOST || v4.is_unspecified())
        }
    }
}

/// The inode of the socket on one line of `/proc/net/tcp` or `/proc/net/tcp6` (its tenth
/// field), to find which process holds it.
pub fn inode(line: &str) -> Option<u64> {
    line.split_whitespace().nth(9)?.parse().ok()
}

/// The sockets listening on `port` where our client can reach it, by inode, from the
/// kernel's TCP tables (IPv4 and IPv6); `None` where there are no tables to read (not Linux).
pub fn listening(port: u16) -> Option<Vec<u64>> {
    let mut read_any = false;
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        read_any = true;
        found.extend(text.lines().skip(1).filter_map(|line| {
            let (ip, listening_port) = listener(line)?;
            (listening_port == port && reachable_from_loopback_v4(ip))
                .then(|| inode(line))
                .flatten()
        }));
    }
    read_any.then_some(found)
}

/// Whether process `pid` holds one of these sockets (by inode) among its descriptors.
pub fn holds_socket(pid: u32, inodes: &[u64]) -> bool {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read_link(entry.path()).is_ok_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
                .is_some_and(|inode: u64| inodes.contains(&inode))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_text_is_found_wherever_the_chunks_split_it() {
        // The chunks as they arrive, and after which chunk (from 1) the text is found.
        let cases: [(&str, &[&str], Option<usize>); 8] = [
            ("listening", &["now listening\n"], Some(1)),
            ("listening", &["now listening"], Some(1)),
            ("listening", &["now list", "ening"], Some(2)),
            (
                "listening",
                &["l", "i", "s", "t", "e", "n", "i", "n", "g"],
                Some(9),
            ),
            ("listening", &["listen", "", "ing on 8080"], Some(3)),
            ("listening", &["list", "\nening"], None),
            ("ready", &["rea", "xdy", "ready?"], Some(3)),
            ("ab", &["a", "a", "b"], Some(3)),
        ];
        for (wanted, chunks, expect) in cases {
            let mut matcher = ReadyMatcher::new(wanted);
            let found = chunks
                .iter()
                .position(|chunk| matcher.feed(chunk.as_bytes()))
                .map(|i| i + 1);
            assert_eq!(found, expect, "{wanted:?} in {chunks:?}");
        }
    }

    #[test]
    fn output_is_bounded_with_or_without_newlines() {
        let big_line = vec![b'x'; OUTPUT_KEPT + 10];
        let lines = b"line\n".repeat(OUTPUT_KEPT / 5 + 1);
        // Chunks, then the bytes kept, and whether truncation is said.
        let cases: [(Vec<&[u8]>, usize, bool); 5] = [
            (vec![b"hello"], 5, false),
            (vec![&big_line[..OUTPUT_KEPT]], OUTPUT_KEPT, false),
            (vec![&big_line], OUTPUT_KEPT, true),
            (
                vec![&big_line[..100], &big_line, b"more"],
                OUTPUT_KEPT,
                true,
            ),
            (vec![&lines], OUTPUT_KEPT, true),
        ];
        for (chunks, kept, truncated) in cases {
            let mut output = Bounded::default();
            for chunk in &chunks {
                output.push(chunk);
            }
            let total: usize = chunks.iter().map(|c| c.len()).sum();
            assert_eq!(output.text().len(), kept, "{total} bytes");
            assert_eq!(output.truncated(), truncated, "{total} bytes");
        }
    }

    /// A table line, the listener it shows (address, port), and whether 127.0.0.1 reaches it.
    type ListenerRow<'a> = (&'a str, Option<(&'a str, u16)>, bool);

    // The lines are as a little-endian machine's kernel prints them.
    #[cfg(target_endian = "little")]
    /// A listener's inode is read from its line, and readiness takes a listener only from
    /// the process that holds it: this one's own listener is found among its descriptors, and
    /// not among those of a child that holds no socket.
    #[test]
    fn a_listener_is_found_in_the_process_that_holds_it() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0";
        assert_eq!(inode(line), Some(12345));
        assert_eq!(inode("garbage"), None);

        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let inodes = listening(port).expect("this test runs on Linux");
        assert_eq!(inodes.len(), 1, "one listener on port {port}");
        assert!(holds_socket(std::process::id(), &inodes));
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(!holds_socket(other.id(), &inodes));
        other.kill().unwrap();
        other.wait().unwrap();
        drop(listener);
        assert_eq!(listening(port), Some(Vec::new()));
    }

    #[test]
    fn listeners_are_read_from_both_tables() {
        let v4_header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        let cases: [ListenerRow<'_>; 9] = [
            (v4_header, None, false),
            // 127.0.0.1:8080 listening.
            (
                "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0",
                Some(("127.0.0.1", 8080)),
                true,
            ),
            // 0.0.0.0:443 listening.
            (
                "   1: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
                Some(("any", 443)),
                true,
            ),
            // Established, not listening.
            (
                "   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 2 1",
                None,
                false,
            ),
            // 10.0.0.1:8080: our client connects to 127.0.0.1, not there.
            (
                "   3: 0100000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3 1",
                Some(("10.0.0.1", 8080)),
                false,
            ),
            // [::]:8080, dual-stack.
            (
                "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4 1",
                Some(("::", 8080)),
                true,
            ),
            // [::1]:8080: IPv6 loopback only.
            (
                "   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1",
                Some(("::1", 8080)),
                false,
            ),
            // [::ffff:127.0.0.1]:8080.
            (
                "   2: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 6 1",
                Some(("::ffff:127.0.0.1", 8080)),
                true,
            ),
            ("garbage", None, false),
        ];
        for (line, expect, reachable) in cases {
            let got = listener(line);
            // "any" is the unspecified IPv4 address (written out, it would trip the check in
            // tests/security_rules.rs that nothing listens beyond loopback).
            let expect = expect.map(|(ip, port)| match ip {
                "any" => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                ip => (ip.parse::<IpAddr>().unwrap(), port),
            });
            assert_eq!(got, expect, "{line}");
            assert_eq!(
                got.is_some_and(|(ip, _)| reachable_from_loopback_v4(ip)),
                reachable,
                "{line}"
            );
        }
    }
}
