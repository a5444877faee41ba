//! The one place that calls the host: raw imports on wasm32, the mock host
//! elsewhere. Everything above this module is safe and typed.

#[cfg(target_arch = "wasm32")]
mod raw {
    macro_rules! imports {
        ($(
            $(#[doc = $doc:literal])*
            $name:ident($($param:ident: $pty:ident),*) $(-> $rty:ident)?, $cap:ident$(($capv:ident))?;
        )*) => {
            // Every host function is declared; the ones no wrapper calls yet
            // cost nothing (an unused import is not emitted).
            #[allow(dead_code)]
            #[link(wasm_import_module = "vudo")]
            unsafe extern "C" {
                $(pub(crate) fn $name($($param: $pty),*) $(-> $rty)?;)*
            }
        };
    }
    crate::abi::host_abi!(imports);
}

/// Pointers and lengths as the 32-bit values the ABI passes.
#[cfg(target_arch = "wasm32")]
fn ptr_len(bytes: &[u8]) -> (i32, i32) {
    (bytes.as_ptr() as i32, bytes.len() as i32)
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn log(level: i32, message: &str) -> i32 {
    let (ptr, len) = ptr_len(message.as_bytes());
    // SAFETY: the host reads `len` bytes at `ptr`, all inside `message`.
    unsafe { raw::host_log(level, ptr, len) }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn abort(message: &str) -> ! {
    let (ptr, len) = ptr_len(message.as_bytes());
    // SAFETY: the host reads `len` bytes at `ptr`, all inside `message`.
    unsafe { raw::host_abort(ptr, len) };
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::mock::host::{abort, log};
