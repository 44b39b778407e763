//! `--report DIR/index.html`: the matrix at a glance, after quic-interop-runner's result grid
//! and Autobahn's report. One table per suite, a row per case and a column per transport x
//! reactor x delivery, each cell coloured by outcome and linking to its trace file; what did
//! not pass comes first, with its failure message one click away.
//!
//! The page is self-contained (styles and script inline, no network), so it can be opened
//! from a CI artifact or a laptop alike, and reads without its script: the script only adds
//! the "show only what did not pass" switch and counts the cells it shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use connectable::Delivery;

use crate::outcome::{Outcome, Summary, TrialRecord};
use crate::suite::TransportKind;

/// Writes `index.html` into `dir`.
pub fn write(dir: &Path, seed: u64, repeat: u32, trials: &[TrialRecord]) -> Result<(), String> {
    let path = dir.join("index.html");
    std::fs::write(&path, page(seed, repeat, trials))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
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

/// The page for these trials.
pub fn page(seed: u64, repeat: u32, trials: &[TrialRecord]) -> String {
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
    problems(&mut out, trials);

    let mut suites: BTreeMap<&str, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials {
        suites.entry(&trial.suite).or_default().push(trial);
    }
    let mut suites: Vec<(&str, Vec<&TrialRecord>)> = suites.into_iter().collect();
    // Suites with something wrong first; the map already put them in name order.
    suites.sort_by_key(|(_, trials)| !trials.iter().any(|t| t.outcome.is_failure()));
    for (name, trials) in &suites {
        suite_table(&mut out, name, trials);
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
            .map_or_else(String::new, |p| format!(": {}", escape(p)));
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

/// One (transport, reactor, delivery) column, ordered as the suites document them.
type Column<'a> = ((usize, &'a str), (usize, &'a str), (usize, &'a str));

fn column(trial: &TrialRecord) -> Column<'_> {
    let transport = TransportKind::from_word(&trial.transport)
        .and_then(|t| TransportKind::ALL.iter().position(|k| *k == t))
        .unwrap_or(usize::MAX);
    let reactor = connectable::reactor::builtin()
        .iter()
        .position(|r| r.name() == trial.reactor)
        .unwrap_or(usize::MAX);
    let delivery = Delivery::ALL
        .iter()
        .position(|d| d.word() == trial.delivery)
        .unwrap_or(usize::MAX);
    (
        (transport, &trial.transport),
        (reactor, &trial.reactor),
        (delivery, &trial.delivery),
    )
}

fn suite_table(out: &mut String, name: &str, trials: &[&TrialRecord]) {
    let summary = Summary::of(trials.iter().copied());
    let mut columns: Vec<Column<'_>> = trials.iter().map(|t| column(t)).collect();
    columns.sort_unstable();
    columns.dedup();

    // Rows: cases that did not pass first, then in file order (their line in the file).
    let mut cases: BTreeMap<&str, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials {
        cases.entry(&trial.case).or_default().push(trial);
    }
    let mut rows: Vec<(&str, Vec<&TrialRecord>)> = cases.into_iter().collect();
    rows.sort_by_key(|(_, trials)| {
        let bad = trials.iter().any(|t| t.outcome.is_failure());
        (!bad, line_of(&trials[0].location))
    });

    let _ = writeln!(
        out,
        "<h2 id=\"suite-{0}\">{0} <span class=\"summary\" {1}>{2}</span></h2>",
        escape(name),
        data_counts(&summary),
        escape(&summary.to_string())
    );
    let _ = writeln!(
        out,
        "<table class=\"grid\" data-suite=\"{}\">\n<thead>",
        escape(name)
    );
    // Three header rows: transport, reactor, delivery, each spanning the columns under it.
    for level in 0..3 {
        out.push_str("<tr>");
        if level == 0 {
            out.push_str("<th rowspan=\"3\" class=\"case\">case</th>");
        }
        fn key<'a>(c: &Column<'a>, level: usize) -> Vec<&'a str> {
            [c.0.1, c.1.1, c.2.1][..=level].to_vec()
        }
        let mut i = 0;
        while i < columns.len() {
            let span = columns[i..]
                .iter()
                .take_while(|c| key(c, level) == key(&columns[i], level))
                .count();
            let label = key(&columns[i], level).last().copied().unwrap_or_default();
            let _ = write!(
                out,
                "<th colspan=\"{span}\" class=\"level{level}\">{}</th>",
                escape(label)
            );
            i += span;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</thead>\n<tbody>\n");
    for (case, trials) in rows {
        let bad = trials.iter().any(|t| t.outcome.is_failure());
        let _ = write!(
            out,
            "<tr class=\"{}\"><th class=\"case\" title=\"{}\">{}</th>",
            if bad { "row bad" } else { "row" },
            escape(&trials[0].location),
            escape(case)
        );
        for column_ in &columns {
            match trials.iter().find(|t| column(t) == *column_) {
                Some(trial) => {
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
                        Some(path) => {
                            format!("<a href=\"{}\">{}</a>", escape(path), symbol(trial.outcome))
                        }
                        None => symbol(trial.outcome).to_owned(),
                    };
                    let _ = write!(
                        out,
                        "<td class=\"cell {}\" title=\"{}\">{inner}{mark}</td>",
                        trial.outcome.word(),
                        escape(&title)
                    );
                }
                None => out.push_str("<td class=\"none\"></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn line_of(location: &str) -> usize {
    location
        .rsplit(':')
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX)
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
Columns are transport, reactor and delivery; a cell links to its trace.</p>\n";

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
";

/// Counts the cells it shows, so the page says what it displays, and toggles the filter.
const SCRIPT: &str = "
(function () {
  var words = ['passed', 'failed', 'skipped', 'expected-failure', 'unexpected-pass'];
  function count() {
    var shown = {};
    words.forEach(function (w) {
      shown[w] = Array.prototype.filter.call(document.querySelectorAll('td.cell.' + w),
        function (cell) { return cell.offsetParent !== null; }).length;
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
            transport: parts[2].into(),
            reactor: parts[3].into(),
            delivery: parts[4].into(),
            location: format!("suites/{}.toml:{line}:1", parts[0]),
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
        let page = page(7, 1, &trials);
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
        // Text from the run is escaped, never markup.
        assert!(page.contains("server &lt;reason&gt;: expected done"));
        assert!(!page.contains("<reason>"));
        // Self-contained: nothing is fetched.
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
    }
}
