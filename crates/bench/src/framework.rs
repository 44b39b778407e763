//! The framework side of each comparison: `run_protocols` with the catalogue's own probes, as
//! the suites pair them, checked afterwards so that a fast but wrong run cannot pass for a
//! fast one.

use std::time::{Duration, Instant};

use connectable::{ConnectableProtocol, DisconnectReason, Endpoint, Reactor, run_protocols};
use protocols::ProbeSpec;

use crate::Error;

/// Long enough for a 60 MiB transfer on a loaded machine; a pairing that needs it has failed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the runner keeps of a side's received bytes when no expectation compares them
/// (`RECEIVED_SAMPLE` in crates/conformance/src/trials.rs).
const RECEIVED_SAMPLE: usize = 64 * 1024;

/// A probe of the catalogue, by name and arguments (the inside of a TOML inline table), as a
/// suite names it.
fn probe(name: &str, arguments: &str) -> Result<ProbeSpec, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::Unexpected(format!("probe {name}: {e}"));
    let document: toml::Table = format!("arguments = {{ {arguments} }}")
        .parse()
        .map_err(|e| bad(&e))?;
    protocols::parse(name, document["arguments"].clone()).map_err(|e| bad(&e))
}

/// `closing-later` on both sides, the client sending one byte: the framework's one-byte
/// exchange (suites/closing.toml, `closing_later_both_sides`).
#[derive(Clone, Debug)]
pub struct OneByte {
    server: ProbeSpec,
    client: ProbeSpec,
}

impl OneByte {
    /// The two probes, parsed once.
    pub fn new() -> Result<Self, Error> {
        Ok(Self {
            server: probe("closing-later", "")?,
            client: probe("closing-later", r#"send = "x""#)?,
        })
    }

    /// One pairing on `reactor` over `endpoint`; returns how long `run_protocols` took. Both
    /// sides must end `done`, the server having received the byte.
    pub fn run(&self, reactor: &dyn Reactor, endpoint: &Endpoint) -> Result<Duration, Error> {
        // As the runner sets up the sides of suites/bulk.toml's case, whose expectations
        // compare no content (`received_len`): a 64 KiB sample kept for the report.
        let side = |spec: &ProbeSpec| {
            ConnectableProtocol::from_box(spec.instantiate()).keep_received(RECEIVED_SAMPLE)
        };
        let (server, client) = (side(&self.server), side(&self.client));
        let started = Instant::now();
        let pairing = run_protocols(reactor, endpoint, server, client, TIMEOUT)?;
        let took = started.elapsed();
        for (name, side) in [("server", &pairing.server), ("client", &pairing.client)] {
            expect_done(name, side)?;
        }
        let received = pairing.server.trace().received_total();
        if received != 1 {
            return Err(Error::Unexpected(format!(
                "the server received {received} bytes, not 1"
            )));
        }
        Ok(took)
    }
}

/// `large-buffer-writer` against `accumulate`: the framework's bulk transfer
/// (suites/bulk.toml, `large_buffer_60_mib`).
#[derive(Clone, Debug)]
pub struct Bulk {
    size: u64,
    server: ProbeSpec,
    client: ProbeSpec,
}

impl Bulk {
    /// The two probes for a transfer of `size` bytes, parsed once.
    pub fn new(size: u64) -> Result<Self, Error> {
        Ok(Self {
            size,
            server: probe("large-buffer-writer", &format!("size = {size}"))?,
            client: probe("accumulate", "")?,
        })
    }

    /// One transfer; returns how long `run_protocols` took. Both sides must end `done`, the
    /// client having counted every byte.
    pub fn run(&self, reactor: &dyn Reactor, endpoint: &Endpoint) -> Result<Duration, Error> {
        // As the runner sets up the sides of suites/bulk.toml's case, whose expectations
        // compare no content (`received_len`): a 64 KiB sample kept for the report.
        let side = |spec: &ProbeSpec| {
            ConnectableProtocol::from_box(spec.instantiate()).keep_received(RECEIVED_SAMPLE)
        };
        let (server, client) = (side(&self.server), side(&self.client));
        let started = Instant::now();
        let pairing = run_protocols(reactor, endpoint, server, client, TIMEOUT)?;
        let took = started.elapsed();
        for (name, side) in [("server", &pairing.server), ("client", &pairing.client)] {
            expect_done(name, side)?;
        }
        let received = pairing.client.trace().received_total();
        if received != self.size {
            return Err(Error::Unexpected(format!(
                "the client received {received} bytes, not {}",
                self.size
            )));
        }
        Ok(took)
    }
}

fn expect_done(name: &str, side: &ConnectableProtocol) -> Result<(), Error> {
    match side.disconnect_reason() {
        Some(DisconnectReason::Done) => Ok(()),
        other => Err(Error::Unexpected(format!(
            "the {name} ended {other:?}, not done"
        ))),
    }
}
