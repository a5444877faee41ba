//! `host_log`: a spirit's log lines, cut to a length and counted against a
//! limit per run.

use spirit_sdk::abi::{self, LogLevel};
use wasmtime::Caller;

use super::{memory, range, truncate};
use crate::sandbox::state::HostState;

/// The most bytes one log message may have; longer ones are cut.
pub(super) const MAX_LOG_MESSAGE: usize = 4096;
/// The most log messages one run may print; later ones are dropped.
pub(super) const MAX_LOG_MESSAGES: u32 = 1000;

/// Logs the UTF-8 message at `ptr..ptr+len` at `level`.
pub(super) fn host_log(caller: &mut Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> i32 {
    let Some(level) = LogLevel::from_i32(level) else {
        return abi::ERROR;
    };
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let Some(r) = range(mem.len(), ptr, len) else {
        return abi::ERROR;
    };
    let Ok(text) = std::str::from_utf8(&mem[r]) else {
        return abi::ERROR;
    };
    state.log_count = state.log_count.saturating_add(1);
    if state.log_count > MAX_LOG_MESSAGES {
        if state.log_count == MAX_LOG_MESSAGES + 1 {
            state.log(
                LogLevel::Warn,
                format!(
                    "log limit of {MAX_LOG_MESSAGES} messages reached; further messages are dropped"
                ),
            );
        }
        return abi::ERROR;
    }
    let message = truncate(text, MAX_LOG_MESSAGE);
    state.log(level, message);
    abi::SUCCESS
}
