//! `host_network_*` and `host_http_request`: the guest side of the run's
//! [`NetSession`](crate::net::NetSession), reading and writing guest memory
//! and turning each refusal into `-1` and a warning that says why.

use std::time::Duration;

use spirit_sdk::abi;
use wasmtime::Caller;

use super::{memory, range, truncate};
use crate::net::{NetError, Received};
use crate::sandbox::state::HostState;

/// The most bytes one `host_network_send` or `host_http_request` reads.
const MAX_SEND: usize = 16 << 20;

const ERROR: i64 = abi::ERROR as i64;

/// The value for the spirit: `Ok` as is, an error as `-1` with a warning.
fn answer(state: &mut HostState, function: &str, result: Result<i64, NetError>) -> i64 {
    for note in state.net().take_notes() {
        state.io.network(note);
    }
    match result {
        Ok(value) => value,
        Err(e) => {
            state.warn(format!("`{function}` returned -1: {e}"));
            ERROR
        }
    }
}

/// The guest bytes `ptr..ptr+len` (at most `max`), copied out.
fn bytes(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32, max: usize) -> Option<Vec<u8>> {
    let (mem, _) = memory(caller)?;
    let r = range(mem.len(), ptr, len)?;
    (r.len() <= max).then(|| mem[r].to_vec())
}

/// A guest timeout: `None` (the run's deadline) for 0 or less.
fn timeout(ms: i32) -> Option<Duration> {
    u64::try_from(ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

fn bad_range(caller: &mut Caller<'_, HostState>, function: &str, what: &str) -> i64 {
    caller
        .data_mut()
        .warn(format!("`{function}` returned -1: {what}"));
    ERROR
}

pub(super) fn host_network_connect(
    caller: &mut Caller<'_, HostState>,
    addr_ptr: i32,
    addr_len: i32,
) -> i64 {
    const F: &str = "host_network_connect";
    let Some(addr) = bytes(caller, addr_ptr, addr_len, abi::MAX_NETWORK_ADDRESS) else {
        return bad_range(
            caller,
            F,
            "the address is outside the spirit's memory or over 256 bytes",
        );
    };
    let state = caller.data_mut();
    let result = match std::str::from_utf8(&addr) {
        Ok(text) if !text.is_empty() => state.net().connect(text),
        _ => Err(NetError::Invalid(format!(
            "the address `{}` is not 1 to 256 bytes of UTF-8 `host:port`",
            truncate(&String::from_utf8_lossy(&addr), 64)
        ))),
    };
    answer(state, F, result)
}

pub(super) fn host_network_listen(caller: &mut Caller<'_, HostState>, port: i32) -> i64 {
    let state = caller.data_mut();
    let result = state.net().listen(port);
    answer(state, "host_network_listen", result)
}

pub(super) fn host_network_broadcast(
    caller: &mut Caller<'_, HostState>,
    msg_ptr: i32,
    msg_len: i32,
) -> i64 {
    const F: &str = "host_network_broadcast";
    let Some(message) =
        bytes(caller, msg_ptr, msg_len, abi::MAX_BROADCAST).filter(|m| !m.is_empty())
    else {
        return bad_range(
            caller,
            F,
            "the message is outside the spirit's memory, empty, or over 64 KiB",
        );
    };
    let state = caller.data_mut();
    let result = state.net().broadcast(&message);
    answer(state, F, result)
}

pub(super) fn host_network_send(
    caller: &mut Caller<'_, HostState>,
    handle: i64,
    ptr: i32,
    len: i32,
) -> i64 {
    const F: &str = "host_network_send";
    let Some(data) = bytes(caller, ptr, len, MAX_SEND) else {
        return bad_range(
            caller,
            F,
            "the data is outside the spirit's memory or over 16 MiB",
        );
    };
    let state = caller.data_mut();
    let result = state
        .net()
        .send(handle, &data)
        .map(|n| i64::try_from(n).unwrap_or(ERROR));
    answer(state, F, result)
}

pub(super) fn host_network_recv(
    caller: &mut Caller<'_, HostState>,
    handle: i64,
    ptr: i32,
    cap: i32,
    timeout_ms: i32,
) -> i64 {
    const F: &str = "host_network_recv";
    let Some((mem, state)) = memory(caller) else {
        return ERROR;
    };
    let Some(r) = range(mem.len(), ptr, cap) else {
        state.warn(format!(
            "`{F}` returned -1: the buffer is outside the spirit's memory"
        ));
        return ERROR;
    };
    let result = state
        .net()
        .recv(handle, &mut mem[r], timeout(timeout_ms))
        .map(|received| match received {
            Received::Bytes(n) => i64::try_from(n).unwrap_or(ERROR),
            Received::TimedOut => abi::TIMED_OUT,
        });
    answer(state, F, result)
}

pub(super) fn host_network_accept(
    caller: &mut Caller<'_, HostState>,
    listener: i64,
    timeout_ms: i32,
) -> i64 {
    let state = caller.data_mut();
    let result = state
        .net()
        .accept(listener, timeout(timeout_ms))
        .map(|accepted| accepted.unwrap_or(abi::TIMED_OUT));
    answer(state, "host_network_accept", result)
}

pub(super) fn host_network_close(caller: &mut Caller<'_, HostState>, handle: i64) -> i32 {
    let state = caller.data_mut();
    let result = state.net().close(handle).map(|()| 0);
    // `answer` gives 0 or -1 here.
    i32::try_from(answer(state, "host_network_close", result)).unwrap_or(abi::ERROR)
}

pub(super) fn host_http_request(
    caller: &mut Caller<'_, HostState>,
    req_ptr: i32,
    req_len: i32,
) -> i64 {
    const F: &str = "host_http_request";
    let Some(request) = bytes(caller, req_ptr, req_len, MAX_SEND) else {
        return bad_range(
            caller,
            F,
            "the request is outside the spirit's memory or over 16 MiB",
        );
    };
    let state = caller.data_mut();
    let result = state.net().http_request(&request);
    answer(state, F, result)
}
