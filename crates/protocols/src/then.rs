//! What a probe does once it has written (`then = ...`): one action type and one way of
//! carrying it out for every probe that takes the argument. Each probe keeps its own words
//! (`send` says `wait`, `abort-between-writes` says `none`) and its own default, given as a
//! [`ThenWords`] table.

use connectable::Transport;
use serde::{Deserialize, Deserializer, de};

/// The last thing a probe does with its connection after writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Then {
    /// Nothing: wait for the peer to close.
    Wait,
    /// `lose_connection`.
    Close,
    /// `lose_connection_without_close_notify`.
    CloseWithoutCloseNotify,
    /// `abort_connection`.
    Abort,
}

/// The words one probe's `then` takes, in the order its documentation lists them, and what
/// each means.
pub(crate) struct ThenWords {
    pub(crate) words: &'static [&'static str],
    pub(crate) actions: &'static [Then],
}

impl Then {
    /// Does it.
    pub(crate) fn apply(self, transport: &mut Transport) {
        match self {
            Self::Wait => {}
            Self::Close => transport.lose_connection(),
            Self::CloseWithoutCloseNotify => transport.lose_connection_without_close_notify(),
            Self::Abort => transport.abort_connection(),
        }
    }

    /// Reads one of `table`'s words; any other is an unknown variant, named as serde names
    /// it for an enum of those words.
    pub(crate) fn one_of<'de, D: Deserializer<'de>>(
        deserializer: D,
        table: &'static ThenWords,
    ) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        match table.words.iter().position(|w| *w == word) {
            Some(i) => Ok(table.actions[i]),
            None => Err(de::Error::unknown_variant(&word, table.words)),
        }
    }
}
