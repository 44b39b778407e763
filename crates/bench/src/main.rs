//! The `bench` program behind `cargo xtask bench`: every figure of BENCHMARKS.md in one run.
//!
//! In the order they run (the catalogue before the pairings, which crowd the loopback ports
//! with sockets in TIME_WAIT for a minute):
//!
//! 1. Listing: `conformance --list` of a generated suite of exactly 1,000 trials, best of
//!    several runs, beside the same for a single trial (what process start-up costs).
//! 2. The catalogue: every suite with `--test-threads 1` and `--test-threads 2`, wall time,
//!    the speed-up, and each run's peak memory (the child's maximum RSS, from getrusage).
//! 3. Pairings: in each round, one floor pairing (hand-written tokio, tokio-rustls) and one
//!    framework pairing (`run_protocols`, `closing-later` on both sides) per reactor, over tcp
//!    and tls, in an order shuffled afresh each round (a fixed seed), so that noise, warm
//!    caches and what the runner before left behind favour no one. Medians per cell, and the ratio framework/floor per transport and
//!    reactor.
//! 4. Bulk: 60 MiB from server to client, floor and framework interleaved the same way, as
//!    MB/s.
//!
//! 5. Scale: 100,000 tcp pairings on tokio-ct one after the other in this process (and
//!    20,000 over tls), the median of the first and of the last tenth and their ratio: a
//!    pairing must cost the same after tens of thousands of others (sockets in TIME_WAIT).
//!    Then 20,000 for each other reactor and network (tcp, tcp6, unix, tls). `--scale` runs
//!    this part alone.
//!
//! Bars are shown as PASS or MISS; this is a measurement, not a test, and it never fails on a
//! figure. It fails only when an exchange goes wrong.

mod twisted;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bench::floor::{self, FloorTls};
use bench::framework::{Bulk, OneByte};
use bench::median;
use connectable::reactor::{self, Reactor};
use connectable::{Endpoint, Network};

const USAGE: &str = "\
usage: bench [--pairings N] [--bulk N] [--catalogue N] [--scale-pairings N] [--scale]
             [--reactors A,B] [--conformance PATH] [--suites DIR]
       bench --peak-rss-of PROGRAM [ARGS...]

  --pairings N       rounds of one-byte pairings (default 800)
  --bulk N           rounds of 60 MiB transfers (default 40)
  --catalogue N      runs of the whole catalogue per thread count, alternating, medians
                     kept; 0 skips it and the listing (default 2)
  --scale-pairings N sequential tcp pairings on tokio-ct for the scale figures, a fifth of
                     them over tls; 0 skips them (default 100000)
  --scale            the scale figures only
  --reactors A,B     the reactors to measure (default: every built-in one)
  --conformance PATH the release-built runner (cargo xtask bench passes it)
  --suites DIR       the catalogue (default: suites/ of this workspace)
  --peak-rss-of      runs PROGRAM, then prints its exit status and peak RSS in KiB
";

/// The bulk transfer's size, as in suites/bulk.toml.
const BULK_SIZE: u64 = 60 * 1024 * 1024;

/// Rounds run before measuring: the PKI, the configurations and the caches warm up.
const WARM_UP: usize = 20;

/// Runs of each listing; the best one is kept.
const LISTING_RUNS: usize = 15;

/// Trials in the generated listing suite, and how one case expands: two transports, one
/// reactor, two delivery modes.
const LISTED_TRIALS: usize = 1000;
const TRIALS_PER_CASE: usize = 4;

/// The bars of issue #7.
const BAR_TCP: f64 = 1.2;
const BAR_TLS: f64 = 1.1;
const BAR_BULK: f64 = 0.9;
const BAR_LIST: Duration = Duration::from_millis(20);
const BAR_SPEEDUP: f64 = 1.7;
/// Issue #18: the last tenth of the scale pairings against the first.
const BAR_SCALE: f64 = 1.2;
/// Issue #18: Twisted's median against tokio-ct's, the same exchange.
const BAR_TWISTED: f64 = 4.0;
/// Issue #18: tokio-mt and threads against the floors of their own kind.
const BAR_OWN_FLOOR: f64 = 1.2;

