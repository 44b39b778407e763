//! External peers: a program someone else wrote, started for one trial, or a server that is
//! already running, paired with one of our probes.
//!
//! For a command, the runner picks a free loopback port, writes the run's generated PKI to a
//! private folder inside the run folder ([`files`]), substitutes `{host}`, `{port}`, `{cert}`,
//! `{key}` and `{ca}`, and starts the program in a process group of its own with its output
//! captured, bounded ([`process`]). An external server is ready when its port is listening
//! over IPv4 or IPv6, or when its `ready` text appears on stdout or stderr ([`ready`]). An
//! external client is started once our server listens. When our side has ended, the program
//! gets its `stop_grace` to exit by itself, then it and everything it started get SIGTERM,
//! the grace again, and SIGKILL; all is reaped and the folder removed, on every path.

pub mod files;
pub mod process;
pub mod ready;
pub mod unreachable;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use connectable::pki::{TlsConfigs, TlsProfile};
use connectable::{ConnectableProtocol, Endpoint, Reactor};

use crate::suite::{self, AddressSpec, CommandSpec, PeerSpec, Stdin, TransportKind};

pub use files::{prepare_run_folder, remove_run_folder};
pub use process::{DEFAULT_STOP_GRACE, MAX_STOP_GRACE, Stop, stop_all, sweep};
pub use ready::OUTPUT_KEPT;

use files::PemFolder;
use process::Program;

/// What an external side did.
#[derive(Clone, Debug, Default)]
pub struct ExternalRecord {
    /// The command line as run (after substitution), or the address.
    pub shown: String,
    /// Its exit status: `Some(code)`, `None` if it was killed or died by a signal.
    pub exit: Option<Option<i32>>,
    /// Whether the runner had to end it (SIGTERM or SIGKILL): it was still running at the
    /// end of the trial. Suites call this `killed`.
    pub killed: bool,
    /// How it was ended, when `killed`.
    pub stop: Stop,
    /// How long it had to exit by itself, and again after SIGTERM.
    pub grace: Duration,
    /// It exited by itself, but processes it started were still running and were stopped.
    pub leftovers_stopped: bool,
    /// Its stdout, up to [`OUTPUT_KEPT`].
    pub stdout: String,
    /// Its stderr, up to [`OUTPUT_KEPT`].
    pub stderr: String,
    /// Whether stdout or stderr held more than [`OUTPUT_KEPT`] bytes (the rest was dropped).
    pub truncated: bool,
    /// Whether its output was still open when the trial ended (held by a process out of
    /// reach) and was left unread.
    pub output_abandoned: bool,
}

impl ExternalRecord {
    /// One line for reports.
    pub fn summary(&self) -> String {
        let status = match (self.exit, self.killed) {
            (_, true) if self.stop == Stop::Killed => format!(
                "killed at the end of the trial (it ignored SIGTERM for {:?})",
                self.grace
            ),
            (_, true) => "stopped at the end of the trial".to_owned(),
            (Some(Some(code)), _) => format!("exited with {code}"),
            (Some(None), _) => "died from a signal".to_owned(),
            (None, _) => "not started".to_owned(),
        };
        let mut line = format!("{}: {status}", self.shown);
        if self.leftovers_stopped {
            line.push_str("; processes it started were still running and were stopped");
        }
        if self.truncated {
            line.push_str(&format!(" (output truncated after {OUTPUT_KEPT} bytes)"));
        }
        if self.output_abandoned {
            line.push_str(" (its output was still held open at the end and was left unread)");
        }
        line
    }
}

/// Starts the program of `spec` for a trial: placeholders substituted, its files written,
/// its folder checked, its stdin given.
fn start(
    spec: &CommandSpec,
    port: u16,
    setting: &Setting,
    ready: Option<&str>,
) -> Result<(Program, PemFolder), String> {
    let pem = PemFolder::create(setting.profile)?;
    let substitute = |text: &str| {
        suite::substitute(text, |name| {
            Some(match name {
                "host" => "127.0.0.1".to_owned(),
                "port" => port.to_string(),
                "cert" => pem.path("cert.pem"),
                "key" => pem.path("key.pem"),
                "ca" => pem.path("ca.pem"),
                "client_cert" => pem.path("client-cert.pem"),
                "client_key" => pem.path("client-key.pem"),
                "dir" => pem.dir(),
                // Over tcp6 too the program is told 127.0.0.1: it is plain TCP to it.
                "transport" => if setting.transport.tls() {
                    "tls"
                } else {
                    "tcp"
                }
                .to_owned(),
                _ => return None,
            })
        })
    };
    for (name, contents) in &spec.files {
        pem.write(name, substitute(contents).as_bytes())?;
    }
    let argv: Vec<String> = spec.argv.iter().map(|a| substitute(a)).collect();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    for (name, value) in &spec.env {
        command.env(name, substitute(value));
    }
    if let Some(cwd) = &spec.cwd {
        let cwd = substitute(cwd);
        // Said here, by name: spawning in a missing folder fails as "cannot start <program>".
        match std::fs::metadata(&cwd) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(format!("cwd {cwd} is not a folder")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("cwd {cwd} does not exist"));
            }
            Err(e) => return Err(format!("cwd {cwd}: {e}")),
        }
        command.current_dir(cwd);
    }
    let stdin = spec.stdin.as_ref().map(|stdin| match stdin {
        Stdin::Text(text) => substitute(text).into_bytes(),
        Stdin::Bytes(bytes) => bytes.clone(),
    });
    let program = Program::start(command, argv.join(" "), ready, spec.stop_grace, stdin)?;
    Ok((program, pem))
}

