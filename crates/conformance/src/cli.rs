//! The runner's command line: its own options first, then libtest's.
//!
//! Runner options (`--suites DIR`, `--check`, `--seed N`, `--repeat N`, `--junit PATH`,
//! `--report DIR`) are taken out of the arguments before the rest
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
    /// How many times each selected trial runs (`--repeat N`, `CONFORMANCE_REPEAT`).
    pub repeat: u32,
    /// Where to write the JUnit XML report (`--junit PATH`).
    pub junit: Option<PathBuf>,
    /// Where to write traces, `results.json` and `index.html` (`--report DIR`).
    pub report: Option<PathBuf>,
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
        repeat: match env("CONFORMANCE_REPEAT") {
            Some(n) => parse_repeat(&n.to_string_lossy())?,
            None => 1,
        },
        junit: None,
        report: None,
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
        } else if let Some(value) = valued(&text, &mut args, "--repeat")? {
            options.repeat = parse_repeat(&value)?;
        } else if let Some(value) = valued(&text, &mut args, "--junit")? {
            options.junit = Some(PathBuf::from(value));
        } else if let Some(value) = valued(&text, &mut args, "--report")? {
            options.report = Some(PathBuf::from(value));
        } else if text == "--check" {
            options.check_only = true;
        } else {
            rest.push(arg);
        }
    }
    Ok((options, rest))
}

/// `--name VALUE` or `--name=VALUE`: the value, when `text` is that option.
fn valued(
    text: &str,
    args: &mut impl Iterator<Item = OsString>,
    name: &'static str,
) -> Result<Option<String>, String> {
    if text == name {
        let value = args.next().ok_or_else(|| {
            let what = match name {
                "--repeat" => "a number of runs: --repeat N",
                "--junit" => "a file: --junit PATH",
                _ => "a folder: --report DIR",
            };
            format!("{name} needs {what}")
        })?;
        return Ok(Some(value.to_string_lossy().into_owned()));
    }
    Ok(text
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
        .map(str::to_owned))
}

fn parse_repeat(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "--repeat takes a number of runs from 1 to {}, not {text:?}",
            u32::MAX
        )),
    }
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
    fn report_options_are_taken_out() {
        let (options, rest) = split(
            &[
                "r",
                "--repeat",
                "3",
                "--junit=j.xml",
                "--report",
                "out",
                "tls",
            ],
            None,
        )
        .unwrap();
        assert_eq!(options.repeat, 3);
        assert_eq!(options.junit, Some(PathBuf::from("j.xml")));
        assert_eq!(options.report, Some(PathBuf::from("out")));
        assert_eq!(rest, ["r", "tls"]);
    }

    #[test]
    fn bad_values_say_what_is_wanted() {
        let cases: [(&[&str], &str); 5] = [
            (
                &["r", "--repeat", "0"],
                "--repeat takes a number of runs from 1",
            ),
            (&["r", "--repeat=x"], "not \"x\""),
            (&["r", "--repeat"], "--repeat needs a number of runs"),
            (&["r", "--junit"], "--junit needs a file"),
            (&["r", "--report"], "--report needs a folder"),
        ];
        for (args, message) in cases {
            let error = split(args, None).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
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
