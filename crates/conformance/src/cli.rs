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
        } else if text == "--check" {
            options.check_only = true;
        } else {
            rest.push(arg);
        }
    }
    Ok((options, rest))
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
