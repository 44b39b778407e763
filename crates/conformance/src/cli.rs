//! The runner's command line: its own options first, then libtest's.
//!
//! Runner options (`--suites DIR`, `--check`, `--seed N`, `--repeat N`, `--junit PATH`,
//! `--report DIR`, `--partition count:K/N`, `--shims DIR`) are taken out of the arguments before the rest
//! goes to libtest-mimic, and can also be given as `CONFORMANCE_*` environment variables, for
//! cargo-nextest, which passes only libtest's arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::partition::Partition;

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
    /// The shard of the trials this run takes (`--partition`, `CONFORMANCE_PARTITION`).
    pub partition: Option<crate::partition::Partition>,
    /// Folders of shims to register (`--shims DIR`, repeatable; `CONFORMANCE_SHIMS`, folders
    /// separated by `:`), each holding `<name>/shim.toml`.
    pub shims: Vec<PathBuf>,
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
            Some(seed) => parse_seed("CONFORMANCE_SEED", &seed.to_string_lossy())?,
            None => clock_seed(),
        },
        repeat: match env("CONFORMANCE_REPEAT") {
            Some(n) => parse_repeat("CONFORMANCE_REPEAT", &n.to_string_lossy())?,
            None => 1,
        },
        junit: None,
        report: None,
        partition: match env("CONFORMANCE_PARTITION") {
            Some(text) => Some(Partition::parse(
                "CONFORMANCE_PARTITION",
                &text.to_string_lossy(),
            )?),
            None => None,
        },
        shims: env("CONFORMANCE_SHIMS")
            .map(|dirs| {
                std::env::split_paths(&dirs)
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut shims_given = false;
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    rest.extend(args.next());
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            rest.push(arg);
            rest.extend(args);
            break;
        } else if let Some(dir) = path_valued(&text, &mut args, "--suites")? {
            options.suites = dir;
        } else if text == "--seed" {
            let seed = args.next().ok_or("--seed needs a number: --seed N")?;
            options.seed = parse_seed("--seed", &seed.to_string_lossy())?;
        } else if let Some(seed) = text.strip_prefix("--seed=") {
            options.seed = parse_seed("--seed", seed)?;
        } else if let Some(value) = valued(&text, &mut args, "--repeat")? {
            options.repeat = parse_repeat("--repeat", &value)?;
        } else if let Some(path) = path_valued(&text, &mut args, "--junit")? {
            options.junit = Some(path);
        } else if let Some(dir) = path_valued(&text, &mut args, "--shims")? {
            // The command line replaces the variable's folders, and adds to its own.
            if !shims_given {
                options.shims.clear();
                shims_given = true;
            }
            options.shims.push(dir);
        } else if let Some(dir) = path_valued(&text, &mut args, "--report")? {
            options.report = Some(dir);
        } else if let Some(value) = valued(&text, &mut args, "--partition")? {
            options.partition = Some(Partition::parse("--partition", &value)?);
        } else if text == "--check" {
            options.check_only = true;
        } else {
            rest.push(arg);
        }
    }
    Ok((options, rest))
}

/// The most runs `--repeat` may ask for each trial: every run keeps a record.
pub const MAX_REPEAT: u32 = 100_000;

/// What an option that takes a path needs, as its errors say it.
fn wanted(name: &str) -> &'static str {
    match name {
        "--repeat" => "a number of runs: --repeat N",
        "--junit" => "a file: --junit PATH",
        "--suites" => "a folder: --suites DIR",
        "--partition" => "a shard: --partition count:K/N or hash:K/N",
        "--shims" => "a folder of shims: --shims DIR",
        _ => "a folder: --report DIR",
    }
}

/// `--name PATH` or `--name=PATH`: the path, when `text` is that option. An empty path is
/// an error: it is almost always an unset variable (`--report=$OUT`), and taken as the
/// working folder it would write over the user's files there.
fn path_valued(
    text: &str,
    args: &mut impl Iterator<Item = OsString>,
    name: &'static str,
) -> Result<Option<PathBuf>, String> {
    let value = if text == name {
        args.next()
            .ok_or_else(|| format!("{name} needs {}", wanted(name)))?
    } else if let Some(value) = text.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
        OsString::from(value)
    } else {
        return Ok(None);
    };
    if value.is_empty() {
        return Err(format!(
            "{name} needs {}, and was given an empty one (an unset variable?)",
            wanted(name)
        ));
    }
    Ok(Some(PathBuf::from(value)))
}

