//! [`Harness`]: drive one protocol by hand, without sockets, for unit tests of probes.
//!
//! It plays the reactor's part for a single side: `connection_made` at construction, then
//! whatever input the test feeds, in the side's delivery mode, collecting what the protocol
//! writes and how it asks to close. Feeding the same input `Whole` and `Bytewise` is how a probe
//! proves it does not depend on chunk boundaries (tokio-util's `framed_read` tests do the same).
//!
//! Time is virtual: the harness hands the [`Connection`] a clock of its own, which moves only
//! when a test says so ([`Harness::advance`], [`Harness::fire_timers`]), so timers and the
//! closing deadlines are driven deterministically, without sleeping (as tokio's
//! `start_paused` does for its own timers).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::transport::CloseRequest;
use crate::{
    Action, Address, ConnectableProtocol, Connection, Delivery, DisconnectReason, Protocol,
    TimerId, Trace,
};

/// One protocol driven by hand. See the module documentation.
#[derive(Debug)]
pub struct Harness {
    connection: Connection,
    side: ConnectableProtocol,
    written: Vec<u8>,
    holding_writes: bool,
    /// The virtual clock: the time the connection was last handed.
    now: Instant,
    /// What the connection last asked the reactor to do.
    action: Action,
}

impl Harness {
    /// Connects `protocol` (runs `connection_made`) with the given delivery mode.
    pub fn new(protocol: impl Protocol, delivery: Delivery) -> Self {
        let mut side = ConnectableProtocol::new(protocol).with_delivery(delivery);
        let now = Instant::now();
        let mut connection =
            Connection::new(&mut side, "harness", now).expect("a fresh side is not paired yet");
        let addr = |port| Address::Ip(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        connection.made(addr(1), addr(2), false, now);
        let mut harness = Self {
            connection,
            side,
            written: Vec::new(),
            holding_writes: false,
            now,
            action: Action::Exchange,
        };
        harness.collect();
        harness
    }

    /// Completes the TLS handshake (runs `handshake_completed`).
    pub fn handshake(&mut self) -> &mut Self {
        self.connection.handshake_completed();
        self.collect();
        self
    }

    /// Delivers `data` as the delivery mode says.
    pub fn feed(&mut self, data: &[u8]) -> &mut Self {
        self.connection.received(data);
        self.collect();
        self
    }

    /// Plays a peer that stops reading (`true`): writes stay in the write buffer, so a
    /// streaming producer is paused past the high-water mark. `false` sends everything held,
    /// which resumes producers.
    pub fn hold_writes(&mut self, hold: bool) -> &mut Self {
        self.holding_writes = hold;
        self.collect();
        self
    }

    /// Bytes written and not sent because writes are held.
    pub fn buffered(&self) -> usize {
        self.connection.pending_writes().len()
    }

    /// The peer shut down its writing side; returns whether the protocol kept the connection
    /// open (it is half-close aware).
    pub fn peer_half_closed(&mut self) -> bool {
        self.connection.peer_closed(self.now);
        self.collect();
        self.connection.is_read_closed()
    }

    /// Completes a half-close the protocol asked for (runs `write_connection_lost`); returns
    /// whether it had asked.
    pub fn complete_half_close(&mut self) -> bool {
        if !self.connection.half_close_requested() {
            return false;
        }
        self.collect();
        if let Action::ShutDownWriting { .. } = self.action {
            self.connection.write_shut(self.now);
            self.collect();
        }
        true
    }

    /// Whether the protocol would be handed data now: reading is not paused and no close was
    /// asked for (a closing reactor still reads, but only to discard).
    pub fn wants_read(&self) -> bool {
        self.connection.delivers_data()
    }

    /// Timers set and not fired yet, with how long until each is due on the virtual clock.
    pub fn timers(&self) -> Vec<(TimerId, Duration)> {
        self.connection
            .timers()
            .map(|(at, id)| (id, at.saturating_duration_since(self.now)))
            .collect()
    }

    /// What the connection asks its reactor to do now.
    pub fn action(&self) -> Action {
        self.action
    }

    /// When the connection wants to be woken, as a delay on the virtual clock.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.connection
            .poll_timeout()
            .map(|at| at.saturating_duration_since(self.now))
    }

