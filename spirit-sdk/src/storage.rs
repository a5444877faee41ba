//! The spirit's persistent key-value storage (capabilities `storage_read`,
//! `storage_write`, `storage_delete`), with atomic [`increment`] and
//! [`compare_and_swap`] (as wasi-keyvalue's `atomics`).
//!
//! Each spirit (by name) has its own store, kept by the host across runs.
//! Keys and values are bytes; `&str`, `&[u8]` and byte arrays all work.
//!
//! A run's storage calls are one transaction: the run reads its own writes,
//! and they are saved together when the run returns; a run that panics,
//! returns `Err` from its entry, traps or hits a limit saves none of them.
//! Runs of the same spirit take turns (from a run's first storage call to
//! its end), so reading a value and writing what depends on it loses no
//! other run's update.
//!
//! The host does not tell an empty value from a missing key: reading a key
//! whose value is empty gives `None`.
//!
//! ```
//! use spirit_sdk::storage;
//!
//! storage::set("greeting", "hello")?;
//! let mut buf = [0u8; 16];
//! assert_eq!(storage::get_into("greeting", &mut buf)?, Some(5));
//! assert_eq!(&buf[..5], b"hello");
//! assert!(storage::delete("greeting")?);
//! assert_eq!(storage::get_into("greeting", &mut buf)?, None);
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;

/// The largest value [`get`] reads: it grows its buffer up to this size.
/// Read larger values with [`get_into`].
///
/// ```
/// let big = vec![7u8; spirit_sdk::storage::MAX_GET_LEN + 1];
/// spirit_sdk::storage::set("big", &big)?;
/// assert!(spirit_sdk::storage::get("big").is_err());
/// let mut buf = vec![0u8; big.len()];
/// assert_eq!(spirit_sdk::storage::get_into("big", &mut buf)?, Some(big.len()));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
#[cfg(feature = "alloc")]
pub const MAX_GET_LEN: usize = 1 << 20;

/// Reads the value stored under `key` into `buf`: `Some(len)` with the
/// value in `buf[..len]`, or `None` when the key is missing. Needs
/// `storage_read`.
///
/// ```
/// spirit_sdk::storage::set("count", 7u64.to_le_bytes())?;
/// let mut buf = [0u8; 8];
/// let count = match spirit_sdk::storage::get_into("count", &mut buf)? {
///     Some(8) => u64::from_le_bytes(buf),
///     _ => 0,
/// };
/// assert_eq!(count, 7);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::ValueTooLarge`] when the value does not fit in `buf` (the
/// host reports a read failure the same way, so this is also what a failed
/// read with a non-empty buffer gives); [`HostError::StorageRead`] when the
/// host refuses the call with an empty buffer.
pub fn get_into(key: impl AsRef<[u8]>, buf: &mut [u8]) -> Result<Option<usize>, HostError> {
    match crate::sys::storage_read(key.as_ref(), buf) {
        0 => Ok(None),
        // Never more than the buffer holds, so that `&buf[..n]` needs no
        // panic path.
        n if n > 0 => Ok(Some((n as usize).min(buf.len()))),
        _ if buf.is_empty() => Err(HostError::StorageRead),
        _ => Err(HostError::ValueTooLarge {
            capacity: buf.len(),
        }),
    }
}

/// The value stored under `key`, or `None` when the key is missing. Needs
/// `storage_read` and the `alloc` feature.
///
/// ```
/// spirit_sdk::storage::set("name", "Ada")?;
/// assert_eq!(spirit_sdk::storage::get("name")?.as_deref(), Some(&b"Ada"[..]));
/// assert_eq!(spirit_sdk::storage::get("missing")?, None);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::StorageRead`] when the host refuses the call, or the value
/// is larger than [`MAX_GET_LEN`].
#[cfg(feature = "alloc")]
pub fn get(key: impl AsRef<[u8]>) -> Result<Option<alloc::vec::Vec<u8>>, HostError> {
    let key = key.as_ref();
    // The ABI has no "how long is it" call: start small and double while
    // the host says the buffer is too small.
    let mut buf = alloc::vec![0u8; 256];
    loop {
        match get_into(key, &mut buf) {
            Ok(Some(len)) => {
                buf.truncate(len);
                return Ok(Some(buf));
            }
            Ok(None) => return Ok(None),
            Err(HostError::ValueTooLarge { capacity }) if capacity < MAX_GET_LEN => {
                buf.resize((capacity * 2).min(MAX_GET_LEN), 0);
            }
            Err(_) => return Err(HostError::StorageRead),
        }
    }
}

