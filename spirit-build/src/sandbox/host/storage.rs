//! `host_storage_read`, `host_storage_write`, `host_storage_delete` and the
//! atomic `host_storage_increment` and `host_storage_compare_and_swap`: the
//! host side of a spirit's key-value store. Each call works in the run's
//! one transaction ([`sandbox::transaction`](crate::sandbox::transaction)),
//! on the store of [`sandbox::storage`](crate::sandbox::storage).

use spirit_sdk::abi;
use wasmtime::Caller;

use super::{memory, range};
use crate::sandbox::state::HostState;
use crate::sandbox::storage::StorageError;

/// Copies the value under the key into `val_ptr..val_ptr+val_cap`.
pub(super) fn host_storage_read(
    caller: &mut Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    val_ptr: i32,
    val_cap: i32,
) -> i32 {
    const NAME: &str = "host_storage_read";
    let key = match storage_call(caller, NAME, key_ptr, key_len) {
        Ok(key) => key,
        Err(status) => return status,
    };
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let Some(dest) = range(mem.len(), val_ptr, val_cap) else {
        return abi::ERROR;
    };
    let copied = state
        .storage()
        .and_then(|txn| txn.read(&key))
        .map(|value| match value {
            None => 0,
            Some(v) if v.len() > dest.len() => abi::ERROR,
            Some(v) => {
                mem[dest.start..dest.start + v.len()].copy_from_slice(&v);
                i32::try_from(v.len()).unwrap_or(abi::ERROR)
            }
        });
    match copied {
        Ok(n) => n,
        Err(e) => state.storage_failed(NAME, &e),
    }
}

/// Stores `val_ptr..val_ptr+val_len` under the key.
pub(super) fn host_storage_write(
    caller: &mut Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    val_ptr: i32,
    val_len: i32,
) -> i32 {
    const NAME: &str = "host_storage_write";
    let key = match storage_call(caller, NAME, key_ptr, key_len) {
        Ok(key) => key,
        Err(status) => return status,
    };
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let Some(value) = range(mem.len(), val_ptr, val_len) else {
        return abi::ERROR;
    };
    let quota = state.limits.storage;
    match state
        .storage()
        .and_then(|txn| txn.write(&key, &mem[value], &quota))
    {
        Ok(()) => abi::SUCCESS,
        Err(e) => state.storage_failed(NAME, &e),
    }
}

/// Deletes the key: `1` deleted, `0` missing.
pub(super) fn host_storage_delete(
    caller: &mut Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
) -> i32 {
    const NAME: &str = "host_storage_delete";
    let key = match storage_call(caller, NAME, key_ptr, key_len) {
        Ok(key) => key,
        Err(status) => return status,
    };
    let state = caller.data_mut();
    let quota = state.limits.storage;
    match state.storage().and_then(|txn| txn.delete(&key, &quota)) {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(e) => state.storage_failed(NAME, &e),
    }
}

/// Adds `delta` to the counter under the key; writes the sum to the 8 bytes
/// at `out_ptr`.
pub(super) fn host_storage_increment(
    caller: &mut Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    delta: i64,
    out_ptr: i32,
) -> i32 {
    const NAME: &str = "host_storage_increment";
    let key = match storage_call(caller, NAME, key_ptr, key_len) {
        Ok(key) => key,
        Err(status) => return status,
    };
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let Some(out) = range(mem.len(), out_ptr, 8) else {
        return abi::ERROR;
    };
    let quota = state.limits.storage;
    match state
        .storage()
        .and_then(|txn| txn.increment(&key, delta, &quota))
    {
        Ok(sum) => {
            mem[out].copy_from_slice(&sum.to_le_bytes());
            abi::SUCCESS
        }
        Err(e) => state.storage_failed(NAME, &e),
    }
}

/// Stores the new value only over the expected one: `1` swapped, `0` not.
pub(super) fn host_storage_compare_and_swap(
    caller: &mut Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    old_ptr: i32,
    old_len: i32,
    new_ptr: i32,
    new_len: i32,
) -> i32 {
    const NAME: &str = "host_storage_compare_and_swap";
    let key = match storage_call(caller, NAME, key_ptr, key_len) {
        Ok(key) => key,
        Err(status) => return status,
    };
    let Some((mem, state)) = memory(caller) else {
        return abi::ERROR;
    };
    let (Some(old), Some(new)) = (
        range(mem.len(), old_ptr, old_len),
        range(mem.len(), new_ptr, new_len),
    ) else {
        return abi::ERROR;
    };
    let quota = state.limits.storage;
    match state
        .storage()
        .and_then(|txn| txn.compare_and_swap(&key, &mem[old], &mem[new], &quota))
    {
        Ok(swapped) => i32::from(swapped),
        Err(e) => state.storage_failed(NAME, &e),
    }
}

/// What every storage call does first (after the capability gate): read
/// the key from guest memory and begin the run's transaction (the first
/// call of a run; later ones find it begun). `Err` holds the status to
/// return to the guest (`-1`; a failure to open the store is also reported
/// to the person running the spirit).
fn storage_call(
    caller: &mut Caller<'_, HostState>,
    function: &str,
    key_ptr: i32,
    key_len: i32,
) -> Result<Vec<u8>, i32> {
    let key = guest_key(caller, key_ptr, key_len).ok_or(abi::ERROR)?;
    let state = caller.data_mut();
    match state.storage() {
        Ok(_) => Ok(key),
        Err(e) => Err(state.storage_failed(function, &e)),
    }
}

/// A copy of the key at `ptr..ptr+len`, when it is inside the guest's memory
/// and within the key quota (checked before copying, so a guest cannot make
/// the host copy megabytes to be refused).
fn guest_key(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let (mem, state) = memory(caller)?;
    let r = range(mem.len(), ptr, len)?;
    if r.is_empty() || r.len() > state.limits.storage.max_key {
        let error = StorageError::KeyLength {
            len: r.len(),
            max: state.limits.storage.max_key,
        };
        state.warn(format!("a storage call returned -1: {error}"));
        return None;
    }
    Some(mem[r].to_vec())
}
