//! `vudo_random` and `vudo_random_bytes`: the run's random source (the
//! operating system's, or the seeded stream of deterministic mode).

use wasmtime::Caller;

use super::vudo_io::{no_memory, outside};
use super::{memory, range};
use crate::sandbox::outcome::Halt;
use crate::sandbox::state::HostState;

/// A number in [0, 1): 53 random bits as the fraction of an `f64`; `-1.0`
/// when the generator fails.
pub(super) fn vudo_random(caller: &mut Caller<'_, HostState>) -> f64 {
    let mut bytes = [0u8; 8];
    if !caller.data_mut().fill_random(&mut bytes) {
        return -1.0;
    }
    let bits = u64::from_le_bytes(bytes) >> 11;
    // 53 bits are exact in an f64's mantissa.
    bits as f64 / (1u64 << 53) as f64
}

/// Fills `ptr..ptr+len` with random bytes.
pub(super) fn vudo_random_bytes(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    const NAME: &str = "vudo_random_bytes";
    let (mem, state) = memory(caller).ok_or_else(|| no_memory(NAME))?;
    let r = range(mem.len(), ptr, len).ok_or_else(|| outside(NAME, ptr, len, mem.len()))?;
    if state.fill_random(&mut mem[r]) {
        Ok(())
    } else {
        Err(wasmtime::Error::new(Halt::HostCall(format!(
            "`{NAME}`: the system's random generator failed"
        ))))
    }
}
