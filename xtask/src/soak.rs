//! `cargo xtask soak`: build the soak runner in release mode (a soak measures what the
//! shipped code does, at the speed it runs) and run it over `suites/`, passing its exit
//! status through.

use std::process::{Command, ExitCode};

use anyhow::Context as _;

use crate::{cargo, project_root};

/// Runs `conformance-soak --suites <root>/suites [args]` (`--trials N`, `--sample-every K`,
/// `--seed S`); a `--suites` in `args` comes later and so wins.
pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let status = Command::new(cargo())
        .arg("run")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args([
            "--release",
            "--quiet",
            "--package",
            "conformance",
            "--bin",
            "conformance-soak",
            "--",
        ])
        .arg("--suites")
        .arg(root.join("suites"))
        .args(args)
        .status()
        .context("starting cargo to build and run the soak runner")?;
    // A signal leaves no code: report it as a failure rather than success.
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