/// Ends a program and keeps its record (the PEM folder goes after it, once it is gone).
fn finish(program: Program, pem: PemFolder, deadline: Instant, grace: Duration) -> ExternalRecord {
    let mut record = program.finish(deadline);
    record.grace = grace;
    drop(pem);
    record
}

/// How many ports a server program is started on before its "address in use" counts.
const PORT_ATTEMPTS: u32 = 3;

/// Whether a program that exited before it was ready said its port was taken (the words of
/// EADDRINUSE in C's strerror, Python's OSError and Go's net package).
fn lost_the_port(record: &ExternalRecord) -> bool {
    let said = format!("{}{}", record.stdout, record.stderr).to_ascii_lowercase();
    record.exit.is_some() && !record.killed && said.contains("address already in use")
}

/// The ports handed to the server programs of trials still running. The kernel can give a
/// port that was just let go to the next trial before the first trial's program has bound
/// it; a program that binds with `SO_REUSEPORT` (HAProxy does) then shares it with the other
/// trial's without an error, and each gets some of the other's connections (CI: a TLS trial's
/// client answered by the plain-TCP trial's HAProxy).
static LEASED_PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port leased to one trial's program until the trial ends.
struct PortLease(u16);

impl Drop for PortLease {
    fn drop(&mut self) {
        leased_ports().remove(&self.0);
    }
}

fn leased_ports() -> std::sync::MutexGuard<'static, BTreeSet<u16>> {
    LEASED_PORTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A free loopback port no other trial of this run holds: bound, read, released. Another
/// process could take it before the program binds it: [`lost_the_port`] tells, and the
/// program is started again elsewhere.
fn free_port() -> Result<PortLease, String> {
    // A port another trial holds stays bound here until one is found, so that the kernel
    // offers another.
    let mut passed_over = Vec::new();
    loop {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| format!("finding a free port: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        if leased_ports().insert(port) {
            return Ok(PortLease(port));
        }
        passed_over.push(listener);
    }
}

