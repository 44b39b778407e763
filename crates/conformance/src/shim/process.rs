//! One running shim process: started with `external::process` (its own process group, the
//! runner a subreaper, stopped with grace, SIGTERM, SIGKILL, everything reaped), a request
//! written as a line on its stdin, its answer read as a line from its stdout by a thread of
//! its own (so a hung shim costs a timeout, never a blocked runner), and the last 64 KiB of
//! its stderr kept for failure messages.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{ChildStdin, Command};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::external::process::Program;

/// The longest answer line read: a result with two sides of 16 MiB in base64 fits.
pub const LINE_MAX: usize = 64 << 20;

/// How much of a shim's stderr is kept: the last this many bytes.
pub const STDERR_KEPT: usize = 64 * 1024;

/// How long a shim may take to exit by itself once its stdin is closed, and again after
/// SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_millis(500);

/// A line from the shim's stdout, as the reader thread saw it.
enum Line {
    Text(Vec<u8>),
    TooLong,
    /// The stream ended in the middle of a line.
    Cut(Vec<u8>),
    End,
}

/// A shim process serving requests.
pub struct ShimProcess {
    program: Option<Program>,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Line>,
    stderr: Arc<Mutex<Tail>>,
    next_id: u64,
    /// The stderr position when the current request was written.
    mark: u64,
}

/// Why an exchange did not give an answer.
#[derive(Debug)]
pub enum Trouble {
    /// No answer within the wait.
    Hung(Duration),
    /// The process exited or closed stdout (the status when known).
    Exited(String),
    /// The same, in the middle of its answer line (what it had written of it).
    Cut(String, String),
    /// The line was not a JSON object.
    Malformed(String),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hung(after) => write!(f, "did not answer within {after:?}"),
            Self::Exited(how) => write!(f, "{how} before answering"),
            Self::Cut(how, part) => write!(f, "{how} in the middle of its answer ({part})"),
            Self::Malformed(what) => write!(f, "answered malformed JSON: {what}"),
        }
    }
}

