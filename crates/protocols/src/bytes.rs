//! Bytes in suite text and in messages, written once for the probes, the scripts and the
//! runner: hex digits decoded (`data_hex`, `send_hex`, `received_hex`), and bytes shown to a
//! reader as text when they are printable, as hex otherwise.

/// The most bytes a message shows; longer ones are cut, with `...`.
const SHOWN: usize = 64;

/// Decodes hex digits (either case, no separators, an even number of them), or says why not.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c.to_digit(16) {
            // A hex digit is below 16, so it fits in a byte.
            Some(digit) => digits.push(digit as u8),
            None => return Err(format!("invalid hex digit {c:?} at position {}", i + 1)),
        }
    }
    if digits.len() % 2 != 0 {
        return Err(format!(
            "odd number of hex digits ({}): each byte takes two",
            digits.len()
        ));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| (pair[0] << 4) | pair[1])
        .collect())
}

/// Bytes as lowercase hex digits, two per byte: `00ff`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes and their count: `"olleh\n" (6 bytes)`, `hex 00ff (2 bytes)`.
pub fn describe(bytes: &[u8]) -> String {
    format!("{} ({} bytes)", shown(bytes), bytes.len())
}

/// Bytes as text when they are printable UTF-8, hex otherwise, cut to a readable length.
pub fn shown(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(SHOWN)];
    let more = if bytes.len() > SHOWN { "..." } else { "" };
    match std::str::from_utf8(head) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            format!("{text:?}{more}")
        }
        _ => format!("hex {}{more}", hex(head)),
    }
}

/// Bytes and their count as text with every control character escaped, so a line end reads
/// `\r\n`: `"HTTP/1.1 200 OK\r\n" (17 bytes)`; bytes that are not UTF-8 text are shown
/// escaped and in hex too: `"\xff\x00" (2 bytes, hex ff00)`. Cut to a readable length.
pub fn describe_escaped(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(SHOWN)];
    let more = if bytes.len() > SHOWN { "..." } else { "" };
    // Only the cut may split a character: text that is UTF-8 up to a cut character is text.
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() > SHOWN,
    };
    let escaped = format!("\"{}\"{more}", head.escape_ascii());
    if text {
        format!("{escaped} ({} bytes)", bytes.len())
    } else {
        format!("{escaped} ({} bytes, hex {}{more})", bytes.len(), hex(head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_bytes_show_line_ends_and_hex_only_for_binary() {
        let long = "x".repeat(70);
        let rows: &[(&[u8], String)] = &[
            (
                b"HTTP/1.1 200 OK\r\n",
                r#""HTTP/1.1 200 OK\r\n" (17 bytes)"#.into(),
            ),
            (b"", r#""" (0 bytes)"#.into()),
            (b"tab\there \"q\"", r#""tab\there \"q\"" (12 bytes)"#.into()),
            (b"\xff\x00", r#""\xff\x00" (2 bytes, hex ff00)"#.into()),
            ("caf\u{e9}".as_bytes(), r#""caf\xc3\xa9" (5 bytes)"#.into()),
            (
                long.as_bytes(),
                format!("\"{}\"... (70 bytes)", &long[..64]),
            ),
        ];
        for (bytes, shown) in rows {
            assert_eq!(&describe_escaped(bytes), shown, "{bytes:?}");
        }
    }

    #[test]
    fn decodes_hex_or_says_why_not() {
        let cases: &[(&str, Result<&[u8], &str>)] = &[
            ("", Ok(b"")),
            ("00ff", Ok(b"\x00\xff")),
            ("AbCd", Ok(b"\xab\xcd")),
            (
                "0",
                Err("odd number of hex digits (1): each byte takes two"),
            ),
            (
                "abc",
                Err("odd number of hex digits (3): each byte takes two"),
            ),
            ("00fg", Err("invalid hex digit 'g' at position 4")),
            ("00 ff", Err("invalid hex digit ' ' at position 3")),
            ("0x00", Err("invalid hex digit 'x' at position 2")),
            ("\u{e9}0", Err("invalid hex digit '\u{e9}' at position 1")),
            ("0\n", Err("invalid hex digit '\\n' at position 2")),
        ];
        for (text, expected) in cases {
            let expected = expected.map(<[u8]>::to_vec).map_err(str::to_owned);
            assert_eq!(decode_hex(text), expected, "decoding {text:?}");
        }
    }

    #[test]
    fn bytes_are_shown_as_text_or_hex() {
        let long = format!("{:?}... (70 bytes)", "x".repeat(64));
        let rows: &[(&[u8], &str)] = &[
            (b"olleh\n", r#""olleh\n" (6 bytes)"#),
            (b"", r#""" (0 bytes)"#),
            (&[0, 255], "hex 00ff (2 bytes)"),
            (&[b'x'; 70], &long),
        ];
        for (bytes, expected) in rows {
            assert_eq!(describe(bytes), *expected, "describing {bytes:?}");
        }
    }
}
