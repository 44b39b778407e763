//! Pairs Twisted's ClosingLaterProtocol-style server with a one-byte client over TCP and TLS,
//! and prints how each side ended: the smallest use of `run_protocols`.

use std::time::Duration;

use connectable::reactor::TokioCurrentThread;
use connectable::{
    CallbackResult, ConnectableProtocol, Endpoint, Protocol, Transport, run_protocols,
};

/// Closes once the first byte arrives.
struct ClosingLater;

impl Protocol for ClosingLater {
    fn data_received(&mut self, transport: &mut Transport, _: &[u8]) -> CallbackResult {
        transport.lose_connection();
        Ok(())
    }
}

/// Sends one byte, then waits for the peer to close.
struct OneByte;

impl Protocol for OneByte {
    fn connection_made(&mut self, transport: &mut Transport) -> CallbackResult {
        transport.write(b"x");
        Ok(())
    }

    fn data_received(&mut self, _: &mut Transport, _: &[u8]) -> CallbackResult {
        Ok(())
    }
}

fn main() -> Result<(), connectable::Error> {
    for endpoint in [Endpoint::tcp(), Endpoint::tls()?] {
        let pairing = run_protocols(
            &TokioCurrentThread,
            &endpoint,
            ConnectableProtocol::new(ClosingLater),
            ConnectableProtocol::new(OneByte),
            Duration::from_secs(5),
        )?;
        #[allow(clippy::print_stdout)] // an example shows its result
        {
            println!(
                "{endpoint}: server {:?}, client {:?} in {:?}",
                pairing.server.disconnect_reason(),
                pairing.client.disconnect_reason(),
                pairing.elapsed
            );
            for line in pairing.server.trace().lines() {
                println!("  server {line}");
            }
            for line in pairing.client.trace().lines() {
                println!("  client {line}");
            }
        }
    }
    Ok(())
}
