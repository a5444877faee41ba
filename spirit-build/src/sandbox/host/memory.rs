//! Guest memory as the host functions see it: the exported `memory`
//! borrowed with the run's state, and the bounds check every guest pointer
//! and length goes through.

use spirit_sdk::abi;
use wasmtime::{Caller, Extern};

use crate::sandbox::state::HostState;

/// The guest's memory and the state, borrowed together.
pub(super) fn memory<'a>(
    caller: &'a mut Caller<'_, HostState>,
) -> Option<(&'a mut [u8], &'a mut HostState)> {
    let Some(Extern::Memory(memory)) = caller.get_export(abi::MEMORY_EXPORT) else {
        return None;
    };
    Some(memory.data_and_store_mut(caller))
}

/// The range `ptr..ptr+len` of guest memory, when it is inside it.
/// Pointers and lengths are `i32` in the ABI but addresses in a 32-bit
/// memory are unsigned, so both are read as `u32` (a negative one is then
/// beyond any memory smaller than 2 GiB, and refused).
pub(crate) fn range(mem_len: usize, ptr: i32, len: i32) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(unsigned(ptr)).ok()?;
    let len = usize::try_from(unsigned(len)).ok()?;
    let end = start.checked_add(len)?;
    (end <= mem_len).then_some(start..end)
}

/// The bits of an ABI `i32` as the `u32` WebAssembly means by them.
pub(super) fn unsigned(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

/// `text` cut to at most `max` bytes on a character boundary, with `…`.
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
