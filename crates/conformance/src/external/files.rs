//! The run folder: one private temporary folder per run, holding every trial's PEM folder.
//!
//! Its name is drawn from the clock, the process id and a counter, and it is created with
//! create-new semantics (mode 0700), so a stale folder of an earlier run with the same
//! process id is never reused, written into or removed. It is created on first use and
//! removed at the end of the run, on an interrupt, and on a second signal alike.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use connectable::pki::{TestPki, TlsProfile};

/// The run folder once created; `None` before the first trial needs one and after it was
/// removed (a trial that asks after that gets an error, not a new folder).
static RUN_FOLDER: Mutex<RunFolder> = Mutex::new(RunFolder::NotYet);

enum RunFolder {
    NotYet,
    Created(PathBuf),
    Removed,
}

/// The run folder, created on first use.
fn run_folder() -> Result<PathBuf, String> {
    let mut folder = RUN_FOLDER.lock().unwrap_or_else(PoisonError::into_inner);
    match &*folder {
        RunFolder::Created(dir) => Ok(dir.clone()),
        RunFolder::Removed => Err("the run is ending: its temporary folder is gone".into()),
        RunFolder::NotYet => {
            let dir = create_unique(&std::env::temp_dir())?;
            *folder = RunFolder::Created(dir.clone());
            Ok(dir)
        }
    }
}

/// Creates the run folder before the trials start, and puts the reactors' UNIX socket paths
/// in it, so that an interrupted pairing leaves no socket file behind either.
pub fn prepare_run_folder() -> Result<(), String> {
    let dir = run_folder()?;
    // A socket path is at most 107 bytes: under a long TMPDIR the sockets stay in the
    // temporary directory itself (each pairing removes its own when it ends).
    if dir.as_os_str().len() <= UNIX_SOCKET_DIR_MAX {
        connectable::reactor::set_unix_socket_dir(dir);
    }
    Ok(())
}

/// The longest run folder path the UNIX sockets go into: room is left for
/// `/connectable-<pid>-<n>.sock` within the 107 bytes of a socket path.
const UNIX_SOCKET_DIR_MAX: usize = 64;

/// Removes the run folder and everything in it; later trials cannot create another.
pub fn remove_run_folder() {
    let mut folder = RUN_FOLDER.lock().unwrap_or_else(PoisonError::into_inner);
    if let RunFolder::Created(dir) = &*folder {
        let _ = std::fs::remove_dir_all(dir);
    }
    *folder = RunFolder::Removed;
}

/// A new folder under `parent` that did not exist before: a name nobody else can have
/// chosen, created with create-new semantics (mkdir fails on an existing name; then another
/// name is tried).
fn create_unique(parent: &Path) -> Result<PathBuf, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut last_error = None;
    for _ in 0..16 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Short: the reactors' UNIX socket paths go in it, and those have a length limit.
        let dir = parent.join(format!(
            "conformance-{}-{:x}-{}",
            std::process::id(),
            nanos % 0x1_0000_0000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match create_private_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(format!("creating {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "creating a run folder under {}: {}",
        parent.display(),
        last_error.map_or_else(String::new, |e| e.to_string())
    ))
}

/// A trial's private folder in the run folder, holding the PKI as PEM files; removed when
/// dropped.
pub(crate) struct PemFolder {
    dir: PathBuf,
}

impl PemFolder {
    pub(crate) fn create(profile: TlsProfile) -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let pki = TestPki::get().map_err(|e| e.to_string())?;
        let dir = run_folder()?.join(format!("trial-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        create_private_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let folder = PemFolder { dir };
        let leaf = pki.server(profile.server_cert);
        for (name, pem) in [
            ("cert.pem", &leaf.cert_pem),
            ("key.pem", &leaf.key_pem),
            ("ca.pem", &pki.ca.cert_pem),
        ] {
            write_private(&folder.dir.join(name), pem.as_bytes())
                .map_err(|e| format!("writing {name}: {e}"))?;
        }
        Ok(folder)
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Writes one more private file into the folder (a client certificate, for a shim);
    /// returns its path.
    pub(crate) fn add(&self, name: &str, bytes: &[u8]) -> Result<String, String> {
        write_private(&self.dir.join(name), bytes).map_err(|e| format!("writing {name}: {e}"))?;
        Ok(self.path(name))
    }
}

impl Drop for PemFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
