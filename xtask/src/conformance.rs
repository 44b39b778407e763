//! `cargo xtask conformance` and `cargo xtask check-suites`: build the runner, point it at
//! `suites/`, and pass its exit status through.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context as _;

use crate::{cargo, project_root};

/// Runs the suites: `conformance --suites <root>/suites [args]`. A `--suites` in `args` comes
/// later and so wins.
pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    runner(&[], args)
}

/// Loads and validates the suites without running them.
pub(crate) fn check(args: &[String]) -> anyhow::Result<ExitCode> {
    runner(&["--check"], args)
}

fn runner(options: &[&str], args: &[String]) -> anyhow::Result<ExitCode> {
    let root = project_root();
    // Relative to where the user is, when it can be, so messages say `suites/closing.toml:12:9`.
    let suites = root.join("suites");
    let suites = std::env::current_dir()
        .ok()
        .and_then(|cwd| suites.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or(suites);
    let status = Command::new(cargo())
        .arg("run")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args([
            "--quiet",
            "--package",
            "conformance",
            "--bin",
            "conformance",
            "--",
        ])
        .arg("--suites")
        .arg(suites)
        .args(options)
        .args(args)
        .status()
        .context("starting cargo to build and run the conformance runner")?;
    // A signal leaves no code: report it as a failure rather than success.
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