/// Stores `value` under `key`, replacing any previous value. Needs
/// `storage_write`.
///
/// ```
/// spirit_sdk::storage::set("theme", "dark")?;
/// spirit_sdk::storage::set(b"raw-key", [1u8, 2, 3])?;
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::StorageWrite`] when the host refuses the call (capability
/// not granted, key or value over the quota, storage failure).
pub fn set(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), HostError> {
    match crate::sys::storage_write(key.as_ref(), value.as_ref()) {
        crate::abi::SUCCESS => Ok(()),
        _ => Err(HostError::StorageWrite),
    }
}

/// Deletes `key`: `true` when it existed, `false` when it was missing.
/// Needs `storage_delete`.
///
/// ```
/// spirit_sdk::storage::set("session", "abc")?;
/// assert!(spirit_sdk::storage::delete("session")?);
/// assert!(!spirit_sdk::storage::delete("session")?);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::StorageDelete`] when the host refuses the call.
pub fn delete(key: impl AsRef<[u8]>) -> Result<bool, HostError> {
    match crate::sys::storage_delete(key.as_ref()) {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(HostError::StorageDelete),
    }
}

/// Adds `delta` to the counter stored under `key` and returns the new
/// count, in one host call: a missing key counts from 0, and the counter is
/// stored as 8 little-endian bytes. Needs `storage_write`.
///
/// ```
/// use spirit_sdk::storage;
/// assert_eq!(storage::increment("visits", 1)?, 1);
/// assert_eq!(storage::increment("visits", 10)?, 11);
/// assert_eq!(storage::increment("visits", -1)?, 10);
/// assert_eq!(storage::get("visits")?.as_deref(), Some(&10i64.to_le_bytes()[..]));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::StorageWrite`] when the host refuses the call: capability
/// not granted, the value under `key` is not 8 bytes, the sum overflows an
/// `i64`, a quota, a storage failure.
pub fn increment(key: impl AsRef<[u8]>, delta: i64) -> Result<i64, HostError> {
    let mut out = [0u8; 8];
    match crate::sys::storage_increment(key.as_ref(), delta, &mut out) {
        crate::abi::SUCCESS => Ok(i64::from_le_bytes(out)),
        _ => Err(HostError::StorageWrite),
    }
}

/// Stores `new` under `key` only if the value stored there now is
/// `expected` (`None`: only if the key is missing; the host does not tell a
/// missing key from an empty value). `true` when it stored `new`, `false`
/// when the value was something else and nothing was written. Needs
/// `storage_write`.
///
/// A run's storage calls are already one transaction that no other run
/// interleaves with, so within a run this is a convenience; it is the same
/// operation as wasi-keyvalue's compare-and-swap.
///
/// ```
/// use spirit_sdk::storage;
/// assert!(storage::compare_and_swap("leader", None, "ada")?);
/// assert!(!storage::compare_and_swap("leader", None, "bob")?);
/// assert!(!storage::compare_and_swap("leader", Some(b"bob".as_slice()), "eve")?);
/// assert!(storage::compare_and_swap("leader", Some(b"ada".as_slice()), "bob")?);
/// assert_eq!(storage::get("leader")?.as_deref(), Some(&b"bob"[..]));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::StorageWrite`] when the host refuses the call (capability
/// not granted, key or value over the quota, storage failure).
pub fn compare_and_swap(
    key: impl AsRef<[u8]>,
    expected: Option<&[u8]>,
    new: impl AsRef<[u8]>,
) -> Result<bool, HostError> {
    let expected = expected.unwrap_or_default();
    match crate::sys::storage_compare_and_swap(key.as_ref(), expected, new.as_ref()) {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(HostError::StorageWrite),
    }
}
