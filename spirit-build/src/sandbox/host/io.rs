//! `host_input_len`, `host_input_read`, `host_output_write` and
//! `host_abort`: data in and out of a run, and the end of one.

use spirit_sdk::abi;
use wasmtime::Caller;

use super::log::MAX_LOG_MESSAGE;
use super::{memory, range, truncate, unsigned};
use crate::sandbox::outcome::Halt;
use crate::sandbox::state::HostState;

/// The most bytes of output one run may write.
pub(super) const MAX_OUTPUT: usize = 16 << 20;

/// The input's length in bytes.
pub(super) fn host_input_len(caller: &mut Caller<'_, HostState>) -> i32 {
    i32::try_from(caller.data().input.len()).unwrap_or(abi::ERROR)
}

/// Copies up to `len` bytes of the input from `offset` to `ptr`.
pub(super) fn host_input_read(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    offset: i32,
) -> i32 {
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let (Some(r), Ok(offset)) = (
        range(mem.len(), ptr, len),
        usize::try_from(unsigned(offset)),
    ) else {
        return abi::ERROR;
    };
    let available = state.input.get(offset..).unwrap_or_default();
    let n = available.len().min(r.len());
    mem[r.start..r.start + n].copy_from_slice(&available[..n]);
    i32::try_from(n).unwrap_or(abi::ERROR)
}

/// Appends `ptr..ptr+len` to the output, within [`MAX_OUTPUT`] per run.
pub(super) fn host_output_write(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> i32 {
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let Some(r) = range(mem.len(), ptr, len) else {
        return abi::ERROR;
    };
    if state.output_len + r.len() > MAX_OUTPUT {
        return abi::ERROR;
    }
    state.output_len += r.len();
    match state.io.output(&mem[r]) {
        Ok(()) => abi::SUCCESS,
        Err(_) => abi::ERROR,
    }
}

/// Ends the run with the message at `ptr..ptr+len`.
pub(super) fn host_abort(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    let message = memory(caller)
        .and_then(|(mem, _)| {
            range(mem.len(), ptr, len).map(|r| String::from_utf8_lossy(&mem[r]).into_owned())
        })
        .unwrap_or_else(|| "the spirit aborted (its message was outside its memory)".to_owned());
    Err(wasmtime::Error::new(Halt::Aborted(truncate(
        &message,
        MAX_LOG_MESSAGE,
    ))))
}
