//! Against an external program, our side writes as its delivery mode reads: what a real
//! server reads is split too.
//!
//! Each row is a case for one delivery mode, run through the real `conformance` binary on
//! every reactor over TCP: our scripted client sends 16 KiB and closes; the server is a
//! python3 program that records the size of each of its reads and prints how many there
//! were, checked with `stdout_regex`. One write of 16 KiB over loopback is one read (whole);
//! sixteen thousand one-byte writes cannot all arrive before a reader that is woken by the
//! first is scheduled (bytewise), so it reads several times; chunked pieces are few and may
//! well arrive together, so only their total is checked here (their sizes are checked
//! without sockets in connectable's `split_writes_follow_the_delivery_mode`).

#![cfg(target_os = "linux")]

use std::process::Command;

/// Listens on the port it is given, reads one connection to its end, then prints how many
/// reads it took and how many bytes came. (No braces: a command's `{...}` is a placeholder.)
const READER: &str = r#"
import socket, sys
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
conn, _ = server.accept()
sizes = []
while True:
    chunk = conn.recv(1 << 20)
    if not chunk:
        break
    sizes.append(len(chunk))
conn.close()
sys.stdout.write("reads=%d total=%d" % (len(sizes), sum(sizes)))
sys.stdout.flush()
"#;

#[test]
fn our_writes_are_split_as_our_reads_against_external_programs() {
    // Rows: the delivery mode, and what the reader must print.
    let rows = [
        ("whole", "^reads=1 total=16384$"),
        ("bytewise", "^reads=([2-9]|[1-9][0-9]+) total=16384$"),
        ("chunked", "^reads=[1-9][0-9]* total=16384$"),
    ];
    let mut suite = String::new();
    for (delivery, printed) in rows {
        suite.push_str(&format!(
            r#"
[[case]]
name = "reads_{delivery}"
about = "the reader's reads of 16 KiB sent {delivery}"
transports = ["tcp"]
delivery = ["{delivery}"]
server = {{ command = ["python3", "-c", '''{READER}''', "{{port}}"] }}
client = {{ script = [ {{ send_size = 16384 }}, {{ close = true }} ] }}
expect.client = {{ reason = "done" }}
expect.server = {{ exit = 0, stdout_regex = "{printed}" }}
"#
        ));
    }
    let dir = std::env::temp_dir().join(format!("external-writes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a fresh folder");
    std::fs::write(dir.join("reads.toml"), suite).expect("writing the suite");
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--suites")
        .arg(&dir)
        .args(["--seed", "1", "--test-threads", "1"])
        .output()
        .expect("running conformance");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "{said}");
    let reactors = connectable::reactor::builtin().len();
    let trials = rows.len() * reactors;
    assert!(
        said.contains(&format!("{trials} passed")),
        "every trial ran and passed: {said}"
    );
}