#[derive(Debug)]
struct Options {
    pairings: usize,
    bulk: usize,
    catalogue: usize,
    scale_pairings: usize,
    scale_only: bool,
    reactors: Vec<&'static dyn Reactor>,
    conformance: Option<PathBuf>,
    suites: PathBuf,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--peak-rss-of") => peak_rss_of(&args[1..]),
        Some("--help" | "-h") => {
            print(USAGE.trim_end());
            Ok(())
        }
        _ => parse(&args).and_then(|options| run(&options)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// One line of the report. Everything goes through here, so the report is stdout only.
#[allow(clippy::print_stdout)]
fn print(line: &str) {
    println!("{line}");
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        pairings: 800,
        bulk: 40,
        catalogue: 2,
        scale_pairings: 100_000,
        scale_only: false,
        reactors: reactor::builtin().to_vec(),
        conformance: None,
        suites: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites"),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--pairings" => options.pairings = value()?.parse().context("--pairings")?,
            "--bulk" => options.bulk = value()?.parse().context("--bulk")?,
            "--catalogue" => options.catalogue = value()?.parse().context("--catalogue")?,
            "--reactors" => {
                options.reactors = value()?
                    .split(',')
                    .map(|name| {
                        reactor::by_name(name).with_context(|| format!("no reactor {name:?}"))
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--scale-pairings" => {
                options.scale_pairings = value()?.parse().context("--scale-pairings")?;
            }
            "--scale" => options.scale_only = true,
            "--conformance" => options.conformance = Some(PathBuf::from(value()?)),
            "--suites" => options.suites = PathBuf::from(value()?),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if options.pairings == 0 {
        bail!("--pairings must be at least 1");
    }
    Ok(options)
}

fn run(options: &Options) -> anyhow::Result<()> {
    machine();
    if options.scale_only {
        return scale(options.scale_pairings.max(10));
    }
    // The catalogue first: the pairings leave thousands of sockets in TIME_WAIT, which would
    // slow whichever catalogue run came next, and not the other alike.
    if options.catalogue > 0 {
        let conformance = options
            .conformance
            .as_deref()
            .context("--conformance PATH is needed for the listing and the catalogue")?;
        listing(conformance)?;
        catalogue(conformance, &options.suites, options.catalogue)?;
    }
    let waiting = time_wait();
    if waiting > 5000 {
        print(&format!(
            "note: {waiting} sockets in TIME_WAIT (they last a minute): loopback ports run \
             short and every pairing, floor and framework alike, slows down; let them expire \
             between runs"
        ));
    }
    let floor_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the floor's runtime")?;
    let tls = FloorTls::new().context("the floor's TLS configurations")?;
    let endpoints = [
        Endpoint::tcp(),
        Endpoint::tls().map_err(bench::Error::from)?,
    ];
    pairings(options, &floor_runtime, &tls, &endpoints)?;
    if options.bulk > 0 {
        bulk(options, &floor_runtime, &tls, &endpoints)?;
    }
    // Last: it leaves tens of thousands of sockets in TIME_WAIT, which slow the floor's
    // pairings (a fresh listener each) for a minute.
    if options.scale_pairings > 0 {
        scale(options.scale_pairings.max(10))?;
    }
    Ok(())
}

/// `pairings` one-byte tcp pairings on tokio-ct one after the other, then a fifth as many over
/// tls; the median of the first tenth against that of the last tenth. Nothing else runs in
/// between, so the sockets the first ones left in TIME_WAIT are all there for the last. Then
/// the same, a fifth as many, for every other built-in reactor and network (tcp, tcp6, unix;
/// tls on the other reactors): the kept listeners are in every reactor's path.
fn scale(pairings: usize) -> anyhow::Result<()> {
    let one_byte = OneByte::new()?;
    let tls = || Endpoint::tls().map_err(bench::Error::from);
    let mut runs: Vec<(&'static dyn Reactor, Endpoint, usize)> = Vec::new();
    let tokio_ct = reactor::by_name("tokio-ct").context("no reactor tokio-ct")?;
    runs.push((tokio_ct, Endpoint::tcp(), pairings));
    runs.push((tokio_ct, tls()?, pairings / 5));
    for reactor in reactor::builtin() {
        for network in [Network::Tcp, Network::Tcp6, Network::Unix] {
            if reactor.name() != "tokio-ct" || network != Network::Tcp {
                runs.push((*reactor, Endpoint::plain(network), pairings / 5));
            }
        }
        if reactor.name() != "tokio-ct" {
            runs.push((*reactor, tls()?, pairings / 5));
        }
    }
    for (reactor, endpoint, count) in runs {
        let name = reactor.name();
        let count = count.max(10);
        let tenth = count / 10;
        let (waiting_before, started) = (time_wait(), Instant::now());
        let mut samples = Vec::with_capacity(count);
        for _ in 0..count {
            samples.push(one_byte.run(reactor, &endpoint)?);
        }
        let elapsed = started.elapsed();
        let first = median(&mut samples[..tenth]);
        let last = median(&mut samples[count - tenth..]);
        let ratio = last.as_secs_f64() / first.as_secs_f64();
        print(&format!(
            "scale {endpoint} {name}: {count} pairings one after the other ({:.1} s); \
             sockets in TIME_WAIT {waiting_before} -> {}",
            elapsed.as_secs_f64(),
            time_wait()
        ));
        print(&format!(
            "scale {endpoint} {name} first {tenth} median {}, last {tenth} median {}",
            micros(first),
            micros(last)
        ));
        print(&format!(
            "scale {endpoint} {name} last/first {ratio:.2}{}",
            verdict(ratio <= BAR_SCALE, "<= 1.2")
        ));
    }
    Ok(())
}

/// Waits, at most a little over a minute, for the sockets in TIME_WAIT to fall below
/// `below`, so that a run measured next is not slowed by what an earlier one left.
fn let_time_wait_expire(below: u64) {
    let started = Instant::now();
    let mut waiting = time_wait();
    if waiting < below {
        return;
    }
    let first = waiting;
    while waiting >= below && started.elapsed() < Duration::from_secs(65) {
        std::thread::sleep(Duration::from_secs(1));
        waiting = time_wait();
    }
    print(&format!(
        "waited {:.0} s for sockets in TIME_WAIT to expire ({first} -> {waiting})",
        started.elapsed().as_secs_f64()
    ));
}

/// What the figures were measured on.
fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    print(&format!(
        "machine {cores} cores, {cpu}, {memory}; load average {}",
        load_average()
    ));
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Sockets in TIME_WAIT on this machine (`/proc/net/sockstat`, `tw`). Each pairing leaves
/// one for a minute, and as they crowd the ephemeral port range, binding and connecting slow
/// down for everyone.
fn time_wait() -> u64 {
    std::fs::read_to_string("/proc/net/sockstat")
        .ok()
        .and_then(|stat| {
            let tcp = stat.lines().find(|l| l.starts_with("TCP:"))?;
            let mut words = tcp.split_whitespace();
            words.find(|w| *w == "tw")?;
            words.next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Who runs a measured exchange: the hand-written floor, or the framework on a reactor.
#[derive(Clone, Copy, Debug)]
enum Runner {
    Floor,
    /// Bulk only: the floor writing from one 60 MiB buffer (see `bulk`).
    FloorWholeBuffer,
    /// Pairings only: the floor of `tokio-mt`, each side a task on a multi-thread runtime.
    FloorTasks,
    /// Pairings only: the floor of `threads`, std blocking sockets and a thread.
    FloorThreads,
    /// Pairings only: Twisted's reactor on the same exchange (crates/bench/twisted), when
    /// Twisted is installed.
    Twisted,
    Framework(&'static dyn Reactor),
}

impl Runner {
    /// The floor, then the framework on each reactor.
    fn all(reactors: &[&'static dyn Reactor]) -> Vec<Runner> {
        std::iter::once(Runner::Floor)
            .chain(reactors.iter().map(|r| Runner::Framework(*r)))
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::FloorWholeBuffer => "floor-60mib",
            Self::FloorTasks => "floor-mt",
            Self::FloorThreads => "floor-threads",
            Self::Twisted => "twisted",
            Self::Framework(reactor) => reactor.name(),
        }
    }
}

/// Samples per transport and runner, in `runners` order.
type Samples = Vec<Vec<Vec<Duration>>>;

/// Runs `rounds` rounds (after a warm-up); in each, every runner once per transport, in an
/// order shuffled afresh each time.
///
/// Not rotated: a rotation keeps every runner's neighbours, so that each one always ran right
/// after the same other one, and what a runner leaves behind (a 60 MiB buffer swept through
/// the caches, a runtime's workers parked or spinning) always fell on the same next one. In
/// the full bench, tokio-ct's bulk transfer always followed the 60 MiB floor's and took 28.8
/// ms where it took 25.8 ms after the one-chunk floor, which always followed `threads`
/// (BENCHMARKS.md). A shuffle gives every runner every predecessor alike. The seed is fixed,
/// so two runs use the same orders. `BENCH_TRACE_ORDER=1` prints each sample to stderr with
/// the runner that ran before it (`sample TRANSPORT RUNNER PREVIOUS NANOSECONDS`).
fn interleave(
    runners: &[Runner],
    rounds: usize,
    warm_up: usize,
    mut once: impl FnMut(usize, Runner) -> anyhow::Result<Duration>,
) -> anyhow::Result<Samples> {
    let trace = std::env::var_os("BENCH_TRACE_ORDER").is_some();
    let mut samples: Samples = vec![vec![Vec::with_capacity(rounds); runners.len()]; 2];
    let mut order: Vec<usize> = (0..runners.len()).collect();
    let mut shuffle = Shuffle(0x9e37_79b9_7f4a_7c15);
    let mut previous = "none";
    for round in 0..warm_up + rounds {
        for (transport, cells) in samples.iter_mut().enumerate() {
            shuffle.shuffle(&mut order);
            for &i in &order {
                let took = once(transport, runners[i])?;
                if round >= warm_up {
                    cells[i].push(took);
                    if trace {
                        #[allow(clippy::print_stderr)]
                        {
                            let (name, nanos) = (runners[i].name(), took.as_nanos());
                            eprintln!("sample {transport} {name} {previous} {nanos}");
                        }
                    }
                }
                previous = runners[i].name();
            }
        }
    }
    Ok(samples)
}

/// A xorshift64 generator with a fixed seed, for the order of each round: no dependency, and
/// the same orders in every run.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fisher-Yates.
    fn shuffle(&mut self, order: &mut [usize]) {
        for i in (1..order.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
}

fn pairings(
    options: &Options,
    floor_runtime: &tokio::runtime::Runtime,
    tls: &FloorTls,
    endpoints: &[Endpoint; 2],
) -> anyhow::Result<()> {
    let one_byte = OneByte::new()?;
    // The floor of tokio-mt runs on a runtime of its kind, built once, two workers as the
    // reactor's.
    let tasks_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the multi-thread floor's runtime")?;
    let started = Instant::now();
    let mut runners = Runner::all(&options.reactors);
    runners.insert(1, Runner::FloorTasks);
    runners.insert(2, Runner::FloorThreads);
    let mut twisted = twisted::Twisted::start()?;
    if twisted.is_some() {
        runners.push(Runner::Twisted);
    }
    let mut samples = interleave(&runners, options.pairings, WARM_UP, |transport, runner| {
        let tls = (transport == 1).then_some(tls);
        let took = match runner {
            Runner::Twisted => match &mut twisted {
                Some(twisted) => twisted.pairing(transport)?,
                None => bail!("twisted is not running"),
            },
            Runner::FloorTasks => {
                let started = Instant::now();
                tasks_runtime.block_on(floor::one_byte_tasks(tls))?;
                started.elapsed()
            }
            Runner::FloorThreads => {
                let started = Instant::now();
                floor::one_byte_threads(tls)?;
                started.elapsed()
            }
            // `pairings` never lists the 60 MiB floor.
            Runner::Floor | Runner::FloorWholeBuffer => {
                let started = Instant::now();
                floor_runtime.block_on(async {
                    match tls {
                        None => floor::one_byte_tcp().await,
                        Some(tls) => floor::one_byte_tls(tls).await,
                    }
                })?;
                started.elapsed()
            }
            Runner::Framework(reactor) => one_byte.run(reactor, &endpoints[transport])?,
        };
        Ok(took)
    })?;
    print(&format!(
        "pairings: {} rounds of one floor and one framework pairing per reactor, tcp and tls, \
         interleaved ({:.1} s); medians",
        options.pairings,
        started.elapsed().as_secs_f64()
    ));
    for (transport, cells) in samples.iter_mut().enumerate() {
        let word = endpoints[transport].word();
        let medians: Vec<Duration> = cells.iter_mut().map(|c| median(c)).collect();
        for (runner, median) in runners.iter().zip(&medians) {
            print(&format!(
                "median {word} {} {:.1}us",
                runner.name(),
                median.as_secs_f64() * 1e6
            ));
        }
        for (runner, median) in runners.iter().zip(&medians).skip(1) {
            let ratio = median.as_secs_f64() / medians[0].as_secs_f64();
            let bar = match (runner.name(), transport) {
                ("tokio-ct", 0) => verdict(ratio <= BAR_TCP, &format!("<= {BAR_TCP}")),
                ("tokio-ct", _) => verdict(ratio <= BAR_TLS, &format!("<= {BAR_TLS}")),
                _ => String::new(),
            };
            print(&format!("ratio {word} {} {ratio:.2}{bar}", runner.name()));
        }
        // Twisted against tokio-ct: how many times faster ours is (issue #18).
        if let (Some(theirs), Some(ours)) = (
            median_of_runner(&runners, &medians, "twisted"),
            median_of_runner(&runners, &medians, "tokio-ct"),
        ) {
            let times = theirs.as_secs_f64() / ours.as_secs_f64();
            print(&format!(
                "vs-twisted {word} {times:.2}{}",
                verdict(times >= BAR_TWISTED, &format!(">= {BAR_TWISTED}"))
            ));
        }
        // tokio-mt and threads against the floors of their own kind (issue #18).
        let median_of = |name: &str| median_of_runner(&runners, &medians, name);
        for (reactor, floor) in [("tokio-mt", "floor-mt"), ("threads", "floor-threads")] {
            if let (Some(reactor_median), Some(floor_median)) =
                (median_of(reactor), median_of(floor))
            {
                let ratio = reactor_median.as_secs_f64() / floor_median.as_secs_f64();
                print(&format!(
                    "ratio {word} {reactor} vs {floor} {ratio:.2}{}",
                    verdict(ratio <= BAR_OWN_FLOOR, &format!("<= {BAR_OWN_FLOOR}"))
                ));
            }
        }
    }
    if twisted.is_none() {
        print(
            "vs-twisted: skipped, Twisted is not installed (scripts/install-deps puts it in \
             target/venv-twisted; BENCH_TWISTED_PYTHON names another python)",
        );
    }
    Ok(())
}

/// The median of the runner named `name`, if it ran.
fn median_of_runner(runners: &[Runner], medians: &[Duration], name: &str) -> Option<Duration> {
    runners
        .iter()
        .position(|r| r.name() == name)
        .map(|i| medians[i])
}

fn verdict(met: bool, bar: &str) -> String {
    format!("  {} (bar {bar})", if met { "PASS" } else { "MISS" })
}

fn bulk(
    options: &Options,
    floor_runtime: &tokio::runtime::Runtime,
    tls: &FloorTls,
    endpoints: &[Endpoint; 2],
) -> anyhow::Result<()> {
    // Two floors. `floor` sends what large-buffer-writer sends, the same 64 KiB chunk of X
    // over and over: the same work, the bytes in cache. `floor-60mib` is the plainest
    // hand-written transfer, one 60 MiB buffer of X written whole: its bytes come from
    // memory, which the framework's do not. The bar is checked against both.
    let chunk = vec![b'X'; 64 * 1024];
    let whole = vec![b'X'; BULK_SIZE as usize];
    let transfer = Bulk::new(BULK_SIZE)?;
    let started = Instant::now();
    let mut runners = Runner::all(&options.reactors);
    runners.insert(1, Runner::FloorWholeBuffer);
    let mut samples = interleave(&runners, options.bulk, 1, |transport, runner| {
        let took = match runner {
            // `bulk` lists one floor only, the tokio current-thread one, in two forms.
            Runner::FloorTasks | Runner::FloorThreads | Runner::Twisted => {
                bail!("no bulk floor of the {} kind", runner.name())
            }
            Runner::Floor | Runner::FloorWholeBuffer => {
                let payload = floor::Payload {
                    chunk: if matches!(runner, Runner::Floor) {
                        &chunk
                    } else {
                        &whole
                    },
                    total: BULK_SIZE,
                };
                let started = Instant::now();
                let counted = floor_runtime.block_on(async {
                    match transport {
                        0 => floor::bulk_tcp(payload).await,
                        _ => floor::bulk_tls(tls, payload).await,
                    }
                })?;
                let took = started.elapsed();
                if counted != BULK_SIZE {
                    bail!("the floor's client counted {counted} bytes, not {BULK_SIZE}");
                }
                took
            }
            Runner::Framework(reactor) => transfer.run(reactor, &endpoints[transport])?,
        };
        Ok(took)
    })?;
    print(&format!(
        "bulk: {} rounds of 60 MiB server to client, interleaved ({:.1} s); MB/s of the \
         median time",
        options.bulk,
        started.elapsed().as_secs_f64()
    ));
    for (transport, cells) in samples.iter_mut().enumerate() {
        let word = endpoints[transport].word();
        let rates: Vec<f64> = cells
            .iter_mut()
            .map(|c| BULK_SIZE as f64 / median(c).as_secs_f64() / 1e6)
            .collect();
        for (runner, rate) in runners.iter().zip(&rates) {
            print(&format!("bulk {word} {} {rate:.0} MB/s", runner.name()));
        }
        // rates[0] is `floor`, rates[1] `floor-60mib`; one ratio line per floor.
        for (floor, suffix) in [(rates[0], ""), (rates[1], " vs floor-60mib")] {
            for (runner, rate) in runners.iter().zip(&rates).skip(2) {
                let ratio = rate / floor;
                let bar = match runner.name() {
                    "tokio-ct" => verdict(ratio >= BAR_BULK, &format!(">= {BAR_BULK}")),
                    _ => String::new(),
                };
                print(&format!(
                    "bulk-ratio {word} {}{suffix} {ratio:.2}{bar}",
                    runner.name()
                ));
            }
        }
    }
    Ok(())
}

/// A folder in the temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("bench-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A suite file whose `cases` cases expand to `TRIALS_PER_CASE` trials each (or one trial,
/// with `single`).
fn listing_suite(cases: usize, single: bool) -> String {
    let mut text = String::from("# Generated by the bench program: listing cost only.\n");
    text.push_str(if single {
        "[defaults]\ntransports = [\"tcp\"]\nreactors = [\"tokio-ct\"]\ndelivery = [\"whole\"]\n"
    } else {
        "[defaults]\ntransports = [\"tcp\", \"tls\"]\nreactors = [\"tokio-ct\"]\n\
         delivery = [\"whole\", \"bytewise\"]\n"
    });
    for i in 0..cases {
        text.push_str(&format!(
            "\n[[case]]\nname = \"listed_{i:04}\"\nabout = \"Listed, never run.\"\n\
             server = \"closing-later\"\n\
             client = {{ probe = \"closing-later\", send = \"x\" }}\n\
             expect.server = {{ reason = \"done\", received = \"x\" }}\n\
             expect.client = {{ reason = \"done\" }}\n"
        ));
    }
    text
}

/// The best wall time of `conformance --suites DIR --list` over several runs, and how many
/// trials it listed.
fn time_listing(conformance: &Path, suites: &Path) -> anyhow::Result<(Duration, usize)> {
    let mut best = Duration::MAX;
    let mut listed = 0;
    for _ in 0..LISTING_RUNS {
        let started = Instant::now();
        let output = Command::new(conformance)
            .arg("--suites")
            .arg(suites)
            .arg("--list")
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("starting {}", conformance.display()))?;
        best = best.min(started.elapsed());
        if !output.status.success() {
            bail!("conformance --list failed: {}", output.status);
        }
        listed = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| l.ends_with(": test"))
            .count();
    }
    Ok((best, listed))
}

fn listing(conformance: &Path) -> anyhow::Result<()> {
    let many = TempDir::new("list-1000")?;
    std::fs::write(
        many.0.join("listing.toml"),
        listing_suite(LISTED_TRIALS / TRIALS_PER_CASE, false),
    )?;
    let one = TempDir::new("list-1")?;
    std::fs::write(one.0.join("listing.toml"), listing_suite(1, true))?;
    let (start_up, single) = time_listing(conformance, &one.0)?;
    let (listed, count) = time_listing(conformance, &many.0)?;
    if count != LISTED_TRIALS || single != 1 {
        bail!("the generated suites listed {count} and {single} trials, not {LISTED_TRIALS} and 1");
    }
    print(&format!(
        "list {count} trials {:.1} ms (a single trial: {:.1} ms, start-up included; best of \
         {LISTING_RUNS}){}",
        listed.as_secs_f64() * 1e3,
        start_up.as_secs_f64() * 1e3,
        verdict(listed < BAR_LIST, "< 20 ms")
    ));
    Ok(())
}

/// Runs the whole catalogue `runs` times with one and with two test threads, alternating.
fn catalogue(conformance: &Path, suites: &Path, runs: usize) -> anyhow::Result<()> {
    let me = std::env::current_exe().context("finding the bench program")?;
    let mut walls: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut peaks = [0u64; 2];
    let mut cpu: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, threads) in ["1", "2"].into_iter().enumerate() {
            let_time_wait_expire(3000);
            let started = Instant::now();
            let output = Command::new(&me)
                .arg("--peak-rss-of")
                .arg(conformance)
                .arg("--suites")
                .arg(suites)
                .args(["--test-threads", threads])
                .stderr(Stdio::inherit())
                .output()
                .context("starting the catalogue")?;
            walls[i].push(started.elapsed());
            let text = String::from_utf8_lossy(&output.stdout);
            let report = text.lines().last().unwrap_or_default();
            let mut fields = report.split_whitespace();
            let (
                Some("exit"),
                Some(code),
                Some("peak-rss-kib"),
                Some(kib),
                Some("cpu-ms"),
                Some(ms),
            ) = (
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
            )
            else {
                bail!("the catalogue's measuring wrapper said {report:?}");
            };
            if code != "0" {
                let failed: Vec<&str> = text.lines().filter(|l| l.ends_with("FAILED")).collect();
                bail!(
                    "the catalogue with --test-threads {threads} exited {code}:\n{}",
                    failed.join("\n")
                );
            }
            peaks[i] = peaks[i].max(kib.parse().context("the peak RSS")?);
            cpu[i].push(Duration::from_millis(ms.parse().context("the CPU time")?));
        }
    }
    let [one, two] = walls.map(|mut w| median(&mut w));
    let [one_cpu, two_cpu] = cpu.map(|mut c| median(&mut c));
    for (threads, wall, cpu, peak) in [(1, one, one_cpu, peaks[0]), (2, two, two_cpu, peaks[1])] {
        print(&format!(
            "catalogue --test-threads {threads} {:.2} s (CPU {:.1} s, its children's included), \
             peak RSS {:.0} MiB",
            wall.as_secs_f64(),
            cpu.as_secs_f64(),
            peak as f64 / 1024.0
        ));
    }
    let speedup = one.as_secs_f64() / two.as_secs_f64();
    print(&format!(
        "speedup {speedup:.2}{}; load average now {}",
        verdict(speedup >= BAR_SPEEDUP, &format!(">= {BAR_SPEEDUP}")),
        load_average()
    ));
    Ok(())
}

/// Runs a program (its standard output passed on, its standard error discarded), then prints
/// `exit CODE peak-rss-kib N cpu-ms M` as the last line: its status, its maximum resident set
/// size and the CPU time it and its own children used. Run as a child of its own, so that the
/// only child it waits for, and so the only one getrusage reports, is that program.
fn peak_rss_of(command: &[String]) -> anyhow::Result<()> {
    let (program, args) = command.split_first().context(USAGE)?;
    let status = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("starting {program}"))?;
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .context("getrusage")?;
    let millis = |t: nix::sys::time::TimeVal| t.tv_sec() * 1000 + t.tv_usec() / 1000;
    // Linux reports ru_maxrss in KiB.
    print(&format!(
        "exit {} peak-rss-kib {} cpu-ms {}",
        status
            .code()
            .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        usage.max_rss(),
        millis(usage.user_time()) + millis(usage.system_time())
    ));
    Ok(())
}

/// A duration as the report prints pairings: microseconds, one decimal.
fn micros(duration: Duration) -> String {
    format!("{:.1}us", duration.as_secs_f64() * 1e6)
}
