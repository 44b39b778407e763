//! Programs started for a trial, and everything they start, ended with the trial.
//!
//! Each program runs in a process group of its own, with a marker in its environment
//! (`CONFORMANCE_PROGRAM`) that its descendants inherit. On Linux the runner is a child
//! subreaper, so a descendant whose parent dies (a daemon's double fork, a grandchild that
//! called setsid, the workers of an nginx-style master) is reparented to the runner rather
//! than to init, and stays findable: the members of a program are its process group, every
//! process whose parent chain leads to it, and every process reparented to the runner that
//! carries its marker, with their descendants (read from /proc). A daemon that lost the
//! marker (nginx writes its process title over its environment) is attributed by when it
//! started ([`daemon_of`]). A server whose first process exits 0 after forking (a daemon)
//! is still awaited while what it started runs. At the end of a trial the
//! program is given [`Program::finish`]'s grace to exit by itself; then its members get
//! SIGTERM, another grace, then SIGKILL, and every zombie the runner adopted is reaped.
//! Output is read by threads that are never joined blindly: once the members are gone the
//! pipes close, and a reader still blocked past the deadline (a pipe held by a process out
//! of reach) is abandoned with what it kept.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use super::ExternalRecord;
use super::ready::{Bounded, ReadyMatcher, holds_socket, listening};

/// The environment variable that marks a program and its descendants.
pub const MARKER_VARIABLE: &str = "CONFORMANCE_PROGRAM";

/// How long a program gets, by default, to exit by itself once our side has ended, and
/// again after SIGTERM before SIGKILL (`stop_grace` on a command).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_millis(300);
/// The largest `stop_grace` a case may give.
pub const MAX_STOP_GRACE: Duration = Duration::from_secs(10);

/// How often a wait looks again at what nothing announces: a port listening, the members
/// of a group gone. It starts at the first and doubles up to the second.
const LOOK_AGAIN: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(10));

/// After SIGKILL, how long the members may take to be gone before the runner gives up
/// looking (the kernel does not delay SIGKILL; this bounds a process stuck in the kernel).
const KILL_WAIT: Duration = Duration::from_secs(2);

/// How long output is still collected after the members are gone, at least: the readers
/// see the end of a pipe a moment after the exit that closed it.
const DRAIN_AT_LEAST: Duration = Duration::from_millis(50);

/// The programs running now, by process id, with their markers: what an interrupt stops,
/// and which children of the runner are not its to reap behind std's `Child`.
static RUNNING: Mutex<Registry> = Mutex::new(Registry {
    programs: Vec::new(),
    closed: false,
});

struct Registry {
    /// Each program's first process.
    programs: Vec<Registered>,
    /// Set by an interrupt: no program starts after it.
    closed: bool,
}

/// A running program's first process, as the registry knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Its id, and its group's.
    pub pid: u32,
    /// When it started, in clock ticks since boot, as /proc says (0 where unknown).
    pub started: u64,
    /// Whether it has exited (a daemon's first process exits once it has forked).
    pub exited: bool,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the threads watching a running program tell the one waiting on it.
#[derive(Debug)]
enum News {
    /// Its `ready` text appeared on stdout or stderr.
    Ready,
    /// It exited (it is left for `Child::try_wait` to reap).
    Exited,
    /// One of its output streams reached its end.
    Closed,
}

/// How a program's run ended, for its record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stop {
    /// It exited by itself within the grace.
    #[default]
    Exited,
    /// It was still running: it got SIGTERM and ended within the grace.
    Terminated,
    /// It was still running and ignored SIGTERM for the grace: it got SIGKILL.
    Killed,
}

/// What a program's standard input is.
enum Input {
    /// `/dev/null`.
    Null,
    /// These bytes, written on a thread of their own, then closed.
    Bytes(Vec<u8>),
    /// A pipe handed to the caller (a shim's requests).
    Serving,
}

/// A started program, its output being collected.
pub struct Program {
    child: Child,
    marker: String,
    stdout: Arc<Mutex<Bounded>>,
    stderr: Arc<Mutex<Bounded>>,
    news: mpsc::Receiver<News>,
    streams_open: usize,
    grace: Duration,
    record: ExternalRecord,
    reaped: bool,
}

