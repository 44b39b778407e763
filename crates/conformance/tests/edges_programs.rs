//! External programs that misbehave, and interrupts, through the real `conformance` binary.
//!
//! Each row writes a suite file into a folder of its own, runs `conformance --suites DIR`
//! with `TMPDIR` pointed at an empty folder, optionally sends it signals once its program
//! has started, and checks the exit status, that the run ended within its bound, what it
//! said, and what it left: no process carrying the row's marker (every program below gets
//! it in its argv, so /proc shows it on each of them and their forks), nothing in `TMPDIR`
//! (the run folder with its PEM files and UNIX sockets) but an earlier run's folder, left
//! as it was, and the suite file as it was written. The programs are small python3 and sh scripts (`PEER` below), the shapes users
//! met: nginx's master and workers, a grandchild in its own session, an orphan of `sh -c`,
//! a server that ignores SIGTERM, a ready text without a newline on stderr, a dual-stack
//! IPv6 listener (bound to loopback, `::ffff:127.0.0.1`: nothing here listens beyond it; the
//! unit rows in `external/ready.rs` cover `[::]` itself).

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The peer programs, one python3 script with a mode per shape. The last argument is always
/// the row's marker, so that every process of the row carries it in its command line.
const PEER: &str = r#"
import os, signal, socket, sys, time

mode, marker = sys.argv[1], sys.argv[-1]
args = sys.argv[2:-1]

def started():
    # Tells the test that this program is up (it waits for this before sending signals);
    # a daemon that cleared its environment cannot, and need not.
    if "EDGE_DIR" in os.environ:
        open(os.path.join(os.environ["EDGE_DIR"], "started.%d" % os.getpid()), "w").close()

def listener(port, family=socket.AF_INET):
    if family == socket.AF_INET6:
        # A dual-stack IPv6 socket, as Node, Go and Java open by default, bound to loopback
        # only (the rules: nothing listens beyond it): IPv4's 127.0.0.1 as IPv6 sees it.
        server = socket.socket(socket.AF_INET6)
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        server.bind(("::ffff:127.0.0.1", port))
        server.listen()
        return server
    return socket.create_server(("127.0.0.1", port))

def echo_one(server):
    conn, _ = server.accept()
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(100)
        if not chunk:
            break
        data += chunk
    conn.sendall(data)
    conn.close()

def forever():
    while True:
        time.sleep(1000)

if mode == "echo":            # serves every connection, never exits by itself
    server = listener(int(args[0]))
    started()
    while True:
        echo_one(server)
elif mode == "echo-once":     # serves one connection, then exits 0
    server = listener(int(args[0]))
    started()
    echo_one(server)
elif mode == "dual":          # an IPv6 socket that IPv4 reaches: it shows in /proc/net/tcp6
    server = listener(int(args[0]), socket.AF_INET6)
    started()
    while True:
        echo_one(server)
elif mode == "ready":         # a ready text on stderr, split in two writes, no newline
    server = listener(int(args[0]))
    sys.stderr.write("RE"); sys.stderr.flush(); time.sleep(0.05)
    sys.stderr.write("ADY to serve"); sys.stderr.flush()
    started()
    while True:
        echo_one(server)
elif mode == "setsid-child":  # a child in its own session holds stdout; the server exits 0
    server = listener(int(args[0]))
    if os.fork() == 0:
        os.setsid()
        started()
        forever()
    echo_one(server)
elif mode == "workers":       # nginx: the master forks workers that share the socket and stdout
    server = listener(int(args[0]))
    for _ in range(2):
        if os.fork() == 0:
            started()
            while True:
                echo_one(server)
    print("master waiting", flush=True)
    forever()
elif mode == "hold":          # accepts and never answers
    server = listener(int(args[0]))
    started()
    held = []
    while True:
        held.append(server.accept())
elif mode == "sleep":
    started()
    forever()
elif mode == "client-twice":  # two connections in turn to our server, a line each
    for line in (b"one\n", b"two\n"):
        conn = socket.create_connection(("127.0.0.1", int(args[0])))
        conn.sendall(line)
        conn.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := conn.recv(100):
            got += chunk
        conn.close()
        sys.stdout.write("echoed " + got.decode())
    sys.stdout.flush()
