//! `cargo test` runs every suite trial through this harness-less target.

fn main() -> std::process::ExitCode {
    conformance::main(conformance::Mode::CargoTest)
}
