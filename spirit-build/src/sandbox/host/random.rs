//! `host_random_bytes`: the operating system's generator, or the seeded
//! stream of deterministic mode.

use spirit_sdk::abi;
use wasmtime::Caller;

use super::{memory, range};
use crate::sandbox::state::HostState;

/// Fills `ptr..ptr+len` with random bytes.
pub(super) fn host_random_bytes(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> i32 {
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let Some(r) = range(mem.len(), ptr, len) else {
        return abi::ERROR;
    };
    if state.fill_random(&mut mem[r]) {
        abi::SUCCESS
    } else {
        abi::ERROR
    }
}
