//! Where reports go, and the rule that keeps the user's files safe: the runner writes and
//! replaces only what it wrote itself.
//!
//! A report folder (`--report DIR`) is written whole into a sibling folder first
//! (`.DIR.conformance-new-PID`: trace files as trials end, then `results.json`, `index.html`
//! and the marker) and swapped in at the end with one rename, so an interrupted run never
//! leaves a page that links to missing traces, and never half-replaces an earlier report.
//! The marker, [`MARKER`], lists every file the report holds; a folder is replaced only if
//! it is empty or everything in it is listed by its marker, and otherwise refused (naming
//! what is not ours) before any trial runs. A JUnit file is replaced only if it is one this
//! runner wrote (it carries [`JUNIT_MARK`]), and is written to a sibling and renamed too.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use super::json::TRACES;

/// The file in a report folder that says the runner wrote it, and what it wrote: its first
/// line is [`MARKER_HEADER`], then one relative path per line.
pub const MARKER: &str = ".conformance-report";

/// The first line of [`MARKER`].
pub const MARKER_HEADER: &str =
    "# written by the conformance runner (--report); the next run replaces this folder whole";

/// The comment every JUnit file the runner writes carries, right after the XML declaration:
/// how a later run knows the file is its own to replace.
pub const JUNIT_MARK: &str =
    "<!-- written by the conformance runner (--junit); the next run replaces this file -->";

/// A report folder being written: trials write into [`staging`](Self::staging), and
/// [`finish`](Self::finish) puts it in place of the folder the user named.
#[derive(Debug)]
pub struct ReportFolder {
    /// The folder the user named.
    pub dir: PathBuf,
    /// Where this run writes, beside it, until [`finish`](Self::finish).
    pub staging: PathBuf,
}

/// Checks `dir` for a report and makes the sibling folder this run writes into: refused if
/// `dir` holds anything an earlier report did not write, or if its parent cannot be written.
pub fn prepare(dir: &Path) -> Result<ReportFolder, String> {
    check_folder(dir)?;
    let staging = sibling(dir, "new")?;
    remove_abandoned(&staging);
    make_staging(dir, staging)
}

/// Removes the staging folders of earlier runs for the same report that were killed before
/// they finished (their process is gone, by `/proc`): hidden folders of ours, which would
/// otherwise pile up. Where there is no `/proc`, nothing is removed.
fn remove_abandoned(staging: &Path) {
    let Some(name) = staging
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
    else {
        return;
    };
    let Some(prefix) = name
        .rsplit_once('-')
        .map(|(prefix, _pid)| format!("{prefix}-"))
    else {
        return;
    };
    let parent = staging
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = entry_name.strip_prefix(&prefix) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !proc.join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Refuses a report folder that is not a folder, or holds what a report did not write;
/// changes nothing.
pub fn check_folder(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if !matches!(dir.components().next_back(), Some(Component::Normal(_))) {
        return Err(format!(
            "--report {shown}: name the folder (it is replaced whole, so not . or ..)"
        ));
    }
    if dir.exists() {
        if !dir.is_dir() {
            return Err(format!(
                "--report {shown}: is not a folder; give a folder name"
            ));
        }
        let foreign = not_ours(dir).map_err(|e| format!("--report {shown}: {e}"))?;
        if !foreign.is_empty() {
            return Err(format!(
                "--report {shown}: the folder holds {} that a report did not write ({}); it is \
                 left as it is: give an empty or new folder, or an earlier report's",
                if foreign.len() == 1 {
                    "a file"
                } else {
                    "files"
                },
                some_names(&foreign)
            ));
        }
    }
    Ok(())
}

/// Names as a message shows them: the first ten, and how many more.
fn some_names(names: &[String]) -> String {
    const SHOWN: usize = 10;
    if names.len() <= SHOWN {
        return names.join(", ");
    }
    format!(
        "{}, and {} more",
        names[..SHOWN].join(", "),
        names.len() - SHOWN
    )
}

/// Makes the staging folder of a run whose report goes to `dir`.
fn make_staging(dir: &Path, staging: PathBuf) -> Result<ReportFolder, String> {
    let shown = dir.display();
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| format!("--report {shown}: cannot clear {}: {e}", staging.display()))?;
    }
    if let Some(parent) = staging.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("--report {shown}: cannot create {}: {e}", parent.display()))?;
    }
    std::fs::create_dir_all(staging.join(TRACES))
        .map_err(|e| format!("--report {shown}: cannot write beside it ({e})"))?;
    Ok(ReportFolder {
        dir: dir.to_owned(),
        staging,
    })
}

