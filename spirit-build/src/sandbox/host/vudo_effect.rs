//! `vudo_emit_effect` and `vudo_subscribe`: effects go to the host (the
//! séance's handler and events) and, as messages, to the other spirits
//! subscribed to their channel (the id in decimal, or `*`).

use wasmtime::Caller;

use super::vudo_message::{bus_failed, failed, read};
use crate::sandbox::bus::{MAX_CHANNEL_NAME, MAX_MESSAGE_BYTES};
use crate::sandbox::state::HostState;

/// Emits the effect `id` with the payload at `ptr..ptr+len`; how many
/// spirits received it, or `-1`.
pub(super) fn vudo_emit_effect(
    caller: &mut Caller<'_, HostState>,
    id: i32,
    ptr: i32,
    len: i32,
) -> i32 {
    const NAME: &str = "vudo_emit_effect";
    let payload = match read(caller, ptr, len, MAX_MESSAGE_BYTES) {
        Ok(payload) => payload,
        Err(why) => return failed(caller, NAME, &why),
    };
    let state = caller.data();
    match state.bus().emit(state.name(), id, &payload) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) => bus_failed(caller, NAME, &e),
    }
}

/// Subscribes the spirit to the channel named at `chan_ptr..+chan_len`.
pub(super) fn vudo_subscribe(
    caller: &mut Caller<'_, HostState>,
    chan_ptr: i32,
    chan_len: i32,
) -> i32 {
    const NAME: &str = "vudo_subscribe";
    let channel = match read(caller, chan_ptr, chan_len, MAX_CHANNEL_NAME) {
        Ok(channel) => channel,
        Err(why) => return failed(caller, NAME, &why),
    };
    let Ok(channel) = String::from_utf8(channel) else {
        return failed(caller, NAME, "the channel name is not UTF-8");
    };
    let state = caller.data();
    match state.bus().subscribe(state.name(), &channel) {
        Ok(()) => 0,
        Err(e) => bus_failed(caller, NAME, &e),
    }
}
