//! The conformance runner: suites in, libtest-mimic trials out.
//!
//! [`load`] reads `suites/*.toml` into the [`suite`] model, reporting every problem with its
//! file, line and column; [`trials`] expands each case over transports x reactors x delivery
//! into one trial named `suite::case::transport::reactor::delivery`, which runs the pairing
//! with `connectable::run_protocols` and [`check`]s the expectations; [`outcome`] gathers what
//! became of each trial (with `xfail` and `--repeat` there is more than pass or fail);
//! [`report`] shapes the failure message and writes JUnit XML, JSON traces and the HTML
//! matrix. A [`Runner`] is the whole program as a value (the probe catalogue, the reactors,
//! the suites folder, the mode), so a user's crate runs its own probes and reactors with it;
//! [`main`], the default runner, is shared by the `conformance` binary and the `cargo test`
//! target. Only this crate knows TOML, libtest-mimic and report formats.

pub mod check;
pub mod cli;
pub mod expectations;
pub mod external;
pub mod interrupt;
pub mod load;
pub mod outcome;
pub mod partition;
pub mod plan;
pub mod record;
pub mod report;
pub mod shim;
pub mod suite;
pub mod trials;

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use connectable::reactor::{self, Reactor};

use libtest_mimic::{Arguments, Trial};

/// Exit status when the suites could not be loaded (0 and 101 are libtest's).
pub const EXIT_BAD_SUITES: u8 = 2;
/// Exit status for a bad command line or a filter that matches no trial.
pub const EXIT_USAGE: u8 = 1;

/// Who is running the trials: it decides what a filter that matches nothing means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The `conformance` binary (and so `cargo xtask conformance`): a filter that matches no
    /// trial is an error, since it is almost always a typo.
    Binary,
    /// The `cargo test` target: cargo hands the same filter to every test binary, so matching
    /// nothing here is normal (libtest's behaviour).
    CargoTest,
}

/// A run of the conformance program, built up as a value: the probes suites may name, the
/// reactors trials run on, where the suites are and who is running them. It replaces any
/// process-wide registration, so two runners in one process do not interfere.
///
/// ```no_run
/// # fn my_entry() -> protocols::ProbeEntry { protocols::PROBES[0] }
/// let status = conformance::Runner::new()
///     .probes(protocols::catalogue())
///     .probe(my_entry())
///     .suites("tests/suites")
///     .mode(conformance::Mode::CargoTest)
///     .run();
/// # let _ = status;
/// ```
#[derive(Clone, Debug)]
pub struct Runner {
    probes: protocols::Catalogue,
    reactors: Vec<&'static dyn Reactor>,
    suites: Option<PathBuf>,
    mode: Mode,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// The built-in probes and reactors, the suites of `--suites`, `CONFORMANCE_SUITES` or
    /// this repository's `suites/`, run as the `conformance` binary does.
    pub fn new() -> Self {
        Self {
            probes: protocols::catalogue(),
            reactors: reactor::builtin().to_vec(),
            suites: None,
            mode: Mode::Binary,
        }
    }

    /// Suites may name exactly these probes (replacing the built-in catalogue).
    pub fn probes(mut self, catalogue: protocols::Catalogue) -> Self {
        self.probes = catalogue;
        self
    }

    /// Adds a probe of your own; one of the same name is replaced.
    pub fn probe(mut self, entry: protocols::ProbeEntry) -> Self {
        self.probes.add(entry);
        self
    }

    /// Adds a reactor of your own: every case that does not narrow its `reactors` then runs
    /// on it too, and suites can name it. A name already taken is refused when the runner
    /// runs (exit status 1).
    pub fn reactor(mut self, reactor: &'static dyn Reactor) -> Self {
        self.reactors.push(reactor);
        self
    }

    /// Where the suite files are unless `--suites` or `CONFORMANCE_SUITES` says otherwise
    /// (a relative path is from the working directory: a crate's root under `cargo test`).
    pub fn suites(mut self, dir: impl Into<PathBuf>) -> Self {
        self.suites = Some(dir.into());
        self
    }

    /// Who runs the trials (see [`Mode`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The probes this runner knows.
    pub fn catalogue(&self) -> &protocols::Catalogue {
        &self.probes
    }

    /// The reactors this runner runs trials on.
    pub fn reactors(&self) -> &[&'static dyn Reactor] {
        &self.reactors
    }

