//! `--report DIR/index.html`: the matrix at a glance, after quic-interop-runner's result grid
//! and Autobahn's report. The page opens on a summary of reactors x transports (pass counts,
//! coloured by the worst outcome under them); then the cases whose outcome differs between
//! reactors (where tokio, asyncio, Twisted and Node part, each marked difference's reason in
//! its cell's title); then one table per suite, a row per case and a
//! column per reactor, whose cell aggregates that reactor's transports and deliveries and
//! opens on click to the full cells, one per trial, coloured by outcome and linking to its
//! trace file. What did not pass comes first, with its failure message one click away.
//!
//! A column per transport x reactor x delivery (54 for the catalogue) fits no screen, and a
//! page of every cell laid out opened slowly; folded cells (`details`, not rendered until
//! opened) keep a suite's row whole on screen and the page quick to open.
//!
//! The page is self-contained (styles and script inline, no network), so it can be opened
//! from a CI artifact or a laptop alike, and reads without its script (`details` opens
//! without one): the script only adds the "show only what did not pass" switch and counts
//! the cells it shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use connectable::Delivery;

use crate::outcome::{Outcome, Summary, TrialRecord};
use crate::suite::TransportKind;

/// `--report DIR`: the matrix page, `index.html`, in the report folder.
pub struct Page {
    /// The (staging) report folder.
    pub dir: std::path::PathBuf,
}

impl super::Reporter for Page {
    fn write(&self, run: &super::Run<'_>) -> Result<(), String> {
        write(&self.dir, run)
    }
}

/// Writes `index.html` into `dir`.
pub fn write(dir: &Path, run: &super::Run<'_>) -> Result<(), String> {
    let path = dir.join("index.html");
    std::fs::write(&path, page(run)).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The symbol a cell shows for an outcome (its colour says the same, for those who can see
/// it).
fn symbol(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "✓",
        Outcome::Failed => "✗",
        Outcome::Skipped => "–",
        Outcome::ExpectedFailure => "x",
        Outcome::UnexpectedPass => "!",
    }
}

/// The page of a run.
pub fn page(run: &super::Run<'_>) -> String {
    let (seed, repeat, trials) = (run.seed, run.repeat, run.records);
    let summary = Summary::of(trials);
    let mut out = String::with_capacity(4096 + trials.len() * 160);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n\
         <title>Conformance report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Conformance report</h1>\n",
        escape(&summary.to_string())
    );
    let _ = writeln!(
        out,
        "<p class=\"totals\" id=\"totals\" {}>{} trials: {}. Chunked delivery seed {seed}{}.</p>",
        data_counts(&summary),
        summary.total(),
        escape(&summary.to_string()),
        if repeat > 1 {
            format!(", {repeat} runs per trial")
        } else {
            String::new()
        }
    );
    out.push_str(LEGEND);
    out.push_str(
        "<p><label><input type=\"checkbox\" id=\"only-problems\"> show only cases that did not \
         pass</label> <span class=\"counted\" id=\"counted\"></span></p>\n",
    );
    summary_matrix(&mut out, trials, run.reactors);
    differences(&mut out, trials, run.reactors);
    problems(&mut out, trials);

    let mut suites: BTreeMap<&str, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials {
        suites.entry(&trial.suite).or_default().push(trial);
    }
    let mut suites: Vec<(&str, Vec<&TrialRecord>)> = suites.into_iter().collect();
    // Suites with something wrong first; the map already put them in name order.
    suites.sort_by_key(|(_, trials)| !trials.iter().any(|t| t.outcome.is_failure()));
    for (name, trials) in &suites {
        suite_table(&mut out, name, trials, run.reactors);
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn data_counts(summary: &Summary) -> String {
    Outcome::ALL
        .iter()
        .map(|o| format!("data-{}=\"{}\"", o.word(), summary.count(*o)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The trials that did not pass, each with its message folded.
fn problems(out: &mut String, trials: &[TrialRecord]) {
    let bad: Vec<&TrialRecord> = trials.iter().filter(|t| t.outcome.is_failure()).collect();
    if bad.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2 id=\"problems\">Did not pass ({})</h2>", bad.len());
    for trial in bad {
        let runs = if trial.runs.len() > 1 {
            format!(
                " ({} of {} runs passed)",
                trial.runs_passed,
                trial.runs.len()
            )
        } else {
            String::new()
        };
        let headline = trial
            .runs
            .iter()
            .find(|r| r.outcome.is_failure())
            .and_then(|r| r.problems.first())
            .map_or_else(String::new, |p| format!(": {}", escape(&p.to_string())));
        let _ = writeln!(
            out,
            "<details class=\"problem {}\"><summary><span class=\"tag\">{}</span> <code>{}</code>{runs}{headline} {}</summary>\n<pre>{}</pre></details>",
            trial.outcome.word(),
            trial.outcome.word(),
            escape(&trial.trial),
            trace_link(trial, "trace"),
            escape(trial.message.as_deref().unwrap_or_default())
        );
    }
}

fn trace_link(trial: &TrialRecord, text: &str) -> String {
    match &trial.trace {
        Some(path) => format!("<a href=\"{}\">{text}</a>", escape(path)),
        None => String::new(),
    }
}

/// One (transport, reactor, delivery) column, ordered as the suites document them (reactors
/// in the order the run lists them).
type Column<'a> = ((usize, &'a str), (usize, &'a str), (usize, &'a str));

fn column<'a>(trial: &'a TrialRecord, reactors: &[&str]) -> Column<'a> {
    let transport = TransportKind::ALL
        .iter()
        .position(|k| *k == trial.transport)
        .unwrap_or(usize::MAX);
    let reactor = reactors
        .iter()
        .position(|r| *r == trial.reactor)
        .unwrap_or(usize::MAX);
    let delivery = Delivery::ALL
        .iter()
        .position(|d| d.word() == trial.delivery.word())
        .unwrap_or(usize::MAX);
    (
        (transport, trial.transport.word()),
        (reactor, &trial.reactor),
        (delivery, trial.delivery.word()),
    )
}

