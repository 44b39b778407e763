//! `cargo test` runs every case of `tests/suites/` over every transport, reactor and delivery
//! mode: the built-in probes and this crate's own `kv-store`, through `conformance::Runner`.

fn main() -> std::process::ExitCode {
    conformance::Runner::new()
        .probes(protocols::catalogue())
        .probe(downstream::ENTRY)
        .suites("tests/suites")
        .mode(conformance::Mode::CargoTest)
        .run()
}
