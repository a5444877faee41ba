//! `host_time_now`: the wall clock, or the seeded clock of deterministic
//! mode, in nanoseconds since the Unix epoch (the VUDO VM's unit).

use wasmtime::Caller;

use crate::sandbox::state::HostState;

/// Nanoseconds since the Unix epoch.
pub(super) fn host_time_now(caller: &mut Caller<'_, HostState>) -> i64 {
    caller.data_mut().now_ns()
}
