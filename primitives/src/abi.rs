//! The primitives with the host ABI's raw arguments and results: what the
//! sandbox's `host_hash_*`, `host_json_path` and `host_base64_*` run once
//! they have checked the guest's ranges and charged fuel, and what
//! `spirit-sdk`'s mock host runs for the same calls.
//!
//! A result `n ≥ 0` is success: for a function that writes into `out`, the
//! length of its output, written only when `n <= out.len()` (a larger `n`
//! is "buffer too small", and the size to retry with). A negative result is
//! an [`Error`]'s [`code`](crate::code).
//!
//! ```
//! use spirit_primitives::{abi, code};
//!
//! let mut out = [0u8; 8];
//! assert_eq!(abi::json_path(br#"{"a":"b"}"#, b"$.a", &mut out, 1), 1);
//! assert_eq!(out[0], b'b');
//! assert_eq!(abi::json_path(br#"{"a":"b"}"#, b"$.c", &mut out, 1), code::NOT_FOUND);
//! ```

use crate::Error;
use crate::base64::{self, Padding};
#[cfg(feature = "hash")]
use crate::hash;
use crate::json::{self, Output};

/// A length or an error as the ABI's `i32`. Every length here is bounded
/// by [`MAX_INPUT`](crate::MAX_INPUT) × 4/3, far below `i32::MAX`.
fn status(result: Result<usize, Error>) -> i32 {
    match result {
        Ok(n) => i32::try_from(n).unwrap_or(Error::TooLarge.code()),
        Err(e) => e.code(),
    }
}

#[cfg(feature = "hash")]
/// `host_hash_commit`: writes the BLAKE3 hash of `data` into `out`. `0`;
/// [`code::TOO_LARGE`](crate::code::TOO_LARGE) over the input limit.
///
/// ```
/// let mut out = [0u8; 32];
/// assert_eq!(spirit_primitives::abi::hash_commit(b"abc", &mut out), 0);
/// assert_eq!(out[0], 0x64);
/// ```
pub fn hash_commit(data: &[u8], out: &mut [u8; hash::LEN]) -> i32 {
    match hash::commit(data) {
        Ok(digest) => {
            *out = digest;
            0
        }
        Err(e) => e.code(),
    }
}

#[cfg(feature = "hash")]
/// `host_hash_verify`: `1` when `expected` is the BLAKE3 hash of `data`
/// (compared in constant time), `0` when it is not;
/// [`code::TOO_LARGE`](crate::code::TOO_LARGE) over the input limit.
///
/// ```
/// let digest = spirit_primitives::hash::commit(b"abc").unwrap();
/// assert_eq!(spirit_primitives::abi::hash_verify(b"abc", &digest), 1);
/// assert_eq!(spirit_primitives::abi::hash_verify(b"abd", &digest), 0);
/// ```
pub fn hash_verify(data: &[u8], expected: &[u8; hash::LEN]) -> i32 {
    match hash::verify(data, expected) {
        Ok(same) => i32::from(same),
        Err(e) => e.code(),
    }
}

/// `host_json_path`: the value `path` selects in `doc`, written into `out`
/// as JSON text (`mode` `0`) or a string's unquoted contents (`mode` `1`);
/// see [`json::query`]. An unknown `mode` is `-1`.
///
/// ```
/// let mut out = [0u8; 8];
/// assert_eq!(spirit_primitives::abi::json_path(b"[1,2]", b"$[1]", &mut out, 0), 1);
/// assert_eq!(spirit_primitives::abi::json_path(b"[1,2]", b"$[1]", &mut out, 7), -1);
/// ```
pub fn json_path(doc: &[u8], path: &[u8], out: &mut [u8], mode: i32) -> i32 {
    let Some(output) = Output::from_mode(mode) else {
        return Error::BadArgument.code();
    };
    status(json::query(doc, path, output, out))
}

/// `host_base64_encode`: the base64 text of `input` into `out`, padded
/// (`flags` `0`) or not (`1`); see [`base64::encode`]. Unknown flags are
/// `-1`.
///
/// ```
/// let mut out = [0u8; 8];
/// assert_eq!(spirit_primitives::abi::base64_encode(b"hi", &mut out, 0), 4);
/// assert_eq!(&out[..4], b"aGk=");
/// ```
pub fn base64_encode(input: &[u8], out: &mut [u8], flags: i32) -> i32 {
    let Some(padding) = Padding::from_flags(flags) else {
        return Error::BadArgument.code();
    };
    status(base64::encode(input, padding, out))
}

/// `host_base64_decode`: the bytes of the base64 `text` into `out`, whose
/// padding must be as `flags` says (`0` padded, `1` unpadded); see
/// [`base64::decode`]. Unknown flags are `-1`.
///
/// ```
/// let mut out = [0u8; 8];
/// assert_eq!(spirit_primitives::abi::base64_decode(b"aGk", &mut out, 1), 2);
/// assert_eq!(spirit_primitives::abi::base64_decode(b"aGk", &mut out, 0), -3);
/// ```
pub fn base64_decode(text: &[u8], out: &mut [u8], flags: i32) -> i32 {
    let Some(padding) = Padding::from_flags(flags) else {
        return Error::BadArgument.code();
    };
    status(base64::decode(text, padding, out))
}