elif mode == "flood":         # a lot of output, no newline
    block = b"z" * 65536
    for _ in range(int(args[0])):
        sys.stdout.buffer.write(block)
    sys.stdout.flush()
    server = listener(int(args[1]))
    started()
    while True:
        echo_one(server)
"#;

/// A signal the test sends to the runner.
#[derive(Clone, Copy, Debug)]
enum Signal {
    Int,
    Term,
    Hup,
}

impl Signal {
    fn flag(self) -> &'static str {
        match self {
            Signal::Int => "-INT",
            Signal::Term => "-TERM",
            Signal::Hup => "-HUP",
        }
    }
}

/// One situation: the suite (with `{peer}`, `{marker}`, `{test_dir}` and `{big}` filled in by
/// the test; the runner's own placeholders, `{port}`, `{dir}`, ..., are left to it),
/// the runner's extra arguments, the signals sent once a program has started (the second
/// one shortly after the first), then the exit status, the time bound from the start (or
/// from the first signal), what stdout and stderr must say, and what the report's trace
/// files must say.
struct Row {
    name: &'static str,
    suite: &'static str,
    args: &'static [&'static str],
    signals: &'static [Signal],
    exit: i32,
    within: Duration,
    says: &'static [&'static str],
    traces_say: &'static [&'static str],
}

/// Our client: a line out, the same line back, then a clean close.
macro_rules! echo_client {
    () => {
        r#"client = { script = [ { send = "hi\n" }, { expect = "hi\n" }, { close = true } ] }
expect.client = { reason = ["done", "lost"], received = "hi\n" }"#
    };
}

/// A suite's head: one transport, reactor and delivery, so that each row is one trial.
macro_rules! suite {
    ($($rest:expr),* $(,)?) => {
        concat!(
            "[defaults]\ntransports = [\"tcp\"]\nreactors = [\"tokio-ct\"]\ndelivery = [\"whole\"]\n",
            "timeout = \"5s\"\n\n[[case]]\nname = \"edge\"\nabout = \"an edge\"\n",
            $($rest),*
        )
    };
}

/// The three cases an interrupt cuts into: one that finishes first, an external server that
/// holds our client (it ignores SIGTERM, so that stopping it takes the grace), and two probes
/// idling over a UNIX socket; with two test threads the last two are running when the
/// signal comes.
const INTERRUPTED: &str = r#"[defaults]
transports = ["tcp"]
reactors = ["tokio-ct"]
delivery = ["whole"]
timeout = "60s"

[[case]]
name = "a_quick"
about = "finishes before the signal"
timeout = "5s"
server = "echo"
client = { script = [ { send = "hi\n" }, { expect = "hi\n" }, { close = true } ] }
expect.client = { reason = "done", received = "hi\n" }

[[case]]
name = "b_holds"
about = "an external server that holds our client past the signal"
server = { command = ["sh", "-c", "trap '' TERM; exec python3 {peer} hold $0 {marker}", "{port}"], stop_grace = "1s" }
client = "idle"

[[case]]
name = "c_unix"
about = "two probes idling over a UNIX socket past the signal"
transports = ["unix"]
server = "idle"
client = "idle"
"#;

const ROWS: &[Row] = &[
    Row {
        name: "a server that ignores SIGTERM is killed after the grace",
        suite: suite!(
            r#"server = { command = ["sh", "-c", "trap '' TERM; exec python3 {peer} echo $0 {marker}", "{port}"], stop_grace = "200ms" }
expect.server = { exit = "killed" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["killed at the end of the trial (it ignored SIGTERM for 200ms)"],
    },
    Row {
        name: "a grandchild in its own session holding stdout does not hold the trial",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "setsid-child", "{port}", "{marker}"] }
expect.server = { exit = 0 }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["exited with 0; processes it started were still running and were stopped"],
    },
    Row {
        name: "an nginx-style master and its workers all end with the trial",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "workers", "{port}", "{marker}"] }
