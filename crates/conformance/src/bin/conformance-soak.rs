//! `conformance-soak`: runs the catalogue over and over in one process and reports what a
//! long run does to it (issue 8, Soak): failures, and whether open descriptors, threads,
//! memory and loopback TIME_WAIT sockets stay flat.
//!
//! Every trial of every suite (cases that are skipped, expected to fail, or talk to an
//! external program left out: a program's process is not ours to count) is run with `trials::run`, as the runner
//! runs it, in a shuffled order on two worker threads (libtest's default on this machine),
//! round after round until `--trials` have run. Between rounds both workers are idle, so each
//! sample sees only what the process keeps between trials: after the warm-up (the PKI and TLS
//! configurations are built on first use, the allocator's arenas fill) descriptors and threads
//! must not move at all, and memory only within the tolerance below. `cargo xtask soak` builds
//! it in release mode and runs it.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use conformance::plan::{Cell, case_skip, cells, ipv6_loopback};
use conformance::suite::{Case, TransportKind};
use conformance::trials::run;

const USAGE: &str = "\
usage: conformance-soak [--trials N] [--suites DIR] [--sample-every K] [--seed S]

  --trials N         how many trials to run in all (default 10000)
  --suites DIR       the suites to run (default: the workspace's suites/)
  --sample-every K   trials between two samples of descriptors, threads and memory (default 250)
  --seed S           the order of the trials and the split points of chunked delivery (default 1)
";

/// Memory the process may hold at the end beyond the first sample after the warm-up.
///
/// Not zero, because the allocator keeps what was freed: glibc gives each thread that
/// allocates an arena (up to eight per core) and returns little of an arena's memory to the
/// system, and what an arena holds depends on which trials happened to run at the same time
/// (the bulk cases buffer 60 MiB). A leak grows with the number of trials instead: 4 KiB a
/// trial is 36 MiB over the 9,000 trials after the warm-up of a default run, beyond this.
const RSS_TOLERANCE: u64 = 32 << 20;

/// What is run how often, and where from.
#[derive(Debug)]
struct Options {
    trials: usize,
    suites: PathBuf,
    sample_every: usize,
    seed: u64,
}

fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
    let mut options = Options {
        trials: 10_000,
        suites: conformance::cli::default_suites(),
        sample_every: 250,
        seed: 1,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{name} needs a value"))
        };
        let number = |text: String| {
            text.parse::<u64>()
                .with_context(|| format!("{name}: {text:?} is not a whole number"))
        };
        match name.as_str() {
            "--trials" => options.trials = number(value()?)? as usize,
            "--suites" => options.suites = PathBuf::from(value()?),
            "--sample-every" => options.sample_every = (number(value()?)? as usize).max(1),
            "--seed" => options.seed = number(value()?)?,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// One trial of the catalogue.
struct Trial<'a> {
    name: String,
    case: &'a Case,
    cell: Cell,
}

/// What the process holds between rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sample {
    /// Trials run so far.
    trials: usize,
    descriptors: u64,
    threads: u64,
    /// Resident memory, in bytes.
    rss: u64,
    /// The reactors' UNIX socket paths (`connectable-<pid>-<n>.sock` in the temporary
    /// folder) still there.
    socket_paths: u64,
    /// TIME_WAIT sockets on the loopback addresses: the whole machine's, not only ours (the
    /// kernel does not say whose a TIME_WAIT socket was).
    time_wait: u64,
}

impl Sample {
    fn take(trials: usize) -> anyhow::Result<Self> {
        // The tokio reactors keep idle runtimes between pairings, as many as ran at once: a
        // count that depends on timing, not a leak. Released here, so the figures are what
        // trials left behind; the next round builds them again.
        connectable::reactor::release_idle_runtimes();
        let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .with_context(|| format!("no {name} in /proc/self/status"))
        };
        let descriptors = std::fs::read_dir("/proc/self/fd")
            .context("/proc/self/fd")?
            .count() as u64;
        Ok(Self {
            trials,
            descriptors,
            threads: field("Threads:")?,
            rss: field("VmRSS:")? * 1024,
            socket_paths: socket_paths(),
            time_wait: time_wait_on_loopback(),
        })
    }
}