impl Program {
    /// Starts `command` in a process group of its own, its output captured, watching for
    /// `ready` on stdout and stderr; `stdin` is written to its standard input, which is then
    /// closed (without it, stdin is `/dev/null`).
    pub fn start(
        command: Command,
        shown: String,
        ready: Option<&str>,
        grace: Duration,
        stdin: Option<Vec<u8>>,
    ) -> Result<Program, String> {
        let input = match stdin {
            Some(bytes) => Input::Bytes(bytes),
            None => Input::Null,
        };
        Self::spawn(command, shown, ready, grace, input).map(|(program, _)| program)
    }

    /// Starts `command` as [`start`](Self::start) does, but serving over its standard
    /// streams (a shim: requests on its stdin, answers on its stdout, its log on stderr),
    /// which are handed to the caller instead of being collected here.
    pub fn start_serving(
        command: Command,
        shown: String,
        grace: Duration,
    ) -> Result<(Program, ChildStdin, ChildStdout, ChildStderr), String> {
        let (program, streams) = Self::spawn(command, shown, None, grace, Input::Serving)?;
        let (stdin, stdout, stderr) = streams.ok_or("the program's streams were not piped")?;
        Ok((program, stdin, stdout, stderr))
    }

    /// Starts `command`, its standard input as `input` says; when serving, its three
    /// streams are piped and returned.
    #[allow(clippy::type_complexity)]
    fn spawn(
        mut command: Command,
        shown: String,
        ready: Option<&str>,
        grace: Duration,
        input: Input,
    ) -> Result<(Program, Option<(ChildStdin, ChildStdout, ChildStderr)>), String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        become_subreaper();
        let marker = format!(
            "{}-{}-{}",
            std::process::id(),
            start_nanos(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        command
            .env(MARKER_VARIABLE, &marker)
            .stdin(if matches!(input, Input::Null) {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let program = command.get_program().to_string_lossy().into_owned();
        // Started and registered under the lock, so that a reap of adopted zombies never
        // takes this child's exit from std's `Child`, and an interrupt misses no program.
        let mut child = {
            let mut running = registry();
            if running.closed {
                return Err("the run was interrupted: no program starts now".into());
            }
            let child = command
                .spawn()
                .map_err(|e| format!("cannot start {program:?}: {e}"))?;
            running.programs.push(Registered {
                pid: child.id(),
                started: os::started(child.id()),
                exited: false,
            });
            child
        };
        let streams = match (input, child.stdin.take()) {
            (Input::Bytes(bytes), Some(pipe)) => {
                write_input(pipe, bytes);
                None
            }
            (Input::Serving, Some(stdin)) => match (child.stdout.take(), child.stderr.take()) {
                (Some(stdout), Some(stderr)) => Some((stdin, stdout, stderr)),
                _ => None,
            },
            _ => None,
        };
        let stdout = Arc::new(Mutex::new(Bounded::default()));
        let stderr = Arc::new(Mutex::new(Bounded::default()));
        let (tell, news) = mpsc::channel();
        // One matcher for both streams' news, each stream matched on its own.
        let mut streams_open = 0;
        let out: Option<Box<dyn Read + Send>> = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let err: Option<Box<dyn Read + Send>> = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for (stream, kept) in [(out, &stdout), (err, &stderr)] {
            let Some(stream) = stream else { continue };
            streams_open += 1;
            let matcher = ready.map(ReadyMatcher::new);
            read_output(stream, Arc::clone(kept), matcher, tell.clone());
        }
        watch_exit(&child, tell);
        let program = Program {
            child,
            marker,
            stdout,
            stderr,
            news,
            streams_open,
            grace,
            record: ExternalRecord {
                shown,
                ..ExternalRecord::default()
            },
            reaped: false,
        };
        Ok((program, streams))
    }

    /// Whether the program (or a process it started) listens on `port`: a listener there
    /// that is not its own (a program of a parallel trial that was given the same free port,
    /// or anything else) is not its readiness, or our client would talk to that one.
    fn listens_on(&self, port: u16) -> bool {
        match listening(port) {
            Some(inodes) if inodes.is_empty() => false,
            Some(inodes) => members_alive(self.child.id(), &self.marker, true)
                .into_iter()
                .any(|pid| holds_socket(pid, &inodes)),
            // No kernel tables (not Linux): whether something accepts a connection there.
            None => std::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port)).is_ok(),
        }
    }

    /// Waits until the server is ready: its `ready` text seen, or its port listening.
    pub fn wait_ready(
        &mut self,
        port: u16,
        by_text: bool,
        deadline: Instant,
    ) -> Result<(), String> {
        let mut look_again = LOOK_AGAIN.0;
        loop {
            // A daemon's first process exits 0 once it has forked the server (nginx without
            // `daemon off`): while what it started runs, readiness is still awaited.
            let daemonized = match self.child.try_wait() {
                Ok(Some(status)) if status.success() => {
                    mark_exited(self.child.id());
                    if members_alive(self.child.id(), &self.marker, false).is_empty() {
                        return Err(format!(
                            "the server exited before it was ready ({}), leaving no process",
                            describe(status)
                        ));
                    }
                    true
                }
                Ok(Some(status)) => {
                    return Err(format!(
                        "the server exited before it was ready ({})",
                        describe(status)
                    ));
                }
                _ => false,
            };
            if !by_text && self.listens_on(port) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(if by_text {
                    "the server never printed its ready text (on stdout or stderr)".to_owned()
                } else {
                    format!("the server never listened on port {port} (IPv4 or IPv6)")
                });
            }
            // Without an exit watcher the exit is also something to look at again, and so
            // are a daemon's processes.
            let wait = if by_text && cfg!(target_os = "linux") && !daemonized {
                left
            } else {
                left.min(look_again)
            };
            match self.next_news(wait, look_again) {
                Some(News::Ready) if by_text => return Ok(()),
                // Exited: the next turn reaps it and says so.
                Some(_) => {}
                None => look_again = (look_again * 2).min(LOOK_AGAIN.1),
            }
        }
    }

