//! Shims: event loops in other languages certified by the same catalogue (docs/SHIM.md).
//!
//! A shim is a program (`shims/<name>/shim.toml`, [`config`]) that plays both sides of a
//! pairing in its own event loop when asked, one request per line on its stdin, one answer
//! per line on its stdout ([`wire`]). To the runner it is a reactor under its folder's name:
//! the plan gives it cells and decides, from the capabilities its `hello` declared, which of
//! them it skips as not implemented; a trial sends the case's sides as the suite gave them,
//! and turns each side of the answer into the record our reactors produce
//! (`ConnectableProtocol::from_foreign`), so the very same expectations judge it. The runner
//! starts the processes (an invariant: `connectable` never does), keeps one per trial
//! running at once ([`process`]), and replaces one whose answer was not a valid result (it
//! hung, crashed, answered malformed JSON or an impossible trace) or had a side still open
//! at the timeout.

pub mod config;
pub mod process;
pub mod wire;

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use connectable::{ConnectableProtocol, Delivery, ExpectedBytes};

use crate::check::expected_bytes;
use crate::external::files::PemFolder;
use crate::load::{Diagnostic, quote};
use crate::record::Side;
use crate::suite::{Case, Expectation, PeerSpec, TransportKind};

pub use config::{ShimConfig, is_shim_name, load_shims};
pub use process::ShimProcess;
pub use wire::Capabilities;

/// How long a shim may take to answer `hello`.
pub const HELLO_WAIT: Duration = Duration::from_secs(10);

/// How long past a trial's timeout a shim may take to answer before it is taken as hung:
/// the shim stops its pairing at the timeout and answers at once, but a closing side of
/// ours may linger 2 s, and a loaded machine is slow.
pub const ANSWER_GRACE: Duration = Duration::from_secs(3);

/// What a side keeps of what it received, for the reports (every byte is compared).
const RECEIVED_SAMPLE: usize = 64 * 1024;

/// The transports a shim can be asked for: those another process can share.
pub const SHIM_TRANSPORTS: [TransportKind; 4] = [
    TransportKind::Tcp,
    TransportKind::Tcp6,
    TransportKind::Tls,
    TransportKind::Unix,
];

/// A registered shim: what its `shim.toml` says, whether it can run, and its idle processes.
#[derive(Debug)]
pub struct Shim {
    /// Its folder, command and requirements.
    pub config: ShimConfig,
    name: &'static str,
    state: State,
    idle: Mutex<Vec<ShimProcess>>,
    /// Threads stopping a process cut at a timeout and starting its replacement.
    replacing: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Debug)]
enum State {
    /// A program it requires is not on PATH: every trial is skipped with this reason.
    Missing(String),
    /// It could not start or answer `hello`: every trial fails with this message.
    Broken(String),
    /// It answered `hello` with these capabilities.
    Ready(Capabilities),
}

/// Registers every shim in `dirs` (see [`load_shims`]) for this run: each checked for the
/// programs it requires, then started once and asked `hello`, for the plan. `taken`: the
/// reactor names already used.
pub fn register(dirs: &[PathBuf], taken: &[&str]) -> Result<Vec<&'static Shim>, Vec<Diagnostic>> {
    let configs = load_shims(dirs, taken)?;
    Ok(configs.into_iter().map(Shim::register).collect())
}