/// `--name VALUE` or `--name=VALUE`: the value, when `text` is that option.
fn valued(
    text: &str,
    args: &mut impl Iterator<Item = OsString>,
    name: &'static str,
) -> Result<Option<String>, String> {
    if text == name {
        let value = args
            .next()
            .ok_or_else(|| format!("{name} needs {}", wanted(name)))?;
        return Ok(Some(value.to_string_lossy().into_owned()));
    }
    Ok(text
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
        .map(str::to_owned))
}

/// A number of runs, given by `source` (the option or the variable, which errors name).
fn parse_repeat(source: &str, text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_REPEAT).contains(&n) => Ok(n),
        _ => Err(format!(
            "{source} takes a number of runs from 1 to {MAX_REPEAT}, not {text:?}"
        )),
    }
}

/// A seed, given by `source` (the option or the variable, which errors name).
fn parse_seed(source: &str, text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| {
        format!(
            "{source} takes a whole number from 0 to {}, not {text:?}",
            u64::MAX
        )
    })
}

/// libtest's arguments, parsed as libtest-mimic parses them but without exiting on a
/// mistake: `Ok(None)` when help was asked for and printed. A mistake (an unknown flag, a
/// bad value, `--test-threads 0`, which would wait forever for a thread) is an error with
/// clap's message, so that every bad command line exits with the same status.
pub fn libtest_arguments(args: Vec<OsString>) -> Result<Option<libtest_mimic::Arguments>, String> {
    use clap::Parser as _;
    match libtest_mimic::Arguments::try_parse_from(args) {
        Ok(arguments) if arguments.test_threads == Some(0) => {
            Err("--test-threads takes a number of threads from 1 up, not 0".to_owned())
        }
        Ok(arguments) => Ok(Some(arguments)),
        Err(error)
            if matches!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            #[allow(clippy::print_stdout)] // what was asked for
            {
                print!("{}", error.render());
            }
            Ok(None)
        }
        Err(error) => {
            let rendered = error.render().to_string();
            let message = rendered.trim_end();
            Err(message
                .strip_prefix("error: ")
                .unwrap_or(message)
                .to_owned())
        }
    }
}

/// Makes a closed stdout end the program quietly, with status 0 (as ripgrep does): `--list
/// | head -1` is an ordinary thing to run, and the reader going away is not a failure of
/// ours. Rust ignores SIGPIPE, so a write to a closed pipe fails, and libtest-mimic (and
/// `println!`) panic on that failure; this panic hook recognises that panic and exits
/// without the message and backtrace. Every other panic goes to the hook there was.
pub fn quiet_on_broken_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or_default();
        // libtest-mimic and the summary print from the main thread; a trial's thread is
        // never taken for a closed stdout.
        if std::thread::current().name() == Some("main") && is_broken_pipe(message) {
            std::process::exit(0);
        }
        previous(info);
    }));
}