    /// Moves the virtual clock on by `by` and tells the connection: timers due by then fire
    /// (earliest first), a last flush past its bound ends `lost`, a linger ends `done`.
    pub fn advance(&mut self, by: Duration) -> &mut Self {
        self.now += by;
        self.connection.handle_timeout(self.now);
        self.collect();
        self
    }

    /// Fires every timer set so far, earliest first (cancelled ones are skipped), moving the
    /// virtual clock to the last of them, and then any they set in turn, up to `rounds`
    /// times.
    pub fn fire_timers(&mut self, rounds: usize) -> &mut Self {
        for _ in 0..rounds {
            let Some((last, _)) = self.connection.timers().last() else {
                break;
            };
            self.now = self.now.max(last);
            self.connection.handle_timeout(self.now);
            self.collect();
        }
        self
    }

    /// Ends the connection with `reason` (runs `connection_lost`).
    pub fn end(&mut self, reason: DisconnectReason) -> &mut Self {
        self.connection.finish(reason);
        self
    }

    /// Everything the protocol wrote that would have been sent (writes discarded by an abort
    /// are not here).
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    /// How the protocol asked to end the connection, if it did.
    pub fn close_requested(&self) -> Option<CloseRequest> {
        self.connection.close_requested()
    }

    /// The recorded reason, once ended.
    pub fn reason(&self) -> Option<DisconnectReason> {
        self.side.disconnect_reason()
    }

    /// The side's trace so far.
    pub fn trace(&self) -> Trace {
        self.side.trace()
    }

    fn collect(&mut self) {
        self.action = self.connection.poll_action(self.now);
        // Sending can resume a producer, which writes again: loop, but boundedly.
        for _ in 0..1024 {
            if self.holding_writes {
                return;
            }
            // One chunk of the write buffer at a time; only sending the last can empty it
            // and so resume a producer: a round of this loop.
            loop {
                let pending = self.connection.pending_writes();
                if pending.is_empty() {
                    return;
                }
                self.written.extend_from_slice(pending);
                let n = pending.len();
                let last = n == self.connection.buffered_writes();
                self.connection.wrote(n);
                if last {
                    break;
                }
            }
            self.action = self.connection.poll_action(self.now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Harness;
    use crate::{CallbackResult, Delivery, Protocol, TimerId, Transport};

    /// Sets timers of these many milliseconds when connected; writes each one's number when
    /// it fires.
    struct Timers(&'static [u64]);

    impl Protocol for Timers {
        fn connection_made(&mut self, t: &mut Transport) -> CallbackResult {
            for ms in self.0 {
                t.call_later(Duration::from_millis(*ms));
            }
            Ok(())
        }

        fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
            Ok(())
        }

        fn timer_fired(&mut self, t: &mut Transport, timer: TimerId) -> CallbackResult {
            t.write(timer.0.to_string().as_bytes());
            Ok(())
        }
    }

    /// The timers set, then how far the virtual clock moves each time and what had fired by
    /// then.
    type Row = (&'static [u64], &'static [(u64, &'static str)]);

    /// Rows: the timers set, how far the virtual clock moves each time, and what had fired
    /// after each move. Nothing sleeps: a run of an hour's timers takes no time.
    #[test]
    #[rustfmt::skip]
    fn timers_fire_when_the_virtual_clock_reaches_them() {
        let rows: &[Row] = &[
            (&[10],               &[(9, ""), (1, "0"), (100, "0")]),
            (&[30, 10, 20],       &[(10, "1"), (15, "12"), (5, "120")]),
            (&[0],                &[(0, "0")]),
            (&[3_600_000, 5],     &[(5, "1"), (3_599_995, "10")]),
        ];
        for (timers, moves) in rows {
            let mut harness = Harness::new(Timers(timers), Delivery::Whole);
            for (ms, fired) in *moves {
                harness.advance(Duration::from_millis(*ms));
                let written = String::from_utf8_lossy(harness.written()).into_owned();
                assert_eq!(written, *fired, "{timers:?} after +{ms} ms");
            }
            assert_eq!(harness.next_timeout(), None, "{timers:?}: every timer fired");
        }
    }
}
