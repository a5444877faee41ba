//! `host_hash_commit`, `host_hash_verify`, `host_json_path`,
//! `host_base64_encode` and `host_base64_decode`: the pure primitives. Each
//! checks the guest's ranges, charges fuel for the bytes it reads, runs the
//! `spirit-primitives` function the SDK's mock host also runs, and charges
//! for the bytes it wrote.
//!
//! The input and output ranges may overlap (decoding base64 in place, for
//! one): the input is then copied before the output is written.

use std::ops::Range;

use spirit_primitives::{MAX_INPUT, abi as pure, code, fuel, hash, json};
use wasmtime::{Caller, Trap};

use super::{memory, range};
use crate::sandbox::state::HostState;

/// Writes the BLAKE3 hash of `ptr..ptr+len` to the 32 bytes at `out_ptr`.
pub(super) fn host_hash_commit(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    out_ptr: i32,
) -> wasmtime::Result<i32> {
    let Some((data, out)) = ranges(caller, (ptr, len), (out_ptr, hash::LEN as i32)) else {
        return Ok(code::BAD_ARGUMENT);
    };
    charge(caller, fuel(read(&data)))?;
    let Some((mem, _)) = memory(caller) else {
        return Ok(code::BAD_ARGUMENT);
    };
    let mut digest = [0u8; hash::LEN];
    let status = pure::hash_commit(&mem[data], &mut digest);
    if status == 0 {
        mem[out].copy_from_slice(&digest);
        charge(caller, hash::LEN as u64)?;
    }
    Ok(status)
}

/// Compares the BLAKE3 hash of `ptr..ptr+len` with the 32 bytes at
/// `hash_ptr`, in constant time.
pub(super) fn host_hash_verify(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    hash_ptr: i32,
) -> wasmtime::Result<i32> {
    let Some((data, expected)) = ranges(caller, (ptr, len), (hash_ptr, hash::LEN as i32)) else {
        return Ok(code::BAD_ARGUMENT);
    };
    charge(caller, fuel(read(&data) + hash::LEN))?;
    let Some((mem, _)) = memory(caller) else {
        return Ok(code::BAD_ARGUMENT);
    };
    let mut digest = [0u8; hash::LEN];
    digest.copy_from_slice(&mem[expected]);
    Ok(pure::hash_verify(&mem[data], &digest))
}

/// Writes the value at a JSON path in a JSON document to `out_ptr`.
#[expect(clippy::too_many_arguments, reason = "the ABI's signature")]
pub(super) fn host_json_path(
    caller: &mut Caller<'_, HostState>,
    doc_ptr: i32,
    doc_len: i32,
    path_ptr: i32,
    path_len: i32,
    out_ptr: i32,
    out_cap: i32,
    mode: i32,
) -> wasmtime::Result<i32> {
    let Some((doc, out)) = ranges(caller, (doc_ptr, doc_len), (out_ptr, out_cap)) else {
        return Ok(code::BAD_ARGUMENT);
    };
    let Some(path) = memory(caller).and_then(|(mem, _)| range(mem.len(), path_ptr, path_len))
    else {
        return Ok(code::BAD_ARGUMENT);
    };
    // Refused before it is copied: a path is short, a guest's range need not be.
    if path.len() > json::MAX_PATH {
        charge(caller, fuel(0))?;
        return Ok(code::TOO_LARGE);
    }
    charge(caller, fuel(read(&doc) + path.len()))?;
    let Some((mem, _)) = memory(caller) else {
        return Ok(code::BAD_ARGUMENT);
    };
    let path = mem[path].to_vec();
    let status = with_input_and_output(mem, doc, out.clone(), |doc, out| {
        pure::json_path(doc, &path, out, mode)
    });
    charge_written(caller, status, out.len())?;
    Ok(status)
}

/// Writes the base64 text of `ptr..ptr+len` to `out_ptr`.
pub(super) fn host_base64_encode(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    out_ptr: i32,
    out_cap: i32,
    flags: i32,
) -> wasmtime::Result<i32> {
    base64(caller, (ptr, len), (out_ptr, out_cap), |input, out| {
        pure::base64_encode(input, out, flags)
    })
}

/// Writes the bytes of the base64 text at `ptr..ptr+len` to `out_ptr`.
pub(super) fn host_base64_decode(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    out_ptr: i32,
    out_cap: i32,
    flags: i32,
) -> wasmtime::Result<i32> {
    base64(caller, (ptr, len), (out_ptr, out_cap), |text, out| {
        pure::base64_decode(text, out, flags)
    })
}

/// What both base64 functions do around their primitive `f`.
fn base64(
    caller: &mut Caller<'_, HostState>,
    input: (i32, i32),
    output: (i32, i32),
    f: impl FnOnce(&[u8], &mut [u8]) -> i32,
) -> wasmtime::Result<i32> {
    let Some((input, out)) = ranges(caller, input, output) else {
        return Ok(code::BAD_ARGUMENT);
    };
    charge(caller, fuel(read(&input)))?;
    let Some((mem, _)) = memory(caller) else {
        return Ok(code::BAD_ARGUMENT);
    };
    let status = with_input_and_output(mem, input, out.clone(), f);
    charge_written(caller, status, out.len())?;
    Ok(status)
}

/// An input range and an output range, both inside the guest's memory.
fn ranges(
    caller: &mut Caller<'_, HostState>,
    (ptr, len): (i32, i32),
    (out_ptr, out_len): (i32, i32),
) -> Option<(Range<usize>, Range<usize>)> {
    let (mem, _) = memory(caller)?;
    Some((
        range(mem.len(), ptr, len)?,
        range(mem.len(), out_ptr, out_len)?,
    ))
}

/// The bytes a primitive reads of `input`: none when it is over the limit,
/// since the primitive then refuses it unread.
fn read(input: &Range<usize>) -> usize {
    if input.len() > MAX_INPUT {
        0
    } else {
        input.len()
    }
}

/// Takes `units` of fuel from the run; with fewer left, ends it out of fuel.
fn charge(caller: &mut Caller<'_, HostState>, units: u64) -> wasmtime::Result<()> {
    // Only a store without fuel metering (a unit test's) has no fuel to read.
    let Ok(left) = caller.get_fuel() else {
        return Ok(());
    };
    match left.checked_sub(units) {
        Some(rest) => caller.set_fuel(rest),
        None => {
            caller.set_fuel(0)?;
            Err(Trap::OutOfFuel.into())
        }
    }
}

/// Charges for the output a primitive wrote: `status` bytes, when it is a
/// length that fit in `capacity` (a larger one was not written).
fn charge_written(
    caller: &mut Caller<'_, HostState>,
    status: i32,
    capacity: usize,
) -> wasmtime::Result<()> {
    match usize::try_from(status) {
        Ok(written) if written <= capacity => charge(caller, written as u64),
        _ => Ok(()),
    }
}

/// Runs `f` on guest memory's `input` and `output` ranges, copying the
/// input first when the two overlap.
fn with_input_and_output<T>(
    mem: &mut [u8],
    input: Range<usize>,
    output: Range<usize>,
    f: impl FnOnce(&[u8], &mut [u8]) -> T,
) -> T {
    if input.end <= output.start {
        let (before, after) = mem.split_at_mut(output.start);
        f(&before[input], &mut after[..output.len()])
    } else if output.end <= input.start {
        let (before, after) = mem.split_at_mut(input.start);
        f(&after[..input.len()], &mut before[output])
    } else {
        let copy = mem[input].to_vec();
        f(&copy, &mut mem[output])
    }
}