    /// The next news within `wait`, or `None`. Once no watcher is left to send any, it
    /// waits `look_again` instead, so that the caller's loop looks again rather than spins.
    fn next_news(&mut self, wait: Duration, look_again: Duration) -> Option<News> {
        match self.news.recv_timeout(wait) {
            Ok(News::Closed) => {
                self.streams_open = self.streams_open.saturating_sub(1);
                Some(News::Closed)
            }
            Ok(news) => Some(news),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(wait.min(look_again));
                None
            }
        }
    }

    /// Ends the program once our side has ended: it gets the grace to exit by itself (but
    /// not past `deadline`, the trial's end), then its members get SIGTERM, another grace,
    /// and SIGKILL; everything is reaped and the output collected. Returns within the
    /// trial's deadline plus the grace, whatever the program does.
    pub fn finish(mut self, deadline: Instant) -> ExternalRecord {
        let mut look_again = LOOK_AGAIN.0;
        let by_itself = (Instant::now() + self.grace).min(deadline);
        while !self.exited() {
            let left = by_itself.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let wait = if cfg!(target_os = "linux") {
                left
            } else {
                left.min(look_again)
            };
            if self.next_news(wait, look_again).is_none() {
                look_again = (look_again * 2).min(LOOK_AGAIN.1);
            }
        }
        let was_running = !self.exited();
        let stop_deadline = Instant::now() + self.grace;
        let stop = self.stop_members(stop_deadline);
        if was_running {
            self.record.stop = stop;
            self.record.killed = stop != Stop::Exited;
        } else if stop != Stop::Exited {
            self.record.leftovers_stopped = true;
        }
        self.reap_main();
        // The members are gone, so the pipes are closed unless something out of reach
        // holds them: the output is collected until then, within what is left of the
        // grace (and a moment more for the readers to catch up with an exit just seen).
        let drain_until = stop_deadline.max(Instant::now() + DRAIN_AT_LEAST);
        while self.streams_open > 0 {
            let left = drain_until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if self.next_news(left, left).is_none() {
                break;
            }
        }
        self.record.output_abandoned = self.streams_open > 0;
        self.collect_output();
        std::mem::take(&mut self.record)
    }

    fn exited(&mut self) -> bool {
        let exited = self.reaped || matches!(self.child.try_wait(), Ok(Some(_)) | Err(_));
        if exited {
            mark_exited(self.child.id());
        }
        exited
    }

    /// SIGTERM to every member, SIGKILL to those left at `term_deadline`; returns how the
    /// members ended (`Exited`: there were none).
    fn stop_members(&mut self, term_deadline: Instant) -> Stop {
        let pid = self.child.id();
        let mut stop = Stop::Exited;
        let mut look_again = LOOK_AGAIN.0;
        let kill_deadline = term_deadline + KILL_WAIT;
        loop {
            let main_running = matches!(self.child.try_wait(), Ok(None));
            let members = members_alive(pid, &self.marker, main_running);
            if members.is_empty() {
                return stop;
            }
            let now = Instant::now();
            let signal = match stop {
                Stop::Exited => {
                    stop = Stop::Terminated;
                    Some(Signal::Term)
                }
                Stop::Terminated if now >= term_deadline => {
                    stop = Stop::Killed;
                    Some(Signal::Kill)
                }
                // Killed: a member forked again before its SIGKILL; it gets one too.
                Stop::Killed => Some(Signal::Kill),
                Stop::Terminated => None,
            };
            if let Some(signal) = signal {
                send(signal, pid, main_running, &members);
            }
            if now >= kill_deadline {
                return stop;
            }
            std::thread::sleep(look_again);
            look_again = (look_again * 2).min(LOOK_AGAIN.1);
        }
    }

    fn reap_main(&mut self) {
        if self.reaped {
            return;
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            // Only after a failed stop: nothing is left to wait for in reason.
            let _ = self.child.kill();
        }
        if let Ok(status) = self.child.wait() {
            self.record.exit = Some(status.code());
        }
        self.reaped = true;
        let pid = self.child.id();
        registry().programs.retain(|p| p.pid != pid);
    }

    fn collect_output(&mut self) {
        let kept = |stream: &Arc<Mutex<Bounded>>| {
            let stream = stream.lock().unwrap_or_else(PoisonError::into_inner);
            (stream.text(), stream.truncated())
        };
        let (stdout, out_truncated) = kept(&self.stdout);
        let (stderr, err_truncated) = kept(&self.stderr);
        self.record.stdout = stdout;
        self.record.stderr = stderr;
        self.record.truncated = out_truncated || err_truncated;
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // On every path out (an error, a panic), nothing it started outlives the trial.
        if !self.reaped {
            let _ = self.stop_members(Instant::now());
            self.reap_main();
        }
    }
}

