//! Checking one side's record against its [`Expectation`].
//!
//! Every field of an expectation that is set is checked, and every mismatch is reported, so a
//! failure says everything that went wrong at once.

use connectable::{ConnectableProtocol, DisconnectReason};

use crate::suite::{Expectation, Received};

/// The mismatches between what `side` shows and `expect`; empty when it holds.
pub fn mismatches(expect: &Expectation, side: &ConnectableProtocol) -> Vec<String> {
    let reason = side.disconnect_reason();
    let trace = side.trace();
    let mut found = Vec::new();

    if let Some(allowed) = &expect.reason {
        match &reason {
            Some(r) if allowed.contains(&r.kind()) => {}
            got => found.push(format!(
                "reason: expected {}, got {}",
                words(allowed.iter().map(|k| k.word())),
                shown_reason(got.as_ref())
            )),
        }
    }

    if let Some(error) = &expect.error {
        let detail = reason.as_ref().map_or("", DisconnectReason::detail);
        if !detail.contains(error.as_str()) {
            found.push(format!(
                "error: expected the reason's detail to contain {error:?}, got {}",
                shown_reason(reason.as_ref())
            ));
        }
    }

    if let Some(received) = &expect.received {
        let got = trace.received();
        let total = trace.received_total();
        let mismatch = match received {
            Received::Len(n) => (*n != total).then(|| format!("{n} bytes")),
            Received::Text(text) => (text.as_bytes() != got || trace.received_truncated())
                .then(|| describe_bytes(text.as_bytes())),
            Received::Hex(bytes) => (bytes.as_slice() != got || trace.received_truncated())
                .then(|| describe_bytes(bytes)),
        };
        if let Some(expected) = mismatch {
            let mut line = format!(
                "received: expected {expected}, got {}",
                describe_total(got, total)
            );
            if let Received::Text(text) = received
                && let Some(at) = first_difference(text.as_bytes(), got)
            {
                line.push_str(&format!("; first difference at byte {at}"));
            }
            found.push(line);
        }
    }

    if let Some(events) = &expect.events {
        let got = trace.words();
        if got.iter().copied().ne(events.iter().map(String::as_str)) {
            found.push(format!(
                "events: expected [{}], got [{}]",
                events.join(", "),
                got.join(", ")
            ));
        }
    }

    found
}

/// `done`, `done or lost`, `done, lost or tls`.
fn words<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.collect();
    match words.as_slice() {
        [] => "nothing".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn shown_reason(reason: Option<&DisconnectReason>) -> String {
    reason.map_or_else(|| "still open".into(), ToString::to_string)
}

/// Bytes as text when they are printable UTF-8, hex otherwise, cut to a readable length.
pub(crate) fn describe_bytes(bytes: &[u8]) -> String {
    const SHOWN: usize = 64;
    let head = &bytes[..bytes.len().min(SHOWN)];
    let more = if bytes.len() > SHOWN { "..." } else { "" };
    let shown = match std::str::from_utf8(head) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            format!("{text:?}{more}")
        }
        _ => format!("hex {}{more}", hex(head)),
    };
    format!("{shown} ({} bytes)", bytes.len())
}

fn describe_total(kept: &[u8], total: u64) -> String {
    if total > kept.len() as u64 {
        format!("{total} bytes (the first {} kept)", kept.len())
    } else {
        describe_bytes(kept)
    }
}

fn first_difference(expected: &[u8], got: &[u8]) -> Option<usize> {
    if expected == got {
        return None;
    }
    Some(
        expected
            .iter()
            .zip(got)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(got.len())),
    )
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_as_text_or_hex() {
        let cases: [(&[u8], &str); 4] = [
            (b"olleh\n", r#""olleh\n" (6 bytes)"#),
            (b"", r#""" (0 bytes)"#),
            (&[0, 255], "hex 00ff (2 bytes)"),
            (&[b'x'; 70], &format!("{:?}... (70 bytes)", "x".repeat(64))),
        ];
        for (bytes, shown) in cases {
            assert_eq!(describe_bytes(bytes), shown);
        }
    }

    #[test]
    fn word_lists_read_as_english() {
        let cases: [(&[&str], &str); 3] = [
            (&["done"], "done"),
            (&["done", "lost"], "done or lost"),
            (&["aborted", "lost", "tls"], "aborted, lost or tls"),
        ];
        for (list, shown) in cases {
            assert_eq!(words(list.iter().copied()), shown);
        }
    }

    #[test]
    fn first_difference_finds_the_offset() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
        assert_eq!(first_difference(b"", b"x"), Some(0));
    }
}
