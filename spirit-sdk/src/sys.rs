//! The one place that calls the host: raw imports on wasm32, the mock host
//! elsewhere. Everything above this module is safe and typed.
//!
//! Each function here takes slices and returns the host's raw `i32` (or
//! `i64`) result unchanged; the topic modules turn those into `Result`s.

#[cfg(target_arch = "wasm32")]
mod raw {
    macro_rules! imports {
        ($(
            $(#[doc = $doc:literal])*
            $name:ident($($param:ident: $pty:ident),*) $(-> $rty:ident)?, $cap:ident$(($capv:ident))? $(, also($($also:ident),*))?;
        )*) => {
            // Every host function is declared, under `vudo` (a function's
            // other modules are for modules other compilers emit); an import
            // no wrapper calls is not emitted, so it costs nothing.
            #[allow(dead_code)]
            #[link(wasm_import_module = "vudo")]
            unsafe extern "C" {
                $(pub(crate) fn $name($($param: $pty),*) $(-> $rty)?;)*
            }
        };
    }
    crate::abi::host_abi!(imports);
}

/// A slice as the pointer and length the ABI passes. On wasm32 a slice is
/// at most `isize::MAX` (= `i32::MAX`) bytes and every address fits in 32
/// bits, so both casts are lossless.
#[cfg(target_arch = "wasm32")]
fn ptr_len(bytes: &[u8]) -> (i32, i32) {
    (bytes.as_ptr() as i32, bytes.len() as i32)
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{ptr_len, raw};

    pub(crate) fn time_now() -> i64 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_time_now() }
    }

    pub(crate) fn random_bytes(buf: &mut [u8]) -> i32 {
        let (ptr, len) = ptr_len(buf);
        // SAFETY: the host writes at most `len` bytes at `ptr`, all inside
        // `buf`, which is borrowed mutably for the call.
        unsafe { raw::host_random_bytes(ptr, len) }
    }

    pub(crate) fn log(level: i32, message: &str) -> i32 {
        let (ptr, len) = ptr_len(message.as_bytes());
        // SAFETY: the host reads `len` bytes at `ptr`, all inside `message`.
        unsafe { raw::host_log(level, ptr, len) }
    }

    pub(crate) fn storage_read(key: &[u8], buf: &mut [u8]) -> i32 {
        let (key_ptr, key_len) = ptr_len(key);
        let (val_ptr, val_cap) = ptr_len(buf);
        // SAFETY: the host reads inside `key` and writes at most `val_cap`
        // bytes inside `buf`, which is borrowed mutably for the call.
        unsafe { raw::host_storage_read(key_ptr, key_len, val_ptr, val_cap) }
    }

    pub(crate) fn storage_write(key: &[u8], value: &[u8]) -> i32 {
        let (key_ptr, key_len) = ptr_len(key);
        let (val_ptr, val_len) = ptr_len(value);
        // SAFETY: the host only reads inside `key` and `value`.
        unsafe { raw::host_storage_write(key_ptr, key_len, val_ptr, val_len) }
    }

    pub(crate) fn storage_delete(key: &[u8]) -> i32 {
        let (key_ptr, key_len) = ptr_len(key);
        // SAFETY: the host only reads inside `key`.
        unsafe { raw::host_storage_delete(key_ptr, key_len) }
    }

    pub(crate) fn storage_increment(key: &[u8], delta: i64, out: &mut [u8; 8]) -> i32 {
        let (key_ptr, key_len) = ptr_len(key);
        // SAFETY: the host reads inside `key` and writes the 8 bytes of
        // `out`, which is borrowed mutably for the call.
        unsafe { raw::host_storage_increment(key_ptr, key_len, delta, out.as_mut_ptr() as i32) }
    }

    pub(crate) fn storage_compare_and_swap(key: &[u8], old: &[u8], new: &[u8]) -> i32 {
        let (key_ptr, key_len) = ptr_len(key);
        let (old_ptr, old_len) = ptr_len(old);
        let (new_ptr, new_len) = ptr_len(new);
        // SAFETY: the host only reads inside `key`, `old` and `new`.
        unsafe {
            raw::host_storage_compare_and_swap(key_ptr, key_len, old_ptr, old_len, new_ptr, new_len)
        }
    }

    pub(crate) fn credit_balance(account: &[u8; 32]) -> i64 {
        // SAFETY: the host reads 32 bytes at the pointer, all of `account`.
        unsafe { raw::host_credit_balance(account.as_ptr() as i32) }
    }

    pub(crate) fn credit_available(account: &[u8; 32]) -> i64 {
        // SAFETY: the host reads 32 bytes at the pointer, all of `account`.
        unsafe { raw::host_credit_available(account.as_ptr() as i32) }
    }

    pub(crate) fn credit_transfer(from: &[u8; 32], to: &[u8; 32], amount: i64) -> i32 {
        // SAFETY: the host reads 32 bytes at each pointer, all of `from`
        // and `to`.
        unsafe { raw::host_credit_transfer(from.as_ptr() as i32, to.as_ptr() as i32, amount) }
    }

    pub(crate) fn credit_reserve(account: &[u8; 32], amount: i64) -> i64 {
        // SAFETY: the host reads 32 bytes at the pointer, all of `account`.
        unsafe { raw::host_credit_reserve(account.as_ptr() as i32, amount) }
    }

    pub(crate) fn credit_release(id: i64) -> i32 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_credit_release(id) }
    }

    pub(crate) fn credit_consume(id: i64) -> i32 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_credit_consume(id) }
    }

    pub(crate) fn network_connect(address: &[u8]) -> i64 {
        let (ptr, len) = ptr_len(address);
        // SAFETY: the host only reads inside `address`.
        unsafe { raw::host_network_connect(ptr, len) }
    }

    pub(crate) fn network_listen(port: i32) -> i64 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_network_listen(port) }
    }

    pub(crate) fn network_broadcast(message: &[u8]) -> i64 {
        let (ptr, len) = ptr_len(message);
        // SAFETY: the host only reads inside `message`.
        unsafe { raw::host_network_broadcast(ptr, len) }
    }

    pub(crate) fn network_send(handle: i64, bytes: &[u8]) -> i64 {
        let (ptr, len) = ptr_len(bytes);
        // SAFETY: the host only reads inside `bytes`.
        unsafe { raw::host_network_send(handle, ptr, len) }
    }

    pub(crate) fn network_recv(handle: i64, buf: &mut [u8], timeout_ms: i32) -> i64 {
        let (ptr, cap) = ptr_len(buf);
        // SAFETY: the host writes at most `cap` bytes at `ptr`, all inside
        // `buf`, which is borrowed mutably for the call.
        unsafe { raw::host_network_recv(handle, ptr, cap, timeout_ms) }
    }

    pub(crate) fn network_accept(listener: i64, timeout_ms: i32) -> i64 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_network_accept(listener, timeout_ms) }
    }

    pub(crate) fn network_close(handle: i64) -> i32 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_network_close(handle) }
    }

    // Only `http` (with `alloc`) sends requests.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn http_request(request: &[u8]) -> i64 {
        let (ptr, len) = ptr_len(request);
        // SAFETY: the host only reads inside `request`.
        unsafe { raw::host_http_request(ptr, len) }
    }

    pub(crate) fn input_len() -> i32 {
        // SAFETY: takes no pointers.
        unsafe { raw::host_input_len() }
    }

    pub(crate) fn input_read(buf: &mut [u8], offset: i32) -> i32 {
        let (ptr, len) = ptr_len(buf);
        // SAFETY: the host writes at most `len` bytes at `ptr`, all inside
        // `buf`, which is borrowed mutably for the call.
        unsafe { raw::host_input_read(ptr, len, offset) }
    }

    pub(crate) fn output_write(bytes: &[u8]) -> i32 {
        let (ptr, len) = ptr_len(bytes);
        // SAFETY: the host only reads inside `bytes`.
        unsafe { raw::host_output_write(ptr, len) }
    }

    pub(crate) fn hash_commit(data: &[u8], out: &mut [u8; 32]) -> i32 {
        let (ptr, len) = ptr_len(data);
        // SAFETY: the host reads inside `data` and writes the 32 bytes of
        // `out`, which is borrowed mutably for the call.
        unsafe { raw::host_hash_commit(ptr, len, out.as_mut_ptr() as i32) }
    }

    pub(crate) fn hash_verify(data: &[u8], expected: &[u8; 32]) -> i32 {
        let (ptr, len) = ptr_len(data);
        // SAFETY: the host only reads inside `data` and the 32 bytes of
        // `expected`.
        unsafe { raw::host_hash_verify(ptr, len, expected.as_ptr() as i32) }
    }

    pub(crate) fn json_path(doc: &[u8], path: &[u8], out: &mut [u8], mode: i32) -> i32 {
        let (doc_ptr, doc_len) = ptr_len(doc);
        let (path_ptr, path_len) = ptr_len(path);
        let (out_ptr, out_cap) = ptr_len(out);
        // SAFETY: the host reads inside `doc` and `path` and writes at most
        // `out_cap` bytes inside `out`, which is borrowed mutably.
        unsafe { raw::host_json_path(doc_ptr, doc_len, path_ptr, path_len, out_ptr, out_cap, mode) }
    }

    pub(crate) fn base64_encode(input: &[u8], out: &mut [u8], flags: i32) -> i32 {
        let (ptr, len) = ptr_len(input);
        let (out_ptr, out_cap) = ptr_len(out);
        // SAFETY: the host reads inside `input` and writes at most
        // `out_cap` bytes inside `out`, which is borrowed mutably.
        unsafe { raw::host_base64_encode(ptr, len, out_ptr, out_cap, flags) }
    }

    pub(crate) fn base64_decode(text: &[u8], out: &mut [u8], flags: i32) -> i32 {
        let (ptr, len) = ptr_len(text);
        let (out_ptr, out_cap) = ptr_len(out);
        // SAFETY: the host reads inside `text` and writes at most `out_cap`
        // bytes inside `out`, which is borrowed mutably.
        unsafe { raw::host_base64_decode(ptr, len, out_ptr, out_cap, flags) }
    }

    pub(crate) fn message_send(to: &[u8], payload: &[u8]) -> i32 {
        let (to_ptr, to_len) = ptr_len(to);
        let (ptr, len) = ptr_len(payload);
        // SAFETY: the host only reads inside `to` and `payload`.
        unsafe { raw::vudo_send(to_ptr, to_len, ptr, len) }
    }

    pub(crate) fn message_broadcast(payload: &[u8]) -> i32 {
        let (ptr, len) = ptr_len(payload);
        // SAFETY: the host only reads inside `payload`.
        unsafe { raw::vudo_broadcast(ptr, len) }
    }

    pub(crate) fn message_pending() -> i32 {
        // SAFETY: takes no pointers.
        unsafe { raw::vudo_pending() }
    }

    /// Takes a message and shows `f` its sender and payload: `1`, `0` when
    /// the queue is empty, `-1` on error.
    pub(crate) fn message_recv(f: &mut dyn FnMut(&[u8], &[u8])) -> i32 {
        // SAFETY: takes no pointers.
        let record = unsafe { raw::vudo_recv() };
        if record <= 0 {
            return record;
        }
        let base = record as u32 as usize as *const u8;
        // SAFETY: the host wrote the record at `base`, inside this
        // module's memory, in pages it grew itself (no Rust object lives
        // there): a little-endian u32 length, the sender, another length,
        // the payload. It stays there until `vudo_free_message`, below.
        unsafe {
            let from_len =
                u32::from_le_bytes(core::ptr::read_unaligned(base.cast::<[u8; 4]>())) as usize;
            let from = core::slice::from_raw_parts(base.add(4), from_len);
            let payload_at = base.add(4 + from_len);
            let payload_len =
                u32::from_le_bytes(core::ptr::read_unaligned(payload_at.cast::<[u8; 4]>()))
                    as usize;
            let payload = core::slice::from_raw_parts(payload_at.add(4), payload_len);
            f(from, payload);
            raw::vudo_free_message(record);
        }
        1
    }

    pub(crate) fn spirit_call(name: &[u8], export: &[u8], input: &[u8], out: &mut [u8]) -> i32 {
        let (name_ptr, name_len) = ptr_len(name);
        let (export_ptr, export_len) = ptr_len(export);
        let (in_ptr, in_len) = ptr_len(input);
        let (out_ptr, out_cap) = ptr_len(out);
        // SAFETY: the host reads inside `name`, `export` and `input` and
        // writes at most `out_cap` bytes inside `out`, borrowed mutably.
        unsafe {
            raw::host_spirit_call(
                name_ptr, name_len, export_ptr, export_len, in_ptr, in_len, out_ptr, out_cap,
            )
        }
    }

    pub(crate) fn spirit_output(out: &mut [u8]) -> i32 {
        let (ptr, cap) = ptr_len(out);
        // SAFETY: the host writes at most `cap` bytes inside `out`.
        unsafe { raw::host_spirit_output(ptr, cap) }
    }

    pub(crate) fn spirit_error(out: &mut [u8]) -> i32 {
        let (ptr, cap) = ptr_len(out);
        // SAFETY: the host writes at most `cap` bytes inside `out`.
        unsafe { raw::host_spirit_error(ptr, cap) }
    }

    pub(crate) fn abort(message: &[u8]) -> ! {
        let (ptr, len) = ptr_len(message);
        // SAFETY: the host reads `len` bytes at `ptr`, all inside `message`.
        unsafe { raw::host_abort(ptr, len) };
        // The host never returns from `host_abort`; should one do so anyway,
        // the run still ends here.
        core::arch::wasm32::unreachable()
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::*;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::mock::host::*;
