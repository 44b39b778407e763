//! Buffers kept between connections, so that a pairing does not pay for fresh memory.
//!
//! Fresh memory costs a page fault per 4 KiB on first touch, and on these machines a fault
//! costs microseconds: a 60 MiB write buffer filled from new memory took longer than sending
//! it over loopback. A pairing therefore borrows its large buffers from here and gives them
//! back when it ends: the read buffer of each side (always), and a transport's write buffer
//! once it has grown large. The pools are small and bounded; what does not fit is freed.

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
}

/// Write buffers ([`Transport`](crate::Transport)'s): only large ones, and only one, since
/// it may hold as much as a bulk case wrote at once (64 MiB for the 60 MiB case); one is what
/// repeated bulk pairings need, and keeping more raised the catalogue's peak memory.
pub(crate) static WRITE_BUFFERS: Pool = Pool::new(1, 1 << 20);

/// Read buffers (the tokio reactors' and the threads reactor's): two per pairing running at
/// once.
pub(crate) static READ_BUFFERS: Pool = Pool::new(16, 0);

impl Pool {
    const fn new(keep: usize, min_capacity: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            keep,
            min_capacity,
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
        Some(idle.swap_remove(largest))
    }

    /// Any idle buffer, as it was given back.
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.idle().pop()
    }

    /// Keeps `buffer` for later if it is large enough and there is room, else frees it (or,
    /// when the pool is full, the smallest buffer, if `buffer` is larger).
    pub(crate) fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() < self.min_capacity || buffer.capacity() == 0 {
            return;
        }
        let mut idle = self.idle();
        if idle.len() < self.keep {
            idle.push(buffer);
        } else if let Some(smallest) = idle.iter_mut().min_by_key(|b| b.capacity())
            && smallest.capacity() < buffer.capacity()
        {
            // The smaller one is freed when this scope ends, after the lock is released.
            let freed = std::mem::replace(smallest, buffer);
            drop(idle);
            drop(freed);
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