expect.server = { exit = "killed", stdout = "master waiting" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["stopped at the end of the trial"],
    },
    Row {
        name: "sh -c leaving an orphan, and a daemon in its own session with its output redirected",
        suite: suite!(
            r#"server = { command = ["sh", "-c", "python3 {peer} sleep {marker} & setsid -f python3 {peer} hold 0 {marker} >/dev/null 2>&1 </dev/null; exec python3 {peer} echo-once $0 {marker}", "{port}"] }
expect.server = { exit = 0 }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["processes it started were still running and were stopped"],
    },
    Row {
        name: "a daemon without a marker (env cleared, as nginx's process title overwrites it): its first process exits 0, the daemon serves and is stopped",
        suite: suite!(
            r#"server = { command = ["sh", "-c", "setsid -f env -i python3 {peer} echo $0 {marker} </dev/null >/dev/null 2>&1", "{port}"] }
expect.server = { exit = 0 }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["exited with 0; processes it started were still running and were stopped"],
    },
    Row {
        name: "a ready text without a newline, on stderr, split across writes",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "ready", "{port}", "{marker}"], ready = "READY" }
expect.server = { exit = "killed", stderr = "READY to serve" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["stopped at the end of the trial"],
    },
    Row {
        name: "a dual-stack IPv6 listener is ready (it shows in /proc/net/tcp6 only)",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "dual", "{port}", "{marker}"] }
expect.server = { exit = "killed" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["stopped at the end of the trial"],
    },
    Row {
        name: "output without newlines is bounded, and the truncation said",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "flood", "512", "{port}", "{marker}"] }
expect.server = { exit = "killed", stdout = "not in the output" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 101,
        within: Duration::from_secs(5 + 3),
        says: &[
            "stdout: expected it to contain \"not in the output\"",
            "(output truncated after 65536 bytes)",
        ],
        traces_say: &["\"output_truncated\": true"],
    },
    Row {
        name: "a missing cwd is named",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "echo", "{port}", "{marker}"], cwd = "{test_dir}/no-such-folder" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 101,
        within: Duration::from_secs(5 + 3),
        says: &["no-such-folder does not exist"],
        traces_say: &[],
    },
    Row {
        name: "files, stdin and placeholders reach the program; {{ and }} are braces",
        suite: suite!(
            r#"server = { command = ["sh", "-c", "cat {dir}/conf.txt; cat; test -s {client_cert} && test -s {client_key} && echo client-pem-ok; exec python3 {peer} echo {port} {marker}"], files = { "conf.txt" = "port={port} transport={transport} braces={{ok}} dir={dir}\n" }, stdin = "from stdin {host}\n" }
expect.server = { exit = "killed", stdout_regex = "(?m)^port=[0-9]+ transport=tcp braces=\\{ok\\} dir=/.+/trial-[0-9]+\nfrom stdin 127\\.0\\.0\\.1\nclient-pem-ok$" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["transport=tcp braces={ok}"],
    },
    Row {
        name: "a program that never reads a stdin larger than a pipe does not hold the trial",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "echo", "{port}", "{marker}"], stdin = "{big}" }
expect.server = { exit = "killed" }
"#,
            echo_client!()
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["stopped at the end of the trial"],
    },
    Row {
        name: "several connections to one server: each checked, a failure names its connection",
        suite: suite!(
            r#"server = { command = ["python3", "{peer}", "echo", "{port}", "{marker}"] }
client = [
    { script = [ { send = "one\n" }, { expect = "one\n" }, { abort = true } ] },
    { script = [ { send = "two\n" }, { expect = "two\n" }, { close = true } ] },
]
expect.server = { exit = "killed" }
expect.client = [ { reason = "aborted", received = "one\n" }, { reason = "done", received = "not two\n" } ]
"#
        ),
        args: &[],
        signals: &[],
        exit: 101,
        within: Duration::from_secs(5 + 3),
        says: &[
            r#"client#2 received: expected "not two\n""#,
            r#"client#1: aborted, received "one\n""#,
            "client#2 trace (ms since that connection started)",
        ],
        traces_say: &["\"connection\": 2", "\"kind\": \"connections\""],
    },
    Row {
        name: "our server as a list accepts an external client's connections in order",
        suite: suite!(
            r#"server = [ "echo", "echo" ]
client = { command = ["python3", "{peer}", "client-twice", "{port}", "{marker}"] }
expect.server = [ { received = "one\n" }, { received = "two\n" } ]
expect.client = { exit = 0, stdout = "echoed one\necho" }
"#
        ),
        args: &[],
        signals: &[],
        exit: 0,
        within: Duration::from_secs(5 + 3),
        says: &["1 passed, 0 failed"],
        traces_say: &["echoed two"],
    },
    Row {
        name: "ready on a client is a load error, located",
        suite: suite!(
            r#"server = "echo"
client = { ready = "x", command = ["python3", "{peer}", "sleep", "{marker}"] }
"#
        ),
        args: &[],
        signals: &[],
        exit: 2,
        within: Duration::from_secs(5),
        says: &[
            "edge.toml:11:20: case \"edge\": client.ready: only a server has a ready text",
            "could not be loaded (1 problem)",
        ],
        traces_say: &[],
    },
    Row {
        name: "a stop_grace beyond the bound is a load error, located",
        suite: suite!(
            r#"server = { stop_grace = "1m", command = ["python3", "{peer}", "echo", "{port}", "{marker}"] }
client = "idle"
"#
        ),
        args: &[],
        signals: &[],
        exit: 2,
        within: Duration::from_secs(5),
        says: &["edge.toml:10:25: case \"edge\": server.stop_grace: \"1m\" is too long"],
        traces_say: &[],
    },
    Row {
        name: "SIGINT mid-run: programs and folders gone, reports written, 130",
        suite: INTERRUPTED,
        args: &["--test-threads", "2"],
        signals: &[Signal::Int],
        exit: 130,
        within: Duration::from_secs(1 + 5),
        says: &[
            "conformance: SIGINT: no trial starts now",
            "conformance: interrupted by SIGINT: 1 trial finished, 2 did not",
            "conformance: 1 passed, 0 failed, 2 skipped",
        ],
        traces_say: &["interrupted by SIGINT"],
    },
    Row {
        name: "SIGTERM mid-run: the same, 143",
        suite: INTERRUPTED,
        args: &["--test-threads", "2"],
        signals: &[Signal::Term],
        exit: 143,
        within: Duration::from_secs(1 + 5),
        says: &["conformance: interrupted by SIGTERM: 1 trial finished, 2 did not"],
        traces_say: &["interrupted by SIGTERM"],
    },
    Row {
        name: "SIGHUP mid-run: the same, 129",
        suite: INTERRUPTED,
        args: &["--test-threads", "2"],
        signals: &[Signal::Hup],
        exit: 129,
        within: Duration::from_secs(1 + 5),
        says: &["conformance: interrupted by SIGHUP: 1 trial finished, 2 did not"],
        traces_say: &["interrupted by SIGHUP"],
    },
    Row {
        name: "a second signal exits at once, still ending every program",
        suite: INTERRUPTED,
        args: &["--test-threads", "2"],
        signals: &[Signal::Int, Signal::Int],
        exit: 130,
        // The message tells the paths apart; the bound only says it did not hang.
        within: Duration::from_secs(3),
        says: &["conformance: SIGINT again: stopping every program now and exiting"],
        traces_say: &[],
    },
];

