//! The process alarm that ends a `cargo spirit run` at its deadline.
//!
//! An unpriced run's code has no deadline checks (wasmtime's epoch checks
//! cost up to 3× on tight loops): the sandbox arms this guard just before
//! the spirit starts,
//! and when the time is up (plus [`GRACE`]) `SIGALRM` arrives, its handler
//! writes the run's timeout error, prepared when the guard was made exactly
//! as `main` would print it, and ends the process with its exit code.
//! Nothing the run wrote to storage commits (its transaction is still open;
//! redb applies it whole or not at all), and its output so far is already
//! written (each write is flushed). A run that ends in time disarms the
//! timer before its storage commits.
//!
//! The handler does only what a signal handler may: it reads a pointer,
//! calls `write(2)` and `_exit(2)`.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use spirit_build::ops::GuardFactory;
use spirit_build::sandbox::DeadlineGuard;
use spirit_build::{MessageFormat, Shell};

/// How long after the deadline the alarm ends the process: a host call that
/// waits until the deadline (for the storage lock, for the network) ends
/// the run with its own error first.
const GRACE: Duration = Duration::from_millis(10);

/// What the alarm writes, and the exit code it ends the process with.
struct Message {
    stderr: Vec<u8>,
    stdout: Vec<u8>,
    code: libc::c_int,
}

/// The armed alarm's message, leaked from a `Box` while armed; null when
/// disarmed, and then the handler does nothing.
static ARMED: AtomicPtr<Message> = AtomicPtr::new(ptr::null_mut());

/// The guard of an unpriced run, reporting what `main` reports for the
/// error the run ends with (with `shell`'s verbosity and colours, and
/// `format`'s JSON message).
pub(crate) fn factory(shell: &Shell, format: MessageFormat) -> GuardFactory {
    let (verbosity, color) = (shell.verbosity(), shell.color_choice());
    GuardFactory::new(move |error| {
        let mut code = 1;
        let (stderr, stdout) = Shell::new(verbosity, color)
            .capture(|shell| code = crate::report_error(&error, Some(&error), shell, format));
        Box::new(ProcessAlarm {
            message: Some(Box::new(Message {
                stderr,
                stdout,
                code: libc::c_int::from(code),
            })),
        })
    })
}

/// `SIGALRM` at the deadline, which ends the process.
#[derive(Debug)]
struct ProcessAlarm {
    /// Taken when armed.
    message: Option<Box<Message>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").field("code", &self.code).finish()
    }
}

impl DeadlineGuard for ProcessAlarm {
    fn arm(&mut self, left: Duration) -> std::io::Result<()> {
        let message = self
            .message
            .take()
            .ok_or_else(|| std::io::Error::other("the alarm was armed already"))?;
        let previous = ARMED.swap(Box::into_raw(message), Ordering::AcqRel);
        if !previous.is_null() {
            // SAFETY: every non-null pointer in `ARMED` came from
            // `Box::into_raw`, and was swapped out here, so it is freed once.
            drop(unsafe { Box::from_raw(previous) });
        }
        // SAFETY: a zeroed `sigaction` is a valid value of this plain C
        // struct; the handler only reads `ARMED` and calls async-signal-safe
        // functions. The handler is left installed after the run (it does
        // nothing once disarmed), so a signal already pending when the run
        // ends never meets the default action, which would kill the process.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGALRM, &action, ptr::null_mut())
        };
        if installed != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // A mask inherited from the parent could block the signal, which
        // would then wait forever: this thread, the one that runs the
        // spirit, takes it.
        // SAFETY: `set` is a valid, initialised signal set.
        let unblocked = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGALRM);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut())
        };
        if unblocked != 0 {
            return Err(std::io::Error::from_raw_os_error(unblocked));
        }
        let when = left.saturating_add(GRACE).max(Duration::from_micros(1));
        // Under a million, which fits `suseconds_t` wherever it is 32 bits.
        #[allow(clippy::unnecessary_fallible_conversions)]
        let micros = libc::suseconds_t::try_from(when.subsec_micros()).unwrap_or(0);
        let timer = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: libc::time_t::try_from(when.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_usec: micros,
            },
        };
        // SAFETY: `timer` is a valid `itimerval`; the old value is not asked for.
        if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    fn disarm(&mut self) {
        // SAFETY: a zeroed `itimerval` stops the timer.
        unsafe {
            let stop: libc::itimerval = std::mem::zeroed();
            libc::setitimer(libc::ITIMER_REAL, &stop, ptr::null_mut());
        }
        let message = ARMED.swap(ptr::null_mut(), Ordering::AcqRel);
        if !message.is_null() {
            // SAFETY: as in `arm`: from `Box::into_raw`, swapped out once.
            drop(unsafe { Box::from_raw(message) });
        }
    }
}

/// The `SIGALRM` handler: writes the armed message and ends the process.
extern "C" fn on_alarm(_signal: libc::c_int) {
    let message = ARMED.load(Ordering::Acquire);
    if message.is_null() {
        return;
    }
    // SAFETY: non-null means armed: the `Box` stays alive until `disarm`
    // swaps it out, and a disarmed process does not come back here with it.
    let message = unsafe { &*message };
    write_all(libc::STDERR_FILENO, &message.stderr);
    write_all(libc::STDOUT_FILENO, &message.stdout);
    // SAFETY: `_exit` is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(message.code) }
}

/// `write(2)` until done or failed; nothing here allocates.
fn write_all(fd: libc::c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for its length.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(written) {
            Ok(n) if n > 0 => bytes = &bytes[n.min(bytes.len())..],
            _ => return,
        }
    }
}
