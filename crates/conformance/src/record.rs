//! What running a trial leaves: each side's record and every problem found, the values the
//! reports read. Running (`trials`) makes them; the reporters (`report`) only read them, so
//! neither imports the other's code through this module.

use std::fmt;
use std::time::Duration;

use connectable::ConnectableProtocol;

use crate::external::ExternalRecord;

/// What one run of a cell came to: the sides' records (when the pairing ran at all) and
/// every problem found.
#[derive(Debug)]
pub struct Attempt {
    /// The server's and the client's records; `None` when the pairing could not start.
    pub sides: Option<(Side, Side)>,
    /// Mismatches, the timeout, or why the pairing could not run; empty when all held.
    pub problems: Vec<Problem>,
    /// Wall time of the pairing and the checks.
    pub elapsed: Duration,
}

/// One side's record: a probe's, or an external program's.
#[derive(Debug)]
pub enum Side {
    /// A probe or script run by our reactor.
    Probe(ConnectableProtocol),
    /// A program or server someone else wrote.
    External(ExternalRecord),
    /// Several connections of ours, one after another, against one external peer (a side
    /// given as a list), in order.
    Connections(Vec<ConnectableProtocol>),
}

impl Side {
    /// Our records on this side, each with its connection number (from 1) when the side is
    /// a list: one for a probe, none for an external side.
    pub fn probes(&self) -> Vec<(Option<usize>, &ConnectableProtocol)> {
        match self {
            Self::Probe(record) => vec![(None, record)],
            Self::External(_) => Vec::new(),
            Self::Connections(list) => list
                .iter()
                .enumerate()
                .map(|(i, record)| (Some(i + 1), record))
                .collect(),
        }
    }
}

/// Which side of a pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The accepting side.
    Server,
    /// The connecting side.
    Client,
}

impl Role {
    /// `server` or `client`, as messages and suites say it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }

    /// The side, or one connection of it (`client#2`), as messages say it.
    pub fn with(self, connection: Option<usize>) -> String {
        match connection {
            Some(n) => format!("{}#{n}", self.word()),
            None => self.word().to_owned(),
        }
    }
}

/// An expectation that did not hold, as data: the side, the key, what was expected and what
/// was seen. It reads as `server reason: expected done, got lost`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// The side whose expectation it is.
    pub side: Role,
    /// Which connection of a side given as a list (from 1); `None` for a side of one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<usize>,
    /// The expectation key (`reason`, `received`, `exit`, ...).
    pub key: &'static str,
    /// What the key asked for.
    pub expected: String,
    /// What was seen, when the message names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: expected {}",
            self.side.with(self.connection),
            self.key,
            self.expected
        )?;
        match &self.got {
            Some(got) => write!(f, ", got {got}"),
            None => Ok(()),
        }
    }
}

/// One thing that went wrong in a run: a mismatch, or anything else (a timeout, a pairing
/// that could not run, something left behind, a panic), said in a sentence.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Problem {
    /// An expectation that did not hold.
    Mismatch(Mismatch),
    /// Anything else.
    Other(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mismatch(mismatch) => mismatch.fmt(f),
            Self::Other(text) => f.write_str(text),
        }
    }
}

impl From<String> for Problem {
    fn from(text: String) -> Self {
        Self::Other(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mismatch reads as the sentence the console has always shown.
    #[test]
    fn mismatches_read_as_sentences() {
        let mismatch = |side, key, expected: &str, got: Option<&str>| {
            Problem::Mismatch(Mismatch {
                side,
                connection: None,
                key,
                expected: expected.to_owned(),
                got: got.map(str::to_owned),
            })
        };
        let rows = [
            (
                mismatch(Role::Server, "reason", "done", Some("lost: reset")),
                "server reason: expected done, got lost: reset",
            ),
            (
                mismatch(Role::Client, "stdout", "it to contain \"ok\"", None),
                "client stdout: expected it to contain \"ok\"",
            ),
            (
                Problem::Mismatch(Mismatch {
                    side: Role::Client,
                    connection: Some(2),
                    key: "reason",
                    expected: "done".into(),
                    got: Some("refused".into()),
                }),
                "client#2 reason: expected done, got refused",
            ),
            (
                Problem::Other("timed out after 5s with the server still open".into()),
                "timed out after 5s with the server still open",
            ),
        ];
        for (problem, shown) in rows {
            assert_eq!(problem.to_string(), shown);
        }
        let json = serde_json::to_string(&mismatch(Role::Client, "events", "[made]", Some("[]")))
            .expect("serializable");
        assert_eq!(
            json,
            r#"{"side":"client","key":"events","expected":"[made]","got":"[]"}"#
        );
    }
}
