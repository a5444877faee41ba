//! `vudo_alloc`, `vudo_free` and `vudo_realloc`: the host's allocator in
//! the spirit's memory ([`HostHeap`]), which allocates only in pages it
//! grows itself, within the memory limit (see `sandbox/heap.rs`).

use spirit_sdk::abi;
use wasmtime::{Caller, Extern};

use super::unsigned;
use crate::sandbox::heap::{HeapRefusal, HostHeap, PAGE};
use crate::sandbox::state::HostState;

/// An address as the ABI's `i32` (its bits), when it is one of a 32-bit
/// memory.
fn signed(address: u64) -> Option<i32> {
    u32::try_from(address)
        .ok()
        .map(|a| i32::from_ne_bytes(a.to_ne_bytes()))
}

/// Allocates `size` bytes (rounded) in a host region, growing the memory
/// by whole pages when nothing free fits; `None`, with the reason reported,
/// when it cannot.
pub(super) fn allocate(
    caller: &mut Caller<'_, HostState>,
    function: &str,
    size: u64,
) -> Option<u64> {
    match caller.data_mut().heap.take(size) {
        Ok(Some(address)) => return Some(address),
        Ok(None) => {}
        Err(refusal) => {
            refused(caller, function, refusal);
            return None;
        }
    }
    let Some(Extern::Memory(memory)) = caller.get_export(abi::MEMORY_EXPORT) else {
        caller.data_mut().warn(format!(
            "`{function}` returned 0: the spirit exports no `memory`"
        ));
        return None;
    };
    let pages = HostHeap::pages_for(size);
    let old_pages = match memory.grow(&mut *caller, pages) {
        Ok(old) => old,
        Err(_) => {
            caller.data_mut().warn(format!(
                "`{function}` returned 0: growing the memory by {pages} page{} for {size} bytes passes the memory limit or the module's maximum",
                if pages == 1 { "" } else { "s" }
            ));
            return None;
        }
    };
    let start = old_pages * PAGE;
    let state = caller.data_mut();
    state.heap.add_region(start, start + pages * PAGE);
    state.heap.take(size).ok().flatten()
}

fn refused(caller: &mut Caller<'_, HostState>, function: &str, refusal: HeapRefusal) {
    let why = match refusal {
        HeapRefusal::BadSize => "the size is not positive".to_owned(),
        HeapRefusal::TooMany => format!(
            "{} host allocations are live; free some with `vudo_free`",
            crate::sandbox::heap::MAX_LIVE_ALLOCATIONS
        ),
        HeapRefusal::NotAllocated => "the address is not an allocation of `vudo_alloc`".to_owned(),
    };
    caller
        .data_mut()
        .warn(format!("`{function}` returned 0: {why}"));
}

/// Allocates `size` bytes; the address, or `0`.
pub(super) fn vudo_alloc(caller: &mut Caller<'_, HostState>, size: i32) -> i32 {
    let size = match HostHeap::rounded(size) {
        Ok(size) => size,
        Err(refusal) => {
            refused(caller, "vudo_alloc", refusal);
            return 0;
        }
    };
    allocate(caller, "vudo_alloc", size)
        .and_then(signed)
        .unwrap_or(0)
}

/// Frees an allocation of the host; anything else is reported and left
/// alone (the host never frees, or later hands out, the module's memory).
pub(super) fn vudo_free(caller: &mut Caller<'_, HostState>, ptr: i32, _size: i32) {
    free(caller, "vudo_free", ptr);
}

/// Frees `ptr` if the host allocated it, else reports it.
pub(super) fn free(caller: &mut Caller<'_, HostState>, function: &str, ptr: i32) {
    let address = u64::from(unsigned(ptr));
    if caller.data_mut().heap.free(address).is_err() {
        caller.data_mut().warn(format!(
            "`{function}` ignored address {address}: it is not a live allocation of the host"
        ));
    }
}

/// Resizes an allocation, keeping its contents; the new address or `0`.
pub(super) fn vudo_realloc(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    _old_size: i32,
    new_size: i32,
) -> i32 {
    const NAME: &str = "vudo_realloc";
    if ptr == 0 {
        return vudo_alloc(caller, new_size);
    }
    let size = match HostHeap::rounded(new_size) {
        Ok(size) => size,
        Err(refusal) => {
            refused(caller, NAME, refusal);
            return 0;
        }
    };
    let address = u64::from(unsigned(ptr));
    let Some(old_len) = caller.data().heap.allocation(address) else {
        refused(caller, NAME, HeapRefusal::NotAllocated);
        return 0;
    };
    if caller.data_mut().heap.resize_in_place(address, size) {
        return ptr;
    }
    let Some(new) = allocate(caller, NAME, size) else {
        return 0;
    };
    let Some(Extern::Memory(memory)) = caller.get_export(abi::MEMORY_EXPORT) else {
        return 0;
    };
    // Both blocks are inside host regions, which lie inside the memory;
    // `get` keeps that a checked fact rather than an assumption.
    let (from, to, n) = (address as usize, new as usize, old_len.min(size) as usize);
    let data = memory.data_mut(&mut *caller);
    if from.checked_add(n).is_none_or(|end| end > data.len())
        || to.checked_add(n).is_none_or(|end| end > data.len())
    {
        return 0;
    }
    data.copy_within(from..from + n, to);
    let _ = caller.data_mut().heap.free(address);
    signed(new).unwrap_or(0)
}