/// Reads one output stream into `kept` (bounded), telling `tell` when `ready` appears and
/// when the stream ends. The thread is detached: it ends when the last process holding the
/// pipe is gone, and nobody waits for it past the trial's deadline.
fn read_output(
    mut stream: Box<dyn Read + Send>,
    kept: Arc<Mutex<Bounded>>,
    mut ready: Option<ReadyMatcher>,
    tell: mpsc::Sender<News>,
) {
    std::thread::spawn(move || {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    kept.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(&chunk[..n]);
                    if let Some(matcher) = &mut ready
                        && matcher.feed(&chunk[..n])
                    {
                        let _ = tell.send(News::Ready);
                        ready = None;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        // Closed before telling: a runner that counts its open descriptors once every stream
        // said so (`--test-threads 1`) must not find this pipe still open, which it did
        // under load, blaming the trial's reactor for it.
        drop(stream);
        let _ = tell.send(News::Closed);
    });
}

/// Writes `bytes` to a program's stdin on a thread of its own, then closes it. The thread is
/// detached, as the output readers are: a program that never reads a large input blocks it
/// only until the program is stopped (the write then fails on the closed pipe), never the
/// trial.
fn write_input(mut pipe: std::process::ChildStdin, bytes: Vec<u8>) {
    std::thread::spawn(move || {
        use std::io::Write;
        // A program that exits without reading all of it is its own business: the error
        // (a broken pipe) has nobody to tell.
        let _ = pipe.write_all(&bytes);
        drop(pipe);
    });
}

/// A thread that tells `tell` the moment `child` exits, without reaping it: `waitid` with
/// `WNOWAIT` leaves the exited child for `Child::try_wait`, so the pid cannot be reused
/// before the `Child` that may signal it is done with it.
#[cfg(target_os = "linux")]
fn watch_exit(child: &Child, tell: mpsc::Sender<News>) {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    use nix::unistd::Pid;
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    let pid = Pid::from_raw(pid);
    std::thread::spawn(move || {
        loop {
            match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                Err(nix::errno::Errno::EINTR) => {}
                Ok(_) => {
                    let _ = tell.send(News::Exited);
                    return;
                }
                Err(_) => return,
            }
        }
    });
}