impl Shim {
    /// Checks what `config` requires, starts one process and asks it `hello`; the shim lives
    /// for the rest of the process (trials refer to it).
    pub fn register(config: ShimConfig) -> &'static Shim {
        let name: &'static str = Box::leak(config.name.clone().into_boxed_str());
        let mut idle = Vec::new();
        let state = match missing_programs(&config) {
            Some(missing) => State::Missing(format!("shim {name} requires {missing}")),
            None => match start(&config) {
                Ok((process, capabilities)) => {
                    idle.push(process);
                    State::Ready(capabilities)
                }
                Err(problem) => State::Broken(problem),
            },
        };
        Box::leak(Box::new(Shim {
            config,
            name,
            state,
            idle: Mutex::new(idle),
            replacing: Mutex::new(Vec::new()),
        }))
    }

    /// Its name: the reactor name in its trials.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What it declared it implements, once it answered `hello`.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        match &self.state {
            State::Ready(capabilities) => Some(capabilities),
            _ => None,
        }
    }

    /// Whether a cell of `case` over `transport` exists for a shim at all: a transport
    /// another process can share, and no external side (a shim plays both sides).
    pub fn applies(case: &Case, transport: TransportKind) -> bool {
        SHIM_TRANSPORTS.contains(&transport)
            && !case.server.is_external()
            && !case.client.is_external()
            // No server at all: the client connects through our reactor's own connect.
            && !case.server.is_unreachable()
    }

    /// Why this shim skips `case` over `transport` with `delivery`, if it does: a program it
    /// requires is missing, or it did not declare something the trial needs.
    pub fn skip(
        &self,
        case: &Case,
        transport: TransportKind,
        delivery: Delivery,
    ) -> Option<String> {
        let capabilities = match &self.state {
            State::Missing(why) => return Some(why.clone()),
            // It runs, and fails with why it is broken.
            State::Broken(_) => return None,
            State::Ready(capabilities) => capabilities,
        };
        let name = self.name;
        let lacks = |what: String| Some(format!("shim {name} does not implement {what}"));
        if !capabilities
            .transports
            .iter()
            .any(|t| t == transport.word())
        {
            return lacks(format!("the transport {}", transport.word()));
        }
        if !capabilities.deliveries.iter().any(|d| d == delivery.word()) {
            return lacks(format!("the delivery {}", delivery.word()));
        }
        for peer in [&case.server, &case.client] {
            match peer {
                PeerSpec::Probe(spec, arguments) => {
                    let Some(known) = capabilities.probes.get(spec.name()) else {
                        return lacks(format!("the probe {}", quote(spec.name())));
                    };
                    if let Some(argument) = arguments.keys().find(|a| !known.contains(a)) {
                        return lacks(format!(
                            "the argument {} of the probe {}",
                            quote(argument),
                            quote(spec.name())
                        ));
                    }
                }
                PeerSpec::Script(script) => {
                    if let Some(step) = script
                        .steps()
                        .iter()
                        .find(|s| !capabilities.steps.iter().any(|k| k == s.word()))
                    {
                        return lacks(format!("the script step {}", quote(step.word())));
                    }
                }
                // `applies` leaves these cases out.
                PeerSpec::Command(_)
                | PeerSpec::Address(_)
                | PeerSpec::Connections(_)
                | PeerSpec::Unreachable(_) => {}
            }
        }
        // What version 1 of the protocol's answer does not carry cannot be checked: the
        // trial is skipped, not failed on a record that could not say.
        for expect in [&case.expect_server, &case.expect_client] {
            let unreported = [
                (expect.tls.is_some(), "tls_version and alpn"),
                (expect.addresses.is_some(), "host and peer"),
                (expect.peer_certificate.is_some(), "peer_certificate"),
            ];
            if let Some((_, keys)) = unreported.iter().find(|(given, _)| *given) {
                return Some(format!(
                    "shim {name}: the shim protocol does not report what {keys} check"
                ));
            }
        }
        if transport.tls() {
            let tls = &case.tls;
            let needed = [
                (
                    tls.client_cert != connectable::pki::ClientCert::None,
                    "client_cert",
                ),
                (tls.require_client_cert, "require_client_cert"),
                (!tls.verify, "verify_false"),
                (
                    tls.versions != connectable::pki::TlsVersions::default(),
                    "versions",
                ),
                (tls.alpn != connectable::pki::Alpn::default(), "alpn"),
            ];
            for (_, feature) in needed.iter().filter(|(needed, _)| *needed) {
                if !capabilities.tls.iter().any(|f| f == feature) {
                    return lacks(format!("the tls feature {feature}"));
                }
            }
        }
        None
    }

    /// Runs one trial of `case` on the shim: a process from the pool (or a new one), the
    /// request, the answer checked and turned into both sides' records. An answer that is not
    /// a valid result is the trial's failure, with the shim's stderr, and its process is
    /// replaced.
    pub fn pair(
        &'static self,
        case: &Case,
        trial: &str,
        transport: TransportKind,
        delivery: Delivery,
    ) -> Result<(Side, Side), String> {
        let name = self.name;
        let capabilities = match &self.state {
            State::Ready(capabilities) => capabilities,
            State::Broken(problem) => return Err(format!("shim {name} is broken: {problem}")),
            State::Missing(why) => return Err(why.clone()),
        };
        let mut process = self.take(capabilities)?;
        // The PEM files, and the UNIX socket path, in a private folder of the run folder,
        // removed when the trial ends.
        let folder = PemFolder::create(case.tls)?;
        let tls = if transport.tls() {
            let pki = connectable::pki::TestPki::get().map_err(|e| e.to_string())?;
            let client = match pki.client(case.tls.client_cert) {
                // The case's own client certificate (the folder's `client-cert.pem` is always
                // the valid one, for command peers' `{client_cert}`).
                Some(client) => Some((
                    folder.add("case-client-cert.pem", client.cert_pem.as_bytes())?,
                    folder.add("case-client-key.pem", client.key_pem.as_bytes())?,
                )),
                None => None,
            };
            Some(wire::TlsFiles {
                cert: folder.path("cert.pem"),
                key: folder.path("key.pem"),
                ca: folder.path("ca.pem"),
                client,
                require_client_cert: case.tls.require_client_cert,
                verify: case.tls.verify,
            })
        } else {
            None
        };
        let unix_path = (transport == TransportKind::Unix).then(|| folder.path("shim.sock"));
        let id = process.next_id();
        let request = wire::PairRequest {
            id,
            trial,
            transport,
            delivery,
            timeout: case.timeout,
            linger: case.linger,
            unix_path,
            tls,
            server: &case.server,
            client: &case.client,
        };
        let wait = case.timeout + ANSWER_GRACE;
        let answer = match process.exchange(&request.to_json(), wait) {
            Ok(answer) => answer,
            Err(trouble) => {
                let log = process.stderr_since_request();
                process.stop();
                let what = if matches!(trouble, process::Trouble::Hung(_)) {
                    "; it was killed, and the next trial starts a new process"
                } else {
                    "; the next trial starts a new process"
                };
                return Err(format!("shim {name} {trouble}{what}{}", shown_log(&log)));
            }
        };
        match wire::read_result(&answer, id, transport.tls()) {
            Ok((server, client)) => {
                // A pairing it had to cut at the timeout may have left something behind in
                // the process: the next trial gets a new one.
                if server.reason.is_none() || client.reason.is_none() {
                    self.replace(process, capabilities);
                } else {
                    self.give_back(process);
                }
                Ok((
                    self.side("server", server, &case.expect_server, delivery)?,
                    self.side("client", client, &case.expect_client, delivery)?,
                ))
            }
            Err(problem) => {
                let log = process.stderr_since_request();
                process.stop();
                Err(format!(
                    "shim {name}: {problem}; the next trial starts a new process{}",
                    shown_log(&log)
                ))
            }
        }
    }

    /// Stops every idle process (at the end of the run), once the replacements under way
    /// have ended.
    pub fn stop_idle(&self) {
        let replacing = std::mem::take(&mut *lock(&self.replacing));
        for thread in replacing {
            // A panic there has nothing left to stop: the process went with the thread.
            let _ = thread.join();
        }
        let idle = std::mem::take(&mut *self.lock_idle());
        idle.into_iter().for_each(ShimProcess::stop);
    }

    /// Stops `process`, which a timeout cut, and starts the next one in the background:
    /// stopping it (its grace) and starting another (an interpreter and its imports, 0.6 s
    /// for Twisted) would otherwise lengthen this trial or the next one by both, after every
    /// trial of a marked difference that waits out its timeout. The new process goes to the
    /// idle ones if its `hello` says what the first one's did; a trial that finds none idle
    /// meanwhile starts its own, as ever.
    fn replace(&'static self, process: ShimProcess, capabilities: &'static Capabilities) {
        let replacement = move || {
            process.stop();
            if let Ok((process, said)) = start(&self.config) {
                if said == *capabilities {
                    self.give_back(process);
                } else {
                    process.stop();
                }
            }
        };
        let mut replacing = lock(&self.replacing);
        replacing.retain(|thread| !thread.is_finished());
        // Without a thread to be had, the process is stopped as the closure is dropped, and
        // the next trial starts one.
        if let Ok(thread) = std::thread::Builder::new()
            .name(format!("shim-{}-replace", self.name))
            .spawn(replacement)
        {
            replacing.push(thread);
        }
    }

    /// One side of a valid answer as the record our reactors make: its events and reason,
    /// then its received bytes through the side's comparison and sample.
    fn side(
        &self,
        role: &str,
        answer: wire::SideAnswer,
        expect: &Expectation,
        delivery: Delivery,
    ) -> Result<Side, String> {
        let side =
            ConnectableProtocol::from_foreign(self.name, delivery, answer.events, answer.reason)
                .keep_received(RECEIVED_SAMPLE);
        let expected = expect.received.as_ref().and_then(expected_bytes);
        let side = match &expected {
            Some(expected) => side.compare_received(expected.clone()),
            None => side,
        };
        match answer.received {
            wire::Received::Whole(bytes) => side.record_foreign_received(&bytes),
            wire::Received::Digest {
                length,
                sha256,
                head,
            } => match expected {
                // Only the count is checked: the head is the sample the reports show.
                None => {
                    side.record_foreign_received(&head);
                    side.count_foreign_received(length - head.len() as u64);
                }
                // The same digest over the same length: the expected bytes are what it
                // received, and they go through the comparison as its bytes would.
                Some(expected) if expected.len() == length && digest(&expected) == sha256 => {
                    feed(&side, &expected);
                }
                Some(expected) => {
                    return Err(format!(
                        "the {role} received {length} bytes, which the shim reported by their \
                         sha256 only, and they are not the {} expected bytes (without the bytes, \
                         where they differ cannot be shown)",
                        expected.len()
                    ));
                }
            },
        }
        Ok(Side::Probe(side))
    }

    /// An idle process, or a new one whose `hello` says what the first one's did.
    fn take(&self, capabilities: &Capabilities) -> Result<ShimProcess, String> {
        if let Some(process) = self.lock_idle().pop() {
            return Ok(process);
        }
        let (process, said) =
            start(&self.config).map_err(|e| format!("shim {}: {e}", self.name))?;
        if said != *capabilities {
            process.stop();
            return Err(format!(
                "shim {}: a new process answered hello differently from the first one",
                self.name
            ));
        }
        Ok(process)
    }

    fn give_back(&self, process: ShimProcess) {
        self.lock_idle().push(process);
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<ShimProcess>> {
        lock(&self.idle)
    }
}