    /// Runs the program: options, suites, trials; returns the exit status.
    pub fn run(&self) -> ExitCode {
        let names: Vec<&str> = self.reactors.iter().map(|r| r.name()).collect();
        if let Some(taken) = names
            .iter()
            .enumerate()
            .find_map(|(i, name)| names[..i].contains(name).then_some(*name))
        {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "error: a reactor name is taken twice: \"{taken}\" (the built-in ones are tokio-ct, tokio-mt, threads)"
                );
            }
            return ExitCode::from(EXIT_USAGE);
        }
        run(self)
    }
}

/// The whole program with reactors of your own added: how a transport or runtime is
/// certified against the catalogue (see README.md, "Certifying your reactor"). Call it from
/// the `main` of a `harness = false` test or a binary. A shorthand for [`Runner`].
pub fn main_with_reactors(mode: Mode, extra: &[&'static dyn Reactor]) -> ExitCode {
    extra
        .iter()
        .fold(Runner::new().mode(mode), |runner, reactor| {
            runner.reactor(*reactor)
        })
        .run()
}

/// Runs the program with the built-in probes and reactors: options, load, plan, run, record,
/// report; returns the exit status.
pub fn main(mode: Mode) -> ExitCode {
    Runner::new().mode(mode).run()
}

/// What [`Runner::run`] does once its reactors are known to be distinct.
#[allow(clippy::print_stderr, clippy::print_stdout)] // this is the program's user interface
fn run(runner: &Runner) -> ExitCode {
    let mode = runner.mode;
    let reactors = runner.reactors();
    cli::quiet_on_broken_pipe();
    // SIGINT, SIGTERM and SIGHUP end the run cleanly from here on (see `interrupt`).
    let _cleanup = interrupt::install();
    // The runner's suites folder stands where CONFORMANCE_SUITES would, so that --suites
    // and the variable still choose another.
    let env = |name: &str| match (std::env::var_os(name), &runner.suites) {
        (None, Some(dir)) if name == "CONFORMANCE_SUITES" => Some(dir.clone().into_os_string()),
        (value, _) => value,
    };
    let (options, libtest_args) = match cli::parse(std::env::args_os(), env) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let args = match cli::libtest_arguments(libtest_args) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut reactor_names: Vec<&str> = reactors.iter().map(|r| r.name()).collect();
    // Each shim is started once here and asked what it implements, for the plan.
    let shims = match shim::register(&options.shims, &reactor_names) {
        Ok(shims) => shims,
        Err(diagnostics) => return bad_shims(&diagnostics),
    };
    let _stop_shims = StopIdle(&shims);
    reactor_names.extend(shims.iter().map(|s| s.name()));
    let suites = match load::load_dir(&options.suites, runner.catalogue(), &reactor_names) {
        Ok(suites) => suites,
        Err(diagnostics) => return bad_suites(&options.suites, &diagnostics),
    };
    let plan = match plan::plan_with_shims(&suites, reactors, &shims, options.seed) {
        Ok(plan) => plan,
        Err(diagnostics) => return bad_suites(&options.suites, &diagnostics),
    };
    let session = Arc::new(trials::Session {
        repeat: options.repeat,
        ..trials::Session::default()
    });
    let trials = trials::trials(&plan, &session);
    if options.check_only {
        let cases: usize = suites.iter().map(|s| s.cases.len()).sum();
        println!(
            "{} suites, {cases} cases, {} trials: ok",
            suites.len(),
            trials.len()
        );
        return ExitCode::SUCCESS;
    }
    // One trial at a time: each can also be checked for descriptors its pairing left open.
    trials::count_descriptors_per_trial(args.test_threads == Some(1));
    let filtered = args.filter.is_some() || !args.skip.is_empty();
    if mode == Mode::Binary && filtered && trials.iter().all(|t| args.is_filtered_out(t)) {
        eprintln!("error: {}", no_match(&args, &trials));
        return ExitCode::from(EXIT_USAGE);
    }
    let trials = in_shard(options.partition, &args, trials);
    if args.list {
        return libtest_mimic::run(&args, trials).exit_code();
    }
    // Checked before anything runs, so a long run never ends unable to write its report,
    // and nothing of the user's is written over.
    let report_folder = match prepare_outputs(&options) {
        Ok(folder) => folder,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(folder) = &report_folder {
        let _ = session.report_dir.set(folder.staging.clone());
    }
    report_skips(&plan, &args, &trials);
    let selected: Vec<(String, bool)> = trials
        .iter()
        .filter(|t| !args.is_filtered_out(t))
        .map(|t| (t.name().to_owned(), args.is_ignored(t)))
        .collect();
    if options.repeat > 1 {
        let runs = selected.iter().filter(|(_, ignored)| !ignored).count() as u64;
        let _ = session
            .progress
            .set(outcome::Progress::new(runs * u64::from(options.repeat)));
    }
    let conclusion = interrupt::run_trials(&args, trials);

    let mut records = with_skipped(&plan, &selected, session.recorder.take());
    if let Err(interrupted) = conclusion {
        interrupt::mark_not_run(interrupted, &mut records, &selected);
    }
    let summary = outcome::Summary::of(&records);
    println!("conformance: {summary}");
    if options.repeat > 1 {
        print_flakes(&records, options.repeat);
    }
    if let Err(message) = write_reports(&options, report_folder, &records, &reactor_names) {
        eprintln!("error: {message}");
        return ExitCode::from(EXIT_USAGE);
    }
    match (conclusion, interrupt::interrupted()) {
        (_, Some(interrupted)) => ExitCode::from(interrupted.exit_status()),
        (Ok(conclusion), None) => conclusion.exit_code(),
        (Err(interrupted), None) => ExitCode::from(interrupted.exit_status()),
    }
}

/// The trials of this run's shard, when `--partition` asks for one: the others are not part
/// of the run at all (see `partition`). Trials the name filters leave out stay, for libtest
/// to leave out and count as it always does.
fn in_shard(
    partition: Option<partition::Partition>,
    args: &Arguments,
    trials: Vec<Trial>,
) -> Vec<Trial> {
    let Some(partition) = partition else {
        return trials;
    };
    let kept: HashSet<String> = partition
        .select(
            trials
                .iter()
                .filter(|t| !args.is_filtered_out(t))
                .map(|t| (t.name(), !args.is_ignored(t))),
        )
        .into_iter()
        .map(str::to_owned)
        .collect();
    trials
        .into_iter()
        .filter(|t| args.is_filtered_out(t) || kept.contains(t.name()))
        .collect()
}

/// The records of every selected trial: those that ran, and a skipped record for each one
/// libtest did not run, in name order.
fn with_skipped(
    plan: &plan::Plan,
    selected: &[(String, bool)],
    mut records: Vec<outcome::TrialRecord>,
) -> Vec<outcome::TrialRecord> {
    let ran: HashSet<String> = records.iter().map(|r| r.trial.clone()).collect();
    let not_run: HashSet<&str> = selected
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !ran.contains(*name))
        .collect();
    if not_run.is_empty() {
        return records;
    }
    records.extend(
        plan.trials
            .iter()
            .filter(|planned| not_run.contains(planned.name.as_str()))
            .map(trials::skipped_record),
    );
    records.sort_by(|a, b| a.trial.cmp(&b.trial));
    records
}

/// With `--repeat`: every trial that did not pass all its runs, with the seeds of the runs
/// that failed (the report folder has their traces).
#[allow(clippy::print_stdout)]
fn print_flakes(records: &[outcome::TrialRecord], repeat: u32) {
    let below: Vec<&outcome::TrialRecord> = records
        .iter()
        .filter(|r| {
            r.outcome != outcome::Outcome::Skipped
                && r.runs.iter().any(|run| run.outcome.is_failure())
        })
        .collect();
    if below.is_empty() {
        println!("repeat: every trial that ran passed {repeat}/{repeat} runs");
        return;
    }
    println!(
        "repeat: {} trial(s) below {repeat}/{repeat}{}:",
        below.len(),
        if records.iter().any(|r| r.trace.is_some()) {
            ""
        } else {
            " (--report DIR keeps the traces of every failed run)"
        }
    );
    for record in below {
        println!(
            "  {} passed {}/{repeat}; failed: {}{}",
            record.trial,
            record.runs_passed,
            record.failed_runs(),
            record
                .trace
                .as_deref()
                .map(|t| format!(" (traces: {t})"))
                .unwrap_or_default()
        );
    }
}

/// Checks every output path before the first trial: the JUnit file (see
/// [`report::folder::check_junit`]) and the report folder, whose sibling staging folder this
/// makes (see [`report::folder::prepare`]).
fn prepare_outputs(options: &cli::Options) -> Result<Option<report::folder::ReportFolder>, String> {
    // Every refusal at once, and nothing made unless all is well.
    let refused: Vec<String> = [
        options.report.as_deref().map(report::folder::check_folder),
        options.junit.as_deref().map(report::folder::check_junit),
    ]
    .into_iter()
    .flatten()
    .filter_map(Result::err)
    .collect();
    if !refused.is_empty() {
        return Err(refused.join("\nerror: "));
    }
    options
        .report
        .as_deref()
        .map(report::folder::prepare)
        .transpose()
}

/// Writes the JUnit file and the report folder (results, page, marker), then swaps the
/// folder in place.
#[allow(clippy::print_stdout)]
fn write_reports(
    options: &cli::Options,
    folder: Option<report::folder::ReportFolder>,
    records: &[outcome::TrialRecord],
    reactor_names: &[&str],
) -> Result<(), String> {
    let run = report::Run {
        seed: options.seed,
        repeat: options.repeat,
        records,
        reactors: reactor_names,
    };
    let staging = folder.as_ref().map(|f| f.staging.as_path());
    for reporter in report::reporters(options.junit.as_deref(), staging) {
        reporter.write(&run)?;
    }
    if let Some(folder) = folder {
        let index = folder.dir.join("index.html");
        folder.finish()?;
        println!("report: {}", index.display());
    }
    Ok(())
}

/// Says why each selected skipped case is skipped (libtest shows only "ignored"), and why
/// shims skip trials, each reason once with how many trials it skips.
#[allow(clippy::print_stderr)]
fn report_skips(plan: &plan::Plan, args: &Arguments, trials: &[Trial]) {
    if args.ignored || args.include_ignored {
        return;
    }
    for (suite, case, why) in &plan.skipped_cases {
        let prefix = format!("{suite}::{}::", case.name);
        let selected = trials
            .iter()
            .any(|t| t.name().starts_with(&prefix) && !args.is_filtered_out(t));
        if selected {
            eprintln!("skipping {suite}::{}: {why}", case.name);
        }
    }
    let selected: HashSet<&str> = trials
        .iter()
        .filter(|t| !args.is_filtered_out(t))
        .map(Trial::name)
        .collect();
    let mut by_shim: std::collections::BTreeMap<&str, usize> = Default::default();
    for planned in &plan.trials {
        if let (plan::CellReactor::Shim(_), Some(why)) = (planned.cell.reactor, &planned.skip)
            && selected.contains(planned.name.as_str())
            && plan::case_skip(&planned.case).is_none()
        {
            *by_shim.entry(why.as_str()).or_default() += 1;
        }
    }
    for (why, count) in by_shim {
        eprintln!(
            "skipping {count} trial{}: {why}",
            if count == 1 { "" } else { "s" }
        );
    }
}

/// Stops the shims' idle processes when the run ends, however it ends.
struct StopIdle<'a>(&'a [&'static shim::Shim]);

impl Drop for StopIdle<'_> {
    fn drop(&mut self) {
        self.0.iter().for_each(|shim| shim.stop_idle());
    }
}

/// Prints every problem of the shims' `shim.toml` files; the exit status of suites that
/// cannot be run.
#[allow(clippy::print_stderr)]
fn bad_shims(diagnostics: &[load::Diagnostic]) -> ExitCode {
    for diagnostic in diagnostics {
        eprintln!("{diagnostic}");
    }
    eprintln!(
        "error: the shims could not be registered ({} problem{})",
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    );
    ExitCode::from(EXIT_BAD_SUITES)
}

/// Prints every problem of the suites and the line that sums them up; the exit status of
/// suites that cannot be run.
#[allow(clippy::print_stderr)]
fn bad_suites(dir: &std::path::Path, diagnostics: &[load::Diagnostic]) -> ExitCode {
    for diagnostic in diagnostics {
        eprintln!("{diagnostic}");
    }
    eprintln!(
        "error: the suites in {} could not be loaded ({} problem{})",
        dir.display(),
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    );
    ExitCode::from(EXIT_BAD_SUITES)
}

/// The message for a filter that matches nothing, with the closest names as suggestions.
fn no_match(args: &Arguments, trials: &[Trial]) -> String {
    let filter = args.filter.as_deref().unwrap_or_default();
    let mut message = if filter.is_empty() {
        "the --skip patterns leave no trial to run".to_owned()
    } else {
        format!(
            "no trial matches {}{filter:?} (names are suite::case::transport::reactor::delivery; \
             --list shows them all)",
            if args.exact { "exactly " } else { "" }
        )
    };
    let parts: BTreeSet<&str> = trials.iter().flat_map(|t| t.name().split("::")).collect();
    let wanted = filter.trim_matches(':');
    let mut close: Vec<(f64, &str)> = parts
        .iter()
        .map(|p| (strsim::jaro_winkler(wanted, p), *p))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0));
    if let Some((_, best)) = close.first() {
        message.push_str(&format!("; did you mean {best:?}?"));
    }
    message
}