fn socket_paths() -> u64 {
    let prefix = format!("connectable-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir()).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
            .count() as u64
    })
}

/// TIME_WAIT sockets whose local address is 127.0.0.1 or ::1, from the kernel's tables.
fn time_wait_on_loopback() -> u64 {
    [
        ("/proc/net/tcp", LOOPBACK_V4),
        ("/proc/net/tcp6", LOOPBACK_V6),
    ]
    .into_iter()
    .filter_map(|(table, loopback)| {
        Some(count_time_wait(
            &std::fs::read_to_string(table).ok()?,
            loopback,
        ))
    })
    .sum()
}

/// 127.0.0.1 and ::1 as `/proc/net/tcp*` write them: hex of the bytes in network order, read
/// as 32-bit words in the machine's order.
const LOOPBACK_V4: &str = "0100007F";
const LOOPBACK_V6: &str = "00000000000000000000000001000000";

/// The lines of a `/proc/net/tcp*` table in state 06 (TIME_WAIT) whose local address is
/// `loopback`.
fn count_time_wait(table: &str, loopback: &str) -> u64 {
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = fields.next().unwrap_or_default();
            let state = fields.nth(1).unwrap_or_default();
            state == "06" && local.split(':').next() == Some(loopback)
        })
        .count() as u64
}

/// The ephemeral ports the kernel hands out, which TIME_WAIT sockets use up.
fn ephemeral_ports() -> Option<u64> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = range.split_whitespace().map(|n| n.parse::<u64>().ok());
    let (low, high) = (bounds.next()??, bounds.next()??);
    Some(high.saturating_sub(low) + 1)
}

/// splitmix64, for a shuffle that is the same for the same seed everywhere.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Runs `round`, trials of the catalogue by index modulo its length, on two threads; the
/// failures, by trial name.
fn run_round(catalogue: &[Trial<'_>], round: std::ops::Range<usize>) -> Vec<(String, String)> {
    let next = AtomicUsize::new(round.start);
    let failures = Mutex::new(Vec::new());
    let fail = |name: &str, message: String| {
        failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((name.to_owned(), message));
    };
    let work = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= round.end {
                return;
            }
            let trial = &catalogue[index % catalogue.len()];
            // A panic outside the probes' callbacks (those are caught by the framework) is a
            // failure of this trial, not the end of the soak.
            match catch_unwind(AssertUnwindSafe(|| run(trial.case, trial.cell))) {
                Ok(Ok(())) => {}
                Ok(Err(failed)) => fail(&trial.name, failed.message().unwrap_or("failed").into()),
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("a non-string payload");
                    fail(&trial.name, format!("the runner panicked: {message}"));
                }
            }
        }
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .filter_map(|worker| {
                let spawned = std::thread::Builder::new()
                    .name(format!("soak-{worker}"))
                    .spawn_scoped(scope, work);
                spawned
                    .map_err(|error| fail("soak", format!("spawning a worker: {error}")))
                    .ok()
            })
            .collect();
        // Joined by hand: the scope only waits until the workers' closures have returned,
        // and a thread still exiting would show in the next sample.
        for worker in workers {
            let _ = worker.join();
        }
    });
    failures
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