/// What `config` needs and does not find, as the end of the skip reason: the programs it
/// `requires` and its command's program when that is a bare name, not on PATH; its command's
/// program when that is a path (relative to the shim's folder, as a virtual environment's
/// interpreter is), not there. The issue asks for both to skip, not fail: a shim whose
/// program is missing is not installed here, not broken.
fn missing_programs(config: &ShimConfig) -> Option<String> {
    let mut needed: Vec<&str> = config.requires.iter().map(String::as_str).collect();
    let program = config.command.first();
    if let Some(program) = program
        && !program.contains('/')
        && !needed.contains(&program.as_str())
    {
        needed.push(program);
    }
    let off_path: Vec<&str> = needed
        .into_iter()
        .filter(|program| !crate::external::on_path(program))
        .collect();
    let mut missing = Vec::new();
    if !off_path.is_empty() {
        missing.push(format!("{}, not found on PATH", off_path.join(", ")));
    }
    if let Some(program) = program
        && program.contains('/')
        && !config.dir.join(program).is_file()
    {
        missing.push(format!("{program}, not found in {}", config.dir.display()));
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts a process of the shim and asks it `hello`.
fn start(config: &ShimConfig) -> Result<(ShimProcess, Capabilities), String> {
    let mut process = ShimProcess::start(&config.dir, &config.command)
        .map_err(|e| format!("could not start: {e}"))?;
    let id = process.next_id();
    let answer = process.exchange(&wire::hello(id), HELLO_WAIT);
    let capabilities = answer
        .map_err(|trouble| trouble.to_string())
        .and_then(|answer| wire::read_hello(&answer, id));
    match capabilities {
        Ok(capabilities) => Ok((process, capabilities)),
        Err(problem) => {
            let log = process.stderr_since_request();
            process.stop();
            Err(format!("hello: {problem}{}", shown_log(&log)))
        }
    }
}

/// A shim's stderr as a failure message shows it.
fn shown_log(log: &str) -> String {
    if log.trim().is_empty() {
        "; its stderr was empty".to_owned()
    } else {
        format!("; its stderr:\n{}", log.trim_end())
    }
}

/// The SHA-256 of the expected bytes, computed a window at a time.
fn digest(expected: &ExpectedBytes) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for_each_window(expected, |window| context.update(window));
    let mut digest = [0u8; 32];
    digest.copy_from_slice(context.finish().as_ref());
    digest
}

/// Hands the expected bytes to `side` a window at a time.
fn feed(side: &ConnectableProtocol, expected: &ExpectedBytes) {
    for_each_window(expected, |window| side.record_foreign_received(window));
}

fn for_each_window(expected: &ExpectedBytes, mut each: impl FnMut(&[u8])) {
    const WINDOW: u64 = 1 << 20;
    let mut start = 0;
    while start < expected.len() {
        let end = (start + WINDOW).min(expected.len());
        each(&expected.window(start..end));
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shim that answered hello with these capabilities, without a process.
    fn shim() -> Shim {
        let capabilities = Capabilities {
            implementation: "test".into(),
            transports: vec!["tcp".into(), "tls".into()],
            deliveries: vec!["whole".into()],
            probes: [
                ("send".to_owned(), vec!["data".to_owned()]),
                ("echo".to_owned(), vec![]),
            ]
            .into(),
            steps: vec!["send".into(), "close".into()],
            tls: vec!["client_cert".into()],
        };
        Shim {
            config: ShimConfig {
                name: "s".into(),
                dir: PathBuf::from("."),
                command: vec!["true".into()],
                requires: Vec::new(),
            },
            name: "s",
            state: State::Ready(capabilities),
            idle: Mutex::new(Vec::new()),
            replacing: Mutex::new(Vec::new()),
        }
    }

    fn case(keys: &str) -> Case {
        let text = format!("[[case]]\nname = \"c\"\nabout = \"a\"\n{keys}\n");
        let suite = crate::load::load_str(
            std::path::Path::new("t.toml"),
            &text,
            &protocols::catalogue(),
            &["tokio-ct", "s"],
        )
        .unwrap_or_else(|d| panic!("{text}: {d:?}"));
        suite.cases.into_iter().next().expect("one case")
    }

    #[test]
    fn what_a_shim_did_not_declare_is_skipped_with_the_reason() {
        use TransportKind::{Tcp, Tls, Unix};
        let echo_send = "server = \"echo\"\nclient = { probe = \"send\", data = \"x\" }";
        // Rows: the case's keys, the cell's transport and delivery, why it is skipped.
        let rows: &[(&str, TransportKind, Delivery, Option<&str>)] = &[
            (echo_send, Tcp, Delivery::Whole, None),
            (
                echo_send,
                Unix,
                Delivery::Whole,
                Some("shim s does not implement the transport unix"),
            ),
            (
                echo_send,
                Tcp,
                Delivery::Bytewise,
                Some("shim s does not implement the delivery bytewise"),
            ),
            (
                "server = \"closing\"\nclient = \"echo\"",
                Tcp,
                Delivery::Whole,
                Some("shim s does not implement the probe \"closing\""),
            ),
            (
                "server = \"echo\"\nclient = { probe = \"send\", data = \"x\", then = \"close\" }",
                Tcp,
                Delivery::Whole,
                Some("shim s does not implement the argument \"then\" of the probe \"send\""),
            ),
            (
                "server = \"echo\"\nclient = { script = [ { send = \"x\" }, { expect = \"x\" } ] }",
                Tcp,
                Delivery::Whole,
                Some("shim s does not implement the script step \"expect\""),
            ),
            (
                "server = \"echo\"\nclient = { script = [ { send = \"x\" }, { close = true } ] }",
                Tcp,
                Delivery::Whole,
                None,
            ),
            (
                &format!("{echo_send}\ntls = {{ client_cert = \"valid\" }}"),
                Tls,
                Delivery::Whole,
                None,
            ),
            (
                &format!("{echo_send}\ntls = {{ verify = false }}"),
                Tls,
                Delivery::Whole,
                Some("shim s does not implement the tls feature verify_false"),
            ),
            // Over plain TCP the case's TLS profile means nothing.
            (
                &format!("{echo_send}\ntls = {{ verify = false }}"),
                Tcp,
                Delivery::Whole,
                None,
            ),
        ];
        let shim = shim();
        for (keys, transport, delivery, why) in rows {
            let found = shim.skip(&case(keys), *transport, *delivery);
            assert_eq!(
                found.as_deref(),
                *why,
                "{keys} over {transport:?} {delivery:?}"
            );
        }
    }

    /// A shim folder holding `bin/python`, and what `missing_programs` says of each command.
    #[test]
    fn missing_programs_names_what_is_not_there() {
        let dir = std::env::temp_dir().join(format!("shim-missing-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).expect("a temporary folder");
        std::fs::write(dir.join("bin/python"), "").expect("a file in it");
        let check = |command: &[&str], requires: &[&str], expect: Option<String>| {
            let config = ShimConfig {
                name: "s".into(),
                dir: dir.clone(),
                command: command.iter().map(|s| s.to_string()).collect(),
                requires: requires.iter().map(|s| s.to_string()).collect(),
            };
            assert_eq!(
                missing_programs(&config),
                expect,
                "{command:?} {requires:?}"
            );
        };
        let absent = "no-such-program-anywhere";
        check(&["sh", "shim.sh"], &[], None);
        check(&["bin/python", "shim.py"], &["sh"], None);
        check(&[absent], &[], Some(format!("{absent}, not found on PATH")));
        check(
            &["sh"],
            &[absent],
            Some(format!("{absent}, not found on PATH")),
        );
        check(
            &["venv/bin/python", "shim.py"],
            &[],
            Some(format!("venv/bin/python, not found in {}", dir.display())),
        );
        check(
            &["venv/bin/python"],
            &[absent],
            Some(format!(
                "{absent}, not found on PATH; venv/bin/python, not found in {}",
                dir.display()
            )),
        );
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
