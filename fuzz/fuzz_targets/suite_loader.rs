//! Arbitrary bytes into the suite loader (`conformance::load::load_str`), as text: it must
//! never panic, and every problem it reports must be placed in the file it was given, at a
//! line and column that exist, in file order; what it accepts is planned
//! (`conformance::plan::plan`, then `conformance::trials::trials`), which must not panic either
//! (the plan's problems, a case whose matrix is empty, are placed as the loader's are). Run it with the suites as seeds and the format's
//! words as a dictionary (from the repository root):
//!
//! ```sh
//! cargo +nightly fuzz run suite_loader fuzz/corpus/suite_loader suites -- \
//!     -dict=fuzz/suite_loader.dict -max_total_time=60
//! ```
//!
//! `-max_len=4096` (the first few cases of each seed) runs about five times as many inputs a
//! minute. A crash found here becomes a row in
//! `crates/conformance/tests/malformed/loader/` once fixed.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 never reaches the loader (reading the file fails first); lossy text keeps
    // every input useful to the fuzzer.
    let text = String::from_utf8_lossy(data);
    let path = Path::new("suites/fuzzed.toml");
    let reactors = conformance::reactors();
    let names: Vec<&str> = reactors.iter().map(|r| r.name()).collect();
    let loaded = conformance::load::load_str(path, &text, &protocols::catalogue(), &names).and_then(|suite| {
        conformance::plan::plan(std::slice::from_ref(&suite), reactors, 7).map(|plan| (suite, plan))
    });
    let diagnostics = match loaded {
        Ok((suite, plan)) => {
            // What loads is planned: expanding it into trials must not panic, and every
            // trial gets a name of its own.
            let session = std::sync::Arc::new(conformance::trials::Session::once());
            let trials = conformance::trials::trials(&plan, &session);
            let names: std::collections::HashSet<&str> = trials.iter().map(|t| t.name()).collect();
            assert_eq!(names.len(), trials.len(), "two trials share a name");
            let cells: usize = suite
                .cases
                .iter()
                .map(|c| conformance::plan::cells(c, reactors, 7).len())
                .sum();
            assert_eq!(cells, trials.len(), "a cell without its trial");
            return;
        }
        Err(diagnostics) => diagnostics,
    };
    assert!(!diagnostics.is_empty(), "rejected without a diagnostic");
    let mut last = (0, 0);
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic.path, path, "{diagnostic}");
        assert!(!diagnostic.message.trim().is_empty(), "{diagnostic:?}");
        let Some((line, column)) = diagnostic.position else {
            assert!(
                diagnostic.message.starts_with("no cases"),
                "unplaced: {diagnostic}"
            );
            last = (usize::MAX, usize::MAX);
            continue;
        };
        let line_text = text
            .split('\n')
            .nth(line - 1)
            .unwrap_or_else(|| panic!("past the last line: {diagnostic}"));
        let width = line_text.chars().count();
        assert!(
            column >= 1 && column <= width + 1,
            "past the end of the line: {diagnostic}"
        );
        assert!((line, column) >= last, "out of file order: {diagnostic}");
        last = (line, column);
    }
});