impl std::fmt::Debug for ShimProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimProcess")
            .field("running", &self.program.is_some())
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl ShimProcess {
    /// Starts the program and arguments `argv` with `dir` as its working directory, in a process
    /// group of its own, its three streams piped.
    pub fn start(dir: &Path, argv: &[String]) -> Result<Self, String> {
        let (program, args) = argv.split_first().ok_or("the command is empty")?;
        // A relative path is the shim folder's (std leaves it to the platform which folder a
        // relative program is found from once the working directory changes), made absolute:
        // `dir` itself is relative when `--shims` was (`--shims shims`), and joined to a
        // relative folder the path would be looked up again from inside `dir` on Linux.
        let program = if program.contains('/') && Path::new(program).is_relative() {
            std::path::absolute(dir.join(program))
                .map_err(|e| format!("cannot resolve {program:?} in {}: {e}", dir.display()))?
                .into_os_string()
        } else {
            program.into()
        };
        let mut command = Command::new(program);
        command.args(args).current_dir(dir).env(
            "CONFORMANCE_SHIM_PROTOCOL",
            super::wire::PROTOCOL.to_string(),
        );
        let (program, stdin, stdout, stderr) =
            Program::start_serving(command, argv.join(" "), STOP_GRACE)?;
        let (tell, lines) = mpsc::channel();
        std::thread::spawn(move || read_lines(stdout, &tell));
        let kept = Arc::new(Mutex::new(Tail::default()));
        let tail = Arc::clone(&kept);
        std::thread::spawn(move || read_tail(stderr, &tail));
        Ok(Self {
            program: Some(program),
            stdin: Some(stdin),
            lines,
            stderr: kept,
            next_id: 0,
            mark: 0,
        })
    }

    /// A new request id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Writes `request` as one line and waits up to `wait` for the answer line.
    pub fn exchange(&mut self, request: &Value, wait: Duration) -> Result<Value, Trouble> {
        let mark = self.lock_stderr().total;
        self.mark = mark;
        let deadline = Instant::now() + wait;
        let mut line = request.to_string();
        line.push('\n');
        let written = match &mut self.stdin {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if written.is_err() {
            return Err(Trouble::Exited(self.how_it_ended(deadline)));
        }
        match self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(Line::Text(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) if value.is_object() => Ok(value),
                Ok(_) => Err(Trouble::Malformed(format!(
                    "a line that is not a JSON object: {}",
                    shown_line(&bytes)
                ))),
                Err(error) => Err(Trouble::Malformed(format!(
                    "{error}: {}",
                    shown_line(&bytes)
                ))),
            },
            Ok(Line::TooLong) => Err(Trouble::Malformed(format!(
                "a line longer than {LINE_MAX} bytes"
            ))),
            Ok(Line::Cut(part)) => {
                Err(Trouble::Cut(self.how_it_ended(deadline), shown_line(&part)))
            }
            Ok(Line::End) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(Trouble::Exited(self.how_it_ended(deadline)))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Trouble::Hung(wait)),
        }
    }

    /// What the shim wrote on stderr since the last request was written (at most
    /// [`STDERR_KEPT`] bytes of it).
    pub fn stderr_since_request(&self) -> String {
        if self.program.is_none() {
            // It has ended: its last words are still on their way through the pipe.
            let until = Instant::now() + Duration::from_millis(200);
            while !self.lock_stderr().closed && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.lock_stderr().since(self.mark)
    }

    /// Stops the process: stdin closed (a shim exits at its end), then the grace, SIGTERM,
    /// the grace, SIGKILL, to it and everything it started; all reaped.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        drop(self.stdin.take());
        if let Some(program) = self.program.take() {
            program.finish(Instant::now() + STOP_GRACE);
        }
    }

    /// How the process ended, once stdout closed or stdin refused a request: its exit status
    /// if it exits within a moment (bounded by `deadline`), else that its stdout closed.
    fn how_it_ended(&mut self, deadline: Instant) -> String {
        drop(self.stdin.take());
        let Some(program) = self.program.take() else {
            return "had exited".into();
        };
        let wait = deadline.min(Instant::now() + STOP_GRACE);
        let record = program.finish(wait);
        match (record.killed, record.exit) {
            (true, _) => "closed its stdout".into(),
            (false, Some(Some(code))) => format!("exited with status {code}"),
            (false, _) => "died from a signal".into(),
        }
    }

    fn lock_stderr(&self) -> std::sync::MutexGuard<'_, Tail> {
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ShimProcess {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// A line shown in a message: at most 200 characters of it.
fn shown_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut shown: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        shown.push_str("...");
    }
    format!("{shown:?}")
}

/// Sends each line of `stdout` (without its newline) to `tell`, then `End`.
fn read_lines(stdout: impl Read, tell: &mpsc::Sender<Line>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    loop {
        let mut line = Vec::new();
        let read = (&mut reader)
            .take(LINE_MAX as u64 + 1)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if tell.send(Line::Text(line)).is_err() {
                    return;
                }
            }
            Ok(_) if line.len() > LINE_MAX => {
                // The rest of the overlong line is read and dropped.
                let mut rest = Vec::new();
                let _ = reader.read_until(b'\n', &mut rest);
                if tell.send(Line::TooLong).is_err() {
                    return;
                }
            }
            // The stream ended before the line did: the shim died while answering.
            Ok(_) => {
                let _ = tell.send(Line::Cut(line));
                break;
            }
        }
    }
    let _ = tell.send(Line::End);
}

/// The end of a stream: the last [`STDERR_KEPT`] bytes, and how many there were in all.
#[derive(Debug, Default)]
struct Tail {
    kept: Vec<u8>,
    total: u64,
    /// The stream reached its end.
    closed: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.kept.extend_from_slice(chunk);
        if self.kept.len() > 2 * STDERR_KEPT {
            self.kept.drain(..self.kept.len() - STDERR_KEPT);
        }
    }

    /// What came after position `mark`, at most the last [`STDERR_KEPT`] bytes of it.
    fn since(&self, mark: u64) -> String {
        let new = usize::try_from(self.total.saturating_sub(mark)).unwrap_or(usize::MAX);
        let shown = new.min(STDERR_KEPT).min(self.kept.len());
        let text = String::from_utf8_lossy(&self.kept[self.kept.len() - shown..]).into_owned();
        if shown < new {
            format!("(the first {} bytes left out)\n{text}", new - shown)
        } else {
            text
        }
    }
}

fn read_tail(mut stderr: impl Read, tail: &Mutex<Tail>) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match stderr.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => tail
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    tail.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
}
