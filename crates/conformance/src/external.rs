//! External peers: a program someone else wrote, started for one trial, or a server that is
//! already running, paired with one of our probes.
//!
//! For a command, the runner picks a free loopback port, writes the run's generated PKI to a
//! private temporary folder, substitutes `{host}`, `{port}`, `{cert}`, `{key}` and `{ca}`, and
//! starts the program with its output captured (bounded). An external server is ready when
//! its `ready` text appears on stdout or, without one, when its port is listening (read from
//! the kernel's socket table, so no probing connection is spent: `openssl s_server -naccept 1`
//! accepts exactly one). An external client is started once our server listens. When our side
//! has ended, the program is given a moment to exit, then killed and reaped; the folder is
//! removed, on every path. Nothing here sleeps to wait: the ready text and, on Linux, the
//! program's exit arrive as news from watcher threads the moment they happen; only the port
//! table, which nothing announces changes of, is looked at again, with a growing interval.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use connectable::pki::{TestPki, TlsConfigs, TlsProfile};
use connectable::{ConnectableProtocol, Endpoint, Reactor};

use crate::suite::{AddressSpec, CommandSpec, PeerSpec, TransportKind};

/// At most this much of each output stream is kept.
const OUTPUT_KEPT: usize = 64 * 1024;
/// How long a program may take to exit by itself once our side has ended.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// What an external side did.
#[derive(Clone, Debug, Default)]
pub struct ExternalRecord {
    /// The command line as run (after substitution), or the address.
    pub shown: String,
    /// Its exit status: `Some(code)`, `None` if it was killed or died by a signal.
    pub exit: Option<Option<i32>>,
    /// Whether the runner had to kill it.
    pub killed: bool,
    /// Its stdout, up to [`OUTPUT_KEPT`].
    pub stdout: String,
    /// Its stderr, up to [`OUTPUT_KEPT`].
    pub stderr: String,
}

impl ExternalRecord {
    /// One line for reports.
    pub fn summary(&self) -> String {
        let status = match (self.exit, self.killed) {
            (_, true) => "killed at the end of the trial".to_owned(),
            (Some(Some(code)), _) => format!("exited with {code}"),
            (Some(None), _) => "died from a signal".to_owned(),
            (None, _) => "not started".to_owned(),
        };
        format!("{}: {status}", self.shown)
    }
}

/// A private temporary folder holding the PKI as PEM files; removed when dropped.
struct PemFolder {
    dir: PathBuf,
}

impl PemFolder {
    fn create(profile: TlsProfile) -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let pki = TestPki::get().map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!(
            "connectable-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let folder = PemFolder { dir };
        create_private_dir(&folder.dir)
            .map_err(|e| format!("creating {}: {e}", folder.dir.display()))?;
        let leaf = pki.server(profile.server_cert);
        for (name, pem) in [
            ("cert.pem", &leaf.cert_pem),
            ("key.pem", &leaf.key_pem),
            ("ca.pem", &pki.ca.cert_pem),
        ] {
            write_private(&folder.dir.join(name), pem.as_bytes())
                .map_err(|e| format!("writing {name}: {e}"))?;
        }
        Ok(folder)
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for PemFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// What the threads watching a running program tell the one waiting on it.
#[derive(Debug)]
enum News {
    /// Its `ready` text appeared on stdout.
    Ready,
    /// It exited (it is left for `Child::try_wait` to reap).
    Exited,
}

/// How often a wait on a program looks again at what has no event to wait on: its port
/// listening (another process's `listen` wakes nobody here), and elsewhere than Linux its
/// exit. It starts at the first and doubles up to the second: a program that is ready at once
/// costs a millisecond's wait at most, a slow one a look every 10 ms (each read of the
/// table costs more the more sockets wait in TIME_WAIT).
const LOOK_AGAIN: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(10));

/// A started program, its output being collected.
struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The output readers and the exit watcher, joined when the program has been reaped.
    watchers: Vec<JoinHandle<()>>,
    news: mpsc::Receiver<News>,
    record: ExternalRecord,
    _pem: PemFolder,
}