impl ReportFolder {
    /// Writes the marker into the staging folder and puts it in place of the user's folder
    /// (an empty one, an earlier report, or none), with one rename where the system can
    /// exchange two folders atomically.
    pub fn finish(self) -> Result<(), String> {
        let mut listed = vec![MARKER_HEADER.to_owned()];
        listed.extend(
            files_under(&self.staging)
                .map_err(|e| format!("cannot list {}: {e}", self.staging.display()))?,
        );
        listed.push(String::new());
        std::fs::write(self.staging.join(MARKER), listed.join("\n"))
            .map_err(|e| format!("cannot write {}: {e}", self.staging.join(MARKER).display()))?;
        // Checked again: something may have been put there while the trials ran.
        if self.dir.exists() {
            let foreign =
                not_ours(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
            if !foreign.is_empty() {
                return Err(format!(
                    "{} now holds files a report did not write ({}); this run's report is in {}",
                    self.dir.display(),
                    some_names(&foreign),
                    self.staging.display()
                ));
            }
        }
        swap_in(&self.staging, &self.dir)
    }
}

/// What in `dir` an earlier report did not write: everything, without a marker; without
/// one, nothing only if the folder is empty.
fn not_ours(dir: &Path) -> std::io::Result<Vec<String>> {
    let present = files_under(dir)?;
    // A marker that is not ours (another header) is not ours to replace either.
    let listed: Option<Vec<String>> = match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(marker) if marker.lines().next() == Some(MARKER_HEADER) => {
            Some(marker.lines().skip(1).map(str::to_owned).collect())
        }
        _ => None,
    };
    let ours = |path: &String| match &listed {
        Some(listed) => path == MARKER || listed.contains(path),
        None => false,
    };
    let foreign: Vec<String> = present.into_iter().filter(|p| !ours(p)).collect();
    Ok(foreign)
}

/// Every file and folder under `dir`, as relative paths with `/`: the top level, and what
/// is in `traces/` (a report writes nothing deeper; anything deeper is listed by its folder).
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == TRACES && entry.file_type()?.is_dir() {
            for trace in std::fs::read_dir(entry.path())? {
                let trace = trace?;
                let kind = trace.file_type()?;
                let trace_name = trace.file_name().to_string_lossy().into_owned();
                found.push(if kind.is_file() {
                    format!("{TRACES}/{trace_name}")
                } else {
                    format!("{TRACES}/{trace_name}/")
                });
            }
        }
        found.push(name);
    }
    found.sort();
    Ok(found)
}

/// A sibling of `path` for this run: `.NAME.conformance-WHAT-PID`.
fn sibling(path: &Path, what: &str) -> Result<PathBuf, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: give a file or folder name", path.display()))?;
    let mut sibling = OsString::from(".");
    sibling.push(name);
    sibling.push(format!(".conformance-{what}-{}", std::process::id()));
    Ok(path.with_file_name(sibling))
}

/// Puts the folder `new` where `dir` is, and removes what was there.
fn swap_in(new: &Path, dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return std::fs::rename(new, dir)
            .map_err(|e| format!("cannot rename {} to {}: {e}", new.display(), dir.display()));
    }
    exchange(new, dir).map_err(|e| {
        format!(
            "cannot put the report in place of {} (it is in {}): {e}",
            dir.display(),
            new.display()
        )
    })?;
    // `new` now holds the earlier report (or the empty folder), all of it ours.
    std::fs::remove_dir_all(new).map_err(|e| format!("cannot remove {}: {e}", new.display()))
}

/// Swaps two folders in one step (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE).map_err(std::io::Error::from)
}

