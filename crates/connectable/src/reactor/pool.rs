//! The tokio runtimes the tokio reactors lend to pairings: one per pairing while it runs,
//! kept between pairings, since building one (an epoll instance, a timer wheel and, for
//! `tokio-mt`, two threads) costs more than a whole loopback pairing.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};

use crate::Error;

use super::Ledger;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    pub(super) fn pool(self) -> &'static RuntimePool {
        static CURRENT_THREAD: RuntimePool = RuntimePool::new(Flavor::CurrentThread);
        static MULTI_THREAD: RuntimePool = RuntimePool::new(Flavor::MultiThread);
        match self {
            Self::CurrentThread => &CURRENT_THREAD,
            Self::MultiThread => &MULTI_THREAD,
        }
    }
}

/// Idle runtimes of one flavor, kept between pairings: as many as pairings have run at once
/// (one per test thread), each lent to one pairing at a time.
///
/// A runtime goes back only if the pairing left nothing on it: no task alive (on `tokio-ct`
/// nothing is spawned; a stream of your own that spawned tasks gets its runtime dropped with
/// them), and on `tokio-mt` both sides' tasks finished. Otherwise, or when the pool is full,
/// it is shut down. A process-wide pool rather than a thread-local one, so that no runtime is
/// ever dropped by a thread-local destructor.
pub(super) struct RuntimePool {
    flavor: Flavor,
    idle: Mutex<Vec<Runtime>>,
}

impl RuntimePool {
    /// More idle runtimes than this are dropped: pairings rarely run more than this many at
    /// once.
    const KEEP: usize = 8;

    const fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `pairing` on a runtime of this pool; it returns its result and whether every task
    /// it started has ended.
    ///
    /// It also keeps the account [`Reactor::leftovers`](super::Reactor::leftovers) gives:
    /// `pairing` registers each side in the [`Ledger`] it is handed, and whatever is still
    /// registered once the runtime is back (or shut down), or a task still alive on a
    /// current-thread runtime when the pairing ended, is noted as left behind.
    pub(super) fn run<T>(
        &self,
        pairing: impl FnOnce(&Runtime, &Ledger) -> (T, bool),
    ) -> Result<T, Error> {
        Ledger::account(|ledger| {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let runtime = match idle {
                Some(runtime) => runtime,
                None => match self.flavor {
                    Flavor::CurrentThread => Builder::new_current_thread().enable_all().build(),
                    Flavor::MultiThread => {
                        let mut builder = Builder::new_multi_thread();
                        builder.worker_threads(2).enable_all().build()
                    }
                }
                .map_err(Error::io("building the tokio runtime"))?,
            };
            // If the pairing panics, the runtime is dropped with the unwinding, not given back.
            let (result, mut clean) = pairing(&runtime, ledger);
            // On tokio-mt a task that ended can count as alive a moment after its join handle
            // completed: `clean` says whether both sides' tasks ended, and the ledger whether
            // each side was dropped.
            let alive = runtime.metrics().num_alive_tasks();
            if self.flavor == Flavor::CurrentThread && alive > 0 {
                ledger.note(format!(
                    "{alive} task(s) still alive on the runtime when the pairing ended \
                     (dropped with the runtime)"
                ));
                clean = false;
            }
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if clean && idle.len() < Self::KEEP {
                idle.push(runtime);
            } else {
                drop(idle);
                shut_down(runtime);
            }
            Ok(result)
        })
    }
}

/// Drops the runtimes kept between pairings, and with them their threads and descriptors, and
/// closes the loopback listeners kept between pairings (`connecting.rs`).
///
/// For leak checks: how many runtimes are kept depends on how many pairings ran at once and
/// how many timed out (a runtime with a pairing left on it is not kept), so a count of a
/// process's threads or descriptors taken while some are kept says little. Release them
/// first, and whatever is left is what pairings left behind. Pairings that run afterwards
/// build new runtimes.
pub fn release_idle_runtimes() {
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let idle = std::mem::take(
            &mut *flavor
                .pool()
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        idle.into_iter().for_each(shut_down);
    }
    super::connecting::release_idle();
}

/// How long `drive` waits, once a pairing is over, for a runtime it does not keep to drop its
/// tasks and exit.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Shuts down a runtime the pool does not keep, and waits until its threads have dropped their
/// tasks and sockets and exited, so that nothing of the pairing outlives `drive` (a background
/// shutdown left worker threads, a poller and sockets behind for a while after each trial). A
/// callback stuck in a worker must not hold the caller: after [`SHUTDOWN_GRACE`] it is
/// abandoned, with its thread.
fn shut_down(runtime: Runtime) {
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}
