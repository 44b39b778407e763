//! `shims/<name>/shim.toml`: a shim's command and the programs it requires, every problem
//! reported with its file, line and column and the valid choices.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::load::{Diagnostic, quote};

/// The keys a `shim.toml` may have.
pub const SHIM_KEYS: &[&str] = &["command", "requires"];

/// The longest shim name: it is a part of every trial name.
pub const NAME_MAX: usize = 40;

/// One registered shim, as its folder and `shim.toml` say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShimConfig {
    /// The folder's name: the reactor name its trials carry.
    pub name: String,
    /// The folder: the command's working directory.
    pub dir: PathBuf,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Programs that must be on PATH.
    pub requires: Vec<String>,
}

/// Every shim in each of `dirs` (each a folder of shim folders, `shims/`), in name order; or
/// every problem found. `taken` are the names already used by reactors.
pub fn load_shims(dirs: &[PathBuf], taken: &[&str]) -> Result<Vec<ShimConfig>, Vec<Diagnostic>> {
    let mut shims: Vec<ShimConfig> = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        let mut folders: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect(),
            Err(error) => {
                problems.push(Diagnostic::whole(
                    dir,
                    format!("cannot read the shims folder: {error}"),
                ));
                continue;
            }
        };
        folders.sort();
        for folder in folders {
            match load_shim(&folder, taken, &shims) {
                Ok(shim) => shims.push(shim),
                Err(mut found) => problems.append(&mut found),
            }
        }
    }
    if problems.is_empty() {
        shims.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(shims)
    } else {
        Err(problems)
    }
}

/// Whether `name` can be a shim's name: `[a-z0-9-]+`, at most [`NAME_MAX`] characters.
pub fn is_shim_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The shim in `folder`: its name checked, its `shim.toml` read.
fn load_shim(
    folder: &Path,
    taken: &[&str],
    earlier: &[ShimConfig],
) -> Result<ShimConfig, Vec<Diagnostic>> {
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = folder.join("shim.toml");
    let mut problems = Vec::new();
    if !is_shim_name(&name) {
        problems.push(Diagnostic::whole(
            folder,
            format!(
                "a shim's folder name is its reactor name: [a-z0-9-]+, at most {NAME_MAX} \
                 characters, not {}",
                quote(&name)
            ),
        ));
    } else if taken.contains(&name.as_str()) {
        problems.push(Diagnostic::whole(
            folder,
            format!(
                "shim {}: the name is a built-in reactor's (taken: {})",
                quote(&name),
                taken.join(", ")
            ),
        ));
    } else if let Some(first) = earlier.iter().find(|s| s.name == name) {
        problems.push(Diagnostic::whole(
            folder,
            format!(
                "shim {}: registered twice (also {})",
                quote(&name),
                first.dir.display()
            ),
        ));
    }
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) => {
            problems.push(Diagnostic::whole(
                &file,
                format!("cannot read the shim's shim.toml: {error}"),
            ));
            return Err(problems);
        }
    };
    match parse(&file, &text) {
        Ok((command, requires)) if problems.is_empty() => Ok(ShimConfig {
            name,
            dir: folder.to_owned(),
            command,
            requires,
        }),
        Ok(_) => Err(problems),
        Err(mut found) => {
            problems.append(&mut found);
            Err(problems)
        }
    }
}

/// The command and the required programs of one `shim.toml`'s text.
pub fn parse(file: &Path, text: &str) -> Result<(Vec<String>, Vec<String>), Vec<Diagnostic>> {
    let at = |offset: usize, message: String| {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        Diagnostic::after(file, &text[..offset], message)
    };
    let table = match DeTable::parse(text) {
        Ok(table) => table,
        Err(error) => {
            let offset = error.span().map_or(0, |s| s.start);
            return Err(vec![at(
                offset,
                format!("not valid TOML: {}", error.message().trim_end()),
            )]);
        }
    };
    let table = table.get_ref();
    let mut problems = Vec::new();
    let mut keys: Vec<_> = table.iter().collect();
    keys.sort_by_key(|(k, _)| k.span().start);
    for (key, _) in &keys {
        let word = key.get_ref().as_ref();
        if !SHIM_KEYS.contains(&word) {
            let close = SHIM_KEYS
                .iter()
                .find(|valid| strsim::jaro_winkler(word, valid) > 0.8)
                .map(|valid| format!("; did you mean {}?", quote(valid)))
                .unwrap_or_default();
            problems.push(at(
                key.span().start,
                format!(
                    "unknown key {}{close} (valid: {})",
                    quote(word),
                    SHIM_KEYS.join(", ")
                ),
            ));
        }
    }
    let texts = |key: &str, problems: &mut Vec<Diagnostic>| -> Option<Vec<String>> {
        let value = table.get(key)?;
        let wanted = format!("{key}: expected a list of non-empty text");
        let DeValue::Array(items) = value.get_ref() else {
            problems.push(at(value.span().start, wanted));
            return None;
        };
        let mut found = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => found.push(s.to_string()),
                _ => problems.push(at(item.span().start, wanted.clone())),
            }
        }
        Some(found)
    };
    let command = texts("command", &mut problems);
    let requires = texts("requires", &mut problems).unwrap_or_default();
    match &command {
        None if table.get("command").is_none() => problems.push(at(
            0,
            "missing key \"command\": the program and its arguments, e.g. command = \
             [\"python3\", \"shim.py\"]"
                .to_owned(),
        )),
        Some(argv) if argv.is_empty() => problems.push(at(
            table.get("command").map_or(0, |v| v.span().start),
            "command: must not be empty".to_owned(),
        )),
        _ => {}
    }
    if problems.is_empty() {
        Ok((command.unwrap_or_default(), requires))
    } else {
        Err(problems)
    }
}