impl Running {
    fn start(
        spec: &CommandSpec,
        port: u16,
        profile: TlsProfile,
        ready_text: Option<&str>,
    ) -> Result<Running, String> {
        let pem = PemFolder::create(profile)?;
        let substitute = |text: &str| {
            text.replace("{host}", "127.0.0.1")
                .replace("{port}", &port.to_string())
                .replace("{cert}", &pem.path("cert.pem"))
                .replace("{key}", &pem.path("key.pem"))
                .replace("{ca}", &pem.path("ca.pem"))
        };
        let argv: Vec<String> = spec.argv.iter().map(|a| substitute(a)).collect();
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &spec.env {
            command.env(name, substitute(value));
        }
        if let Some(cwd) = &spec.cwd {
            command.current_dir(substitute(cwd));
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", argv[0]))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tell, news) = mpsc::channel();
        let mut watchers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let kept = Arc::clone(&stdout);
            let wanted = ready_text.map(str::to_owned);
            let ready_tx = tell.clone();
            watchers.push(std::thread::spawn(move || {
                let mut lines = BufReader::new(out);
                let mut line = Vec::new();
                while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    if wanted
                        .as_deref()
                        .is_some_and(|w| String::from_utf8_lossy(&line).contains(w))
                    {
                        let _ = ready_tx.send(News::Ready);
                    }
                    keep(&kept, &line);
                    line.clear();
                }
            }));
        }
        if let Some(mut err) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            watchers.push(std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = err.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    keep(&kept, &chunk[..n]);
                }
            }));
        }
        watchers.extend(watch_exit(&child, tell));
        Ok(Running {
            child,
            stdout,
            stderr,
            watchers,
            news,
            record: ExternalRecord {
                shown: argv.join(" "),
                ..ExternalRecord::default()
            },
            _pem: pem,
        })
    }

    /// Waits until the server is ready: its `ready` text seen, or its port listening.
    fn wait_ready(&mut self, port: u16, by_text: bool, deadline: Instant) -> Result<(), String> {
        let mut look_again = LOOK_AGAIN.0;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the server exited before it was ready ({})",
                    describe(status)
                ));
            }
            if !by_text && listening(port) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(if by_text {
                    "the server never printed its ready text".to_owned()
                } else {
                    format!("the server never listened on port {port}")
                });
            }
            // Without an exit watcher the exit is also something to look at again.
            let wait = if by_text && cfg!(target_os = "linux") {
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

    /// The next news within `wait`, or `None`. Once no watcher is left to send any (the
    /// program closed its output and, where there is an exit watcher, exited), it waits
    /// `look_again` instead, so that the caller's loop looks again rather than spins.
    fn next_news(&self, wait: Duration, look_again: Duration) -> Option<News> {
        match self.news.recv_timeout(wait) {
            Ok(news) => Some(news),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(wait.min(look_again));
                None
            }
        }
    }

    /// Gives the program a moment to exit, kills it if it has not, reaps it, and collects its
    /// output.
    fn finish(mut self) -> ExternalRecord {
        let deadline = Instant::now() + EXIT_GRACE;
        let mut look_again = LOOK_AGAIN.0;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            let wait = if cfg!(target_os = "linux") {
                left
            } else {
                left.min(look_again)
            };
            if self.next_news(wait, look_again).is_none() {
                look_again = (look_again * 2).min(LOOK_AGAIN.1);
            }
        };
        let status = match status {
            Some(status) => status,
            None => {
                self.record.killed = true;
                let _ = self.child.kill();
                match self.child.wait() {
                    Ok(status) => status,
                    Err(_) => return std::mem::take(&mut self.record),
                }
            }
        };
        self.record.exit = Some(status.code());
        for watcher in self.watchers.drain(..) {
            let _ = watcher.join();
        }
        let text = |kept: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&kept.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        };
        self.record.stdout = text(&self.stdout);
        self.record.stderr = text(&self.stderr);
        std::mem::take(&mut self.record)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // On every path out, no process outlives the trial.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Reaped: the exit watcher has returned or is about to, and the readers see EOF
        // (unless the program left a process of its own holding its output open).
        for watcher in self.watchers.drain(..) {
            let _ = watcher.join();
        }
    }
}