/// Elsewhere the waits look at the child again every so often ([`LOOK_AGAIN`]).
#[cfg(not(target_os = "linux"))]
fn watch_exit(_: &Child, _: mpsc::Sender<News>) {}

fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    }
}

fn start_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[derive(Clone, Copy, Debug)]
enum Signal {
    Term,
    Kill,
}

/// One process as /proc shows it: what membership and reaping need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its id.
    pub pid: u32,
    /// Its parent's.
    pub ppid: u32,
    /// Its process group's.
    pub pgrp: u32,
    /// Its session's.
    pub session: u32,
    /// When it started, in clock ticks since boot.
    pub started: u64,
    /// Whether it has exited and waits to be reaped.
    pub zombie: bool,
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`, where comm may hold spaces
/// and parentheses (so the last `)` ends it).
pub fn parse_stat(stat: &str) -> Option<ProcessInfo> {
    let (head, rest) = stat.rsplit_once(')')?;
    let pid = head.split_whitespace().next()?.parse().ok()?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    // starttime is the 22nd field; after the state, the 19th.
    let started = fields.nth(15)?.parse().ok()?;
    Some(ProcessInfo {
        pid,
        ppid,
        pgrp,
        session,
        started,
        zombie: state == "Z" || state == "X",
    })
}

/// The members of the program whose first process is `root` (also its process group):
/// the group, the processes whose parent chain leads to the root, and the processes
/// `marked` (reparented to the runner, carrying the program's marker), with all their
/// descendants. Zombies are left out: they are gone already, only their reaping is left.
pub fn members(processes: &[ProcessInfo], root: u32, marked: &HashSet<u32>) -> Vec<u32> {
    let mut found: HashSet<u32> = processes
        .iter()
        .filter(|p| p.pid == root || p.pgrp == root || marked.contains(&p.pid))
        .map(|p| p.pid)
        .collect();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for process in processes {
        children.entry(process.ppid).or_default().push(process.pid);
    }
    let mut stack: Vec<u32> = found.iter().copied().chain([root]).collect();
    while let Some(pid) = stack.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            if found.insert(*child) {
                stack.push(*child);
            }
        }
    }
    let mut alive: Vec<u32> = processes
        .iter()
        .filter(|p| found.contains(&p.pid) && !p.zombie)
        .map(|p| p.pid)
        .collect();
    alive.sort_unstable();
    alive
}

/// The program a daemon without a marker (reparented to the runner) belongs to: among the
/// programs started at or before it, one whose first process has exited (a daemon's exits
/// once it has forked; a program still running would still be the daemon's parent, unless
/// it forked twice), else any; the one that started last. A guess only where programs
/// start together: the markers decide everything else.
pub fn daemon_of(started: u64, programs: &[Registered]) -> Option<u32> {
    programs
        .iter()
        .filter(|p| p.started <= started)
        .max_by_key(|p| (p.exited, p.started))
        .map(|p| p.pid)
}

/// Notes in the registry that a program's first process has exited.
fn mark_exited(pid: u32) {
    if let Some(program) = registry().programs.iter_mut().find(|p| p.pid == pid) {
        program.exited = true;
    }
}

/// Every process below `root` in the parent tree, `root` left out.
pub fn descendants(processes: &[ProcessInfo], root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for process in processes {
        children.entry(process.ppid).or_default().push(process.pid);
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            found.push(*child);
            stack.push(*child);
        }
    }
    found.sort_unstable();
    found
}

#[cfg(target_os = "linux")]
mod os {
    //! The Linux side: /proc, signals, the subreaper, reaping adopted zombies.

    use std::collections::HashSet;

    use nix::sys::signal::{Signal as NixSignal, kill, killpg};
    use nix::sys::wait::{WaitPidFlag, waitpid};
    use nix::unistd::Pid;

    use super::{MARKER_VARIABLE, ProcessInfo, Signal, daemon_of, known, parse_stat, registry};

    /// Every process /proc shows now.
    pub(super) fn processes() -> Vec<ProcessInfo> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter_map(|stat| parse_stat(&stat))
            .collect()
    }

    /// Whether `pid`'s environment (as it was started) carries `marker`.
    pub(super) fn carries(pid: u32, marker: &str) -> bool {
        let wanted = format!("{MARKER_VARIABLE}={marker}");
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|entry| entry == wanted.as_bytes())
        })
    }

    pub(super) fn send(signal: Signal, group: u32, group_alive: bool, pids: &[u32]) {
        let signal = match signal {
            Signal::Term => NixSignal::SIGTERM,
            Signal::Kill => NixSignal::SIGKILL,
        };
        // The group as a whole while its leader is not reaped (its id cannot be reused
        // then), and each member found by name, wherever it went.
        if group_alive && let Ok(group) = i32::try_from(group) {
            let _ = killpg(Pid::from_raw(group), signal);
        }
        for pid in pids {
            if let Ok(pid) = i32::try_from(*pid) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }

    /// Reaps every exited child of the runner that is not a program's first process (those
    /// are std's `Child`'s to reap): the orphans the subreaper adopted.
    /// Reaps the exited children of the runner that it adopted from its programs (seen alive
    /// as their members before, or in a running program's group): not a program's first
    /// process (std's `Child` reaps those), nor any other child of the process (another
    /// part of it may be waiting for those).
    pub(super) fn reap_adopted(processes: &[ProcessInfo]) {
        let me = std::process::id();
        let running = registry();
        let mut known = known();
        for process in processes {
            // Seen alive as a member, or still in a running program's group (an orphan that
            // exited before any look at the members saw it).
            let ours = known.contains(&process.pid)
                || running.programs.iter().any(|p| p.pid == process.pgrp);
            if process.ppid == me
                && process.zombie
                && ours
                && !running.programs.iter().any(|p| p.pid == process.pid)
                && let Ok(pid) = i32::try_from(process.pid)
                && waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)).is_ok()
            {
                known.remove(&process.pid);
            }
        }
    }

    /// Whether `pid`'s environment carries a marker at all (this runner's or another's).
    pub(super) fn carries_any(pid: u32) -> bool {
        let prefix = format!("{MARKER_VARIABLE}=");
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|entry| entry.starts_with(prefix.as_bytes()))
        })
    }

    /// Whether `pid`'s environment carries a marker this runner gave.
    pub(super) fn carries_ours(pid: u32) -> bool {
        let prefix = format!("{MARKER_VARIABLE}={}-", std::process::id());
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|entry| entry.starts_with(prefix.as_bytes()))
        })
    }

    /// The processes reparented to the runner that are the program `root`'s: those that
    /// carry its marker, and the daemons (session leaders) that carry no marker at all (a
    /// program that rewrites its environment's memory for its process title, as nginx does,
    /// loses it) and started after `root` and no later program ([`daemon_of`]).
    pub(super) fn marked(processes: &[ProcessInfo], root: u32, marker: &str) -> HashSet<u32> {
        let me = std::process::id();
        let programs = registry().programs.clone();
        processes
            .iter()
            .filter(|p| p.ppid == me && !p.zombie && !programs.iter().any(|r| r.pid == p.pid))
            .filter(|p| {
                carries(p.pid, marker)
                    || (p.session == p.pid
                        && !carries_any(p.pid)
                        && daemon_of(p.started, &programs) == Some(root))
            })
            .map(|p| p.pid)
            .collect()
    }

    /// When `pid` started, in clock ticks since boot; 0 if unknown.
    pub(super) fn started(pid: u32) -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parse_stat(&stat))
            .map_or(0, |p| p.started)
    }

    pub(super) fn become_subreaper() {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    //! Elsewhere: the process group only (no /proc, no subreaper).

    use std::collections::HashSet;

    use super::{ProcessInfo, Signal};

    pub(super) fn processes() -> Vec<ProcessInfo> {
        Vec::new()
    }

    pub(super) fn send(signal: Signal, group: u32, group_alive: bool, _: &[u32]) {
        #[cfg(unix)]
        if group_alive {
            let signal = match signal {
                Signal::Term => "-TERM",
                Signal::Kill => "-KILL",
            };
            let _ = std::process::Command::new("kill")
                .args([signal, "--", &format!("-{group}")])
                .status();
        }
    }

    pub(super) fn reap_adopted(_: &[ProcessInfo]) {}

    pub(super) fn carries_ours(_: u32) -> bool {
        false
    }

    pub(super) fn carries_any(_: u32) -> bool {
        false
    }

    pub(super) fn marked(_: &[ProcessInfo], _: u32, _: &str) -> HashSet<u32> {
        HashSet::new()
    }

    pub(super) fn started(_: u32) -> u64 {
        0
    }

    pub(super) fn become_subreaper() {}
}

/// Every process seen alive as a member of a program: the only children of the runner it
/// reaps behind std's back once they have exited (see `os::reap_adopted`).
static KNOWN: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

struct Known(std::sync::MutexGuard<'static, Option<HashSet<u32>>>);

impl Known {
    fn contains(&self, pid: &u32) -> bool {
        self.0.as_ref().is_some_and(|set| set.contains(pid))
    }

    fn remove(&mut self, pid: &u32) {
        if let Some(set) = self.0.as_mut() {
            set.remove(pid);
        }
    }

    fn extend(&mut self, pids: &[u32]) {
        self.0.get_or_insert_with(HashSet::new).extend(pids);
    }
}

fn known() -> Known {
    Known(KNOWN.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Every live process that is the runner's programs' doing: their groups, what carries a
/// marker of this runner below it, and all their descendants.
fn ours(processes: &[ProcessInfo]) -> Vec<u32> {
    let me = std::process::id();
    let groups: HashSet<u32> = registry().programs.iter().map(|p| p.pid).collect();
    let below: HashSet<u32> = descendants(processes, me).into_iter().collect();
    let seeds: HashSet<u32> = processes
        .iter()
        .filter(|p| !p.zombie)
        .filter(|p| {
            groups.contains(&p.pid)
                || groups.contains(&p.pgrp)
                || (below.contains(&p.pid) && os::carries_ours(p.pid))
                // A daemon reparented to the runner that lost its marker.
                || (p.ppid == me && p.session == p.pid && !os::carries_any(p.pid))
        })
        .map(|p| p.pid)
        .collect();
    let mut found: Vec<u32> = seeds.iter().copied().collect();
    for seed in &seeds {
        found.extend(descendants(processes, *seed));
    }
    found.sort_unstable();
    found.dedup();
    found.retain(|pid| processes.iter().any(|p| p.pid == *pid && !p.zombie));
    known().extend(&found);
    found
}

fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(os::become_subreaper);
}

fn send(signal: Signal, group: u32, group_alive: bool, pids: &[u32]) {
    os::send(signal, group, group_alive, pids);
}

/// The members of a program alive now, after reaping what the runner adopted.
fn members_alive(root: u32, marker: &str, root_running: bool) -> Vec<u32> {
    let processes = os::processes();
    os::reap_adopted(&processes);
    if processes.is_empty() {
        // No /proc: the group leader is all that can be known.
        return if root_running { vec![root] } else { Vec::new() };
    }
    let marked = os::marked(&processes, root, marker);
    let found = members(&processes, root, &marked);
    known().extend(&found);
    found
}

/// Whether an interrupt closed the registry.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Stops every program now running and everything it started (see `ours`): no program
/// starts after this. SIGTERM first, then SIGKILL after `grace` (none when `grace` is zero);
/// then every adopted zombie is reaped. For interrupts and the end of a run.
pub fn stop_all(grace: Duration) {
    {
        let mut running = registry();
        running.closed = true;
    }
    STOPPING.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + grace;
    let mut signal = if grace.is_zero() {
        Signal::Kill
    } else {
        Signal::Term
    };
    let give_up = deadline + KILL_WAIT;
    loop {
        let processes = os::processes();
        os::reap_adopted(&processes);
        let groups: Vec<u32> = registry().programs.iter().map(|p| p.pid).collect();
        let below = ours(&processes);
        let alive_groups: Vec<u32> = groups
            .iter()
            .copied()
            .filter(|g| processes.iter().any(|p| p.pgrp == *g && !p.zombie))
            .collect();
        if below.is_empty() && alive_groups.is_empty() {
            return;
        }
        for group in &alive_groups {
            send(signal, *group, true, &[]);
        }
        send(signal, 0, false, &below);
        let now = Instant::now();
        if now >= give_up || processes.is_empty() {
            return;
        }
        if now >= deadline {
            signal = Signal::Kill;
        }
        std::thread::sleep(LOOK_AGAIN.1);
    }
}

/// Ends whatever of the programs' doing is still running at the end of a run (nothing,
/// unless a program escaped its trial's stop) and reaps it.
pub fn sweep() {
    let processes = os::processes();
    os::reap_adopted(&processes);
    if !ours(&processes).is_empty() && !STOPPING.load(Ordering::SeqCst) {
        stop_all(DEFAULT_STOP_GRACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, ppid: u32, pgrp: u32, zombie: bool) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid,
            pgrp,
            session: pgrp,
            started: 0,
            zombie,
        }
    }

    #[test]
    fn stat_lines_are_parsed() {
        let cases: [(&str, Option<ProcessInfo>); 5] = [
            (
                "4242 (python3) S 4200 4242 4242 0 -1 4194560 1 0 0 0 5 2 0 0 20 0 1 0 987654 1 1",
                Some(ProcessInfo {
                    started: 987_654,
                    ..process(4242, 4200, 4242, false)
                }),
            ),
            (
                "77 (nginx: worker (x)) R 70 70 60 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12 0",
                Some(ProcessInfo {
                    session: 60,
                    started: 12,
                    ..process(77, 70, 70, false)
                }),
            ),
            (
                "80 (sh) Z 1 80 80 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0",
                Some(process(80, 1, 80, true)),
            ),
            ("81 (a b) S 1 2 3", None),
            ("garbage", None),
        ];
        for (stat, expect) in cases {
            assert_eq!(parse_stat(stat), expect, "{stat}");
        }
    }

    #[test]
    fn members_are_the_group_the_tree_and_the_marked() {
        // The runner is 1; the program's first process is 10 (and its group).
        let processes = [
            process(1, 0, 1, false),
            process(10, 1, 10, false),
            // Its children in the group (nginx's workers).
            process(11, 10, 10, false),
            process(12, 10, 10, false),
            // A grandchild that called setsid, its parent still there.
            process(13, 11, 13, false),
            // A daemon reparented to the runner, carrying the marker, and its child.
            process(20, 1, 20, false),
            process(21, 20, 21, false),
            // Another trial's program and its child: not ours.
            process(30, 1, 30, false),
            process(31, 30, 30, false),
            // A zombie of ours: gone already.
            process(14, 10, 10, true),
        ];
        let marked: HashSet<u32> = [20].into();
        let cases: [(u32, HashSet<u32>, &[u32]); 4] = [
            (10, marked.clone(), &[10, 11, 12, 13, 20, 21]),
            (10, HashSet::new(), &[10, 11, 12, 13]),
            (30, HashSet::new(), &[30, 31]),
            // The first process exited and was reaped: its group is still found.
            (99, HashSet::new(), &[]),
        ];
        for (root, marked, expect) in cases {
            assert_eq!(members(&processes, root, &marked), expect, "root {root}");
        }
        assert_eq!(
            descendants(&processes, 1),
            [10, 11, 12, 13, 14, 20, 21, 30, 31]
        );
    }

    #[test]
    fn a_daemon_without_a_marker_belongs_to_the_last_program_started_before_it() {
        let program = |pid, started, exited| Registered {
            pid,
            started,
            exited,
        };
        // Programs 10 (started at tick 100) and 30 (at 200), both running; then 10 exited.
        let running = [program(10, 100, false), program(30, 200, false)];
        let first_exited = [program(10, 100, true), program(30, 200, false)];
        let cases: [(&[Registered], u64, Option<u32>); 8] = [
            (&running, 99, None),
            (&running, 100, Some(10)),
            (&running, 150, Some(10)),
            (&running, 200, Some(30)),
            (&running, 5000, Some(30)),
            (&first_exited, 150, Some(10)),
            // Started after both: the one whose first process exited, the daemon's parent.
            (&first_exited, 250, Some(10)),
            (&[], 150, None),
        ];
        for (programs, started, expect) in cases {
            assert_eq!(
                daemon_of(started, programs),
                expect,
                "tick {started}, {programs:?}"
            );
        }
    }
}
