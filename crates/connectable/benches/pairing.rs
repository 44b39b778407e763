//! `cargo bench -p connectable`: one `closing-later` pairing over tcp and tls on `tokio-ct`,
//! and the same exchange written by hand with tokio and tokio-rustls beside it, so that a
//! regression of the framework shows as a change against its floor.
//!
//! The exchanges themselves live in the `bench` crate, shared with `cargo xtask bench`, which
//! interleaves them and prints the ratios BENCHMARKS.md records; here divan times each alone.

use bench::floor::{self, FloorTls};
use bench::framework::OneByte;
use connectable::Endpoint;
use connectable::reactor::TokioCurrentThread;

fn main() {
    divan::main();
}

/// The transports compared: plain TCP and TLS over TCP, both on IPv4 loopback.
const TRANSPORTS: [&str; 2] = ["tcp", "tls"];

#[divan::bench(args = TRANSPORTS)]
fn framework(bencher: divan::Bencher<'_, '_>, transport: &str) {
    let endpoint = match transport {
        "tcp" => Endpoint::tcp(),
        _ => Endpoint::tls().expect("the test PKI and its TLS configurations"),
    };
    let one_byte = OneByte::new().expect("the closing-later probes");
    bencher.bench_local(|| {
        one_byte
            .run(&TokioCurrentThread, &endpoint)
            .expect("a clean one-byte pairing")
    });
}

#[divan::bench(args = TRANSPORTS)]
fn floor(bencher: divan::Bencher<'_, '_>, transport: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let tls = FloorTls::new().expect("the floor's TLS configurations");
    bencher.bench_local(|| {
        runtime
            .block_on(async {
                match transport {
                    "tcp" => floor::one_byte_tcp().await,
                    _ => floor::one_byte_tls(&tls).await,
                }
            })
            .expect("a clean one-byte exchange")
    });
}