/// Swaps two folders with two renames, where no atomic exchange is offered.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let old = b.with_file_name(format!(".conformance-old-{}", std::process::id()));
    std::fs::rename(b, &old)?;
    std::fs::rename(a, b)?;
    std::fs::rename(&old, a)
}

/// Refuses a `--junit` path that would lose something: a folder, anything but a regular
/// file (`/dev/stdout`, a FIFO: writing there could block or go astray), a file this runner
/// did not write (binary or not), or a place that cannot be written; checked before any
/// trial runs.
pub fn check_junit(path: &Path) -> Result<(), String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(format!("--junit {shown}: is a folder; give a file name"));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(format!(
                "--junit {shown}: is not a regular file (a device, FIFO or socket, such as \
                 /dev/stdout); give a file name"
            ));
        }
        Ok(_) => {
            let bytes = std::fs::read(path).map_err(|e| format!("--junit {shown}: {e}"))?;
            let text = std::str::from_utf8(&bytes)
                .ok()
                .filter(|t| !t.contains('\0'));
            match text {
                None => {
                    return Err(format!(
                        "--junit {shown}: the file exists and is binary, not a JUnit report \
                         this runner wrote; it is left as it is"
                    ));
                }
                Some(text) if !text.contains(JUNIT_MARK) => {
                    return Err(format!(
                        "--junit {shown}: the file exists and is not a JUnit report this \
                         runner wrote; it is left as it is"
                    ));
                }
                Some(_) => {}
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("--junit {shown}: {e}")),
    }
    // The file is written beside, then renamed: make sure that can be done now.
    let probe = sibling(path, "check")?;
    std::fs::write(&probe, b"").map_err(|e| {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        format!(
            "--junit {shown}: cannot write in {} ({e})",
            folder.map_or_else(|| ".".into(), |p| p.display().to_string())
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes a JUnit file: beside `path`, then renamed over it, so a reader never sees half.
pub fn write_junit(path: &Path, xml: &str) -> Result<(), String> {
    let staging = sibling(path, "new")?;
    std::fs::write(&staging, xml)
        .and_then(|()| std::fs::rename(&staging, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&staging);
            format!("cannot write {}: {e}", path.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder's files (path, and whether the marker lists it), then what is refused.
    type Row<'a> = (&'a [(&'a str, bool)], bool, &'a [&'a str]);

    #[test]
    fn only_what_a_report_wrote_is_replaced() {
        let rows: [Row<'_>; 8] = [
            (&[], false, &[]),
            (&[("index.html", false)], false, &["index.html"]),
            (&[("traces/x", false)], false, &["traces", "traces/x"]),
            (
                &[
                    ("index.html", true),
                    ("results.json", true),
                    ("traces/a.json", true),
                ],
                true,
                &[],
            ),
            (
                &[("index.html", true), ("notes.txt", false)],
                true,
                &["notes.txt"],
            ),
            (
                &[("traces/a.json", true), ("traces/mine.txt", false)],
                true,
                &["traces/mine.txt"],
            ),
            (&[("index.html", false)], true, &["index.html"]),
            (&[(MARKER, false)], false, &[MARKER]),
        ];
        for (index, (files, marker, refused)) in rows.iter().enumerate() {
            let dir = std::env::temp_dir()
                .join(format!("conformance-folder-{}-{index}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join(TRACES)).unwrap();
            if !files.iter().any(|(f, _)| f.starts_with("traces/")) {
                std::fs::remove_dir(dir.join(TRACES)).unwrap();
            }
            let mut listed = vec![MARKER_HEADER.to_owned()];
            for (file, ours) in *files {
                std::fs::write(dir.join(file), "x").unwrap();
                if *ours {
                    listed.push((*file).to_owned());
                    if file.starts_with("traces/") && !listed.contains(&TRACES.to_owned()) {
                        listed.push(TRACES.to_owned());
                    }
                }
            }
            if *marker {
                std::fs::write(dir.join(MARKER), listed.join("\n")).unwrap();
            }
            let found = not_ours(&dir).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            assert_eq!(found, *refused, "{files:?}, marker {marker}");
        }
    }
}