#[cfg(test)]
mod reference_is_complete {
    //! suites/README.md is the format reference: every word the loader accepts must be in it.

    use connectable::pki::{ClientCert, ServerCert};
    use connectable::{Delivery, ReasonKind};

    use crate::suite::{EVENT_WORDS, TransportKind};

    #[test]
    fn every_word_the_loader_accepts_is_documented() {
        let path = crate::cli::default_suites().join("README.md");
        let reference = std::fs::read_to_string(&path).expect("suites/README.md is readable");
        let mut words: Vec<String> = Vec::new();
        for probe in protocols::PROBES {
            words.push(probe.name.into());
            words.extend(probe.arguments.iter().map(|a| a.name.to_owned()));
        }
        words.extend(ReasonKind::ALL.iter().map(|k| k.word().to_owned()));
        words.extend(TransportKind::ALL.iter().map(|t| t.word().to_owned()));
        words.extend(Delivery::ALL.iter().map(|d| d.word().to_owned()));
        words.extend(
            connectable::reactor::builtin()
                .iter()
                .map(|r| r.name().to_owned()),
        );
        words.extend(EVENT_WORDS.iter().map(|w| (*w).to_owned()));
        words.extend(ServerCert::ALL.iter().map(|c| c.word().to_owned()));
        words.extend(protocols::Step::WORDS.iter().map(|w| (*w).to_owned()));
        words.push("script".into());
        words.push("requires".into());
        words.extend(
            crate::suite::PLACEHOLDERS
                .iter()
                .map(|p| format!("{{{p}}}")),
        );
        words.extend(ClientCert::ALL.iter().map(|c| c.word().to_owned()));
        // Every key the loader accepts, from its own lists, so a new one cannot go undocumented.
        for keys in [
            crate::load::DEFAULTS_KEYS,
            crate::load::CASE_KEYS,
            crate::load::COMMAND_KEYS,
            crate::load::ADDRESS_KEYS,
            crate::load::TLS_KEYS,
            crate::load::MARK_KEYS,
        ] {
            words.extend(keys.iter().map(|k| (*k).to_owned()));
        }
        words.extend(crate::expectations::keys().iter().map(|k| (*k).to_owned()));
        let missing: Vec<&String> = words
            .iter()
            .filter(|w| !reference.contains(&format!("`{w}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "{} does not document {missing:?}",
            path.display()
        );
    }
}

#[cfg(test)]
mod parity_table_is_true {
    //! suites/TWISTED.md is issue 17's parity table: every case it names must exist, every row
    //! carries exactly one mark, a row that claims a port names its cases, and the counts at
    //! the top add up to the rows, so the table cannot drift from the suites or from itself.

    /// The marks a row can carry, in the order the counts line gives them.
    const MARKS: [&str; 5] = [
        "ported",
        "stricter",
        "weaker",
        "not yet ported",
        "not ported by design",
    ];

    /// The four Twisted files whose every in-scope test method has a row.
    const FOUR_FILES: [&str; 4] = [
        "it/connectionmixins",
        "it/test_tcp",
        "it/test_tls",
        "t/test_tcp",
    ];

    /// The numbers of the counts line, in the order they appear: four-file rows, rows beyond
    /// them, all rows, then one per mark in `MARKS` order.
    fn counts_line(table: &str) -> Vec<usize> {
        let line = table
            .lines()
            .skip_while(|l| !l.starts_with("**Counts**"))
            .take_while(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        line.split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().expect("a count"))
            .collect()
    }

    #[test]
    fn every_case_named_in_twisted_md_exists() {
        let dir = crate::cli::default_suites();
        let table = std::fs::read_to_string(dir.join("TWISTED.md")).expect("TWISTED.md");
        let names: Vec<&str> = connectable::reactor::builtin()
            .iter()
            .map(|r| r.name())
            .collect();
        let suites =
            crate::load::load_dir(&dir, &protocols::catalogue(), &names).expect("the suites load");
        let exists = |name: &str| {
            let Some((suite, case)) = name.split_once("::") else {
                return false;
            };
            suites
                .iter()
                .any(|s| s.name == suite && s.cases.iter().any(|c| c.name == case))
        };
        let mut problems = Vec::new();
        let mut marks = [0usize; 5];
        let (mut four, mut beyond) = (0usize, 0usize);
        let mut four_tests = std::collections::BTreeSet::new();
        let mut in_beyond = false;
        for line in table.lines() {
            if line.starts_with("# Beyond") {
                in_beyond = true;
            }
            if !line.starts_with("| ") || line.starts_with("| module") || line.contains("---") {
                continue;
            }
            let row = line;
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() != 6 {
                problems.push(format!("has {} cells, not 6: {row}", cells.len()));
                continue;
            }
            let (module, class, test, mark, cases) =
                (cells[0], cells[1], cells[2], cells[3], cells[4]);
            match MARKS.iter().position(|m| *m == mark) {
                Some(i) => marks[i] += 1,
                None => problems.push(format!("mark {mark:?} is not one of {MARKS:?}: {row}")),
            }
            if in_beyond {
                beyond += 1;
            } else {
                four += 1;
                if !FOUR_FILES.contains(&module) {
                    problems.push(format!(
                        "module {module} is not one of the four files: {row}"
                    ));
                }
                if !test.starts_with("test") || test.contains([' ', ',']) {
                    problems.push(format!("a four-file row names one test method: {row}"));
                }
                if !four_tests.insert((module, class, test)) {
                    problems.push(format!("{module} {class}.{test} has two rows: {row}"));
                }
            }
            let named: Vec<&str> = cases
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|s| {
                    s.contains("::")
                        && s.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "_:".contains(c)
                        })
                })
                .collect();
            for name in &named {
                if !exists(name) {
                    problems.push(format!("names {name}, which does not exist: {row}"));
                }
            }
            let claims_a_port = ["ported", "stricter", "weaker"].contains(&mark);
            if claims_a_port && named.is_empty() {
                problems.push(format!("is marked {mark} and names no case: {row}"));
            }
            if !claims_a_port && cases != "—" {
                problems.push(format!("is marked {mark} and still names cases: {row}"));
            }
            if !claims_a_port && cells[5].is_empty() {
                problems.push(format!("is marked {mark} and does not say why: {row}"));
            }
        }
        let mut expected = vec![four, beyond, four + beyond];
        expected.extend(marks);
        let stated = counts_line(&table);
        if stated != expected {
            problems.push(format!(
                "the counts line says {stated:?}; the rows give {expected:?} \
                 (four files, beyond, all, then {MARKS:?})"
            ));
        }
        assert!(four > 80, "only {four} four-file rows found in TWISTED.md");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[cfg(test)]
mod runners_are_values {
    //! Two runners in one process: what one is given, the other does not see.

