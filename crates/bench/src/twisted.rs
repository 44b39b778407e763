//! Twisted's reactor on the bench's one-byte exchange (`crates/bench/twisted/closing_later.py`),
//! driven one pairing at a time over a pipe so that its pairings interleave with ours.
//!
//! It runs when a Python with Twisted is found: `BENCH_TWISTED_PYTHON`, or the virtual
//! environment `scripts/install-deps` makes in `target/venv-twisted`. The test PKI's PEM
//! files (the same P-256 certificates our pairings use) go into a temporary folder of this
//! process, removed when it ends.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use connectable::pki::TestPki;

/// The Twisted program, running, and the folder of its PEM files.
pub(crate) struct Twisted {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    pem_dir: PathBuf,
}

impl Twisted {
    /// Starts the program; `None` when no Python with Twisted is found.
    pub(crate) fn start() -> anyhow::Result<Option<Self>> {
        let Some(python) = python() else {
            return Ok(None);
        };
        let pem_dir = std::env::temp_dir().join(format!("bench-twisted-{}", std::process::id()));
        std::fs::create_dir_all(&pem_dir).context("making the PEM folder for Twisted")?;
        let pki = TestPki::get().map_err(bench::Error::from)?;
        let leaf = pki.leaf();
        for (name, pem) in [
            ("ca.pem", &pki.ca.cert_pem),
            ("leaf.pem", &leaf.cert_pem),
            ("leaf.key", &leaf.key_pem),
        ] {
            std::fs::write(pem_dir.join(name), pem)
                .with_context(|| format!("writing {name} for Twisted"))?;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("twisted/closing_later.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&pem_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} {}", python.display(), script.display()))?;
        let input = child.stdin.take().context("twisted's stdin")?;
        let output = BufReader::new(child.stdout.take().context("twisted's stdout")?);
        Ok(Some(Self {
            child,
            input,
            output,
            pem_dir,
        }))
    }

    /// One pairing over tcp (`transport` 0) or tls; how long Twisted says it took.
    pub(crate) fn pairing(&mut self, transport: usize) -> anyhow::Result<Duration> {
        let word = if transport == 0 { "tcp" } else { "tls" };
        writeln!(self.input, "{word}").context("writing to twisted")?;
        self.input.flush().context("writing to twisted")?;
        let mut line = String::new();
        if self
            .output
            .read_line(&mut line)
            .context("reading from twisted")?
            == 0
        {
            bail!("the twisted program ended");
        }
        let micros: f64 = match line.trim().parse() {
            Ok(micros) => micros,
            Err(_) => bail!("twisted over {word}: {}", line.trim()),
        };
        Ok(Duration::from_secs_f64(micros / 1e6))
    }
}

impl Drop for Twisted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.pem_dir);
    }
}

/// A Python that can import Twisted and pyOpenSSL (Twisted's TLS).
fn python() -> Option<PathBuf> {
    let candidates = std::env::var_os("BENCH_TWISTED_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/venv-twisted/bin/python")],
        );
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import twisted, OpenSSL, service_identity"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}
