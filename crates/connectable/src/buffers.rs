//! Buffers kept between connections, so that a pairing does not pay for fresh memory.
//!
//! Fresh memory costs a page fault per 4 KiB on first touch, and on these machines a fault
//! costs microseconds: a 60 MiB write buffer filled from new memory took longer than sending
//! it over loopback. A pairing therefore borrows its large buffers from here and gives them
//! back when it ends: the read buffer of each side (always), a transport's write buffer once
//! it has grown large, and a trace's received bytes once they reach the cap. The pools are small and bounded; what does not fit is freed, and a
//! large write buffer nobody asked for lately is freed too, so that the memory of a bulk case
//! is not held through the rest of a run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Size of the buffer each side reads into, on every built-in reactor.
pub(crate) const READ_BUFFER: usize = 64 * 1024;

/// Idle buffers of one kind.
pub(crate) struct Pool {
    idle: Mutex<Vec<Vec<u8>>>,
    /// At most this many are kept ...
    keep: usize,
    /// ... and none with a smaller capacity: small buffers are cheap to make.
    min_capacity: usize,
    /// The idle buffers are freed once this many buffers in a row were given back and not
    /// kept (their users had no need of the idle ones): large buffers are only worth keeping
    /// while large writes go on.
    forget_after: Option<usize>,
    /// Buffers given back and not kept since one was last taken or kept.
    passed_over: AtomicUsize,
}

/// Write buffers ([`Transport`](crate::Transport)'s): only large ones, only one (it may hold
/// as much as a bulk case wrote at once, 64 MiB for the 60 MiB case; one is what repeated bulk
/// pairings need), and only until eight transports in a row have ended without using it:
/// kept longer, it raised the catalogue's peak memory by as much as it holds.
pub(crate) static WRITE_BUFFERS: Pool = Pool::new(1, 1 << 20, Some(8));

/// The received bytes a [`Trace`](crate::Trace) keeps, once they reach
/// [`RECEIVED_KEPT`](crate::RECEIVED_KEPT) (4 MiB: a bulk case's): two, one per side of a
/// bulk pairing, freed after eight traces in a row end without needing one.
pub(crate) static RECEIVED_BUFFERS: Pool = Pool::new(2, crate::RECEIVED_KEPT, Some(8));

/// Read buffers (the tokio reactors' and the threads reactor's): two per pairing running at
/// once.
pub(crate) static READ_BUFFERS: Pool = Pool::new(16, 0, None);

impl Pool {
    const fn new(keep: usize, min_capacity: usize, forget_after: Option<usize>) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            keep,
            min_capacity,
            forget_after,
            passed_over: AtomicUsize::new(0),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A buffer list cannot be left inconsistent by a panic.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The largest idle buffer, if its capacity is at least `capacity`, as it was given back.
    pub(crate) fn take_at_least(&self, capacity: usize) -> Option<Vec<u8>> {
        let mut idle = self.idle();
        let (largest, _) = idle
            .iter()
            .enumerate()
            .max_by_key(|(_, b)| b.capacity())
            .filter(|(_, b)| b.capacity() >= capacity)?;
        self.passed_over.store(0, Ordering::Relaxed);
        Some(idle.swap_remove(largest))
    }

    /// Any idle buffer, as it was given back.
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.idle().pop()
    }

    /// Keeps `buffer` for later if it is large enough and there is room, else frees it (or,
    /// when the pool is full, the smallest buffer, if `buffer` is larger). A buffer not kept
    /// counts towards freeing the idle ones (see `forget_after`).
    pub(crate) fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() >= self.min_capacity.max(1) {
            let mut idle = self.idle();
            if idle.len() < self.keep {
                idle.push(buffer);
                self.passed_over.store(0, Ordering::Relaxed);
                return;
            }
            if let Some(smallest) = idle.iter_mut().min_by_key(|b| b.capacity())
                && smallest.capacity() < buffer.capacity()
            {
                let freed = std::mem::replace(smallest, buffer);
                self.passed_over.store(0, Ordering::Relaxed);
                // Freed after the lock is released.
                drop(idle);
                drop(freed);
                return;
            }
        }
        // Not kept: one more user that had no need of the idle buffers.
        if let Some(limit) = self.forget_after
            && self.passed_over.fetch_add(1, Ordering::Relaxed) + 1 >= limit
        {
            self.passed_over.store(0, Ordering::Relaxed);
            let forgotten = std::mem::take(&mut *self.idle());
            drop(forgotten);
        }
    }
}

/// A buffer a side reads into, lent for the side's life by [`READ_BUFFERS`]: a fresh zeroed
/// 64 KiB buffer per side per pairing costs as much as the smallest pairing's reads.
pub(crate) struct ReadBuffer(Vec<u8>);

impl ReadBuffer {
    pub(crate) fn take() -> Self {
        Self(
            READ_BUFFERS
                .take()
                .filter(|b| b.len() == READ_BUFFER)
                .unwrap_or_else(|| vec![0; READ_BUFFER]),
        )
    }
}

impl Drop for ReadBuffer {
    fn drop(&mut self) {
        READ_BUFFERS.give_back(std::mem::take(&mut self.0));
    }
}

impl std::ops::Deref for ReadBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::DerefMut for ReadBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;

    #[test]
    fn a_large_buffer_is_kept_until_enough_users_pass_it_over() {
        let pool = Pool::new(1, 16, Some(3));
        pool.give_back(Vec::with_capacity(64));
        assert!(pool.take_at_least(65).is_none(), "too small for that");
        assert!(pool.take_at_least(32).is_some(), "kept, and large enough");
        pool.give_back(Vec::with_capacity(64));
        pool.give_back(Vec::with_capacity(8)); // too small to keep: passed over once
        pool.give_back(Vec::with_capacity(32)); // the pool is full of a larger one: twice
        assert!(pool.take_at_least(1).is_some(), "kept after two");
        pool.give_back(Vec::with_capacity(64));
        for _ in 0..3 {
            pool.give_back(Vec::with_capacity(8));
        }
        assert!(pool.take_at_least(1).is_none(), "freed after three");
    }
}