/// A thread that tells `tell` the moment `child` exits, without reaping it: `waitid` with
/// `WNOWAIT` leaves the exited child for `Child::try_wait`, so the pid cannot be reused
/// before the `Child` that may kill it is done with it. It returns when the child exits, or
/// with an error once the child has been reaped (killed at the end of the grace).
#[cfg(target_os = "linux")]
fn watch_exit(child: &Child, tell: mpsc::Sender<News>) -> Option<JoinHandle<()>> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(i32::try_from(child.id()).ok()?);
    Some(std::thread::spawn(move || {
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
    }))
}

/// Elsewhere the waits look at the child again every so often ([`LOOK_AGAIN`]).
#[cfg(not(target_os = "linux"))]
fn watch_exit(_: &Child, _: mpsc::Sender<News>) -> Option<JoinHandle<()>> {
    None
}

fn keep(kept: &Mutex<Vec<u8>>, bytes: &[u8]) {
    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
    let room = OUTPUT_KEPT.saturating_sub(kept.len());
    kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// Whether something listens on 127.0.0.1:`port` (or any address), from the kernel's TCP
/// table; elsewhere than Linux, by connecting.
fn listening(port: u16) -> bool {
    match std::fs::read_to_string("/proc/net/tcp") {
        Ok(table) => {
            let port = format!(":{port:04X}");
            table.lines().skip(1).any(|line| {
                let mut fields = line.split_whitespace().skip(1);
                let local = fields.next().unwrap_or_default();
                let state = fields.nth(1).unwrap_or_default();
                state == "0A"
                    && local.ends_with(&port)
                    && (local.starts_with("0100007F") || local.starts_with("00000000"))
            })
        }
        Err(_) => std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
    }
}

/// How many ports a server program is started on before its "address in use" counts.
const PORT_ATTEMPTS: u32 = 3;

/// Whether a program that exited before it was ready said its port was taken (the words of
/// EADDRINUSE in C's strerror, Python's OSError and Go's net package).
fn lost_the_port(record: &ExternalRecord) -> bool {
    let said = format!("{}{}", record.stdout, record.stderr).to_ascii_lowercase();
    record.exit.is_some() && !record.killed && said.contains("address already in use")
}

/// A free loopback port: bound, read, released. Another process could take it before the
/// program binds it: [`lost_the_port`] tells, and the program is started again elsewhere.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn endpoint(
    transport: TransportKind,
    configs: impl FnOnce() -> Result<TlsConfigs, connectable::Error>,
) -> Result<Endpoint, String> {
    match transport {
        TransportKind::Tls => configs()
            .map(|configs| Endpoint {
                network: connectable::Network::Tcp,
                tls: Some(configs),
            })
            .map_err(|e| e.to_string()),
        // The loader lets external peers run over tcp, tcp6 and tls only; over tcp6 the
        // program is still told 127.0.0.1: IPv6 loopback is for probe pairings.
        _ => Ok(Endpoint::tcp()),
    }
}

/// Where and how a pairing with an external peer runs.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The reactor that drives our side.
    pub reactor: &'static dyn Reactor,
    /// `tcp` or `tls` (the loader allows nothing else with an external peer).
    pub transport: TransportKind,
    /// The certificates: the server's also go to `{cert}` and `{key}`.
    pub profile: TlsProfile,
    /// How long the pairing may take, the program's start included.
    pub timeout: Duration,
}

/// Pairs `ours` (a probe or script) with the external peer `theirs`, which plays the server
/// if `theirs_serves`, and returns our side's record and the program's.
pub fn pair(
    theirs: &PeerSpec,
    theirs_serves: bool,
    ours: ConnectableProtocol,
    setting: &Setting,
) -> Result<(ConnectableProtocol, ExternalRecord), String> {
    match (theirs, theirs_serves) {
        (PeerSpec::Command(command), true) => against_server_command(command, ours, setting),
        (PeerSpec::Command(command), false) => against_client_command(command, ours, setting),
        (PeerSpec::Address(address), true) => against_address(address, ours, setting),
        _ => Err("an external peer is a command, or an address for the server".into()),
    }
}

