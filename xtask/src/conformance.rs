//! `cargo xtask conformance` and `cargo xtask check-suites`: build the runner, point it at
//! `suites/` and the shims in `shims/` (docs/SHIM.md), and pass its exit status through.
//!
//! The runner is built with the release profile: the catalogue's trials run our own crates'
//! code (the reactors, the probes, the checks) thousands of times, and unoptimised it took
//! more than twice as long (84 s against 36-40 s here before issue 18). The release build
//! shares `target/release` with `cargo xtask bench`; `cargo test` keeps the dev profile.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context as _;

use crate::{cargo, project_root};

/// Runs the suites: `conformance --suites <root>/suites --shims <root>/shims [args]`. A
/// `--suites` in `args` comes later and so wins; a `--shims` in `args` or `CONFORMANCE_SHIMS`
/// replaces the workspace's shims.
///
/// Four test threads per core unless `args` or `RUST_TEST_THREADS` say otherwise: most of a
/// catalogue run's time is trials waiting (their timeouts, lingers, pauses, and the shims'
/// marked trials waiting out theirs), which overlap on more threads than cores. On this 2-core
/// machine the catalogue on our reactors took 48 s on four threads and 27 s on eight (before
/// issue 18 it was 36.5 s on two and 20.2 s on four, with fewer waiting cases).
pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let chosen = std::env::var_os("RUST_TEST_THREADS").is_some()
        || args
            .iter()
            .any(|arg| arg == "--test-threads" || arg.starts_with("--test-threads="));
    let listing = args.iter().any(|arg| arg == "--list");
    if chosen || listing {
        return runner(&[], args);
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from) * 4;
    runner(&["--test-threads", &threads.to_string()], args)
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
            "--release",
            "--package",
            "conformance",
            "--bin",
            "conformance",
            "--",
        ])
        .arg("--suites")
        .arg(suites)
        .args(shims(&root, args))
        .args(options)
        .args(args)
        .status()
        .context("starting cargo to build and run the conformance runner")?;
    // A signal leaves no code: report it as a failure rather than success.
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// `--shims <root>/shims` (relative to where the user is, when it can be), unless the user
/// chose shims: a `--shims` in `args`, or `CONFORMANCE_SHIMS`.
fn shims(root: &Path, args: &[String]) -> Vec<std::ffi::OsString> {
    let chosen = std::env::var_os("CONFORMANCE_SHIMS").is_some()
        || args
            .iter()
            .any(|arg| arg == "--shims" || arg.starts_with("--shims="));
    if chosen {
        return Vec::new();
    }
    let shims = root.join("shims");
    let shims = std::env::current_dir()
        .ok()
        .and_then(|cwd| shims.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or(shims);
    vec!["--shims".into(), shims.into_os_string()]
}