#[allow(clippy::print_stdout)] // this is the program's report
fn main() -> ExitCode {
    match soak() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// The whole run; whether it passed.
#[allow(clippy::print_stdout)] // this is the program's report
fn soak() -> anyhow::Result<bool> {
    let options = parse(std::env::args().skip(1))?;
    let reactor_names: Vec<&str> = connectable::reactor::builtin()
        .iter()
        .map(|r| r.name())
        .collect();
    let suites =
        conformance::load::load_dir(&options.suites, &protocols::catalogue(), &reactor_names)
            .map_err(|diagnostics| {
                let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                anyhow::anyhow!(
                    "the suites in {} could not be loaded:\n{}",
                    options.suites.display(),
                    lines.join("\n")
                )
            })?;
    let mut catalogue = Vec::new();
    let mut left_out = BTreeMap::<&str, usize>::new();
    for suite in &suites {
        for case in &suite.cases {
            if case_skip(case).is_some() {
                *left_out.entry("skipped").or_default() += 1;
                continue;
            }
            // An expected failure is a timeout by design here: it would only add waiting (a mark
            // on some reactors only, a shim's known difference, leaves ours to run).
            if case.xfail.iter().any(|mark| mark.reactors.is_none()) {
                *left_out.entry("expected to fail").or_default() += 1;
                continue;
            }
            if case.server.is_external() || case.client.is_external() {
                *left_out.entry("external program").or_default() += 1;
                continue;
            }
            for cell in cells(case, connectable::reactor::builtin(), options.seed) {
                if cell.transport == TransportKind::Tcp6 && !ipv6_loopback() {
                    continue;
                }
                let name = cell.trial_name(&suite.name, &case.name);
                catalogue.push(Trial { name, case, cell });
            }
        }
    }
    if catalogue.is_empty() {
        bail!("no trial to run in {}", options.suites.display());
    }
    shuffle(&mut catalogue, options.seed);
    // The catalogue's panic-on-data cases panic on purpose, thousands of times in a soak.
    // Every panic is caught, by the framework (and recorded in the trial) or by the worker
    // (and reported as a failure with its message), so the default hook's output is noise.
    std::panic::set_hook(Box::new(|_| {}));

    let warm_up = (options.trials / 10).max(options.sample_every.min(options.trials));
    println!(
        "soak: {} trials over a catalogue of {} (cases left out: {}), two threads, seed {}; \
         a sample every {} trials, the first after a warm-up of {warm_up}",
        options.trials,
        catalogue.len(),
        if left_out.is_empty() {
            "none".to_owned()
        } else {
            left_out
                .iter()
                .map(|(why, n)| format!("{n} {why}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        options.seed,
        options.sample_every
    );
    let started = Instant::now();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut samples = Vec::new();
    let mut done = 0;
    let mut boundaries: Vec<usize> = std::iter::once(warm_up)
        .chain((warm_up + options.sample_every..options.trials).step_by(options.sample_every))
        .collect();
    if boundaries.last() != Some(&options.trials) {
        boundaries.push(options.trials);
    }
    for end in boundaries {
        failures.extend(run_round(&catalogue, done..end));
        done = end;
        let sample = Sample::take(done)?;
        println!(
            "  {:>6} trials {:>4} failed  {:>6.0} s  descriptors {:>3}  threads {:>2}  rss {:>10}  \
             time-wait {:>5}",
            done,
            failures.len(),
            started.elapsed().as_secs_f64(),
            sample.descriptors,
            sample.threads,
            mib(sample.rss),
            sample.time_wait
        );
        samples.push(sample);
    }
    let elapsed = started.elapsed();
    Ok(report(&options, &failures, &samples, elapsed))
}

/// Prints the failures and the figures; whether the run passed.
#[allow(clippy::print_stdout)] // this is the program's report
fn report(
    options: &Options,
    failures: &[(String, String)],
    samples: &[Sample],
    elapsed: Duration,
) -> bool {
    let mut passed = true;
    println!();
    if failures.is_empty() {
        println!("failures: none");
    } else {
        passed = false;
        let mut by_name = BTreeMap::<&str, Vec<&str>>::new();
        for (name, message) in failures {
            by_name.entry(name).or_default().push(message);
        }
        println!(
            "failures: {} ({} distinct trials)",
            failures.len(),
            by_name.len()
        );
        for (name, messages) in &by_name {
            println!("---- {name} ({} times); the first:", messages.len());
            for line in messages[0].lines().take(40) {
                println!("  {line}");
            }
        }
    }
    let first = samples[0];
    let last = samples[samples.len() - 1];
    let max = |figure: fn(&Sample) -> u64| samples.iter().map(figure).max().unwrap_or_default();
    println!();
    println!(
        "figures after the warm-up ({} trials), first / last / max:",
        first.trials
    );
    let exact = |what: &str, figure: fn(&Sample) -> u64| {
        let flat = samples.iter().all(|s| figure(s) == figure(&first));
        println!(
            "  {what:<24} {:>10} / {:>10} / {:>10}   {}",
            figure(&first),
            figure(&last),
            max(figure),
            if flat {
                "flat"
            } else {
                "MOVED: every sample must equal the first"
            }
        );
        flat
    };
    passed &= exact("open descriptors", |s| s.descriptors);
    passed &= exact("threads", |s| s.threads);
    passed &= exact("UNIX socket paths", |s| s.socket_paths);
    let growth = last.rss.saturating_sub(first.rss);
    let rss_flat = growth <= RSS_TOLERANCE;
    println!(
        "  {:<24} {:>10} / {:>10} / {:>10}   {} (grew {}, tolerance {})",
        "resident memory",
        mib(first.rss),
        mib(last.rss),
        mib(max(|s| s.rss)),
        if rss_flat { "flat" } else { "GREW" },
        mib(growth),
        mib(RSS_TOLERANCE)
    );
    passed &= rss_flat;
    // TIME_WAIT sockets expire after 60 s, so their number follows the rate of connections,
    // not their total; what matters is that it stays far from the ports there are.
    let ports = ephemeral_ports();
    let time_wait_max = max(|s| s.time_wait);
    let time_wait_ok = ports.is_none_or(|ports| time_wait_max < ports / 2);
    println!(
        "  {:<24} {:>10} / {:>10} / {:>10}   {} (the machine's; {} ephemeral ports)",
        "loopback TIME_WAIT",
        first.time_wait,
        last.time_wait,
        time_wait_max,
        if time_wait_ok {
            "far from exhaustion"
        } else {
            "OVER HALF THE PORTS"
        },
        ports.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
    );
    passed &= time_wait_ok;
    println!();
    println!(
        "soak {}: {} trials in {:.0} s ({:.0} a second), {} failed",
        if passed { "passed" } else { "FAILED" },
        options.trials,
        elapsed.as_secs_f64(),
        options.trials as f64 / elapsed.as_secs_f64(),
        failures.len()
    );
    passed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_loopback_time_wait_lines_only() {
        let table = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1065
   1: 0100007F:A781 0100007F:C0D8 06 00000000:00000000 03:0000003E 00000000     0        0 0 3
   2: 0100007F:A782 0100007F:C0D8 01 00000000:00000000 00:00000000 00000000     0        0 7 1
   3: 0200000A:A783 0100007F:C0D8 06 00000000:00000000 03:0000003E 00000000     0        0 0 3
   4: 0100007F:C0D8 0100007F:A784 06 00000000:00000000 03:0000003E 00000000     0        0 0 3
";
        assert_eq!(count_time_wait(table, LOOPBACK_V4), 2);
        assert_eq!(count_time_wait(table, LOOPBACK_V6), 0);
        assert_eq!(count_time_wait("", LOOPBACK_V4), 0);
    }

    #[test]
    fn the_same_seed_shuffles_the_same_way() {
        let shuffled = |seed| {
            let mut order: Vec<u32> = (0..100).collect();
            shuffle(&mut order, seed);
            order
        };
        let order = shuffled(7);
        assert_eq!(order, shuffled(7));
        assert_ne!(order, shuffled(8));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "a permutation");
        assert_ne!(order, sorted);
    }

    #[test]
    fn parses_its_options() {
        let parsed = |args: &[&str]| parse(args.iter().map(|a| (*a).to_owned()));
        let options = parsed(&["--trials", "20", "--sample-every=5", "--seed", "3"]).unwrap();
        assert_eq!(
            (options.trials, options.sample_every, options.seed),
            (20, 5, 3)
        );
        assert_eq!(parsed(&[]).unwrap().trials, 10_000);
        let error = |args: &[&str]| format!("{:#}", parsed(args).unwrap_err());
        assert!(error(&["--trials"]).contains("--trials needs a value"));
        assert!(error(&["--trials", "x"]).contains("not a whole number"));
        assert!(error(&["--trails", "3"]).contains("unknown argument \"--trails\""));
    }
}
