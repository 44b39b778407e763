//! Against an external program, our side writes as its delivery mode reads: what a real
//! server reads is split too.
//!
//! Each row is a case for one delivery mode, run through the real `conformance` binary on
//! every reactor over TCP: the server is a python3 program that says "go" once it has
//! accepted, records the size of each of its reads and prints how many there were, checked
//! with `stdout_regex`; our scripted client waits for the "go" (so that the reader is already
//! waiting in `recv`, not still starting: the kernel accepts and queues before the program
//! does), sends its bytes and closes. One write of 8 KiB over loopback (less than a socket's
//! first send buffer, so one segment) is one read (whole; 32 KiB in one write may go as two
//! segments, and be read as two); of 32,768 one-byte writes, which take tens of
//! milliseconds, the first wakes the reader, and the rest cannot all be queued before it
//! reads (bytewise), so it reads several times; chunked pieces are few and may well arrive
//! together, so only their total is checked here (their sizes are checked without sockets in
//! connectable's `split_writes_follow_the_delivery_mode`). With the split taken out of
//! `trials.rs`, the bytewise row fails with `reads=1`.

#![cfg(target_os = "linux")]

use std::process::Command;

/// Listens on the port it is given, reads one connection to its end, then prints how many
/// reads it took and how many bytes came. (No braces: a command's `{...}` is a placeholder.)
const READER: &str = r#"
import socket, sys
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
conn, _ = server.accept()
conn.sendall(b"go")
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
    // Rows: the delivery mode, how many bytes our client sends, and what the reader must
    // print.
    let rows = [
        ("whole", 8192, "^reads=1 total=8192$"),
        ("bytewise", 32768, "^reads=([2-9]|[1-9][0-9]+) total=32768$"),
        ("chunked", 32768, "^reads=[1-9][0-9]* total=32768$"),
    ];
    let mut suite = String::new();
    for (delivery, size, printed) in rows {
        suite.push_str(&format!(
            r#"
[[case]]
name = "reads_{delivery}"
about = "the reader's reads of {size} bytes sent {delivery}"
transports = ["tcp"]
delivery = ["{delivery}"]
server = {{ command = ["python3", "-c", '''{READER}''', "{{port}}"] }}
client = {{ script = [ {{ expect = "go" }}, {{ send_size = {size} }}, {{ close = true }} ] }}
expect.client = {{ reason = "done", received = "go" }}
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
