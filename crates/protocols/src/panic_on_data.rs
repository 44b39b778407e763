//! `panic-on-data`: panics in `data_received`, the misbehaving probe that proves a panicking
//! callback is contained.
//!
//! The framework must catch the panic, end this side `error` with the panic's message as the
//! detail, abort the connection (the peer sees a reset), and go on with the next trial. Twisted
//! does the same for a `dataReceived` that raises (`test_dataReceivedThrows` with an
//! exception instead of a returned error).

use connectable::{CallbackResult, Protocol, Transport};

use crate::{ProbeEntry, build};
use crate::SEND_ON_MADE;

/// The catalogue entry.
pub(crate) const ENTRY: ProbeEntry = ProbeEntry {
    name: "panic-on-data",
    about: "panics when the first data arrives: a panicking callback must end its side error and abort",
    arguments: SEND_ON_MADE,
    build: |arguments| build(arguments, PanicOnData::new),
};

/// The arguments of `panic-on-data`: only `send`, written in `connection_made`.
pub(crate) type Arguments = crate::SendOnMade;

/// The `panic-on-data` probe.
#[derive(Debug)]
pub(crate) struct PanicOnData {
    send: Option<String>,
}

impl PanicOnData {
    /// A fresh probe for one connection.
    pub(crate) fn new(arguments: &Arguments) -> Self {
        Self {
            send: arguments.send.clone(),
        }
    }
}

impl Protocol for PanicOnData {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        if let Some(send) = &self.send {
            transport.write(send.as_bytes());
        }
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, data: &[u8]) -> CallbackResult {
        panic!(
            "panic-on-data got {} bytes and panicked on purpose",
            data.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use connectable::harness::Harness;
    use connectable::{CloseRequest, Delivery, DisconnectReason, Event};

    use crate::testing::parse_toml;

    #[test]
    fn a_panic_ends_the_side_error_and_aborts() {
        for delivery in Delivery::ALL {
            let spec = parse_toml("panic-on-data", r#"send = "hi""#).unwrap();
            let mut harness = Harness::new(spec.instantiate(), delivery);
            assert_eq!(harness.written(), b"hi");
            harness.feed(b"abc");
            // The first chunk only: nothing is delivered after the failure.
            let chunks = harness
                .trace()
                .events()
                .iter()
                .filter(|e| matches!(e.event, Event::Data(_)))
                .count();
            assert_eq!(chunks, 1, "{delivery:?}");
            assert_eq!(harness.close_requested(), Some(CloseRequest::Abort));
            harness.end(DisconnectReason::Aborted);
            let reason = harness.reason().unwrap();
            assert!(
                matches!(&reason, DisconnectReason::Error(m) if m.contains("panicked on purpose")),
                "{delivery:?}: {reason}"
            );
            let failures = harness
                .trace()
                .events()
                .iter()
                .filter(|e| matches!(e.event, Event::CallbackFailed(_)))
                .count();
            assert_eq!(failures, 1, "{delivery:?}: exactly one failure recorded");
        }
    }
}
