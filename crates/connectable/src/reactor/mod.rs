//! [`Reactor`]: what drives connections, and the reactors built in.
//!
//! A reactor owns the sockets and the event loop; the protocol logic it drives lives in
//! [`Connection`]. Twisted runs every connection test against every reactor because the
//! reactor is what is under test; a reactor here is the same: something that implements this
//! trait and can then be certified against the whole catalogue.

mod conversation;
mod pool;
mod stream;
mod threads;
mod tls;
mod tokio;

use std::time::Duration;

use crate::{Connection, Endpoint, Error};

pub use self::tokio::{TokioCurrentThread, TokioMultiThread};
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

/// A fresh UNIX socket path in the temporary directory, removed when dropped: the built-in
/// reactors bind their `unix` listeners here.
pub(crate) struct UnixPath(pub(crate) std::path::PathBuf);

impl UnixPath {
    pub(crate) fn fresh() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self(std::env::temp_dir().join(format!(
            "connectable-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )))
    }
}

impl Drop for UnixPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

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
    /// TLS handshake), `handshake_completed` once the handshake is done, `received` with bytes
    /// read, send `pending_writes` (only after the handshake) and report them with `wrote`,
    /// carry out `close_requested`, and call `finish` with the reason the connection ended.
    /// See the crate documentation for the meaning of each reason.
    fn drive(
        &self,
        endpoint: &Endpoint,
        server: Connection,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error>;

    /// Accepts one connection on `listener` (bound by the caller, so that a client in another
    /// process can be started first) and drives `server` over it until it ends or `timeout`
    /// has passed. Used to pair a probe with a client someone else wrote.
    fn accept(
        &self,
        endpoint: &Endpoint,
        listener: std::net::TcpListener,
        server: Connection,
        timeout: Duration,
    ) -> Result<(), Error>;

    /// Connects `client` to `address` and drives it until it ends or `timeout` has passed;
    /// a failed connect ends it `refused`. Used to pair a probe with a server someone else
    /// wrote.
    fn connect(
        &self,
        endpoint: &Endpoint,
        address: std::net::SocketAddr,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error>;
}

/// The reactors built in, by name.
pub fn builtin() -> &'static [&'static dyn Reactor] {
    &[&TokioCurrentThread, &TokioMultiThread, &Threads]
}

/// The built-in reactor with this name.
pub fn by_name(name: &str) -> Option<&'static dyn Reactor> {
    builtin().iter().copied().find(|r| r.name() == name)
}
