//! [`WriteQueue`]: what a protocol wrote and its reactor has not sent yet (the write buffer).
//!
//! Bytes passed as a slice ([`Transport::write`](crate::Transport::write)) are copied: the
//! caller keeps its slice. Bytes passed as a [`Bytes`]
//! ([`Transport::write_shared`](crate::Transport::write_shared)) are queued as they are, so
//! that a protocol sending a large payload it already holds (or a `&'static` one) does not pay
//! for copying it once more before the kernel or rustls copies it anyway: copying 60 MiB into
//! the write buffer was a third of a bulk pairing's time. The queue is therefore a list of
//! chunks, copied ones and shared ones, in the order they were written; a reactor sends from
//! the front one ([`front`](WriteQueue::front)) or from several at once with a vectored write
//! ([`slices`](WriteQueue::slices)).
//!
//! Copying stays the cheap path for small writes: consecutive copied writes go into one
//! buffer, and a shared write too small to be worth a chunk of its own is copied as well.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;

use crate::buffers::WRITE_BUFFERS;

/// A copy buffer that must grow to this size is taken from [`WRITE_BUFFERS`] if one is kept
/// there (see `make_room`).
const WRITE_BUFFER_KEPT: usize = 1 << 20;

/// Shared writes smaller than this are copied: below it, a chunk of its own (an iovec in
/// each vectored write) costs more than the copy saves.
pub(crate) const SHARED_AT_LEAST: usize = 4 * 1024;

/// The unsent bytes of one side, in order.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already sent.
    sent: usize,
    /// Unsent bytes in all the chunks.
    len: usize,
    /// A copy buffer that sending emptied, kept for the next copied write: a connection that
    /// writes and sends in turn reuses one buffer instead of allocating one per write.
    spare: Vec<u8>,
}

#[derive(Debug)]
enum Chunk {
    Copied(Vec<u8>),
    Shared(Bytes),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Copied(buffer) => buffer,
            Self::Shared(bytes) => bytes,
        }
    }
}

impl WriteQueue {
    /// Unsent bytes in all.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues a copy of `data`.
    pub(crate) fn copy(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        let only = self.chunks.len() == 1;
        if let Some(Chunk::Copied(buffer)) = self.chunks.back_mut() {
            // Only the front chunk has a sent part.
            let mut not_front = 0;
            let sent = if only { &mut self.sent } else { &mut not_front };
            make_room(buffer, sent, data.len());
            buffer.extend_from_slice(data);
            return;
        }
        let mut buffer = std::mem::take(&mut self.spare);
        if buffer.capacity() < data.len()
            && data.len() >= WRITE_BUFFER_KEPT
            && let Some(kept) = WRITE_BUFFERS.take_at_least(data.len())
        {
            WRITE_BUFFERS.give_back(std::mem::replace(&mut buffer, kept));
        }
        buffer.clear();
        buffer.extend_from_slice(data);
        self.chunks.push_back(Chunk::Copied(buffer));
    }

    /// Queues `data` itself, without copying it (unless it is small).
    pub(crate) fn share(&mut self, data: Bytes) {
        if data.len() < SHARED_AT_LEAST {
            self.copy(&data);
            return;
        }
        self.len += data.len();
        self.chunks.push_back(Chunk::Shared(data));
    }

    /// The unsent part of the front chunk: empty only if nothing at all is unsent.
    pub(crate) fn front(&self) -> &[u8] {
        self.chunks
            .front()
            .map_or(&[], |chunk| &chunk.bytes()[self.sent..])
    }

    /// Fills `slices` with the unsent chunks in order, at most `limit` bytes in all (a
    /// chunk that crosses it is cut); how many slices it filled.
    pub(crate) fn slices<'a>(&'a self, slices: &mut [IoSlice<'a>], limit: usize) -> usize {
        let mut left = limit;
        let mut filled = 0;
        for (index, chunk) in self.chunks.iter().enumerate() {
            if filled == slices.len() || left == 0 {
                break;
            }
            let from = if index == 0 { self.sent } else { 0 };
            let bytes = &chunk.bytes()[from..];
            let bytes = &bytes[..bytes.len().min(left)];
            left -= bytes.len();
            slices[filled] = IoSlice::new(bytes);
            filled += 1;
        }
        filled
    }

    /// The first `n` unsent bytes were sent.
    pub(crate) fn consume(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let left = front.bytes().len() - self.sent;
            if n < left {
                // Moving the unsent rest to the front on every partial write would make a
                // large buffer quadratic to send: advance an offset, and move bytes only when
                // a write needs the room (`make_room`), if ever.
                self.sent += n;
                return;
            }
            n -= left;
            self.pop_front();
        }
    }

    /// Drops everything unsent.
    pub(crate) fn clear(&mut self) {
        while !self.chunks.is_empty() {
            self.pop_front();
        }
        self.len = 0;
    }

    fn pop_front(&mut self) {
        self.sent = 0;
        if let Some(Chunk::Copied(mut buffer)) = self.chunks.pop_front() {
            buffer.clear();
            if buffer.capacity() > self.spare.capacity() {
                std::mem::swap(&mut buffer, &mut self.spare);
            }
            // The smaller of the two goes: to the pool only if it is worth keeping there, since
            // every buffer the pool is given and does not keep counts towards freeing its idle
            // one, a count meant per transport (the spare is given back when the queue drops).
            if buffer.capacity() >= WRITE_BUFFER_KEPT {
                WRITE_BUFFERS.give_back(buffer);
            }
        }
    }
}

impl Drop for WriteQueue {
    fn drop(&mut self) {
        self.clear();
        WRITE_BUFFERS.give_back(std::mem::take(&mut self.spare));
    }
}

