//! Bad input through the real program: each malformed suite is written to a folder of its own
//! and checked with `conformance --suites DIR --check`, which must exit with status 2
//! (`conformance::EXIT_BAD_SUITES`) and print exactly the located diagnostic, then the summary.
//! `load.rs`'s unit rows cover the messages in depth; these rows prove that what a user runs
//! shows them and fails the right way, one row per class of mistake.

use std::path::Path;
use std::process::Command;

/// The start of a case whose name and about are fine; rows add the rest.
macro_rules! case {
    ($($rest:expr),* $(,)?) => {
        concat!("[[case]]\nname = \"x\"\nabout = \"a\"\n", $($rest),*)
    };
}

/// Each row: the class of mistake, the suite file, and every diagnostic it must give (as
/// `line:column: message`, after the file's path). An empty list means the file is valid.
const ROWS: &[(&str, &str, &[&str])] = &[
    (
        "a valid suite (the control: the program does not fail every file)",
        case!("server = \"idle\"\nclient = \"idle\"\n"),
        &[],
    ),
    (
        "TOML syntax",
        case!("server = \"idle\nclient = \"idle\"\n"),
        &["4:15: invalid TOML: invalid basic string, expected `\"`"],
    ),
    (
        "unknown key at the top level",
        concat!(
            "defaults.timeout = \"1s\"\ncases = []\n",
            case!("server = \"idle\"\nclient = \"idle\"\n")
        ),
        &["2:1: unknown key \"cases\"; did you mean \"case\"? (valid: defaults, case)"],
    ),
    (
        "unknown key in [defaults]",
        concat!(
            "[defaults]\ntimeuot = \"1s\"\n",
            case!("server = \"idle\"\nclient = \"idle\"\n")
        ),
        &[
            "2:1: defaults: unknown key \"timeuot\"; did you mean \"timeout\"? (valid: transports, reactors, delivery, timeout)",
        ],
    ),
    (
        "unknown key in a case",
        case!("server = \"idle\"\nclient = \"idle\"\nexpected.server = { reason = \"done\" }\n"),
        &[
            "6:1: case \"x\": unknown key \"expected\"; did you mean \"expect\"? (valid: name, about, server, client, transports, reactors, delivery, timeout, skip, xfail, requires, tls, expect)",
        ],
    ),
    (
        "unknown key in tls",
        case!("server = \"idle\"\nclient = \"idle\"\ntls = { server_certificate = \"valid\" }\n"),
        &[
            "6:9: case \"x\": tls: unknown key \"server_certificate\"; did you mean \"server_cert\"? (valid: server_cert, client_cert, require_client_cert, verify)",
        ],
    ),
    (
        "unknown key in expect",
        case!("server = \"idle\"\nclient = \"idle\"\nexpect.clinet = { reason = \"done\" }\n"),
        &[
            "6:8: case \"x\": expect: unknown key \"clinet\"; did you mean \"client\"? (valid: server, client)",
        ],
    ),
    (
        "unknown key in expect.server",
        case!("server = \"idle\"\nclient = \"idle\"\nexpect.server = { recieved = \"x\" }\n"),
        &[
            "6:19: case \"x\": expect.server: unknown key \"recieved\"; did you mean \"received\"? (valid: reason, received, received_hex, received_len, received_generated, events, error, exit, stdout, stderr)",
        ],
    ),
    (
        "unknown key in a command peer",
        case!("server = { command = [\"srv\"], cwdir = \"/\" }\nclient = \"idle\"\n"),
        &[
            "4:31: case \"x\": server: unknown key \"cwdir\"; did you mean \"cwd\"? (valid: command, ready, env, cwd, stop_grace)",
        ],
    ),
    (
        "unknown key in an address peer",
        case!("server = { address = \"127.0.0.1:1\", certs = \"ca.pem\" }\nclient = \"idle\"\n"),
        &["4:37: case \"x\": server: unknown key \"certs\" (valid: address, server_name, ca)"],
    ),
    (
        "unknown probe",
        case!("server = \"echoes\"\nclient = \"idle\"\n"),
        &["4:10: case \"x\": unknown probe \"echoes\"; did you mean \"echo\"? (valid: {probes})"],
    ),
    (
        "probe argument of the wrong type",
        case!("server = { probe = \"accumulate\", close_after = \"10\" }\nclient = \"idle\"\n"),
        &["4:48: case \"x\": server.close_after: expected an integer, found a string"],
    ),
    (
        "unknown probe argument",
        case!("server = \"idle\"\nclient = { probe = \"send\", text = \"x\" }\n"),
        &[
            "5:28: case \"x\": unknown argument \"text\" for probe \"send\" (probe \"send\" takes: data, data_hex, size, then)",
        ],
    ),
    (
        "duplicate case",
        concat!(
            case!("server = \"idle\"\nclient = \"idle\"\n\n"),
            case!("server = \"echo\"\nclient = \"idle\"\n")
        ),
        &["8:8: case \"x\": duplicate name; the first case \"x\" is at line 2"],
    ),
    (
        "bad reason word",
        case!("server = \"idle\"\nclient = \"idle\"\nexpect.server = { reason = \"closed\" }\n"),
        &[
            "6:28: case \"x\": unknown reason \"closed\" (valid: done, lost, aborted, tls, refused, error)",
        ],
    ),
    (
        "bad duration",
        case!("server = \"idle\"\nclient = \"idle\"\ntimeout = \"1.5s\"\n"),
        &[
            "6:11: case \"x\": timeout: bad duration \"1.5s\": write a number and a unit, e.g. \"5s\", \"250ms\"",
        ],
    ),
    (
        "bad hex",
        case!(
            "server = \"idle\"\nclient = \"idle\"\nexpect.server = { received_hex = \"0x0d\" }\n"
        ),
        &[
            "6:34: case \"x\": expect.server.received_hex: bad hex \"0x0d\": write pairs of hex digits, e.g. \"0d0a\"",
        ],
    ),
    (
        "empty matrix: an empty list",
        case!("server = \"idle\"\nclient = \"idle\"\ndelivery = []\n"),
        &["6:12: case \"x\": delivery: empty list; give at least one of: {delivery}"],
    ),
    (
        "empty matrix: no listed reactor drives a listed transport",
        case!(
            "server = \"idle\"\nclient = \"idle\"\n",
            "transports = [\"memory\"]\nreactors = [\"threads\"]\n"
        ),
        &[
            "6:14: case \"x\": empty matrix: none of the reactors (threads) drives any of the transports (memory)",
        ],
    ),
    (
        "script step unknown",
        case!("server = \"echo\"\nclient = { script = [{ send = \"x\" }, { recv = \"x\" }] }\n"),
        &[
            "5:40: case \"x\": client.script: step 2: unknown key \"recv\" (valid: send, send_hex, send_size, expect, expect_hex, expect_size, wait, pause_reading, resume_reading, half_close, close, abort, expect_closed)",
        ],
    ),
    (
        "command not a list",
        case!("server = { command = \"openssl s_server -rev\" }\nclient = \"idle\"\n"),
        &[
            "4:22: case \"x\": server.command: expected a list of texts (the program and its arguments), found a string",
        ],
    ),
    (
        "both received and received_hex",
        case!(
            "server = \"idle\"\nclient = \"idle\"\n",
            "expect.client = { received = \"x\", received_hex = \"78\" }\n"
        ),
        &[
            "6:35: case \"x\": expect.client: give only one of received, received_hex, received_len, received_generated (found received, received_hex)",
        ],
    ),
    (
        "a timeout over an hour",
        case!("server = \"idle\"\nclient = \"idle\"\ntimeout = \"61m\"\n"),
        &[
            "6:11: case \"x\": timeout: bad duration \"61m\": must be at most an hour (\"60m\", \"3600s\")",
        ],
    ),
    (
        "a timeout the clock cannot add",
        concat!(
            "[defaults]\ntimeout = \"9223372036854775807s\"\n",
            case!("server = \"idle\"\nclient = \"idle\"\n")
        ),
        &[
            "2:11: defaults: timeout: bad duration \"9223372036854775807s\": must be at most an hour (\"60m\", \"3600s\")",
        ],
    ),
    (
        "a script wait the clock cannot add",
        case!("server = \"idle\"\nclient = { script = [{ wait = \"18446744073709551615s\" }] }\n"),
        &[
            "5:31: case \"x\": client.script: step 1: wait: bad duration \"18446744073709551615s\": must be at most an hour (\"60m\", \"3600s\")",
        ],
    ),
    (
        "a script size past the bound",
        case!(
            "server = \"idle\"\nclient = { script = [{ send_size = 1073741825 }, { expect_size = 9223372036854775807 }] }\n"
        ),
        &[
            "5:36: case \"x\": client.script: step 1: send_size: at most 1073741824 (1 GiB), not 1073741825",
            "5:66: case \"x\": client.script: step 2: expect_size: at most 1073741824 (1 GiB), not 9223372036854775807",
        ],
    ),
    (
        "probe sizes past the bound",
        case!(
            "server = { probe = \"large-buffer-writer\", size = 1073741825, delay_ms = 3600001 }\nclient = { probe = \"send\", size = 9223372036854775807 }\n"
        ),
        &[
            "4:50: case \"x\": server.size: at most 1073741824 (1 GiB), not 1073741825",
            "4:73: case \"x\": server.delay_ms: at most 3600000 (an hour), not 3600001",
            "5:35: case \"x\": client.size: at most 1073741824 (1 GiB), not 9223372036854775807",
        ],
    ),
    (
        "a received size past the bound",
        case!(
            "server = \"idle\"\nclient = \"idle\"\nexpect.client = { received_len = 4294967297 }\n"
        ),
        &[
            "6:34: case \"x\": expect.client.received_len: at most 4294967296 (4 GiB), not 4294967297",
        ],
    ),
    (
        "a case name past 100 characters",
        concat!(
            "[[case]]\nname = \"",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "\"\nabout = \"a\"\nserver = \"idle\"\nclient = \"idle\"\n"
        ),
        &[
            "2:8: case #1: bad name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...: 101 characters, at most 100",
        ],
    ),
    (
        "a byte order mark does not shift line 1's columns",
        concat!(
            "\u{feff}cases = 1\n",
            case!("server = \"idle\"\nclient = \"idle\"\n")
        ),
        &["1:1: unknown key \"cases\"; did you mean \"case\"? (valid: defaults, case)"],
    ),
];

