//! The runner's command line: its own options first, then libtest's.
//!
//! Runner options (`--suites DIR`, `--check`) are taken out of the arguments before the rest
//! goes to libtest-mimic, and can also be given as `CONFORMANCE_*` environment variables, for
//! cargo-nextest, which passes only libtest's arguments.

use std::ffi::OsString;
use std::path::PathBuf;

/// The runner's own options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Where the suite files are (`--suites DIR`, `CONFORMANCE_SUITES`).
    pub suites: PathBuf,
    /// Only load and validate the suites (`--check`).
    pub check_only: bool,
    /// The seed of chunked delivery (`--seed N`, `CONFORMANCE_SEED`); drawn from the clock
    /// when not given, and shown with every chunked failure.
    pub seed: u64,
}

/// The suites folder of this workspace, for runs started by cargo.
pub fn default_suites() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../suites"))
}

/// Splits the process arguments (program name first) into the runner's options and the
/// arguments for libtest (program name first), reading `env` for defaults.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<(Options, Vec<OsString>), String> {
    let mut options = Options {
        suites: env("CONFORMANCE_SUITES").map_or_else(default_suites, PathBuf::from),
        check_only: false,
        seed: match env("CONFORMANCE_SEED") {
            Some(seed) => parse_seed(&seed.to_string_lossy())?,
            None => clock_seed(),
        },
    };
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    rest.extend(args.next());
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            rest.push(arg);
            rest.extend(args);
            break;
        } else if text == "--suites" {
            let dir = args.next().ok_or("--suites needs a folder: --suites DIR")?;
            options.suites = PathBuf::from(dir);
        } else if let Some(dir) = text.strip_prefix("--suites=") {
            options.suites = PathBuf::from(dir);
        } else if text == "--seed" {
            let seed = args.next().ok_or("--seed needs a number: --seed N")?;
            options.seed = parse_seed(&seed.to_string_lossy())?;
        } else if let Some(seed) = text.strip_prefix("--seed=") {
            options.seed = parse_seed(seed)?;
        } else if text == "--check" {
            options.check_only = true;
        } else {
            rest.push(arg);
        }
    }
    Ok((options, rest))
}

fn parse_seed(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| {
        format!(
            "--seed takes a whole number from 0 to {}, not {text:?}",
            u64::MAX
        )
    })
}

/// A seed that differs from run to run, so chunked delivery explores new split points.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(args: &[&str], env: Option<&str>) -> Result<(Options, Vec<String>), String> {
        let args = args.iter().map(OsString::from);
        let (options, rest) = parse(args, |name| {
            (name == "CONFORMANCE_SUITES").then(|| env.map(OsString::from))?
        })?;
        Ok((
            options,
            rest.into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        ))
    }

    /// Arguments, CONFORMANCE_SUITES, then the suites folder ("" for the default), whether
    /// `--check` was given, and what is left for libtest.
    type Row<'a> = (&'a [&'a str], Option<&'a str>, &'a str, bool, &'a [&'a str]);

    #[test]
    fn runner_options_are_taken_out() {
        let cases: [Row<'_>; 5] = [
            (&["r"], None, "", false, &["r"]),
            (
                &["r", "--suites", "x", "--list"],
                None,
                "x",
                false,
                &["r", "--list"],
            ),
            (
                &["r", "--suites=y", "tls", "--exact"],
                None,
                "y",
                false,
                &["r", "tls", "--exact"],
            ),
            (&["r", "--check"], Some("env"), "env", true, &["r"]),
            (
                &["r", "--suites", "a", "--", "--suites"],
                None,
                "a",
                false,
                &["r", "--", "--suites"],
            ),
        ];
        for (args, env, suites, check_only, rest) in cases {
            let (options, got) = split(args, env).unwrap();
            if !suites.is_empty() {
                assert_eq!(options.suites, PathBuf::from(suites), "{args:?}");
            }
            assert_eq!(options.check_only, check_only, "{args:?}");
            assert_eq!(got, rest, "{args:?}");
        }
    }

    #[test]
    fn suites_needs_a_value() {
        assert!(
            split(&["r", "--suites"], None)
                .unwrap_err()
                .contains("--suites DIR")
        );
    }
}
