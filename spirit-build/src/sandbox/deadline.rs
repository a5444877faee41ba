//! How a run's deadline stops code that is computing.
//!
//! By default the engine compiles epoch checks into the code (at every
//! function entry and loop back-edge), advanced by the sandbox's ticker
//! thread, so the sandbox itself ends a run at its deadline whoever hosts
//! it. Those checks cost time on tight loops (2× to 3× on a loop of a few
//! instructions, in wasmtime's own CLI as here; see BENCHMARKS.md). A host
//! that owns its process can do without them: with
//! [`SandboxConfig::deadline_checks`](super::SandboxConfig::deadline_checks)
//! off, the engine compiles no checks and starts no ticker, and every run
//! must bring a [`DeadlineGuard`] that ends it at its deadline, as
//! `cargo spirit run` does for unpriced runs with a process alarm that
//! prints the timeout error and ends the process.

use std::time::Duration;

/// A host's own guard of one run's deadline, for a sandbox whose code has
/// no deadline checks: the sandbox arms it just before the spirit starts
/// and disarms it as soon as the spirit's code has returned or trapped,
/// before anything it wrote to storage commits. When its time is up, the
/// guard must stop the run itself (ending the process is the only way to
/// stop code that has no checks); nothing the run wrote is then applied.
///
/// Host calls that wait (for the storage lock, the network) still end at
/// the run's deadline on their own, so a guard may allow a little grace
/// for their error to end the run first.
///
/// ```
/// use std::time::Duration;
/// use spirit_build::sandbox::DeadlineGuard;
///
/// /// Records what the sandbox asked (a real guard arms a timer).
/// #[derive(Debug, Default)]
/// struct Recorder(Vec<String>);
///
/// impl DeadlineGuard for Recorder {
///     fn arm(&mut self, left: Duration) -> std::io::Result<()> {
///         self.0.push(format!("armed for {left:?}"));
///         Ok(())
///     }
///     fn disarm(&mut self) {
///         self.0.push("disarmed".into());
///     }
/// }
/// # let mut guard = Recorder::default();
/// # guard.arm(Duration::from_secs(1)).unwrap();
/// # guard.disarm();
/// # assert_eq!(guard.0, ["armed for 1s", "disarmed"]);
/// ```
pub trait DeadlineGuard: Send {
    /// The spirit starts now (its start function included) and must end
    /// within `left`.
    ///
    /// # Errors
    ///
    /// When the guard cannot be set (a timer refused): the run is then
    /// refused before it starts, as nothing would stop it.
    fn arm(&mut self, left: Duration) -> std::io::Result<()>;
    /// The spirit's code has returned or trapped.
    fn disarm(&mut self);
}

/// Disarms its guard when dropped: whichever way the spirit's code ends,
/// the guard is disarmed before the run goes on.
pub(super) struct Armed<'a>(Option<&'a mut Box<dyn DeadlineGuard>>);

impl<'a> Armed<'a> {
    /// Arms `guard` (if any) for `left`.
    pub(super) fn new(
        guard: Option<&'a mut Box<dyn DeadlineGuard>>,
        left: Duration,
    ) -> std::io::Result<Armed<'a>> {
        match guard {
            Some(guard) => {
                guard.arm(left)?;
                Ok(Armed(Some(guard)))
            }
            None => Ok(Armed(None)),
        }
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.0.as_mut() {
            guard.disarm();
        }
    }
}
