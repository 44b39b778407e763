//! The catalogue catches a broken reactor: one that, over the in-memory pipe, reports a reset
//! as a clean close (the bug of a transport that maps ECONNRESET to EOF). The abort cases must
//! fail against it, by name, and the cases that involve no reset must still pass: the
//! catalogue points at the bug, not at everything.
//!
//! Certification also checks that a reactor leaves nothing behind after each trial, as Twisted
//! checks `reactor.removeAll()` and its delayed calls after every test: a reactor whose stream
//! leaves a timer running after a close, and one that leaks a socket per pairing, fail their
//! trials by name, with what was left in the message.

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

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

/// The in-memory pipe with another bug: its first shutdown leaves a timer running (a task
/// that sleeps for an hour), which nothing cancels when the pairing ends.
struct LeavesATimer(MemoryStream);

impl AsyncRead for LeavesATimer {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for LeavesATimer {
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
        tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl ByteStream for LeavesATimer {
    fn reset(self) {
        self.0.reset();
    }

    fn addresses(&self) -> (Address, Address) {
        (Address::Memory("server"), Address::Memory("client"))
    }
}

/// Where the socket-leaking reactor keeps what it leaks: a listening socket per pairing,
/// never closed.
static LEAKED: Mutex<Vec<TcpListener>> = Mutex::new(Vec::new());

static RESET_BLIND: PairReactor<ResetBlind, fn() -> (ResetBlind, ResetBlind)> =
    PairReactor::new("reset-blind", &[Network::Memory], || {
        let (server, client) = memory::pair();
        (ResetBlind(server), ResetBlind(client))
    });

static LEAVES_A_TIMER: PairReactor<LeavesATimer, fn() -> (LeavesATimer, LeavesATimer)> =
    PairReactor::new("leaves-a-timer", &[Network::Memory], || {
        let (server, client) = memory::pair();
        (LeavesATimer(server), LeavesATimer(client))
    });

static LEAKS_A_SOCKET: PairReactor<MemoryStream, fn() -> (MemoryStream, MemoryStream)> =
    PairReactor::new("leaks-a-socket", &[Network::Memory], || {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port");
        LEAKED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(listener);
        memory::pair()
    });

/// A reactor, trials that must fail with what they left in the message, trials that must
/// pass.
type LeakRow = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// The built-in reactors and the broken ones.
fn reactors() -> Vec<&'static dyn connectable::reactor::Reactor> {
    let broken: [&'static dyn connectable::reactor::Reactor; 3] =
        [&RESET_BLIND, &LEAVES_A_TIMER, &LEAKS_A_SOCKET];
    connectable::reactor::builtin()
        .iter()
        .copied()
        .chain(broken)
        .collect()
}

/// One test, not three: the descriptor count compares the whole process before and after
/// each trial, so no other test may run pairings meanwhile.
#[test]
fn the_catalogue_names_the_cases_a_broken_reactor_fails() {
    conformance::trials::count_descriptors_per_trial(true);
    reset_blind();
    // Rows: the reactor, trials that must fail with what they left in the message, trials
    // that must pass.
    let rows: [LeakRow; 2] = [
        (
            "leaves-a-timer",
            &[
                (
                    "closing::closing_later_after_one_byte::memory::leaves-a-timer::whole",
                    "task(s) still alive on the runtime when the pairing ended",
                ),
                (
                    "echo::echo_bulk_in_order::memory-tls::leaves-a-timer::whole",
                    "the leaves-a-timer reactor left behind",
                ),
            ],
            // An abort resets: nothing shuts down, no timer is left.
            &["abort::server_aborts_on_data::memory::leaves-a-timer::whole"],
        ),
        (
            "leaks-a-socket",
            &[
                (
                    "closing::closing_later_after_one_byte::memory::leaks-a-socket::whole",
                    "the leaks-a-socket reactor left 1 descriptor(s) open",
                ),
                (
                    "abort::server_aborts_on_data::memory::leaks-a-socket::whole",
                    "(socket:[",
                ),
            ],
            &[],
        ),
    ];
    for (reactor, must_fail, must_pass) in rows {
        let problems = problems_by_trial(reactor);
        for (trial, message) in must_fail {
            let found = problems
                .get(*trial)
                .unwrap_or_else(|| panic!("{trial} did not run"));
            assert!(
                found.iter().any(|p| p.contains(message)),
                "{trial} should fail with {message:?}; its problems: {found:#?}"
            );
        }
        for trial in must_pass {
            let found = problems
                .get(*trial)
                .unwrap_or_else(|| panic!("{trial} did not run"));
            assert!(found.is_empty(), "{trial} should pass: {found:#?}");
        }
    }
}

/// Every whole-delivery trial of the catalogue against `reactor`, by name, with the problems
/// its attempt found (before `xfail` is applied).
fn problems_by_trial(reactor: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let reactors = reactors();
    let suites = conformance::load::load_dir(
        &conformance::cli::default_suites(),
        &protocols::catalogue(),
        &reactors.iter().map(|r| r.name()).collect::<Vec<_>>(),
    )
    .unwrap_or_else(|d| panic!("the suites load: {d:?}"));
    let mut problems = std::collections::BTreeMap::new();
    for suite in &suites {
        for case in suite
            .cases
            .iter()
            .filter(|c| conformance::plan::case_skip(c).is_none())
        {
            let cells = conformance::plan::cells(case, &reactors, 0);
            let ours = cells
                .into_iter()
                .filter(|cell| cell.reactor.name() == reactor && cell.delivery == Delivery::Whole);
            for cell in ours {
                let name = cell.trial_name(&suite.name, &case.name);
                let found = conformance::trials::attempt(case, cell).problems;
                problems.insert(name, found.iter().map(ToString::to_string).collect());
            }
        }
    }
    problems
}

fn reset_blind() {
    let reactors = reactors();
    let suites = conformance::load::load_dir(
        &conformance::cli::default_suites(),
        &protocols::catalogue(),
        &reactors.iter().map(|r| r.name()).collect::<Vec<_>>(),
    )
    .unwrap_or_else(|d| panic!("the suites load: {d:?}"));
    let mut failed = Vec::new();
    let mut passed = Vec::new();
    for suite in &suites {
        for case in suite
            .cases
            .iter()
            .filter(|c| conformance::plan::case_skip(c).is_none())
        {
            let cells = conformance::plan::cells(case, &reactors, 0);
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