fn endpoint(
    transport: TransportKind,
    configs: impl FnOnce() -> Result<TlsConfigs, connectable::Error>,
) -> Result<Endpoint, String> {
    match transport {
        TransportKind::Tls => configs()
            .map(|configs| Endpoint {
                tls: Some(configs),
                ..Endpoint::tcp()
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

/// Our side of a pairing with an external peer: `count` connections, one after another
/// (one unless the case gives a list), each built by `build(i, host, port)` once the address
/// is known (a script's `{host}` and `{port}` are substituted then).
pub struct Ours<'a> {
    /// How many connections our side makes or accepts, in order.
    pub count: usize,
    /// Builds the `i`th (from 0) for the address our side connects to or listens on.
    pub build: &'a dyn Fn(usize, &str, u16) -> ConnectableProtocol,
}

/// Pairs `ours` (a probe or script, or several in turn) with the external peer `theirs`,
/// which plays the server if `theirs_serves`, and returns our side's records, in order, and
/// the program's.
pub fn pair(
    theirs: &PeerSpec,
    theirs_serves: bool,
    ours: &Ours<'_>,
    setting: &Setting,
) -> Result<(Vec<ConnectableProtocol>, ExternalRecord), String> {
    match (theirs, theirs_serves) {
        (PeerSpec::Command(command), true) => against_server_command(command, ours, setting),
        (PeerSpec::Command(command), false) => against_client_command(command, ours, setting),
        (PeerSpec::Address(address), true) => against_address(address, ours, setting),
        _ => Err("an external peer is a command, or an address for the server".into()),
    }
}

/// Our connections as clients of `address`, one after another, all within `deadline`; the
/// first error stops them.
fn connect_each(
    ours: &Ours<'_>,
    reactor: &dyn Reactor,
    endpoint: &Endpoint,
    (host, address): (&str, SocketAddr),
    deadline: Instant,
) -> Result<Vec<ConnectableProtocol>, String> {
    let mut done = Vec::with_capacity(ours.count);
    for i in 0..ours.count {
        let left = deadline.saturating_duration_since(Instant::now());
        let client = (ours.build)(i, host, address.port());
        let client = connectable::run_client(reactor, endpoint, address, client, left)
            .map_err(|e| e.to_string())?;
        done.push(client);
    }
    Ok(done)
}

/// Our probe as client, against a server program started for the trial.
fn against_server_command(
    spec: &CommandSpec,
    ours: &Ours<'_>,
    setting: &Setting,
) -> Result<(Vec<ConnectableProtocol>, ExternalRecord), String> {
    let deadline = Instant::now() + setting.timeout;
    let endpoint = endpoint(setting.transport, || {
        TlsConfigs::for_profile(setting.profile)
    })?;
    let mut attempt = 1;
    let (server, pem, lease) = loop {
        let lease = free_port()?;
        let port = lease.0;
        let (mut server, pem) = start(spec, port, setting, spec.ready.as_deref())?;
        let Err(why) = server.wait_ready(port, spec.ready.is_some(), deadline) else {
            break (server, pem, lease);
        };
        let record = finish(server, pem, Instant::now(), spec.stop_grace);
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
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, lease.0));
    let clients = connect_each(
        ours,
        setting.reactor,
        &endpoint,
        ("127.0.0.1", address),
        deadline,
    );
    let record = finish(server, pem, deadline, spec.stop_grace);
    // The port goes back only once the program has been stopped.
    drop(lease);
    Ok((clients?, record))
}

/// Our probe as server, against a client program started for the trial: it accepts the
/// program's connections on one listener, one after another.
fn against_client_command(
    spec: &CommandSpec,
    ours: &Ours<'_>,
    setting: &Setting,
) -> Result<(Vec<ConnectableProtocol>, ExternalRecord), String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("binding 127.0.0.1:0: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("reading the listener's address: {e}"))?
        .port();
    let endpoint = endpoint(setting.transport, || {
        TlsConfigs::for_profile(setting.profile)
    })?;
    let deadline = Instant::now() + setting.timeout;
    let (client, pem) = start(spec, port, setting, None)?;
    let mut listener = Some(listener);
    let mut servers = Ok(Vec::with_capacity(ours.count));
    for i in 0..ours.count {
        let left = deadline.saturating_duration_since(Instant::now());
        // The last connection takes the listener itself, the others a copy of it: the
        // program's next connection waits in the same backlog meanwhile.
        let this_listener = match listener.take() {
            Some(last) if i + 1 == ours.count => Ok(last),
            Some(kept) => {
                let copy = kept.try_clone();
                listener = Some(kept);
                copy.map_err(|e| format!("sharing the listener: {e}"))
            }
            None => Err("the listener is gone".to_owned()),
        };
        let server = (ours.build)(i, "127.0.0.1", port);
        let accepted = this_listener.and_then(|this_listener| {
            connectable::run_server(setting.reactor, &endpoint, this_listener, server, left)
                .map_err(|e| e.to_string())
        });
        match (accepted, &mut servers) {
            (Ok(server), Ok(done)) => done.push(server),
            (Err(why), _) => {
                servers = Err(why);
                break;
            }
            (Ok(_), Err(_)) => break,
        }
    }
    drop(listener);
    let record = finish(client, pem, deadline, spec.stop_grace);
    Ok((servers?, record))
}

/// Our probe as client, against a server that is already running.
fn against_address(
    spec: &AddressSpec,
    ours: &Ours<'_>,
    setting: &Setting,
) -> Result<(Vec<ConnectableProtocol>, ExternalRecord), String> {
    let deadline = Instant::now() + setting.timeout;
    let address = spec
        .address
        .to_socket_addrs()
        .map_err(|e| format!("resolving {:?}: {e}", spec.address))?
        .next()
        .ok_or_else(|| format!("{:?} resolves to no address", spec.address))?;
    let endpoint = endpoint(setting.transport, || {
        let ca = match &spec.ca {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| connectable::Error::Pki(format!("reading {path}: {e}")))?,
            ),
            None => None,
        };
        TlsConfigs::for_external_server(
            setting.profile,
            spec.server_name
                .as_deref()
                .unwrap_or(connectable::pki::SERVER_NAME),
            ca.as_deref(),
        )
    })?;
    // `{host}` in a script is the host as the suite wrote it.
    let host = spec
        .address
        .rsplit_once(':')
        .map_or(spec.address.as_str(), |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let clients = connect_each(ours, setting.reactor, &endpoint, (host, address), deadline)?;
    let record = ExternalRecord {
        shown: format!("server at {address}"),
        ..ExternalRecord::default()
    };
    Ok((clients, record))
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

    /// Ports leased at once are all different, each held in the run's set, and each given
    /// back when its trial lets it go.
    #[test]
    fn a_port_is_leased_to_one_trial_at_a_time() {
        let leases: Vec<PortLease> = (0..50).map(|_| free_port().expect("a port")).collect();
        let ports: BTreeSet<u16> = leases.iter().map(|lease| lease.0).collect();
        assert_eq!(ports.len(), leases.len(), "a port leased twice: {ports:?}");
        assert!(ports.iter().all(|port| leased_ports().contains(port)));
        drop(leases);
        let held = leased_ports();
        assert!(ports.iter().all(|port| !held.contains(port)), "{held:?}");
    }

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