/// Our probe as client, against a server program started for the trial.
fn against_server_command(
    spec: &CommandSpec,
    client: ConnectableProtocol,
    &Setting {
        reactor,
        transport,
        profile,
        timeout,
    }: &Setting,
) -> Result<(ConnectableProtocol, ExternalRecord), String> {
    let deadline = Instant::now() + timeout;
    let endpoint = endpoint(transport, || TlsConfigs::for_profile(profile))?;
    let mut attempt = 1;
    let (server, port) = loop {
        let port = free_port()?;
        let mut server = Running::start(spec, port, profile, spec.ready.as_deref())?;
        let Err(why) = server.wait_ready(port, spec.ready.is_some(), deadline) else {
            break (server, port);
        };
        let record = server.finish();
        // The port was free when we chose it, but we had to let go of it for the program to
        // bind it, and another process (a parallel trial's connection, say) can take it in
        // between. That failure is ours, not the program's: start it again on another port.
        if attempt < PORT_ATTEMPTS && lost_the_port(&record) && Instant::now() < deadline {
            attempt += 1;
            continue;
        }
        return Err(format!(
            "{why}\n{}\nstdout:\n{}\nstderr:\n{}",
            record.summary(),
            record.stdout,
            record.stderr
        ));
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let client = connectable::run_client(reactor, &endpoint, address, client, left)
        .map_err(|e| e.to_string())?;
    Ok((client, server.finish()))
}

/// Our probe as server, against a client program started for the trial.
fn against_client_command(
    spec: &CommandSpec,
    server: ConnectableProtocol,
    &Setting {
        reactor,
        transport,
        profile,
        timeout,
    }: &Setting,
) -> Result<(ConnectableProtocol, ExternalRecord), String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("binding 127.0.0.1:0: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("reading the listener's address: {e}"))?
        .port();
    let endpoint = endpoint(transport, || TlsConfigs::for_profile(profile))?;
    let client = Running::start(spec, port, profile, None)?;
    let server = connectable::run_server(reactor, &endpoint, listener, server, timeout)
        .map_err(|e| e.to_string())?;
    Ok((server, client.finish()))
}

/// Our probe as client, against a server that is already running.
fn against_address(
    spec: &AddressSpec,
    client: ConnectableProtocol,
    &Setting {
        reactor,
        transport,
        profile,
        timeout,
    }: &Setting,
) -> Result<(ConnectableProtocol, ExternalRecord), String> {
    let address = spec
        .address
        .to_socket_addrs()
        .map_err(|e| format!("resolving {:?}: {e}", spec.address))?
        .next()
        .ok_or_else(|| format!("{:?} resolves to no address", spec.address))?;
    let endpoint = endpoint(transport, || {
        let ca = match &spec.ca {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| connectable::Error::Pki(format!("reading {path}: {e}")))?,
            ),
            None => None,
        };
        TlsConfigs::for_external_server(
            profile,
            spec.server_name
                .as_deref()
                .unwrap_or(connectable::pki::SERVER_NAME),
            ca.as_deref(),
        )
    })?;
    let client = connectable::run_client(reactor, &endpoint, address, client, timeout)
        .map_err(|e| e.to_string())?;
    let record = ExternalRecord {
        shown: format!("server at {address}"),
        ..ExternalRecord::default()
    };
    Ok((client, record))
}

/// Whether `program` can be found: a path that exists, or a name on PATH.
pub fn on_path(program: &str) -> bool {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 {
        return candidate.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_program_that_lost_its_port_is_started_again() {
        let record = |exit: Option<Option<i32>>, killed: bool, stderr: &str| ExternalRecord {
            exit,
            killed,
            stderr: stderr.to_owned(),
            ..ExternalRecord::default()
        };
        let cases = [
            // Python's http.server and openssl s_server, when the port was taken.
            (
                record(
                    Some(Some(1)),
                    false,
                    "OSError: [Errno 98] Address already in use",
                ),
                true,
            ),
            (
                record(Some(Some(1)), false, "bind: Address already in use\n"),
                true,
            ),
            // Any other reason to exit is the program's, and fails the trial.
            (
                record(Some(Some(1)), false, "unable to load certificate"),
                false,
            ),
            // Killed at the deadline: no second start.
            (record(None, true, "Address already in use"), false),
        ];
        for (record, again) in cases {
            assert_eq!(lost_the_port(&record), again, "{record:?}");
        }
    }
}
