//! `vudo_breakpoint`, `vudo_assert` and `vudo_panic`: a debug log line, and
//! the two ways a @vudo/runtime spirit ends its call with a message.

use spirit_sdk::abi::LogLevel;
use wasmtime::Caller;

use super::log::{MAX_LOG_MESSAGE, MAX_LOG_MESSAGES};
use super::{memory, range, truncate};
use crate::sandbox::outcome::Halt;
use crate::sandbox::state::HostState;

/// Logs `breakpoint` at the debug level (counted as a log line).
pub(super) fn vudo_breakpoint(caller: &mut Caller<'_, HostState>) {
    let state = caller.data_mut();
    state.log_count = state.log_count.saturating_add(1);
    if state.log_count <= MAX_LOG_MESSAGES {
        state.log(LogLevel::Debug, "breakpoint".to_owned());
    }
}

/// Ends the call with `assertion failed: ` and the message when `cond` is 0.
pub(super) fn vudo_assert(
    caller: &mut Caller<'_, HostState>,
    cond: i32,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    if cond != 0 {
        return Ok(());
    }
    let message = message(caller, ptr, len);
    Err(wasmtime::Error::new(Halt::Aborted(format!(
        "assertion failed: {message}"
    ))))
}

/// Ends the call with the message at `ptr..ptr+len`.
pub(super) fn vudo_panic(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    let message = message(caller, ptr, len);
    Err(wasmtime::Error::new(Halt::Aborted(message)))
}

/// The message at `ptr..ptr+len` (invalid UTF-8 replaced, cut to a log
/// line's length), or a note that it was outside memory.
fn message(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> String {
    let text = memory(caller)
        .and_then(|(mem, _)| {
            range(mem.len(), ptr, len).map(|r| String::from_utf8_lossy(&mem[r]).into_owned())
        })
        .unwrap_or_else(|| "(its message was outside the spirit's memory)".to_owned());
    truncate(&text, MAX_LOG_MESSAGE)
}
