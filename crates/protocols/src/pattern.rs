//! Regular expressions from suite text, compiled once when the suite is read: the script steps
//! `expect_line` and `expect_regex`, and the runner's `received_regex`, `stdout_regex` and
//! `stderr_regex`. The `regex` crate's bytes API, so binary data matches too, and no
//! backtracking, so a suite's regex cannot make a trial take forever.

use std::fmt;

use regex::bytes::{Regex, RegexBuilder};

/// The most a compiled regex may take (the `regex` crate's own default is 10 MiB): a suite's
/// regex is short, and a huge one is a mistake to report, not memory to spend per case.
const SIZE_LIMIT: usize = 1 << 20;

/// A regex as a suite wrote it, compiled once; equal when the text and the anchoring are.
#[derive(Clone)]
pub struct Pattern {
    text: String,
    at_start: bool,
    regex: Regex,
}

impl Pattern {
    /// A regex that may match anywhere in what it is given, as grep does; `^` and `$` anchor
    /// it to the start and end of the text (`(?m)` makes them lines).
    pub fn anywhere(text: &str) -> Result<Self, String> {
        Self::compile(text, false)
    }

    /// A regex that must match at the start of what it is given (`expect_regex`: at the
    /// script's position in what it received).
    pub fn at_start(text: &str) -> Result<Self, String> {
        Self::compile(text, true)
    }

    fn compile(text: &str, at_start: bool) -> Result<Self, String> {
        // The text alone first: a wrapped `a)(b` would compile, and its errors would point
        // past the text the user wrote.
        let build = |source: &str| RegexBuilder::new(source).size_limit(SIZE_LIMIT).build();
        let regex = build(text).map_err(|e| error_words(&e))?;
        let regex = if at_start {
            // `\A` is the start of the bytes whatever flags the user's regex sets inside its
            // group.
            build(&format!(r"\A(?:{text})")).map_err(|e| error_words(&e))?
        } else {
            regex
        };
        Ok(Self {
            text: text.to_owned(),
            at_start,
            regex,
        })
    }

    /// The regex as the suite wrote it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it matches in `bytes` (at the start of them, for [`Pattern::at_start`]).
    pub fn is_match(&self, bytes: &[u8]) -> bool {
        self.regex.is_match(bytes)
    }

    /// Where the first match ends, if there is one (for [`Pattern::at_start`], the length of
    /// the match at the start).
    pub fn match_end(&self, bytes: &[u8]) -> Option<usize> {
        self.regex.find(bytes).map(|m| m.end())
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.at_start == other.at_start
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.text)
    }
}

/// The regex crate's error in one line: its syntax errors are several lines (the regex, a
/// caret, `error: ...`), a suite diagnostic is one.
fn error_words(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => {
            let kind = text
                .lines()
                .rev()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or(text.as_str());
            // The caret line says where: the column of the first `^` under the regex.
            let column = text
                .lines()
                .find(|line| line.trim_start().starts_with('^'))
                .and_then(|line| line.find('^'))
                .zip(text.lines().nth(1).and_then(|line| {
                    Some(line.len() - line.trim_start().len()).filter(|_| !line.is_empty())
                }))
                .map(|(caret, indent)| caret.saturating_sub(indent) + 1);
            match column {
                Some(column) => format!("{kind} (at character {column})"),
                None => kind.to_owned(),
            }
        }
        regex::Error::CompiledTooBig(_) => {
            "the regex is too large once compiled (over 1 MiB)".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_anywhere_or_at_the_start() {
        // Rows: regex, at the start?, bytes, where the match ends.
        let rows: &[(&str, bool, &[u8], Option<usize>)] = &[
            ("200", false, b"HTTP/1.1 200 OK", Some(12)),
            ("200", true, b"HTTP/1.1 200 OK", None),
            (r"HTTP/1\.[01] ", true, b"HTTP/1.1 200 OK", Some(9)),
            ("^OK$", false, b"OK", Some(2)),
            ("^OK$", false, b"NOK", None),
            // A flag set inside the user's regex does not loosen the anchor.
            ("(?m)^b", true, b"a\nb", None),
            ("(?m)^b", false, b"a\nb", Some(3)),
            // Binary data: a byte that is not UTF-8.
            (r"(?-u)\xff\x00", true, b"\xff\x00rest", Some(2)),
            ("a|ab", true, b"ab", Some(1)),
        ];
        for &(text, at_start, bytes, end) in rows {
            let pattern = if at_start {
                Pattern::at_start(text)
            } else {
                Pattern::anywhere(text)
            }
            .unwrap();
            assert_eq!(
                pattern.match_end(bytes),
                end,
                "/{text}/ at_start={at_start}"
            );
            assert_eq!(pattern.is_match(bytes), end.is_some(), "/{text}/");
        }
    }

    #[test]
    fn bad_regexes_say_why_in_one_line() {
        let rows = [
            ("a(b", "unclosed group (at character 2)"),
            ("a)(b", "unopened group (at character 2)"),
            (
                "[z-a]",
                "invalid character class range, the start must be <= the end (at character 2)",
            ),
            (
                "*a",
                "repetition operator missing expression (at character 1)",
            ),
            (r"\p{Nope}", "Unicode property not found (at character 1)"),
        ];
        for (text, words) in rows {
            for error in [
                Pattern::anywhere(text).unwrap_err(),
                Pattern::at_start(text).unwrap_err(),
            ] {
                assert_eq!(error, words, "/{text}/");
            }
        }
        assert!(
            Pattern::anywhere("a{1000}{1000}")
                .unwrap_err()
                .contains("too large")
        );
    }
}