/// Whether a panic message is that of a write to a closed pipe: `println!`'s ("failed
/// printing to stdout: Broken pipe (os error 32)") or an unwrapped `io::Error`'s
/// (`Os { code: 32, kind: BrokenPipe, .. }`).
fn is_broken_pipe(message: &str) -> bool {
    message.contains("kind: BrokenPipe")
        || (message.starts_with("failed printing to std") && message.contains("Broken pipe"))
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
        let rows: [(&[&str], Option<&str>); 3] = [
            (&["r", "--partition", "count:1/2"], Some("count:1/2")),
            (&["r", "--partition=hash:3/3", "tls"], Some("hash:3/3")),
            (&["r", "tls"], None),
        ];
        for (args, partition) in rows {
            let (options, _) = split(args, None).unwrap();
            assert_eq!(
                options.partition.map(|p| p.to_string()).as_deref(),
                partition,
                "{args:?}"
            );
        }
    }

    #[test]
    fn bad_values_say_what_is_wanted() {
        let cases: [(&[&str], &str); 13] = [
            (
                &["r", "--partition"],
                "--partition needs a shard: --partition count:K/N or hash:K/N",
            ),
            (
                &["r", "--partition", "count:3/2"],
                "--partition takes count:K/N or hash:K/N, with K from 1 to N, not \"count:3/2\"",
            ),
            (&["r", "--partition=slice:1/2"], "not \"slice:1/2\""),
            (
                &["r", "--repeat", "0"],
                "--repeat takes a number of runs from 1",
            ),
            (&["r", "--repeat=x"], "not \"x\""),
            (&["r", "--repeat"], "--repeat needs a number of runs"),
            (&["r", "--junit"], "--junit needs a file"),
            (&["r", "--report"], "--report needs a folder"),
            (
                &["r", "--report="],
                "--report needs a folder: --report DIR, and was given an empty one",
            ),
            (
                &["r", "--report", ""],
                "--report needs a folder: --report DIR, and was given an empty one",
            ),
            (
                &["r", "--junit="],
                "--junit needs a file: --junit PATH, and was given an empty one",
            ),
            (
                &["r", "--suites="],
                "--suites needs a folder: --suites DIR, and was given an empty one",
            ),
            (
                &["r", "--repeat=100001"],
                "--repeat takes a number of runs from 1 to 100000, not \"100001\"",
            ),
        ];
        for (args, message) in cases {
            let error = split(args, None).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
    }

    #[test]
    fn bad_variables_are_named() {
        let rows = [
            (
                "CONFORMANCE_PARTITION",
                "hash:0/3",
                "CONFORMANCE_PARTITION takes count:K/N or hash:K/N, with K from 1 to N, not \"hash:0/3\"",
            ),
            (
                "CONFORMANCE_SEED",
                "x",
                "CONFORMANCE_SEED takes a whole number from 0 to",
            ),
            (
                "CONFORMANCE_REPEAT",
                "0",
                "CONFORMANCE_REPEAT takes a number of runs from 1 to 100000, not \"0\"",
            ),
            (
                "CONFORMANCE_REPEAT",
                "-3",
                "CONFORMANCE_REPEAT takes a number of runs",
            ),
        ];
        for (variable, value, message) in rows {
            let error = parse([OsString::from("r")], |name| {
                (name == variable).then(|| OsString::from(value))
            })
            .unwrap_err();
            assert!(error.starts_with(message), "{variable}={value}: {error}");
        }
    }

    #[test]
    fn libtest_arguments_are_checked_without_exiting() {
        let rows: [(&[&str], Result<(), &str>); 5] = [
            (&["r", "--list", "tls"], Ok(())),
            (&["r", "--test-threads", "2"], Ok(())),
            (
                &["r", "--test-threads", "0"],
                Err("--test-threads takes a number of threads from 1 up, not 0"),
            ),
            (
                &["r", "--no-such-flag"],
                Err("unexpected argument '--no-such-flag' found"),
            ),
            (
                &["r", "--test-threads", "many"],
                Err("invalid value 'many' for '--test-threads"),
            ),
        ];
        for (args, expected) in rows {
            let got = libtest_arguments(args.iter().map(OsString::from).collect());
            match (got, expected) {
                (Ok(Some(_)), Ok(())) => {}
                (Err(error), Err(part)) => assert!(error.contains(part), "{args:?}: {error}"),
                (got, expected) => panic!(
                    "{args:?}: got {:?}, expected {expected:?}",
                    got.map(|a| a.is_some())
                ),
            }
        }
    }

    #[test]
    fn broken_pipe_panics_are_recognised() {
        let rows = [
            (
                "called `Result::unwrap()` on an `Err` value: Os { code: 32, kind: BrokenPipe, message: \"Broken pipe\" }",
                true,
            ),
            ("failed printing to stdout: Broken pipe (os error 32)", true),
            (
                "failed printing to stdout: No space left on device (os error 28)",
                false,
            ),
            ("the probe panicked on purpose", false),
        ];
        for (message, broken) in rows {
            assert_eq!(is_broken_pipe(message), broken, "{message}");
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
