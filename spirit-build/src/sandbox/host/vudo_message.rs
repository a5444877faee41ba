//! `vudo_send`, `vudo_recv`, `vudo_pending`, `vudo_broadcast` and
//! `vudo_free_message`: messages between the spirits of a séance, over its
//! [`Bus`](crate::sandbox::bus::Bus) (whose caps bound every queue), with
//! received records allocated by the host's allocator.

use spirit_sdk::abi;
use wasmtime::Caller;

use super::vudo_memory::{allocate, free};
use super::{memory, range};
use crate::sandbox::bus::{BusError, MAX_MESSAGE_BYTES};
use crate::sandbox::heap::HostHeap;
use crate::sandbox::state::HostState;

/// The longest name `vudo_send` reads (no spirit's name is longer).
const MAX_NAME: usize = 256;

/// The bytes at `ptr..ptr+len`, copied out of the spirit's memory when
/// there are at most `max` of them (checked before copying).
pub(super) fn read(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    max: usize,
) -> Result<Vec<u8>, String> {
    let outside = "a range outside the spirit's memory".to_owned();
    let (mem, _) = memory(caller).ok_or_else(|| outside.clone())?;
    let r = range(mem.len(), ptr, len).ok_or(outside)?;
    if r.len() > max {
        return Err(format!(
            "{} bytes, more than the {max} this argument may have",
            r.len()
        ));
    }
    Ok(mem[r].to_vec())
}

/// `-1`, with the reason reported.
pub(super) fn failed(caller: &mut Caller<'_, HostState>, function: &str, why: &str) -> i32 {
    caller
        .data_mut()
        .warn(format!("`{function}` returned -1: {why}"));
    abi::ERROR
}

pub(super) fn bus_failed(caller: &mut Caller<'_, HostState>, function: &str, e: &BusError) -> i32 {
    failed(caller, function, &e.to_string())
}

/// Sends the payload to the spirit named at `to_ptr..+to_len`: `1`, `0` or
/// `-1`.
pub(super) fn vudo_send(
    caller: &mut Caller<'_, HostState>,
    to_ptr: i32,
    to_len: i32,
    payload_ptr: i32,
    payload_len: i32,
) -> i32 {
    const NAME: &str = "vudo_send";
    let read_both = read(caller, to_ptr, to_len, MAX_NAME).and_then(|to| {
        Ok((
            to,
            read(caller, payload_ptr, payload_len, MAX_MESSAGE_BYTES)?,
        ))
    });
    let (to, payload) = match read_both {
        Ok(both) => both,
        Err(why) => return failed(caller, NAME, &why),
    };
    let Ok(to) = String::from_utf8(to) else {
        // No spirit has a name that is not UTF-8.
        return 0;
    };
    let state = caller.data();
    match state.bus().send(state.name(), &to, &payload) {
        Ok(delivered) => i32::from(delivered),
        Err(e) => bus_failed(caller, NAME, &e),
    }
}

/// Sends the payload to every other spirit; how many got it, or `-1`.
pub(super) fn vudo_broadcast(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> i32 {
    const NAME: &str = "vudo_broadcast";
    let payload = match read(caller, ptr, len, MAX_MESSAGE_BYTES) {
        Ok(payload) => payload,
        Err(why) => return failed(caller, NAME, &why),
    };
    let state = caller.data();
    match state.bus().broadcast(state.name(), &payload) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) => bus_failed(caller, NAME, &e),
    }
}

/// The oldest queued message as a host-allocated record; `0` when there is
/// none, `-1` when the record cannot be allocated (it stays queued).
pub(super) fn vudo_recv(caller: &mut Caller<'_, HostState>) -> i32 {
    const NAME: &str = "vudo_recv";
    let state = caller.data();
    let Some(message) = state.bus().recv(state.name()) else {
        return 0;
    };
    let record = message.record();
    let placed = i32::try_from(record.len())
        .ok()
        .and_then(|len| HostHeap::rounded(len).ok())
        .and_then(|size| allocate(caller, NAME, size));
    let Some(address) = placed else {
        let state = caller.data();
        state.bus().unreceive(state.name(), message);
        return failed(caller, NAME, "no room for the message; it stays queued");
    };
    let Some((mem, _)) = memory(caller) else {
        return abi::ERROR;
    };
    // The allocation lies inside a region the host grew, inside memory.
    let Some(target) = usize::try_from(address)
        .ok()
        .and_then(|start| mem.get_mut(start..start + record.len()))
    else {
        return abi::ERROR;
    };
    target.copy_from_slice(&record);
    u32::try_from(address).map_or(abi::ERROR, |a| i32::from_ne_bytes(a.to_ne_bytes()))
}

/// How many messages are queued for the spirit.
pub(super) fn vudo_pending(caller: &mut Caller<'_, HostState>) -> i32 {
    let state = caller.data();
    i32::try_from(state.bus().pending(state.name())).unwrap_or(i32::MAX)
}

/// Releases a record of `vudo_recv`.
pub(super) fn vudo_free_message(caller: &mut Caller<'_, HostState>, ptr: i32) {
    free(caller, "vudo_free_message", ptr);
}
