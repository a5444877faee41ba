//! `vudo_print`, `vudo_println`, `vudo_log` and `vudo_error`: the
//! @vudo/runtime's output and logs, over the run's output and `host_log`.
//! They return nothing, so a range outside memory ends the call with an
//! error that names it (the spirit could not be told otherwise).

use spirit_sdk::abi::LogLevel;
use wasmtime::Caller;

use super::io::MAX_OUTPUT;
use super::{host_log, memory, range};
use crate::sandbox::outcome::Halt;
use crate::sandbox::state::HostState;

/// The error that ends a call whose range `ptr..ptr+len` is outside the
/// spirit's memory of `mem_len` bytes.
pub(super) fn outside(function: &str, ptr: i32, len: i32, mem_len: usize) -> wasmtime::Error {
    wasmtime::Error::new(Halt::HostCall(format!(
        "`{function}` was given {} bytes at address {}, outside the spirit's memory of {mem_len} bytes",
        super::unsigned(len),
        super::unsigned(ptr),
    )))
}

/// The error that ends a call of a spirit that exports no memory.
pub(super) fn no_memory(function: &str) -> wasmtime::Error {
    wasmtime::Error::new(Halt::HostCall(format!(
        "`{function}` needs the spirit's exported `memory`, and it has none"
    )))
}

/// Writes `ptr..ptr+len` to the run's output.
pub(super) fn vudo_print(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    print(caller, "vudo_print", ptr, len, false)
}

/// Writes `ptr..ptr+len` and a newline to the run's output.
pub(super) fn vudo_println(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    print(caller, "vudo_println", ptr, len, true)
}

fn print(
    caller: &mut Caller<'_, HostState>,
    function: &str,
    ptr: i32,
    len: i32,
    newline: bool,
) -> wasmtime::Result<()> {
    let (mem, state) = memory(caller).ok_or_else(|| no_memory(function))?;
    let r = range(mem.len(), ptr, len).ok_or_else(|| outside(function, ptr, len, mem.len()))?;
    let total = r.len() + usize::from(newline);
    if state.output_len + total > MAX_OUTPUT {
        return Err(wasmtime::Error::new(Halt::HostCall(format!(
            "`{function}` would pass the output limit of {MAX_OUTPUT} bytes per call"
        ))));
    }
    state.output_len += total;
    let written = match newline {
        false => state.io.output(&mem[r]),
        true => {
            let mut line = Vec::with_capacity(total);
            line.extend_from_slice(&mem[r]);
            line.push(b'\n');
            state.io.output(&line)
        }
    };
    written.map_err(|e| {
        wasmtime::Error::new(Halt::HostCall(format!(
            "`{function}` could not write the output: {e}"
        )))
    })
}

/// Logs `ptr..ptr+len` at `level`, as `host_log` does.
pub(super) fn vudo_log(caller: &mut Caller<'_, HostState>, level: i32, ptr: i32, len: i32) {
    log(caller, "vudo_log", level, ptr, len);
}

/// Logs `ptr..ptr+len` at the error level.
pub(super) fn vudo_error(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) {
    log(caller, "vudo_error", LogLevel::Error as i32, ptr, len);
}

fn log(caller: &mut Caller<'_, HostState>, function: &str, level: i32, ptr: i32, len: i32) {
    // Past the cap `host_log` drops the message and says so once itself.
    let capped = caller.data().log_count >= super::log::MAX_LOG_MESSAGES;
    if host_log(caller, level, ptr, len) != 0 && !capped {
        caller.data_mut().warn(format!(
            "`{function}` logged nothing: the level {level} is not 0 to 4, or the message is outside memory or not UTF-8"
        ));
    }
}