    use std::path::Path;

    use super::Runner;

    /// A probe of the test's own, named `mine`: the built-in `idle` under another name.
    fn mine() -> protocols::ProbeEntry {
        let idle = protocols::info("idle").expect("idle is built in");
        protocols::ProbeEntry {
            name: "mine",
            ..*idle
        }
    }

    #[test]
    #[rustfmt::skip]
    fn a_probe_added_to_one_runner_is_not_in_another() {
        const SUITE: &str = "[[case]]\nname = \"x\"\nabout = \"a\"\nserver = \"mine\"\nclient = \"idle\"\n";
        let with = Runner::new().probe(mine());
        let without = Runner::new();
        let replaced = Runner::new().probes(protocols::Catalogue::new([mine()]));
        // Rows: the runner, whether it knows `mine`, whether it knows `echo`, its first
        // problem loading the suite (none: it loads).
        let rows: [(&Runner, bool, bool, Option<&str>); 3] = [
            (&with,     true,  true,  None),
            (&without,  false, true,  Some("x.toml:4:10: case \"x\": unknown probe \"mine\"")),
            (&replaced, true,  false, Some("x.toml:5:10: case \"x\": unknown probe \"idle\" (valid: mine)")),
        ];
        for (runner, knows_mine, knows_echo, problem) in rows {
            let catalogue = runner.catalogue();
            assert_eq!(catalogue.find("mine").is_some(), knows_mine, "{:?}", catalogue.names());
            assert_eq!(catalogue.find("echo").is_some(), knows_echo, "{:?}", catalogue.names());
            let names: Vec<&str> = runner.reactors().iter().map(|r| r.name()).collect();
            let loaded = crate::load::load_str(Path::new("x.toml"), SUITE, catalogue, &names);
            let first = loaded.err().map(|d| d[0].to_string());
            match (first, problem) {
                (None, None) => {}
                (Some(found), Some(start)) => assert!(found.starts_with(start), "{found}"),
                (found, expected) => panic!("found {found:?}, expected {expected:?}"),
            }
        }
    }
}
