//! A spirit's calls of other spirits as its store sees them: the
//! [`CallSite`] a run's state holds, and one call's request and report.
//! What a call does is `compose.rs`; this is the seam between it and the
//! host functions, so that neither the state nor the linker depends on
//! the sandbox that runs the callee.

use std::time::Instant;

use super::io::LogRecord;

/// Where a store's calls go: the spirit's declared dependencies, run by the
/// run's composition.
pub(crate) trait CallSite: Send {
    /// Runs one call.
    fn call(&self, request: CallRequest) -> CallReport;
}

/// One call a spirit makes.
pub(crate) struct CallRequest {
    pub(crate) name: String,
    pub(crate) export: Option<String>,
    pub(crate) input: Vec<u8>,
    /// The caller's fuel left: the callee's budget.
    pub(crate) fuel: u64,
    /// The caller's deadline: the callee's too.
    pub(crate) deadline: Instant,
    /// The caller's memory limit, which the callee gets.
    pub(crate) max_memory: u64,
}

/// How a call ended for its caller.
pub(crate) enum CallEnd {
    /// The callee returned status 0 with this output.
    Returned(Vec<u8>),
    /// The name is not a dependency the caller declares.
    Undeclared(String),
    /// It was refused or failed; the caller gets an error code and this.
    Failed(String),
    /// It used up the budget it shares with its caller (fuel, time), or a
    /// deeper call did: the whole run ends with this.
    Halted(String),
}

/// What a call did, whatever its end.
pub(crate) struct CallReport {
    pub(crate) end: CallEnd,
    pub(crate) fuel_used: u64,
    /// Its logs and host warnings, for the caller's sink.
    pub(crate) logs: Vec<LogRecord>,
    pub(crate) warnings: Vec<String>,
}
