//! [`Reactor`]: what drives connections, and the reactors built in.
//!
//! A reactor owns the sockets and the event loop; the protocol logic it drives lives in
//! [`Connection`]. Twisted runs every connection test against every reactor because the
//! reactor is what is under test; a reactor here is the same: something that implements this
//! trait and can then be certified against the whole catalogue.

mod connecting;
mod conversation;
mod pool;
mod stream;
mod threads;
mod tls;
mod tokio;

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::{Connection, Endpoint, Error};

pub use self::tokio::{TokioCurrentThread, TokioMultiThread};
pub use connecting::set_unix_socket_dir;
pub use pool::release_idle_runtimes;
pub use stream::{ByteStream, PairReactor, drive_streams};
pub use threads::Threads;

/// How long a closing side lingers for the peer's EOF: a rule of the contract, so it lives in
/// [`Connection`]; here for reactor authors who look for it.
pub use crate::connection::LINGER;

/// The most chunks of the write buffer handed to one vectored write: a bulk payload written
/// as 64 KiB shared chunks goes out 4 MiB per system call, as much as a loopback socket takes
/// at once.
pub(crate) const WRITE_SLICES: usize = 64;

/// Which end of a pairing a side is: it decides who runs the TLS server handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// Drives both sides of a pairing over real connections.
pub trait Reactor: Send + Sync + std::fmt::Debug {
    /// The name trials use (`tokio-ct`, ...).
    fn name(&self) -> &'static str;

    /// Whether this reactor can drive connections over `network` (with TLS or not). Cells of
    /// the matrix it cannot run are left out when trials are listed (suites/README.md says
    /// which reactor leaves out what, and why).
    fn supports(&self, network: crate::Network, tls: bool) -> bool {
        let _ = (network, tls);
        true
    }

    /// Listens on `endpoint` (an ephemeral loopback port), connects `client` to it, and drives
    /// both connections until both have ended or `timeout` has passed, then returns having
    /// closed everything it opened. A side still open at the timeout must be left unfinished
    /// (its record shows it was open).
    ///
    /// What a reactor must do with a [`Connection`]: call `made` once connected (before any
    /// TLS handshake), then carry out what `poll_action` asks and tell it what happened
    /// (`handshake_completed`, `received`, `wrote`, `peer_closed`, `write_shut`, `failed`,
    /// and `handle_timeout` at `poll_timeout`), as its documentation says; every rule of the
    /// contract that needs no socket is decided there.
    fn drive(
        &self,
        endpoint: &Endpoint,
        server: Connection,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error>;

    /// Accepts one connection on `listener` (bound by the caller, so that a client in another
    /// process can be started first) and drives `server` over it until it ends or `timeout`
    /// has passed. Used to pair a probe with a client someone else wrote. By default: an
    /// error, this reactor pairs probes only.
    fn accept(
        &self,
        endpoint: &Endpoint,
        listener: std::net::TcpListener,
        server: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let _ = (endpoint, listener, server, timeout);
        Err(probes_only())
    }

    /// What the pairing this thread last drove left behind once `drive`, `accept` or
    /// `connect` returned, each entry naming one thing still held (a socket, a task, a
    /// timer): Twisted checks `reactor.removeAll() == []` and that no delayed call is left
    /// after every test. The runner asks right after each pairing, on the same thread, and a
    /// trial fails with what is named. By default: nothing to say.
    fn leftovers(&self) -> Vec<String> {
        Vec::new()
    }

    /// Connects `client` to `address` and drives it until it ends or `timeout` has passed;
    /// a failed connect ends it `refused`, with the OS error as the detail (`Connection
    /// refused (os error 111)`), and so does a connect that has not completed within the
    /// endpoint's `connect_timeout` (shorter than `timeout`). Used to pair a probe with a
    /// server someone else wrote. By default: an error, this reactor pairs probes only.
    fn connect(
        &self,
        endpoint: &Endpoint,
        address: std::net::SocketAddr,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let _ = (endpoint, address, client, timeout);
        Err(probes_only())
    }
}

/// What [`Reactor::accept`] and [`Reactor::connect`] return on a reactor that has neither.
fn probes_only() -> Error {
    Error::Io {
        context: "this reactor pairs probes only, not programs in other processes",
        source: std::io::ErrorKind::Unsupported.into(),
    }
}

/// The reactors built in, by name.
pub fn builtin() -> &'static [&'static dyn Reactor] {
    &[&TokioCurrentThread, &TokioMultiThread, &Threads]
}

/// The built-in reactor with this name.
pub fn by_name(name: &str) -> Option<&'static dyn Reactor> {
    builtin().iter().copied().find(|r| r.name() == name)
}

thread_local! {
    /// What the pairing this thread last drove left behind (see [`Reactor::leftovers`]).
    static LEFT_BEHIND: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// What the pairing this thread last drove left behind, for [`Reactor::leftovers`].
pub(crate) fn take_left_behind() -> Vec<String> {
    LEFT_BEHIND.with(|left| std::mem::take(&mut *left.borrow_mut()))
}

/// How a [`Ledger`] names each side of a pairing.
pub(crate) const SERVER_HELD: &str = "the server's stream (with its TLS state and timers)";
pub(crate) const CLIENT_HELD: &str = "the client's stream (with its TLS state and timers)";

/// What a pairing holds, by name: each side takes a [`Held`] when it starts and drops it with
/// its stream, TLS state and timers, wherever that happens, so a `Held` still alive once the
/// pairing is over marks what outlived it. Anything else left behind is noted in it too.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    held: Mutex<Vec<(&'static str, Held)>>,
    noted: Mutex<Vec<String>>,
}

/// One thing a pairing holds, for as long as this lives (a clone stays in its [`Ledger`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Held(Arc<()>);

impl Ledger {
    /// Registers `what` for as long as the returned token lives.
    pub(crate) fn hold(&self, what: &'static str) -> Held {
        let held = Held::default();
        let mut ledger = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.push((what, held.clone()));
        held
    }

    /// Notes something left behind that no [`Held`] stands for.
    pub(crate) fn note(&self, what: String) {
        self.noted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(what);
    }

    /// Accounts for one pairing on this thread: `pairing` registers what it holds in a fresh
    /// ledger, and what is still held once it has returned, and what it noted, is what it
    /// left behind ([`take_left_behind`]).
    pub(crate) fn account<T>(pairing: impl FnOnce(&Self) -> T) -> T {
        // A pairing that panics leaves no account, not the one before it.
        LEFT_BEHIND.with(|left_behind| left_behind.borrow_mut().clear());
        let ledger = Self::default();
        let result = pairing(&ledger);
        let held = ledger
            .held
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let outlived = held
            .into_iter()
            .filter(|(_, Held(token))| Arc::strong_count(token) > 1)
            .map(|(what, _)| format!("{what} outlived the pairing"));
        let mut left = ledger
            .noted
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        left.extend(outlived);
        LEFT_BEHIND.with(|left_behind| *left_behind.borrow_mut() = left);
        result
    }
}