/// Before `more` bytes are appended to `buffer`, whose first `sent` bytes were sent: if they
/// do not fit and the sent part is at least as large as the unsent rest, moves the rest to
/// the front instead of growing the buffer. Each byte moved is matched by one sent byte
/// freed, so sending stays linear; a buffer written once and then sent (a bulk transfer) is
/// never moved at all.
///
/// A buffer that must grow past [`WRITE_BUFFER_KEPT`] is swapped for a kept one that already
/// holds the room, if [`WRITE_BUFFERS`] has one: no page of it is fresh, and nothing is copied
/// again as it doubles. It goes back when the queue is dropped.
fn make_room(buffer: &mut Vec<u8>, sent: &mut usize, more: usize) {
    if buffer.capacity() - buffer.len() >= more {
        return;
    }
    let unsent = buffer.len() - *sent;
    if *sent > 0 && *sent >= unsent {
        buffer.drain(..*sent);
        *sent = 0;
        if buffer.capacity() - buffer.len() >= more {
            return;
        }
    }
    let needed = unsent + more;
    if needed >= WRITE_BUFFER_KEPT
        && let Some(mut kept) = WRITE_BUFFERS.take_at_least(needed)
    {
        kept.clear();
        kept.extend_from_slice(&buffer[*sent..]);
        // The buffer it replaces is small or fresh: freeing it costs nothing to keep.
        *buffer = kept;
        *sent = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything unsent, as a vectored write of unbounded size would send it.
    fn unsent(queue: &WriteQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 16];
        let filled = queue.slices(&mut slices, usize::MAX);
        let bytes: Vec<u8> = slices[..filled]
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        assert_eq!(bytes.len(), queue.len(), "len counts every unsent byte");
        bytes
    }

    enum Op {
        Copy(&'static [u8]),
        Share(usize, u8),
        Consume(usize),
        Clear,
    }

    #[test]
    fn copied_and_shared_writes_go_out_in_order() {
        use Op::{Clear, Consume, Copy, Share};
        let big = SHARED_AT_LEAST;
        /// The unsent bytes, as runs of (byte, count).
        type Runs<'a> = &'a [(u8, usize)];
        // Each case: the operations, then what is left unsent.
        #[rustfmt::skip]
        let cases: &[(&[Op], Runs<'_>)] = &[
            (&[Copy(b"ab"), Copy(b"c")],                          &[(b'a', 1), (b'b', 1), (b'c', 1)]),
            (&[Copy(b"a"), Share(big, b'x'), Copy(b"b")],         &[(b'a', 1), (b'x', big), (b'b', 1)]),
            (&[Share(3, b'y'), Copy(b"b")],                       &[(b'y', 3), (b'b', 1)]),
            (&[Copy(b"a"), Share(big, b'x'), Consume(2)],         &[(b'x', big - 1)]),
            (&[Share(big, b'x'), Share(big, b'z'), Consume(big)], &[(b'z', big)]),
            (&[Share(big, b'x'), Copy(b"ab"), Consume(big + 1)],  &[(b'b', 1)]),
            (&[Copy(b"abc"), Consume(1), Copy(b"d")],             &[(b'b', 1), (b'c', 1), (b'd', 1)]),
            (&[Copy(b"abc"), Share(big, b'x'), Clear, Copy(b"e")], &[(b'e', 1)]),
            (&[Copy(b"ab"), Consume(5)],                          &[]),
        ];
        for (index, (ops, expected)) in cases.iter().enumerate() {
            let mut queue = WriteQueue::default();
            for op in *ops {
                match op {
                    Copy(data) => queue.copy(data),
                    Share(n, byte) => queue.share(Bytes::from(vec![*byte; *n])),
                    Consume(n) => queue.consume(*n),
                    Clear => queue.clear(),
                }
            }
            let expected: Vec<u8> = expected
                .iter()
                .flat_map(|&(byte, n)| std::iter::repeat_n(byte, n))
                .collect();
            assert_eq!(unsent(&queue), expected, "case {index}");
            assert_eq!(
                queue.front().is_empty(),
                expected.is_empty(),
                "case {index}"
            );
        }
    }

    #[test]
    fn a_shared_write_is_not_copied() {
        static PAYLOAD: [u8; 2 * SHARED_AT_LEAST] = [b'x'; 2 * SHARED_AT_LEAST];
        let mut queue = WriteQueue::default();
        queue.copy(b"a");
        queue.share(Bytes::from_static(&PAYLOAD));
        queue.consume(1);
        assert_eq!(queue.front().as_ptr(), PAYLOAD.as_ptr());
    }

    #[test]
    fn slices_stop_at_the_limit_and_at_the_room_given() {
        let mut queue = WriteQueue::default();
        for byte in [b'x', b'y', b'z'] {
            queue.share(Bytes::from(vec![byte; SHARED_AT_LEAST]));
        }
        queue.consume(10);
        let mut slices = [IoSlice::new(&[]); 2];
        assert_eq!(queue.slices(&mut slices, usize::MAX), 2);
        assert_eq!(slices[0].len(), SHARED_AT_LEAST - 10);
        assert_eq!(slices[1].len(), SHARED_AT_LEAST);
        let mut slices = [IoSlice::new(&[]); 8];
        let filled = queue.slices(&mut slices, SHARED_AT_LEAST);
        assert_eq!(filled, 2);
        assert_eq!(slices[0].len() + slices[1].len(), SHARED_AT_LEAST);
    }

    #[test]
    fn an_emptied_copy_buffer_is_reused() {
        let mut queue = WriteQueue::default();
        queue.copy(&[b'a'; 100]);
        let first = queue.front().as_ptr();
        queue.consume(100);
        queue.copy(b"b");
        assert_eq!(queue.front().as_ptr(), first, "no new allocation");
    }
}
