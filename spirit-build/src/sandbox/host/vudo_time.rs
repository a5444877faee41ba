//! `vudo_now`, `vudo_monotonic_now` and `vudo_sleep`: the @vudo/runtime's
//! clocks (milliseconds of wall time, nanoseconds of monotonic time) and a
//! sleep bounded by the call's deadline, all on the run's clock (seeded in
//! deterministic mode, where sleeping advances it instead of waiting).

use wasmtime::Caller;

use crate::sandbox::state::HostState;

/// Milliseconds since the Unix epoch.
pub(super) fn vudo_now(caller: &mut Caller<'_, HostState>) -> i64 {
    caller.data_mut().now_ns() / 1_000_000
}

/// Nanoseconds on a clock that never goes back.
pub(super) fn vudo_monotonic_now(caller: &mut Caller<'_, HostState>) -> i64 {
    caller.data_mut().monotonic_ns()
}

/// Waits `ms` milliseconds (a negative time is no time), at most until the
/// deadline, where the call ends as timed out.
pub(super) fn vudo_sleep(caller: &mut Caller<'_, HostState>, ms: i32) -> wasmtime::Result<()> {
    if caller.data_mut().sleep(u32::try_from(ms).unwrap_or(0)) {
        Ok(())
    } else {
        Err(wasmtime::Trap::Interrupt.into())
    }
}
