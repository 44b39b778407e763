//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! Kept thin on purpose (rust-analyzer's xtask is the model): it finds the project root and
//! spawns `$CARGO`; the work itself lives in the crates.

mod bench;
mod codegen;
mod conformance;
mod soak;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
usage: cargo xtask <command> [arguments]

commands:
  conformance [runner options] [libtest arguments]
                 build and run the conformance suites in suites/ on our reactors and the
                 shims in shims/ (exit status passed through: 0 all passed, 101 a trial
                 failed, 2 the suites or shims could not be loaded)
                 e.g. cargo xtask conformance ::tls:: --skip bytewise
                      cargo xtask conformance ::asyncio::
  check-suites [--suites DIR]
                 load and validate every suite without running it (exit status 2 on errors)
  soak [--trials N] [--sample-every K] [--seed S]
                 run the catalogue over and over in one release-built process (default 10000
                 trials) and report failures and descriptor, thread, memory and TIME_WAIT
                 figures; exit status 1 on a failure or growth
  bench [-- --pairings N --bulk N --catalogue N]
                 build in release mode and measure the framework against hand-written tokio,
                 side by side: pairing ratios, bulk MB/s, listing time, catalogue speed-up,
                 peak memory (see BENCHMARKS.md); takes a few minutes
  codegen        regenerate the probe, argument and reason tables of suites/README.md from
                 the catalogue (a test fails when the committed text is stale)
  help           this text
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("conformance") => conformance::run(&rest),
        Some("check-suites") => conformance::check(&rest),
        Some("soak") => soak::run(&rest),
        Some("bench") => bench::run(&rest),
        Some("codegen") => codegen::run(&project_root()),
        Some("help" | "--help" | "-h") | None => {
            #[allow(clippy::print_stdout)]
            {
                print!("{HELP}");
            }
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(anyhow::anyhow!(
            "unknown command {other:?}; commands: conformance, check-suites, soak, bench, codegen, help"
        )),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask's manifest is one level down).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(1)
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that started us, so the same toolchain builds everything.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
