//! The catalogue catches a broken reactor: one that, over the in-memory pipe, reports a reset
//! as a clean close (the bug of a transport that maps ECONNRESET to EOF). The abort cases must
//! fail against it, by name, and the cases that involve no reset must still pass: the
//! catalogue points at the bug, not at everything.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use connectable::memory::{self, MemoryStream};
use connectable::reactor::{ByteStream, PairReactor};
use connectable::{Address, Delivery, Network};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The in-memory pipe with the bug: a reset reads as an EOF.
struct ResetBlind(MemoryStream);

impl AsyncRead for ResetBlind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for ResetBlind {
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

impl ByteStream for ResetBlind {
    fn reset(self) {
        self.0.reset();
    }

    fn addresses(&self) -> (Address, Address) {
        (Address::Memory("server"), Address::Memory("client"))
    }
}

static RESET_BLIND: PairReactor<ResetBlind, fn() -> (ResetBlind, ResetBlind)> =
    PairReactor::new("reset-blind", &[Network::Memory], || {
        let (server, client) = memory::pair();
        (ResetBlind(server), ResetBlind(client))
    });

#[test]
fn the_catalogue_names_the_cases_a_reset_blind_reactor_fails() {
    assert!(conformance::register_reactors(&[&RESET_BLIND]));
    let suites = conformance::load::load_dir(&conformance::cli::default_suites())
        .unwrap_or_else(|d| panic!("the suites load: {d:?}"));
    let mut failed = Vec::new();
    let mut passed = Vec::new();
    for suite in &suites {
        for case in suite.cases.iter().filter(|c| c.skip.is_none()) {
            let cells = conformance::trials::cells(case, 0);
            let ours = cells.into_iter().filter(|cell| {
                cell.reactor.name() == "reset-blind" && cell.delivery == Delivery::Whole
            });
            for cell in ours {
                let name = cell.trial_name(&suite.name, &case.name);
                match conformance::trials::run(case, cell) {
                    Ok(()) => passed.push(name),
                    Err(_) => failed.push(name),
                }
            }
        }
    }
    #[allow(clippy::print_stderr)] // what the catalogue found, shown with --nocapture
    {
        eprintln!(
            "reset-blind: {} trials passed, {} failed:",
            passed.len(),
            failed.len()
        );
        for name in &failed {
            eprintln!("  {name}");
        }
    }
    // The reset is what it hides: cases whose peer must see a reset fail...
    for expected in [
        "abort::server_aborts_on_data::memory::reset-blind::whole",
        "abort::client_aborts_on_data::memory::reset-blind::whole",
        "abort::server_aborts_twice::memory::reset-blind::whole",
        "scripts::failed_expect_names_the_step::memory::reset-blind::whole",
    ] {
        assert!(
            failed.iter().any(|f| f == expected),
            "{expected} should fail against a reset-blind reactor; failed: {failed:#?}"
        );
    }
    // ...and the cases without one pass.
    for expected in [
        "closing::closing_later_after_one_byte::memory::reset-blind::whole",
        "echo::echo_bulk_in_order::memory-tls::reset-blind::whole",
        "flow::pause_and_resume_reading_keeps_every_byte::memory::reset-blind::whole",
    ] {
        assert!(
            passed.iter().any(|p| p == expected),
            "{expected} should pass; failed: {failed:#?}"
        );
    }
    assert!(
        passed.len() > failed.len(),
        "{} passed, {} failed: {failed:#?}",
        passed.len(),
        failed.len()
    );
}
