//! The `conformance` binary: runs the suites as libtest trials (see the crate documentation).

fn main() -> std::process::ExitCode {
    conformance::main(conformance::Mode::Binary)
}
