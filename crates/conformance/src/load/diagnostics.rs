//! The loader's problems and their words: [`Diagnostic`], a place in the text from a byte
//! offset, unknown keys and words with the valid choices and a "did you mean", and the
//! quoting and naming of values that every message shares.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::{Checker, LONGEST_SHOWN, Span, Value};

/// One problem found while loading suites: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or directory) the problem is in.
    pub path: PathBuf,
    /// The 1-based line and column (in characters), when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    /// What is wrong: lowercase, no trailing period.
    pub message: String,
}

impl Diagnostic {
    /// A problem at the end of `before`, the text of the file up to the place (its line and
    /// column counted there, the column in characters).
    pub fn after(path: &Path, before: &str, message: impl Into<String>) -> Self {
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        Self {
            path: path.to_owned(),
            position: Some((line, column)),
            message: message.into(),
        }
    }

    /// A problem with a whole file or folder, at no line.
    pub fn whole(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            position: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// A list of words and what to call them in messages.
pub(super) struct Words<'a, 'w> {
    /// The key, as a path from the context (`transports`, `expect.server.reason`).
    pub(super) key: &'a str,
    /// What one word is (`transport`, `reason`).
    pub(super) noun: &'a str,
    /// The valid words.
    pub(super) valid: &'a [&'w str],
    /// A set: not empty, no word twice. Otherwise a sequence: may be empty, may repeat.
    pub(super) set: bool,
}
impl Checker<'_> {
    // -- Places and problems ------------------------------------------------------------

    /// The 1-based line and column (in characters) of a byte offset into the text.
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // The number of lines starting at or before `offset`; the first starts at 0.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    pub(super) fn at(&mut self, span: Span, message: impl Into<String>) {
        let position = Some(self.position(span.start));
        self.diagnostics.push(Diagnostic {
            path: self.path.to_owned(),
            position,
            message: message.into(),
        });
    }

    pub(super) fn whole(&mut self, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::whole(self.path, message));
    }

    /// Where a syntax error that the parser gives without a place (a key with too many
    /// dotted parts) is: at the first line that makes it. TOML reads front to back, so the
    /// first lines of a file give the errors of those lines; the shortest such prefix is
    /// found by bisection, a few parses of a file that failed anyway.
    pub(super) fn unplaced(&self, message: &str) -> Option<Span> {
        let lines = self.line_starts.len();
        let gives_it = |count: usize| {
            let end = self
                .line_starts
                .get(count)
                .copied()
                .unwrap_or(self.text.len());
            let (_, errors) = DeTable::parse_recoverable(&self.text[..end]);
            errors
                .iter()
                .any(|e| e.span().is_none() && e.message() == message)
        };
        if !gives_it(lines) {
            return None;
        }
        // The fewest first lines that give it: `high` always does, fewer than `low` never.
        let (mut low, mut high) = (1, lines);
        while low < high {
            let middle = low + (high - low) / 2;
            if gives_it(middle) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        let start = self.line_starts[high - 1];
        let indent = self.text[start..]
            .find(|c: char| c != ' ' && c != '\t')
            .unwrap_or(0);
        Some(start + indent..start + indent)
    }

    /// A list of words, each checked; `None` (with every problem reported) if any is bad.
    pub(super) fn word_list<'w>(
        &mut self,
        ctx: &str,
        words: &Words<'_, 'w>,
        value: &Value<'_>,
    ) -> Option<Vec<&'w str>> {
        let key = words.key;
        let DeValue::Array(items) = value.get_ref() else {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}: expected a list of words, found {}",
                    found(value.get_ref())
                ),
            );
            return None;
        };
        if words.set && items.is_empty() {
            self.at(
                value.span(),
                format!(
                    "{ctx}{key}: empty list; give at least one of: {}",
                    words.valid.join(", ")
                ),
            );
            return None;
        }
        let mut good = true;
        let mut result: Vec<&'w str> = Vec::new();
        for item in items.iter() {
            let Some(text) = item.get_ref().as_str() else {
                self.at(
                    item.span(),
                    format!(
                        "{ctx}{key}: expected a word, found {}",
                        found(item.get_ref())
                    ),
                );
                good = false;
                continue;
            };
            match self.word(ctx, words, text, item.span()) {
                Some(word) if words.set && result.contains(&word) => {
                    self.at(
                        item.span(),
                        format!("{ctx}{key}: {} is listed twice", quote(word)),
                    );
                    good = false;
                }
                Some(word) => result.push(word),
                None => good = false,
            }
        }
        good.then_some(result)
    }

    /// One word, checked against the valid ones.
    pub(super) fn word<'w>(
        &mut self,
        ctx: &str,
        words: &Words<'_, 'w>,
        text: &str,
        span: Span,
    ) -> Option<&'w str> {
        let word = words.valid.iter().copied().find(|w| *w == text);
        if word.is_none() {
            self.at(span, unknown_word(ctx, words.noun, text, words.valid));
        }
        word
    }
}
// -- Messages ---------------------------------------------------------------------------

/// `{ctx}unknown {noun} "word"; did you mean "x"? (valid: a, b, c)`
pub(super) fn unknown_word(ctx: &str, noun: &str, word: &str, valid: &[&str]) -> String {
    format!(
        "{ctx}unknown {noun} {}{} (valid: {})",
        quote(word),
        did_you_mean(word, valid),
        valid.join(", ")
    )
}

/// `; did you mean "x"?` when one of `valid` is close to `word`, else nothing.
pub(super) fn did_you_mean(word: &str, valid: &[&str]) -> String {
    if word.chars().count() > LONGEST_SHOWN {
        return String::new();
    }
    let word = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for candidate in valid {
        let edits = strsim::normalized_damerau_levenshtein(&word, candidate);
        let prefix = strsim::jaro_winkler(&word, candidate);
        if edits < 0.6 && prefix < 0.85 {
            continue;
        }
        let score = edits + prefix;
        if best.is_none_or(|(best, _)| score > best) {
            best = Some((score, candidate));
        }
    }
    best.map_or_else(String::new, |(_, candidate)| {
        format!("; did you mean {}?", quote(candidate))
    })
}

/// A user's text in quotes, escaped, shortened if long.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() > LONGEST_SHOWN {
        let short: String = text.chars().take(LONGEST_SHOWN).collect();
        format!("{:?}...", short)
    } else {
        format!("{text:?}")
    }
}

/// What a value is, for "expected X, found Y".
pub(super) fn found(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

pub(super) fn bad_hex(ctx: &str, path: &str, text: &str) -> String {
    format!(
        "{ctx}{path}: bad hex {}: write pairs of hex digits, e.g. \"0d0a\"",
        quote(text)
    )
}

/// A probe's parse error as the type-erased deserializer hands it on: toml's message, then
/// perhaps blank lines and `in `key``, the argument it is about (`size`; for an item of a
/// list, the list). Gives the message alone and that argument.
pub(super) fn erased_message(message: &str) -> (&str, Option<&str>) {
    let message = message.trim();
    let Some((said, keys)) = message.rsplit_once("\nin `") else {
        return (trim_message(message), None);
    };
    let keys = keys.strip_suffix('`').unwrap_or(keys);
    let argument = keys.split(['.', '[']).next().filter(|a| !a.is_empty());
    (trim_message(said), argument)
}

/// A message from elsewhere, in our style: no trailing period.
pub(super) fn trim_message(message: &str) -> &str {
    message.trim().trim_end_matches('.')
}

/// An I/O error's message, lowercased at the start as ours are.
pub(super) fn io_message(error: &std::io::Error) -> String {
    let message = error.to_string();
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => message,
    }
}
