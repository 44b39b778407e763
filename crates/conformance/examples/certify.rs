//! Certifying a reactor of your own against the whole catalogue.
//!
//! A reactor is anything that implements `connectable::Reactor`. This one is the smallest
//! that is real: a transport of its own (the in-memory pipe, wrapped so that it counts the
//! bytes it carries) made a reactor by `PairReactor`, which runs the whole contract over any
//! `ByteStream` with `drive_streams`. Register it and every suite case that applies runs on
//! it too:
//!
//! ```sh
//! cargo run -p conformance --example certify -- --suites suites ::counting-memory::
//! ```

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use connectable::memory::{self, MemoryStream};
use connectable::reactor::{ByteStream, PairReactor};
use connectable::{Address, Network};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes carried by every stream of the reactor, to show it is the one doing the work.
static CARRIED: AtomicU64 = AtomicU64::new(0);

/// The transport under certification: the in-memory pipe, counting what it reads.
struct Counting(MemoryStream);

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        CARRIED.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    // Forwarded too: without them a write takes only the first buffer it is handed. After a
    // failed handshake tokio-rustls sends what it holds in one vectored write, once (a TLS 1.3
    // client's ChangeCipherSpec, then its alert), so the alert would be lost and the peer end
    // `lost` instead of `tls`: the certificate cases of suites/tls.toml fail on such a stream.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl ByteStream for Counting {
    fn reset(self) {
        self.0.reset();
    }

    fn addresses(&self) -> (Address, Address) {
        (Address::Memory("server"), Address::Memory("client"))
    }
}

/// The reactor: pairs probes over `Counting` streams. Its transport is a pipe in this
/// process, so it carries the memory transports only (and pairs no external programs).
static COUNTING_MEMORY: PairReactor<Counting, fn() -> (Counting, Counting)> =
    PairReactor::new("counting-memory", &[Network::Memory], || {
        let (server, client) = memory::pair();
        (Counting(server), Counting(client))
    });

fn main() -> std::process::ExitCode {
    let code = conformance::main_with_reactors(conformance::Mode::Binary, &[&COUNTING_MEMORY]);
    #[allow(clippy::print_stderr)] // the example shows its transport did the work
    {
        eprintln!(
            "counting-memory carried {} bytes",
            CARRIED.load(Ordering::Relaxed)
        );
    }
    code
}