/// Rows whose file name or bytes are the mistake: the class, the file's name, its bytes, and
/// every diagnostic (one that has no place in the file starts with a space: `path: message`).
const FILE_ROWS: &[(&str, &str, &[u8], &[&str])] = &[
    (
        "a suite file name with a space",
        "a b.toml",
        case!("server = \"idle\"\nclient = \"idle\"\n").as_bytes(),
        &[
            " bad suite file name \"a b\": the name before .toml is the suite's name; use only a-z, 0-9 and _, at most 100 characters",
        ],
    ),
    (
        "a suite file name in capitals",
        "Closing.toml",
        case!("server = \"idle\"\nclient = \"idle\"\n").as_bytes(),
        &[
            " bad suite file name \"Closing\": the name before .toml is the suite's name; use only a-z, 0-9 and _, at most 100 characters",
        ],
    ),
    (
        "a file that is not UTF-8",
        "latin1.toml",
        b"[[case]]\nname = \"x\"\nabout = \"caf\xe9\"\n",
        &["3:13: the suite file is not UTF-8 text: byte 0xe9 (offset 32) is not valid UTF-8"],
    ),
];

/// Runs the program on `text` in a folder of its own and returns what differs from the row.
fn check(index: usize, class: &str, text: &str, expected: &[&str]) -> Option<String> {
    check_file(index, class, "bad.toml", text.as_bytes(), expected)
}

