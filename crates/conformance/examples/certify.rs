//! Certifying a reactor of your own against the whole catalogue.
//!
//! A reactor is anything that implements `connectable::Reactor`. This one is the smallest
//! that is real: a transport of its own (the in-memory pipe, wrapped so that it counts the
//! bytes it carries), driven by `drive_streams`, which runs the whole contract over any
//! `ByteStream`. Register it and every suite case that applies runs on it too:
//!
//! ```sh
//! cargo run -p conformance --example certify -- --suites suites ::counting-memory::
//! ```

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use connectable::memory::{self, MemoryStream};
use connectable::reactor::{ByteStream, Reactor, drive_streams};
use connectable::{Address, Connection, Endpoint, Error, Network};
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

/// The reactor: pairs probes over `Counting` streams.
#[derive(Debug)]
struct CountingMemory;

impl Reactor for CountingMemory {
    fn name(&self) -> &'static str {
        "counting-memory"
    }

    // Its transport is a pipe in this process: it can carry the memory transports only.
    fn supports(&self, network: Network, _tls: bool) -> bool {
        network == Network::Memory
    }

    fn drive(
        &self,
        endpoint: &Endpoint,
        server: Connection,
        client: Connection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let (a, b) = memory::pair();
        drive_streams(
            endpoint,
            (Counting(a), server),
            (Counting(b), client),
            timeout,
        )
    }

    // Programs in other processes cannot reach an in-process pipe.
    fn accept(
        &self,
        _: &Endpoint,
        _: std::net::TcpListener,
        _: Connection,
        _: Duration,
    ) -> Result<(), Error> {
        Err(Error::Io {
            context: "counting-memory pairs probes only",
            source: io::ErrorKind::Unsupported.into(),
        })
    }

    fn connect(
        &self,
        _: &Endpoint,
        _: std::net::SocketAddr,
        _: Connection,
        _: Duration,
    ) -> Result<(), Error> {
        Err(Error::Io {
            context: "counting-memory pairs probes only",
            source: io::ErrorKind::Unsupported.into(),
        })
    }
}

fn main() -> std::process::ExitCode {
    conformance::main_with_reactors(conformance::Mode::Binary, &[&CountingMemory])
}
