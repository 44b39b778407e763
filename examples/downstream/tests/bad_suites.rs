//! A mistake in a suite that names this crate's probe gets the same located error, with its
//! did-you-mean and the valid choices, as one naming a built-in probe.

use std::path::Path;

/// Loads `peer` as the server of a one-case suite, with the built-in probes and `kv-store`,
/// and compares the problems found.
#[track_caller]
fn check(server: &str, expected: &[&str]) {
    let text =
        format!("[[case]]\nname = \"x\"\nabout = \"a\"\nserver = {server}\nclient = \"idle\"\n");
    let mut catalogue = protocols::catalogue();
    catalogue.add(downstream::ENTRY);
    let reactors: Vec<&str> = connectable::reactor::builtin()
        .iter()
        .map(|r| r.name())
        .collect();
    let found: Vec<String> = match conformance::load::load_str(
        Path::new("kv.toml"),
        &text,
        &catalogue,
        &reactors,
    ) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(found, expected, "server = {server}");
}

#[test]
#[rustfmt::skip]
fn a_wrong_argument_is_located_with_the_valid_choices() {
    let probes = {
        let mut names = protocols::catalogue().names();
        names.push("kv-store");
        names.join(", ")
    };
    check(r#"{ probe = "kv-store", max_lin = 8 }"#, &[
        r#"kv.toml:4:32: case "x": unknown argument "max_lin" for probe "kv-store"; did you mean "max_line"? (probe "kv-store" takes: greeting, max_line)"#,
    ]);
    check(r#"{ probe = "kv-store", max_line = "8" }"#, &[
        r#"kv.toml:4:43: case "x": server.max_line: expected an integer, found a string"#,
    ]);
    check(r#"{ probe = "kv-store", max_line = 65537 }"#, &[
        r#"kv.toml:4:43: case "x": server.max_line: at most 65536, not 65537"#,
    ]);
    check(r#"{ probe = "kv-store", max_line = -1 }"#, &[
        r#"kv.toml:4:43: case "x": server: probe "kv-store": invalid value: integer `-1`, expected u64"#,
    ]);
    check(r#""kv-stor""#, &[
        &format!(r#"kv.toml:4:10: case "x": unknown probe "kv-stor"; did you mean "kv-store"? (valid: {probes})"#),
    ]);
    check(r#"{ probe = "kv-store", greeting = "hi", max_line = 64 }"#, &[]);
}
