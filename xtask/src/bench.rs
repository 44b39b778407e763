//! `cargo xtask bench`: build the bench program and the runner in release mode, then run the
//! bench program, which measures the framework against hand-written tokio side by side (see
//! BENCHMARKS.md) and spawns the runner for the listing and catalogue figures.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context as _;

use crate::{cargo, project_root};

/// Builds `bench` and `conformance` (release) and runs `bench` with `args` (a leading `--` is
/// dropped, so `cargo xtask bench -- --pairings 500` and `cargo xtask bench --pairings 500`
/// are the same).
pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let args = match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    };
    // Built one package at a time: built together, their dependencies' features would be
    // unified differently from `cargo xtask conformance`'s build of the runner alone, and
    // each command would then rebuild the runner after the other (a minute each time).
    for (package, what) in [
        ("conformance", "the runner"),
        ("bench", "the bench program"),
    ] {
        let built = Command::new(cargo())
            .arg("build")
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .args([
                "--release",
                "--quiet",
                "--package",
                package,
                "--bin",
                package,
            ])
            .status()
            .with_context(|| format!("starting cargo to build {what}"))?;
        if !built.success() {
            anyhow::bail!("building {what} failed ({built})");
        }
    }
    let release = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("release");
    let status = Command::new(release.join("bench"))
        .arg("--conformance")
        .arg(release.join("conformance"))
        .arg("--suites")
        .arg(root.join("suites"))
        .args(args)
        .status()
        .context("starting the bench program")?;
    Ok(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}