/// The outcome an aggregate is coloured by: the worst among its trials, so that a failure
/// anywhere under it shows.
fn worst<'a>(trials: impl IntoIterator<Item = &'a TrialRecord>) -> Outcome {
    const ORDER: [Outcome; 5] = [
        Outcome::Failed,
        Outcome::UnexpectedPass,
        Outcome::ExpectedFailure,
        Outcome::Passed,
        Outcome::Skipped,
    ];
    let seen: Vec<Outcome> = trials.into_iter().map(|t| t.outcome).collect();
    ORDER
        .into_iter()
        .find(|o| seen.contains(o))
        .unwrap_or(Outcome::Skipped)
}

/// `passed/total` of some trials, and a title with every count.
fn tally(trials: &[&TrialRecord]) -> (String, String) {
    let summary = Summary::of(trials.iter().copied());
    (
        format!("{}/{}", summary.count(Outcome::Passed), trials.len()),
        summary.to_string(),
    )
}

/// The reactors among `trials`, in the order the run lists them (unknown ones last).
fn reactors_of<'a>(trials: &[&'a TrialRecord], reactors: &[&str]) -> Vec<&'a str> {
    let mut seen: Vec<&str> = trials.iter().map(|t| t.reactor.as_str()).collect();
    seen.sort_by_key(|r| {
        (
            reactors.iter().position(|k| k == r).unwrap_or(usize::MAX),
            *r,
        )
    });
    seen.dedup();
    seen
}

