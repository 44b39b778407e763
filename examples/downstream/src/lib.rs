//! A small key-value store spoken line by line, tested with the conformance framework.
//!
//! The protocol: each request is one line ending in `\n` (a `\r` before it is ignored).
//! `SET key value` answers `OK`, `GET key` answers `VALUE value` or `MISSING`, `DEL key`
//! answers `DELETED` or `MISSING`, `QUIT` answers `BYE` and closes; anything else answers
//! `ERR unknown command`, and a line longer than `max_line` bytes answers `ERR line too
//! long` and closes. The framing is written against arbitrary chunks: a request may arrive
//! split anywhere, or many in one chunk, which the runner's bytewise delivery checks.
//!
//! [`ENTRY`] makes it a probe that suites name `kv-store`; `tests/conformance.rs` adds it to
//! the built-in catalogue and runs `tests/suites/` with `conformance::Runner`.

use std::collections::BTreeMap;

use connectable::{CallbackResult, Protocol, Transport};
use protocols::{ArgKind, Argument, ProbeArguments, ProbeEntry, build};
use serde::Deserialize;

/// The catalogue entry: what suites, errors and documents show, and how to build the store.
pub const ENTRY: ProbeEntry = ProbeEntry {
    name: "kv-store",
    about: "a key-value store answering SET, GET, DEL and QUIT, one request per line",
    arguments: &[
        Argument {
            name: "greeting",
            kind: ArgKind::Text,
            about: "a line written when the connection is made (default: none)",
        },
        Argument {
            name: "max_line",
            kind: ArgKind::Integer { at_most: 65_536 },
            about: "the longest request in bytes, newline excluded (default 1024, at most 65536)",
        },
    ],
    build: |arguments| build(arguments, KvStore::new),
};

/// The arguments of `kv-store`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arguments {
    /// Written, with a newline, in `connection_made`.
    pub greeting: Option<String>,
    /// The longest request line.
    #[serde(default = "default_max_line")]
    pub max_line: u64,
}

fn default_max_line() -> u64 {
    1024
}

impl ProbeArguments for Arguments {
    fn integers(&self) -> Vec<(&'static str, u64)> {
        vec![("max_line", self.max_line)]
    }
}

/// Splits a byte stream into lines, whatever the chunks it arrives in.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
    /// A line went over the limit: the stream is no longer split (the store closes).
    overflowed: bool,
}

/// What [`Lines::push`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its `\n` or `\r\n`.
    Complete(Vec<u8>),
    /// More than the limit arrived without a newline.
    TooLong,
}

impl Lines {
    /// Adds a chunk and returns the lines it completes, in order; stops at the first line
    /// over `max` bytes, and finds nothing more after it.
    pub fn push(&mut self, chunk: &[u8], max: u64) -> Vec<Line> {
        let mut lines = Vec::new();
        if self.overflowed {
            return lines;
        }
        for &byte in chunk {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.pending);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                lines.push(Line::Complete(line));
                continue;
            }
            self.pending.push(byte);
            // A `\r` may still be the end of the line: it does not count yet.
            let counted = self.pending.len() - usize::from(byte == b'\r');
            if counted as u64 > max {
                lines.push(Line::TooLong);
                self.overflowed = true;
                self.pending.clear();
                break;
            }
        }
        lines
    }
}

/// The `kv-store` probe: one store per connection.
#[derive(Debug)]
pub struct KvStore {
    arguments: Arguments,
    lines: Lines,
    store: BTreeMap<String, String>,
    closing: bool,
}

impl KvStore {
    /// A fresh, empty store for one connection.
    pub fn new(arguments: &Arguments) -> Self {
        Self {
            arguments: arguments.clone(),
            lines: Lines::default(),
            store: BTreeMap::new(),
            closing: false,
        }
    }

    /// The answer to one request, and whether to close after it.
    fn answer(&mut self, line: &str) -> (String, bool) {
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("SET"), Some(key), Some(value)) if !key.is_empty() => {
                self.store.insert(key.to_owned(), value.to_owned());
                ("OK".to_owned(), false)
            }
            (Some("GET"), Some(key), None) => match self.store.get(key) {
                Some(value) => (format!("VALUE {value}"), false),
                None => ("MISSING".to_owned(), false),
            },
            (Some("DEL"), Some(key), None) => match self.store.remove(key) {
                Some(_) => ("DELETED".to_owned(), false),
                None => ("MISSING".to_owned(), false),
            },
            (Some("QUIT"), None, None) => ("BYE".to_owned(), true),
            _ => ("ERR unknown command".to_owned(), false),
        }
    }
}

impl Protocol for KvStore {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(greeting) = &self.arguments.greeting {
            transport.write(format!("{greeting}\n").as_bytes());
        }
        Ok(())
    }

    fn data_received(&mut self, transport: &mut Transport, data: &[u8]) -> CallbackResult {
        // Once closing, what still arrives is not answered.
        if self.closing {
            return Ok(());
        }
        for line in self.lines.push(data, self.arguments.max_line) {
            let (reply, close) = match line {
                Line::Complete(bytes) => self.answer(&String::from_utf8_lossy(&bytes)),
                Line::TooLong => ("ERR line too long".to_owned(), true),
            };
            transport.write(format!("{reply}\n").as_bytes());
            if close {
                self.closing = true;
                transport.lose_connection();
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, Lines};

    /// Feeds `chunks` to a fresh splitter with a limit of 8 and compares the lines.
    #[track_caller]
    fn check(chunks: &[&str], expected: &[Option<&str>]) {
        let mut lines = Lines::default();
        let found: Vec<Line> = chunks
            .iter()
            .flat_map(|c| lines.push(c.as_bytes(), 8))
            .collect();
        let expected: Vec<Line> = expected
            .iter()
            .map(|l| match l {
                Some(text) => Line::Complete(text.as_bytes().to_vec()),
                None => Line::TooLong,
            })
            .collect();
        assert_eq!(found, expected, "{chunks:?}");
    }

    #[test]
    #[rustfmt::skip]
    fn splits_lines_whatever_the_chunks() {
        check(&["GET a\n"],                  &[Some("GET a")]);
        check(&["GE", "T a", "\n"],          &[Some("GET a")]);
        check(&["GET a\r\nGET b\n"],         &[Some("GET a"), Some("GET b")]);
        check(&["GET a\r", "\n"],            &[Some("GET a")]);
        check(&["x\n\n"],                    &[Some("x"), Some("")]);
        check(&["GET a"],                    &[]);
        check(&["12345678\n"],               &[Some("12345678")]);
        check(&["12345678\r\n"],             &[Some("12345678")]);
        check(&["123456789\n"],              &[None]);
        check(&["1234", "56789", "\n"],      &[None]);
        check(&["123456789\nGET a\n"],       &[None]);
    }
}