/// Runs the program on a file of this name and bytes in a folder of its own and returns what
/// differs from the row.
fn check_file(
    index: usize,
    class: &str,
    name: &str,
    bytes: &[u8],
    expected: &[&str],
) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let dir = std::env::temp_dir().join(format!(
        "conformance-bad-suites-{}-{index}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temporary folder");
    let file = dir.join(name);
    std::fs::write(&file, bytes).expect("writing the suite");
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--suites")
        .arg(&dir)
        .arg("--check")
        .env_remove("CONFORMANCE_SUITES")
        .output()
        .expect("running the conformance binary");
    let _ = std::fs::remove_dir_all(&dir);

    let status = output.status.code();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown: Vec<&str> = stderr.lines().collect();
    let (want_status, want): (u8, Vec<String>) = if expected.is_empty() {
        (0, Vec::new())
    } else {
        let mut lines: Vec<String> = expected
            .iter()
            .map(|e| format!("{}:{}", file.display(), expand(e)))
            .collect();
        lines.push(format!(
            "error: the suites in {} could not be loaded ({} problem{})",
            dir.display(),
            expected.len(),
            if expected.len() == 1 { "" } else { "s" }
        ));
        (conformance::EXIT_BAD_SUITES, lines)
    };
    (status != Some(i32::from(want_status)) || shown != want).then(|| {
        format!(
            "--- {class}: exit status {status:?}, expected {want_status}\n{text}\
             --- expected on stderr:\n{}\n--- got:\n{stderr}",
            want.join("\n")
        )
    })
}

/// The lists of words that grow with the catalogue, as rows write them.
fn expand(expected: &str) -> String {
    let probes: Vec<&str> = protocols::PROBES.iter().map(|p| p.name).collect();
    let delivery: Vec<&str> = connectable::Delivery::ALL
        .iter()
        .map(|d| d.word())
        .collect();
    expected
        .replace("{probes}", &probes.join(", "))
        .replace("{delivery}", &delivery.join(", "))
}

#[test]
fn every_malformed_suite_fails_with_its_place_and_status_2() {
    assert!(Path::new(env!("CARGO_BIN_EXE_conformance")).is_file());
    let failures: Vec<String> = ROWS
        .iter()
        .enumerate()
        .filter_map(|(index, (class, text, expected))| check(index, class, text, expected))
        .chain(FILE_ROWS.iter().enumerate().filter_map(
            |(index, (class, name, bytes, expected))| {
                check_file(ROWS.len() + index, class, name, bytes, expected)
            },
        ))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