/// The summary the page opens on: a row per reactor, a column per transport, each cell the
/// pass count of every trial under it, coloured by the worst of them.
fn summary_matrix(out: &mut String, trials: &[TrialRecord], reactors: &[&str]) {
    let all: Vec<&TrialRecord> = trials.iter().collect();
    let transports: Vec<TransportKind> = TransportKind::ALL
        .into_iter()
        .filter(|k| all.iter().any(|t| t.transport == *k))
        .collect();
    out.push_str("<table class=\"matrix\" id=\"matrix\">\n<thead><tr><th>reactor</th>");
    for transport in &transports {
        let _ = write!(out, "<th>{}</th>", transport.word());
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for reactor in reactors_of(&all, reactors) {
        let _ = write!(out, "<tr><th>{}</th>", escape(reactor));
        for transport in &transports {
            let under: Vec<&TrialRecord> = all
                .iter()
                .copied()
                .filter(|t| t.reactor == reactor && t.transport == *transport)
                .collect();
            if under.is_empty() {
                out.push_str("<td class=\"none\"></td>");
                continue;
            }
            let (count, title) = tally(&under);
            let _ = write!(
                out,
                "<td class=\"sum {}\" title=\"{reactor} over {}: {}\">{count}</td>",
                worst(under.iter().copied()).word(),
                transport.word(),
                escape(&title)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The cases whose outcome differs between reactors: a row per case, a cell per reactor with
/// the worst outcome of its trials and their pass count, the marked difference's reason (the
/// `xfail` why) in the cell's title. A reactor on which every trial of the case was skipped
/// (a shim that does not implement it) shows but does not make a difference. This is the view
/// a person comparing runtimes opens the page for: where tokio, asyncio, Twisted and Node part.
fn differences(out: &mut String, trials: &[TrialRecord], reactors: &[&str]) {
    let mut cases: BTreeMap<(&str, &str), Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials {
        cases
            .entry((&trial.suite, &trial.case))
            .or_default()
            .push(trial);
    }
    let all: Vec<&TrialRecord> = trials.iter().collect();
    let columns = reactors_of(&all, reactors);
    let mut rows = Vec::new();
    for ((suite, case), under) in &cases {
        let mut seen: Vec<Outcome> = columns
            .iter()
            .map(|reactor| under.iter().copied().filter(|t| t.reactor == *reactor))
            .map(worst)
            .filter(|outcome| *outcome != Outcome::Skipped)
            .collect();
        seen.sort_by_key(|o| o.word());
        seen.dedup();
        if seen.len() > 1 {
            rows.push((*suite, *case, under));
        }
    }
    if rows.is_empty() || columns.len() < 2 {
        return;
    }
    let _ = write!(
        out,
        "<h2 id=\"differences\">Where reactors differ ({} cases)</h2>\n\
         <table class=\"grid differences\" id=\"differences-table\">\n<thead><tr>\
         <th class=\"case\">case</th>",
        rows.len()
    );
    for reactor in &columns {
        let _ = write!(out, "<th class=\"level0\">{}</th>", escape(reactor));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (suite, case, under) in rows {
        let _ = write!(
            out,
            "<tr class=\"differs\"><th class=\"case\"><a href=\"#suite-{0}\">{0}</a>::{1}</th>",
            escape(suite),
            escape(case)
        );
        for reactor in &columns {
            let mine: Vec<&TrialRecord> = under
                .iter()
                .copied()
                .filter(|t| t.reactor == *reactor)
                .collect();
            if mine.is_empty() {
                out.push_str("<td class=\"none\"></td>");
                continue;
            }
            let outcome = worst(mine.iter().copied());
            let (count, tally_title) = tally(&mine);
            let why = mine
                .iter()
                .find_map(|t| t.note.as_deref())
                .map_or_else(String::new, |why| format!(": {why}"));
            let _ = write!(
                out,
                "<td class=\"cell {}\" title=\"{reactor}: {}{}\">{} {count}</td>",
                outcome.word(),
                escape(&tally_title),
                escape(&why),
                symbol(outcome)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn suite_table(out: &mut String, name: &str, trials: &[&TrialRecord], reactors: &[&str]) {
    let summary = Summary::of(trials.iter().copied());
    let reactors = reactors_of(trials, reactors);

    // Rows: cases that did not pass first, then in file order (their line in the file).
    let mut cases: BTreeMap<&str, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials {
        cases.entry(&trial.case).or_default().push(trial);
    }
    let mut rows: Vec<(&str, Vec<&TrialRecord>)> = cases.into_iter().collect();
    rows.sort_by_key(|(_, trials)| {
        let bad = trials.iter().any(|t| t.outcome.is_failure());
        (!bad, trials[0].location.line)
    });

    let _ = writeln!(
        out,
        "<h2 id=\"suite-{0}\">{0} <span class=\"summary\" {1}>{2}</span></h2>",
        escape(name),
        data_counts(&summary),
        escape(&summary.to_string())
    );
    let _ = write!(
        out,
        "<table class=\"grid\" data-suite=\"{}\">\n<thead><tr><th class=\"case\">case</th>",
        escape(name)
    );
    for reactor in &reactors {
        let _ = write!(out, "<th class=\"level0\">{}</th>", escape(reactor));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (case, trials) in rows {
        let bad = trials.iter().any(|t| t.outcome.is_failure());
        let _ = write!(
            out,
            "<tr class=\"{}\"><th class=\"case\" title=\"{}\">{}</th>",
            if bad { "row bad" } else { "row" },
            escape(&trials[0].location.to_string()),
            escape(case)
        );
        for reactor in &reactors {
            let under: Vec<&TrialRecord> = trials
                .iter()
                .copied()
                .filter(|t| t.reactor == *reactor)
                .collect();
            if under.is_empty() {
                out.push_str("<td class=\"none\"></td>");
            } else {
                reactor_cell(out, &under, reactors.as_slice());
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// One case on one reactor: the pass count of its transports and deliveries, opening on
/// click to a small grid of the full cells (a row per transport, a column per delivery).
fn reactor_cell(out: &mut String, trials: &[&TrialRecord], reactors: &[&str]) {
    let (count, title) = tally(trials);
    let open = if trials.iter().any(|t| t.outcome.is_failure()) {
        " open"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<td class=\"agg\"><details{open}><summary class=\"{}\" title=\"{}\">{count}</summary>\
         <table class=\"cells\"><tr><th></th>",
        worst(trials.iter().copied()).word(),
        escape(&title)
    );
    let mut columns: Vec<Column<'_>> = trials.iter().map(|t| column(t, reactors)).collect();
    columns.sort_unstable();
    columns.dedup();
    let mut deliveries: Vec<(usize, &str)> = columns.iter().map(|c| c.2).collect();
    deliveries.sort_unstable();
    deliveries.dedup();
    let mut transports: Vec<(usize, &str)> = columns.iter().map(|c| c.0).collect();
    transports.sort_unstable();
    transports.dedup();
    for (_, delivery) in &deliveries {
        let _ = write!(out, "<th>{delivery}</th>");
    }
    out.push_str("</tr>");
    for transport in &transports {
        let _ = write!(out, "<tr><th>{}</th>", transport.1);
        for delivery in &deliveries {
            match trials.iter().find(|t| {
                let c = column(t, reactors);
                c.0 == *transport && c.2 == *delivery
            }) {
                Some(trial) => full_cell(out, trial),
                None => out.push_str("<td class=\"none\"></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></details></td>");
}

/// One trial's cell: its outcome, linked to its trace.
fn full_cell(out: &mut String, trial: &TrialRecord) {
    let runs = if trial.runs.len() > 1 {
        format!(" ({}/{} runs)", trial.runs_passed, trial.runs.len())
    } else {
        String::new()
    };
    let (unverified, mark) = if trial.unverified {
        (" (tls verify = false)", "<sup class=\"unverified\">u</sup>")
    } else {
        ("", "")
    };
    let title = format!(
        "{}: {}{runs}{unverified}",
        trial.trial,
        trial.outcome.word()
    );
    let inner = match &trial.trace {
        Some(path) => format!("<a href=\"{}\">{}</a>", escape(path), symbol(trial.outcome)),
        None => symbol(trial.outcome).to_owned(),
    };
    let _ = write!(
        out,
        "<td class=\"cell {}\" title=\"{}\">{inner}{mark}</td>",
        trial.outcome.word(),
        escape(&title)
    );
}

/// Text made safe inside HTML elements and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const LEGEND: &str = "<p class=\"legend\">\
<span class=\"cell passed\">✓</span> passed \
<span class=\"cell failed\">✗</span> failed \
<span class=\"cell unexpected-pass\">!</span> unexpected pass (marked xfail, but held) \
<span class=\"cell expected-failure\">x</span> expected failure (xfail) \
<span class=\"cell skipped\">–</span> skipped; \
<sup class=\"unverified\">u</sup> over TLS without certificate verification (tls verify = false). \
The summary counts passes per reactor and transport; in a suite, a reactor's cell counts \
the passes over its transports and deliveries, and opens on click to one cell per trial, \
which links to its trace.</p>\n";

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.summary { font-weight: normal; color: #555; font-size: 0.9em; }
table.grid { border-collapse: collapse; margin: 0.5em 0; }
.grid th, .grid td { border: 1px solid #ccc; padding: 1px 4px; text-align: center; }
.grid th.case { text-align: left; font-weight: normal; font-family: ui-monospace, monospace; white-space: nowrap; }
.grid th.level0 { background: #e8e8e8; } .grid th.level1 { background: #f2f2f2; }
.grid th.level2 { font-weight: normal; font-size: 0.8em; }
.cell { display: table-cell; min-width: 1.3em; font-weight: bold; }
span.cell { display: inline-block; padding: 0 4px; border: 1px solid #ccc; }
.cell a { color: inherit; text-decoration: none; display: block; }
.unverified { color: #b35900; font-size: 0.7em; }
.passed { background: #d9f2d9; color: #1b5e20; }
.failed { background: #f8c9c9; color: #8b0000; }
.unexpected-pass { background: #ffd8a8; color: #8a4b00; }
.expected-failure { background: #e3dcf5; color: #4b3a8a; }
.skipped { background: #eee; color: #777; }
td.none { background: repeating-linear-gradient(45deg, #fff, #fff 3px, #f4f4f4 3px, #f4f4f4 6px); }
.counted { color: #666; margin-left: 1em; }
details.problem { margin: 0.3em 0; } details.problem pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 12px; }
.tag { font-weight: bold; } .problem.failed .tag { color: #8b0000; } .problem.unexpected-pass .tag { color: #8a4b00; }
body.only-problems tr.row:not(.bad) { display: none; }
table.matrix { border-collapse: collapse; margin: 0.8em 0; }
.matrix th, .matrix td { border: 1px solid #ccc; padding: 3px 10px; text-align: center; }
.matrix td.sum { font-weight: bold; font-variant-numeric: tabular-nums; }
td.agg { vertical-align: top; text-align: left; }
td.agg summary { cursor: pointer; font-weight: bold; padding: 0 4px; font-variant-numeric: tabular-nums; }
table.cells { border-collapse: collapse; margin: 2px 0; font-size: 0.85em; }
.cells th, .cells td { border: 1px solid #ccc; padding: 0 3px; text-align: center; font-weight: normal; }
";

/// Counts the cells of the rows it shows (folded or not), so the page says what it
/// displays, and toggles the filter.
const SCRIPT: &str = "
(function () {
  var words = ['passed', 'failed', 'skipped', 'expected-failure', 'unexpected-pass'];
  function count() {
    var shown = {};
    words.forEach(function (w) {
      shown[w] = Array.prototype.filter.call(document.querySelectorAll('td.cell.' + w),
        function (cell) { return cell.closest('tr.row').offsetParent !== null; }).length;
    });
    var counted = document.getElementById('counted');
    words.forEach(function (w) { counted.dataset[w.replace(/-(.)/g, function (m, c) { return c.toUpperCase(); })] = shown[w]; });
    counted.textContent = '(showing ' + words.map(function (w) { return shown[w] + ' ' + w; }).join(', ') + ')';
  }
  var box = document.getElementById('only-problems');
  box.addEventListener('change', function () {
    document.body.classList.toggle('only-problems', box.checked);
    count();
  });
  count();
})();
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::RunRecord;

    fn trial(name: &str, outcome: Outcome, line: usize) -> TrialRecord {
        let parts: Vec<&str> = name.split("::").collect();
        TrialRecord {
            trial: name.into(),
            suite: parts[0].into(),
            case: parts[1].into(),
            transport: TransportKind::from_word(parts[2]).expect("a transport word"),
            reactor: parts[3].into(),
            delivery: Delivery::from_word(parts[4]).expect("a delivery word"),
            location: crate::suite::Location {
                path: format!("suites/{}.toml", parts[0]).into(),
                line,
                column: 1,
            },
            outcome,
            duration_ms: 1.0,
            seed: None,
            runs_passed: u32::from(!outcome.is_failure()),
            runs: vec![RunRecord {
                run: 1,
                seed: None,
                outcome,
                duration_ms: 1.0,
                problems: Vec::new(),
            }],
            note: None,
            unverified: name.contains("::tls::"),
            message: Some("server <reason>: expected done".into()),
            trace: Some(format!("traces/{name}.json")),
        }
    }

    #[test]
    fn every_trial_is_one_cell_and_problems_come_first() {
        let trials = [
            trial("a::fine::tcp::tokio-ct::whole", Outcome::Passed, 3),
            trial("a::fine::tls::tokio-ct::whole", Outcome::Passed, 3),
            trial("a::broken::tcp::tokio-ct::whole", Outcome::Failed, 9),
            trial("a::broken::tls::tokio-ct::whole", Outcome::Skipped, 9),
            trial(
                "b::known::tcp::threads::bytewise",
                Outcome::ExpectedFailure,
                2,
            ),
        ];
        let page = page(&crate::report::Run {
            seed: 7,
            repeat: 1,
            records: &trials,
            reactors: &["tokio-ct", "tokio-mt", "threads"],
        });
        for outcome in Outcome::ALL {
            let cells = page
                .matches(&format!("<td class=\"cell {}\"", outcome.word()))
                .count();
            let expected = trials.iter().filter(|t| t.outcome == outcome).count();
            assert_eq!(cells, expected, "{outcome} cells");
        }
        // The failing suite, its failing case, and the problem list come before the rest.
        let at = |text: &str| page.find(text).unwrap_or_else(|| panic!("{text} missing"));
        assert!(at("Did not pass (1)") < at("id=\"suite-a\""));
        assert!(at("id=\"suite-a\"") < at("id=\"suite-b\""));
        assert!(at(">broken</th>") < at(">fine</th>"));
        // A trial without certificate verification is marked, and only those.
        assert_eq!(
            page.matches("<sup class=\"unverified\">u</sup></td>")
                .count(),
            2
        );
        // The summary matrix comes first: reactor x transport pass counts, coloured by the
        // worst outcome under them; then one aggregate per case and reactor, folded unless
        // something under it did not pass.
        let rows: [(&str, bool); 7] = [
            (
                "<td class=\"sum failed\" title=\"tokio-ct over tcp: 1 passed, 1 failed",
                true,
            ),
            (
                "<td class=\"sum passed\" title=\"tokio-ct over tls: 1 passed, 0 failed",
                true,
            ),
            (
                "<td class=\"sum expected-failure\" title=\"threads over tcp",
                true,
            ),
            ("<tr><th>tokio-mt</th>", false),
            (
                "<td class=\"agg\"><details open><summary class=\"failed\" title=\"0 passed, 1 failed, 1 skipped",
                true,
            ),
            (
                "<td class=\"agg\"><details><summary class=\"passed\" title=\"2 passed, 0 failed",
                true,
            ),
            (">2/2</summary>", true),
        ];
        for (text, present) in rows {
            assert_eq!(page.contains(text), present, "{text}");
        }
        assert!(at("id=\"matrix\"") < at("Did not pass (1)"));
        // Text from the run is escaped, never markup.
        assert!(page.contains("server &lt;reason&gt;: expected done"));
        assert!(!page.contains("<reason>"));
        // Self-contained: nothing is fetched.
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
    }

    /// The differences view lists a case when two reactors that ran it disagree, and only
    /// then: a reactor that skipped every trial of the case does not count.
    #[test]
    fn differences_lists_cases_whose_outcome_differs() {
        /// A case, each reactor's outcome on its one trial, and whether the view lists it.
        type Row<'a> = (&'a str, &'a [(&'a str, Outcome)], bool);
        #[rustfmt::skip]
        let rows: [Row<'_>; 5] = [
            ("same",      &[("tokio-ct", Outcome::Passed), ("node", Outcome::Passed)], false),
            ("marked",    &[("tokio-ct", Outcome::Passed), ("node", Outcome::ExpectedFailure)], true),
            ("broken",    &[("tokio-ct", Outcome::Failed), ("twisted", Outcome::Passed)], true),
            ("unshimmed", &[("tokio-ct", Outcome::Passed), ("node", Outcome::Skipped)], false),
            ("alone",     &[("tokio-ct", Outcome::Failed)], false),
        ];
        for (case, cells, listed) in rows {
            let trials: Vec<TrialRecord> = cells
                .iter()
                .map(|(reactor, outcome)| {
                    let mut t = trial(&format!("s::{case}::tcp::{reactor}::whole"), *outcome, 1);
                    t.note =
                        (*outcome == Outcome::ExpectedFailure).then(|| "node's own way".into());
                    t
                })
                .collect();
            let page = page(&crate::report::Run {
                seed: 1,
                repeat: 1,
                records: &trials,
                reactors: &["tokio-ct", "node", "twisted"],
            });
            let row = format!("<a href=\"#suite-s\">s</a>::{case}</th>");
            assert_eq!(page.contains(&row), listed, "{case}");
            assert_eq!(
                page.contains("Where reactors differ (1 cases)"),
                listed,
                "{case}"
            );
            if case == "marked" {
                assert!(page.contains(": node&#39;s own way\">x 0/1</td>"), "{page}");
            }
        }
    }
}
