//! Interrupts: SIGINT, SIGTERM and SIGHUP end a run cleanly, a second one at once.
//!
//! [`install`] has signal-hook catch the three signals (its handler only writes to a pipe;
//! a caught signal is back to its default in the programs the runner starts, unlike a
//! blocked one, which they would inherit) and handles them on a thread of its own. On the
//! first signal during the
//! trials: no trial starts after it (a trial that sees the signal, before it runs or once it
//! has left its record, waits forever, so libtest-mimic starts nothing more and prints no
//! verdict for it), every program
//! group and everything below the runner gets SIGTERM then SIGKILL, the run folder is
//! removed, and the main thread, which [`run_trials`] keeps free of libtest-mimic, writes the
//! reports for what finished (trials that were running or never started marked as
//! interrupted), prints the summary and exits with 128 + the signal (130, 143, 129). A
//! second signal stops the programs with SIGKILL, removes the folder and exits at once;
//! so does a first one outside the trials (while loading, say).

use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

use libtest_mimic::{Arguments, Conclusion, Trial};

use crate::external;
use crate::outcome::{Outcome, TrialRecord};

/// How long programs get between SIGTERM and SIGKILL on an interrupt: short, since the user
/// asked to stop.
const INTERRUPT_GRACE: Duration = Duration::from_millis(200);

/// The first signal received, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Where the main thread waits for the trials while they run; `None` outside the trials.
static MAIN: Mutex<Option<mpsc::Sender<Event>>> = Mutex::new(None);

enum Event {
    Finished(Conclusion),
    Interrupted(i32),
}

/// The run was stopped by a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// Its number (2 SIGINT, 15 SIGTERM, 1 SIGHUP).
    pub signal: i32,
}

impl Interrupted {
    /// The exit status: 128 + the signal, as shells report it.
    pub fn exit_status(self) -> u8 {
        u8::try_from(128 + self.signal).unwrap_or(u8::MAX)
    }

    /// The signal's name.
    pub fn name(self) -> &'static str {
        signal_name(self.signal)
    }
}

/// Cleans up when the run ends, whichever way: what is still below the runner is stopped,
/// the run folder removed.
#[derive(Debug)]
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        external::sweep();
        external::remove_run_folder();
    }
}

/// Takes over SIGINT, SIGTERM and SIGHUP for the rest of the process; call first thing in
/// `main`. The guard cleans up when the run ends.
pub fn install() -> Guard {
    // Once per process: a second handler thread would take one signal for two.
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    #[cfg(target_os = "linux")]
    INSTALLED.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        on_signal(signal);
                    }
                })
                .ok();
        }
    });
    #[cfg(not(target_os = "linux"))]
    INSTALLED.call_once(|| {});
    Guard(())
}

/// What a signal does: see the module's documentation.
#[allow(clippy::print_stderr)] // the user sent it and is told what it does
fn on_signal(signal: i32) {
    let name = signal_name(signal);
    if SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        eprintln!("conformance: {name} again: stopping every program now and exiting");
        stop_at_once(SIGNAL.load(Ordering::SeqCst));
    }
    let main = MAIN.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let Some(main) = main else {
        eprintln!("conformance: {name}: exiting");
        stop_at_once(signal);
    };
    eprintln!(
        "conformance: {name}: no trial starts now; stopping every program, then writing the \
         reports of what finished ({name} again stops at once)"
    );
    // On a thread of its own, so that a second signal is heard while this one is handled.
    std::thread::spawn(move || {
        external::stop_all(INTERRUPT_GRACE);
        external::remove_run_folder();
        let _ = main.send(Event::Interrupted(signal));
    });
}

fn stop_at_once(signal: i32) -> ! {
    external::stop_all(Duration::ZERO);
    external::remove_run_folder();
    std::process::exit(128 + signal);
}

/// Runs the trials with libtest-mimic on another thread and waits for them to finish, or
/// for an interrupt, whichever comes first.
pub fn run_trials(args: &Arguments, trials: Vec<Trial>) -> Result<Conclusion, Interrupted> {
    let (tell, events) = mpsc::channel();
    *MAIN.lock().unwrap_or_else(PoisonError::into_inner) = Some(tell.clone());
    // A run folder that cannot be made fails the trials that need it, with the reason; the
    // rest run, with UNIX sockets in the system's temporary directory.
    let _ = external::prepare_run_folder();
    let result = match interrupted() {
        Some(interrupted) => Err(interrupted),
        None => {
            let args = args.clone();
            std::thread::spawn(move || {
                let _ = tell.send(Event::Finished(libtest_mimic::run(&args, trials)));
            });
            match events.recv() {
                Ok(Event::Finished(conclusion)) => Ok(conclusion),
                Ok(Event::Interrupted(signal)) => Err(Interrupted { signal }),
                // The trial thread panicked before it could send: libtest-mimic's own
                // failure, reported as a failed run.
                Err(_) => Ok(Conclusion {
                    num_filtered_out: 0,
                    num_passed: 0,
                    num_failed: 1,
                    num_ignored: 0,
                    num_measured: 0,
                }),
            }
        }
    };
    *MAIN.lock().unwrap_or_else(PoisonError::into_inner) = None;
    result
}

/// The signal that stopped the run, if one did.
pub fn interrupted() -> Option<Interrupted> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(Interrupted { signal }),
    }
}

/// Called by a trial before it runs and after it has left its record: once the run is
/// interrupted, it never returns (the process is about to exit), so that libtest-mimic
/// starts nothing more, and reports no verdict for a trial the signal cut into.
pub fn stop_here_if_interrupted() {
    if interrupted().is_some() {
        loop {
            std::thread::park();
        }
    }
}

/// Called by a trial when it has run: a trial that was running when the signal came is
/// recorded as interrupted (its programs were stopped under it), not as what it came to.
pub fn after_trial(record: &mut TrialRecord) {
    if let Some(interrupted) = interrupted() {
        record.outcome = Outcome::Skipped;
        record.note = Some(format!(
            "interrupted by {} while it ran",
            interrupted.name()
        ));
    }
}

/// Marks the selected trials that never ran as interrupted (`selected`: each selected
/// trial's name, and whether libtest ignores it), and says how many finished and how many
/// did not (never started, or were running when the signal came).
#[allow(clippy::print_stdout)]
pub fn mark_not_run(
    interrupted: Interrupted,
    records: &mut [TrialRecord],
    selected: &[(String, bool)],
) {
    let to_run: HashSet<&str> = selected
        .iter()
        .filter(|(_, ignored)| !ignored)
        .map(|(name, _)| name.as_str())
        .collect();
    let mut finished = 0;
    let mut not_run = 0;
    for record in records.iter_mut() {
        let cut_short = record
            .note
            .as_deref()
            .is_some_and(|note| note.starts_with("interrupted"));
        if !record.runs.is_empty() && !cut_short {
            finished += 1;
        } else if cut_short {
            not_run += 1;
        } else if to_run.contains(record.trial.as_str()) {
            not_run += 1;
            record.note = Some(format!(
                "interrupted by {} before it finished",
                interrupted.name()
            ));
        }
    }
    println!(
        "conformance: interrupted by {}: {finished} trial{} finished, {not_run} did not",
        interrupted.name(),
        if finished == 1 { "" } else { "s" }
    );
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
