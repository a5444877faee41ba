//! `host_spirit_call`, `host_spirit_output` and `host_spirit_error`: a
//! spirit calling a declared dependency, which runs in an instance of its
//! own (see `sandbox/compose.rs`, behind `sandbox/calls.rs`), and reading what the last call gave.

use spirit_sdk::abi;
use wasmtime::Caller;

use super::{memory, range};
use crate::sandbox::calls::{CallEnd, CallRequest};
use crate::sandbox::outcome::Halt;
use crate::sandbox::state::HostState;

/// The longest export name a call may give.
const MAX_EXPORT_NAME: usize = 256;

/// Runs the dependency named at `name_ptr..+name_len` with the input at
/// `in_ptr..+in_len`; its fuel used comes off the caller's.
#[allow(clippy::too_many_arguments)] // the ABI's eight parameters
pub(super) fn host_spirit_call(
    caller: &mut Caller<'_, HostState>,
    name_ptr: i32,
    name_len: i32,
    export_ptr: i32,
    export_len: i32,
    in_ptr: i32,
    in_len: i32,
    out_ptr: i32,
    out_cap: i32,
) -> wasmtime::Result<i32> {
    let Some((mem, state)) = memory(caller) else {
        return Ok(abi::ERROR);
    };
    state.last_call_output.clear();
    state.last_call_error.clear();
    let (Some(name), Some(export), Some(input), Some(out)) = (
        range(mem.len(), name_ptr, name_len),
        range(mem.len(), export_ptr, export_len),
        range(mem.len(), in_ptr, in_len),
        range(mem.len(), out_ptr, out_cap),
    ) else {
        state.warn("`host_spirit_call` returned -1: a range is outside the spirit's memory".into());
        return Ok(abi::ERROR);
    };
    let too_long = if name.len() > 64 {
        Some("the name is longer than a spirit name can be (64 bytes)".to_owned())
    } else if export.len() > MAX_EXPORT_NAME {
        Some(format!(
            "the export name is longer than {MAX_EXPORT_NAME} bytes"
        ))
    } else if u64::try_from(input.len()).map_or(true, |n| n > state.limits.max_input) {
        Some(format!(
            "the input is larger than the run's input limit of {}",
            crate::units::Bytes(state.limits.max_input)
        ))
    } else {
        None
    };
    if let Some(why) = too_long {
        state.last_call_error = why;
        return Ok(abi::SPIRIT_FAILED);
    }
    let name = String::from_utf8_lossy(&mem[name]).into_owned();
    let export = (!export.is_empty()).then(|| String::from_utf8_lossy(&mem[export]).into_owned());
    let input = mem[input].to_vec();
    if state.spirits.is_none() {
        state.last_call_error = format!(
            "`{}` is not a dependency: this spirit declares none\nhelp: declare it in `[package.metadata.spirit.dependencies]` and build again",
            crate::shell::escape(&name)
        );
        return Ok(abi::NOT_FOUND);
    }
    let request = CallRequest {
        name,
        export,
        input,
        fuel: 0,
        deadline: state.deadline(),
        max_memory: state.limits.max_memory,
    };
    let fuel = caller.get_fuel()?;
    let Some(state) = memory(caller).map(|(_, state)| state) else {
        return Ok(abi::ERROR);
    };
    let Some(site) = state.spirits.as_ref() else {
        return Ok(abi::ERROR);
    };
    let report = site.call(CallRequest { fuel, ..request });
    for record in report.logs {
        state.io.log(record);
    }
    for warning in report.warnings {
        state.warn(warning);
    }
    caller.set_fuel(fuel.saturating_sub(report.fuel_used))?;
    let Some((mem, state)) = memory(caller) else {
        return Ok(abi::ERROR);
    };
    match report.end {
        CallEnd::Returned(output) => {
            let len = i32::try_from(output.len()).unwrap_or(abi::ERROR);
            if output.len() <= out.len() {
                mem[out.start..out.start + output.len()].copy_from_slice(&output);
            }
            state.last_call_output = output;
            Ok(len)
        }
        CallEnd::Undeclared(why) => {
            state.last_call_error = why;
            Ok(abi::NOT_FOUND)
        }
        CallEnd::Failed(why) => {
            state.last_call_error = why;
            Ok(abi::SPIRIT_FAILED)
        }
        CallEnd::Halted(why) => Err(wasmtime::Error::new(Halt::Dependency(why))),
    }
}

/// Copies the last call's output to `ptr` when it fits in `cap` bytes.
pub(super) fn host_spirit_output(caller: &mut Caller<'_, HostState>, ptr: i32, cap: i32) -> i32 {
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    copy_out(mem, ptr, cap, &state.last_call_output)
}

/// Copies why the last call failed to `ptr` when it fits in `cap` bytes.
pub(super) fn host_spirit_error(caller: &mut Caller<'_, HostState>, ptr: i32, cap: i32) -> i32 {
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    copy_out(mem, ptr, cap, state.last_call_error.as_bytes())
}

/// `bytes` into `ptr..ptr+cap` when they fit; their length either way.
fn copy_out(mem: &mut [u8], ptr: i32, cap: i32, bytes: &[u8]) -> i32 {
    let Some(r) = range(mem.len(), ptr, cap) else {
        return abi::ERROR;
    };
    if bytes.len() <= r.len() {
        mem[r.start..r.start + bytes.len()].copy_from_slice(bytes);
    }
    i32::try_from(bytes.len()).unwrap_or(abi::ERROR)
}