#[test]
fn external_programs_end_with_their_trial_and_interrupts_leave_nothing() {
    let mut failures = Vec::new();
    for (index, row) in ROWS.iter().enumerate() {
        if let Err(why) = check(index, row) {
            failures.push(format!("{}: {why}", row.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn check(index: usize, row: &Row) -> Result<(), String> {
    let dir = fresh_dir(index);
    let marker = format!("edge-marker-{}-{}", std::process::id(), slug(row.name));
    let (suites, tmp, out) = (dir.join("suites"), dir.join("tmp"), dir.join("out"));
    for folder in [&suites, &tmp, &out] {
        std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    }
    // Debris of an earlier run, named as runs named their folders before (by process id
    // alone): a run must neither use it nor remove it.
    let stale = tmp.join(format!("connectable-{}-0", std::process::id()));
    std::fs::create_dir_all(&stale).map_err(|e| e.to_string())?;
    std::fs::write(stale.join("key.pem"), "not ours").map_err(|e| e.to_string())?;
    let peer = dir.join("peer.py");
    std::fs::write(&peer, PEER).map_err(|e| e.to_string())?;
    let suite = row
        .suite
        .replace("{peer}", &peer.display().to_string())
        .replace("{marker}", &marker)
        .replace("{test_dir}", &dir.display().to_string())
        // A stdin larger than a pipe holds: written on a thread of its own.
        .replace("{big}", &"x".repeat(256 * 1024));
    let suite_file = suites.join("edge.toml");
    std::fs::write(&suite_file, &suite).map_err(|e| e.to_string())?;

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--suites")
        .arg(&suites)
        .arg("--junit")
        .arg(out.join("junit.xml"))
        .arg("--report")
        .arg(out.join("report"))
        .args(row.args)
        .env("TMPDIR", &tmp)
        .env("EDGE_DIR", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the runner: {e}"))?;
    let mut clock = started;
    if !row.signals.is_empty() {
        // The programs say when they are up; then the trials that hold are surely running.
        wait_for(Duration::from_secs(20), || {
            std::fs::read_dir(&dir).is_ok_and(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().starts_with("started."))
            })
        })
        .map_err(|()| "no program started within 20 s".to_owned())?;
        std::thread::sleep(Duration::from_millis(500));
        clock = Instant::now();
        for (i, signal) in row.signals.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
            let sent = Command::new("kill")
                .arg(signal.flag())
                .arg(child.id().to_string())
                .status()
                .map_err(|e| e.to_string())?;
            if !sent.success() {
                return Err(format!("kill {} failed", signal.flag()));
            }
        }
    }
    // The runner's output is read on threads, so that a full pipe never stalls it.
    let read = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|s| Box::new(s) as _));
    let stderr = read(child.stderr.take().map(|s| Box::new(s) as _));
    let bound = clock + row.within;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > bound + Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            kill_marked(&marker);
            return Err("the runner hung: killed after the bound plus 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let ended = Instant::now();
    let said = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    let mut problems = Vec::new();
    if status.code() != Some(row.exit) {
        problems.push(format!("exit status {status}, expected {}", row.exit));
    }
    if ended > bound {
        problems.push(format!(
            "took {:?}, more than the bound {:?}",
            ended - clock,
            row.within
        ));
    }
    for words in row.says {
        if !said.contains(words) {
            problems.push(format!("did not say {words:?}"));
        }
    }
    let traces = read_tree(&out.join("report"));
    for words in row.traces_say {
        if !traces.contains(words) {
            problems.push(format!("the report does not say {words:?}"));
        }
    }
    if !row.signals.is_empty() && row.signals.len() == 1 {
        let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap_or_default();
        if !junit.contains("a_quick") {
            problems.push("no JUnit report with the finished trial".into());
        }
        if !out.join("report").join("results.json").is_file() {
            problems.push("no results.json".into());
        }
    }
    // What it left: processes, temporary files, the user's file.
    let left = processes_marked(&marker);
    if !left.is_empty() {
        problems.push(format!("processes left: {left:?}"));
        kill_marked(&marker);
    }
    let debris: Vec<String> = std::fs::read_dir(&tmp)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| Some(name.as_str()) != stale.file_name().and_then(|n| n.to_str()))
                .collect()
        })
        .unwrap_or_default();
    if !debris.is_empty() {
        problems.push(format!("left in TMPDIR: {debris:?}"));
    }
    if std::fs::read_to_string(stale.join("key.pem"))
        .ok()
        .as_deref()
        != Some("not ours")
    {
        problems.push("an earlier run's folder in TMPDIR was removed or changed".into());
    }
    if std::fs::read_to_string(&suite_file).ok().as_deref() != Some(suite.as_str()) {
        problems.push("the suite file changed".into());
    }
    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    } else {
        Err(format!(
            "{}\n--- the runner said ---\n{said}",
            problems.join("\n")
        ))
    }
}

/// Every process whose command line holds `marker`.
fn processes_marked(marker: &str) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // A zombie has an empty command line; one with the marker is still alive.
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            (cmdline.contains(marker) && !zombie).then_some((pid, cmdline))
        })
        .collect()
}

/// Cleans up after a failed row, so that one failure does not leave processes running.
fn kill_marked(marker: &str) {
    for (pid, _) in processes_marked(marker) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
}

fn wait_for(within: Duration, mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(())
}

/// Every file under `dir`, concatenated (the report's trace files and results).
fn read_tree(dir: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return text;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&read_tree(&path));
        } else if let Ok(content) = std::fs::read_to_string(&path) {
            text.push_str(&content);
        }
    }
    text
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A short folder name: UNIX socket paths are made under it, and are limited in length.
fn fresh_dir(index: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edges-{}-{index}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
