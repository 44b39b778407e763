//! Security rules the sources must keep, checked in the sources themselves (as rust-analyzer's
//! tidy tests check theirs): everything listens on loopback only, and certificate verification
//! is switched off in one place, behind a case's `tls = { verify = false }`. A change that
//! breaks a rule fails here with the file and line, before any trial has to notice. Last, the
//! real program shows that the PEM files an external peer gets are private and removed.

use std::path::{Path, PathBuf};

/// The workspace's Rust sources (crates and xtask) and suite files, with their text.
fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = Vec::new();
    let mut folders = vec![root.join("crates"), root.join("xtask"), root.join("suites")];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("reading {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                if path.file_name().is_none_or(|n| n != "target") {
                    folders.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let shown = path.strip_prefix(&root).unwrap_or(&path).to_owned();
                found.push((shown, text));
            }
        }
    }
    found.sort();
    assert!(found.len() > 20, "too few sources under {}", root.display());
    found
}

/// Whether `path` is this file, which names what it forbids.
fn is_this_file(path: &Path) -> bool {
    path.ends_with("tests/security_rules.rs")
}

/// The lines of `text` that are code, not comments, numbered from 1.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

#[test]
fn every_listener_is_on_loopback() {
    let mut problems = Vec::new();
    for (path, text) in sources() {
        if is_this_file(&path) {
            continue;
        }
        for (number, line) in code_lines(&text) {
            for everywhere in ["0.0.0.0", "[::]"] {
                if line.contains(everywhere) {
                    problems.push(format!(
                        "{}:{number}: {everywhere:?}: listen on loopback only",
                        path.display()
                    ));
                }
            }
            let Some(at) = line.find("::bind(") else {
                continue;
            };
            if line[..at].ends_with("UnixListener") {
                continue;
            }
            let argument = line[at + "::bind(".len()..]
                .split(')')
                .next()
                .unwrap_or_default();
            let fine = if argument.contains("LOCALHOST") {
                true
            } else {
                // A variable: its `let` must build it from a loopback address alone.
                let name = argument.trim();
                let definition: String = text
                    .lines()
                    .skip_while(|l| !l.contains(&format!("let {name}")))
                    .take_while(|l| !l.trim_end().ends_with("};"))
                    .collect();
                !name.is_empty()
                    && definition.contains("LOCALHOST")
                    && !definition.contains("UNSPECIFIED")
            };
            if !fine {
                problems.push(format!(
                    "{}:{number}: bind({argument}) is not visibly on loopback",
                    path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn verification_is_off_only_where_a_case_says_verify_false() {
    let pki = Path::new("crates/connectable/src/pki.rs");
    let load = Path::new("crates/conformance/src/load/tls.rs");
    let mut problems = Vec::new();
    let mut dangerous = Vec::new();
    for (path, text) in sources() {
        if is_this_file(&path) || path.extension().is_some_and(|e| e != "rs") {
            continue;
        }
        for (number, line) in code_lines(&text) {
            let place = format!("{}:{number}", path.display());
            if line.contains(".dangerous()") {
                dangerous.push(place.clone());
            }
            for (pattern, allowed) in [
                ("impl ServerCertVerifier for", pki),
                ("impl ClientCertVerifier for", pki),
                (".verify = ", load),
            ] {
                if line.contains(pattern) && path != allowed {
                    problems.push(format!(
                        "{place}: {pattern:?} outside {}",
                        allowed.display()
                    ));
                }
            }
            for forbidden in [
                "set_certificate_verifier",
                "verify: false",
                "pub struct AcceptAny",
            ] {
                if line.contains(forbidden) {
                    problems.push(format!("{place}: {forbidden:?}"));
                }
            }
        }
        if path == pki {
            // The one verifier that accepts anything is built only on the `else` of `verify`.
            let builder = text.split("fn client_builder").nth(1).unwrap_or_default();
            let (guard, rest) = builder.split_once("if verify {").unwrap_or_default();
            if guard.is_empty() || !rest.contains("} else {") {
                problems.push(format!(
                    "{}: client_builder must choose on `if verify {{ ... }} else {{ ... }}`",
                    path.display()
                ));
            }
        }
    }
    if dangerous.len() != 1 || !dangerous[0].starts_with(&pki.display().to_string()) {
        problems.push(format!(
            "rustls' dangerous() must be called once, in {}: found at {dangerous:?}",
            pki.display()
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A suite whose external client reports the modes of its PEM files and their folder, then
/// connects so that the trial ends at once.
const PEM_SUITE: &str = r#"[[case]]
name = "pem_files_are_private"
about = "The external peer's PEM files are 0600 in a 0700 folder."
transports = ["tcp"]
reactors = ["tokio-ct"]
delivery = ["whole"]
requires = ["bash", "stat"]
server = "closing"
client = { command = ["bash", "-c", "stat -c %a {cert} {key} {ca} \"$(dirname {cert})\" && exec 3<>/dev/tcp/{host}/{port}"] }
expect.server = { reason = "done" }
expect.client = { exit = 0, stdout = "600\n600\n600\n700\n" }
"#;

#[cfg(unix)]
#[test]
fn pem_files_for_external_peers_are_private_and_removed() {
    let dir = std::env::temp_dir().join(format!("conformance-pem-suite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    std::fs::write(dir.join("pem.toml"), PEM_SUITE).expect("writing the suite");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--suites")
        .arg(&dir)
        .arg("--exact")
        .arg("pem::pem_files_are_private::tcp::tokio-ct::whole")
        .env_remove("CONFORMANCE_SUITES")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting the conformance binary");
    let pid = child.id();
    let output = child
        .wait_with_output()
        .expect("running the conformance binary");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // external/files.rs names the run folder conformance-PID-...; none may be left (nor a
    // UNIX socket connectable-PID-N.sock).
    let prefixes = [format!("conformance-{pid}-"), format!("connectable-{pid}-")];
    let left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| prefixes.iter().any(|prefix| name.starts_with(prefix)))
        .collect();
    assert!(left.is_empty(), "PEM folders left behind: {left:?}");
}
