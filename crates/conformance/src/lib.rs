//! The conformance runner: suites in, libtest-mimic trials out.
//!
//! [`load`] reads `suites/*.toml` into the [`suite`] model, reporting every problem with its
//! file, line and column; the runner expands each case over transports x reactors x delivery
//! into one trial named `suite::case::transport::reactor::delivery`, runs the pairing with
//! `connectable::run_protocols` and checks the expectations. Only this crate knows TOML,
//! libtest-mimic and report formats.

pub mod load;
pub mod suite;
