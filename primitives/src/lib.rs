//! The pure host primitives: `hash` (BLAKE3, constant-time verify; the
//! `hash` feature, on by default), [`json`] (a JSON-path query) and
//! [`base64`], as the sandbox runs them for a spirit and as `spirit-sdk`'s
//! mock host runs them in native tests.
//!
//! Both callers go through [`abi`], which takes the guest's byte ranges as
//! slices and returns the host ABI's `i32` result, so the two cannot
//! disagree on a value or on an error code. The typed functions of each
//! module are what [`abi`] is built on.
//!
//! Nothing here allocates, panics on any input, or reads more than
//! [`MAX_INPUT`] bytes; the functions that write take an output buffer and
//! return the length they need, writing only when it fits (so a caller
//! learns the size to retry with).
//!
//! ```
//! use spirit_primitives::{base64, json};
//!
//! let mut out = [0u8; 16];
//! let n = json::query(br#"{"a":{"b":[1,"two"]}}"#, b"$.a.b[1]", json::Output::Unquoted, &mut out)?;
//! assert_eq!(&out[..n], b"two");
//! let n = base64::encode(b"two", base64::Padding::Padded, &mut out)?;
//! assert_eq!(&out[..n], b"dHdv");
//! # Ok::<(), spirit_primitives::Error>(())
//! ```
#![no_std]
#![deny(missing_docs)]

pub mod abi;
pub mod base64;
#[cfg(feature = "hash")]
pub mod hash;
pub mod json;

use core::fmt;

/// The largest input any primitive reads: a hashed range, a JSON document,
/// a base64 text or its bytes (16 MiB, the most output one run may write).
/// Larger inputs are refused with [`Error::TooLarge`] before any work.
pub const MAX_INPUT: usize = 16 << 20;

/// Fuel every primitive call costs before it does anything.
pub const FUEL_BASE: u64 = 100;

/// The fuel a call costs that reads and writes `bytes` bytes in all:
/// [`FUEL_BASE`] plus one unit per byte. The host charges the bytes read
/// before the work (so a spirit out of fuel cannot make it work) and the
/// bytes written after; a spirit pays about what one WebAssembly
/// instruction per byte would cost it, while the same work compiled into
/// the spirit costs several instructions per byte.
///
/// ```
/// assert_eq!(spirit_primitives::fuel(1000), 1100);
/// ```
pub const fn fuel(bytes: usize) -> u64 {
    // `usize` is at most 64 bits on every target Rust supports.
    FUEL_BASE.saturating_add(bytes as u64)
}

/// Why a primitive refused its input. Each has a distinct ABI code
/// ([`Error::code`]); "buffer too small" is not an error here but the
/// needed length returned in place of the written one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// An argument the function does not take: an unknown output mode or
    /// padding flag, or a hash that is not 32 bytes. ABI code `-1`, like a
    /// range outside the guest's memory.
    BadArgument,
    /// The JSON path selects nothing in the document. ABI code `-2`.
    NotFound,
    /// The document is not JSON (RFC 8259, UTF-8), or the text is not
    /// base64 in the requested padding. ABI code `-3`.
    InvalidInput,
    /// The JSON path is not in the supported subset ([`json`]). ABI code `-4`.
    InvalidPath,
    /// Over a limit: an input over [`MAX_INPUT`], a document nested deeper
    /// than [`json::MAX_DEPTH`], a path over [`json::MAX_PATH`] bytes or
    /// [`json::MAX_DEPTH`] steps. ABI code `-5`.
    TooLarge,
    /// [`json::Output::Unquoted`] was asked of a value that is not a string.
    /// ABI code `-6`.
    NotAString,
}

/// The ABI codes of [`Error`], one constant each (`spirit-sdk`'s `abi`
/// module repeats them for guests, and a test holds the two equal).
pub mod code {
    /// [`Error::BadArgument`](super::Error::BadArgument), and a range
    /// outside the guest's memory: the ABI's generic `-1`.
    pub const BAD_ARGUMENT: i32 = -1;
    /// [`Error::NotFound`](super::Error::NotFound).
    pub const NOT_FOUND: i32 = -2;
    /// [`Error::InvalidInput`](super::Error::InvalidInput).
    pub const INVALID_INPUT: i32 = -3;
    /// [`Error::InvalidPath`](super::Error::InvalidPath).
    pub const INVALID_PATH: i32 = -4;
    /// [`Error::TooLarge`](super::Error::TooLarge).
    pub const TOO_LARGE: i32 = -5;
    /// [`Error::NotAString`](super::Error::NotAString).
    pub const NOT_A_STRING: i32 = -6;
}

impl Error {
    /// The error's ABI code, negative; see [`code`].
    ///
    /// ```
    /// assert_eq!(spirit_primitives::Error::NotFound.code(), -2);
    /// ```
    pub const fn code(self) -> i32 {
        match self {
            Error::BadArgument => code::BAD_ARGUMENT,
            Error::NotFound => code::NOT_FOUND,
            Error::InvalidInput => code::INVALID_INPUT,
            Error::InvalidPath => code::INVALID_PATH,
            Error::TooLarge => code::TOO_LARGE,
            Error::NotAString => code::NOT_A_STRING,
        }
    }

    /// The error with ABI code `code`, if there is one.
    ///
    /// ```
    /// use spirit_primitives::Error;
    /// assert_eq!(Error::from_code(-5), Some(Error::TooLarge));
    /// assert_eq!(Error::from_code(0), None);
    /// ```
    pub const fn from_code(code: i32) -> Option<Error> {
        Some(match code {
            code::BAD_ARGUMENT => Error::BadArgument,
            code::NOT_FOUND => Error::NotFound,
            code::INVALID_INPUT => Error::InvalidInput,
            code::INVALID_PATH => Error::InvalidPath,
            code::TOO_LARGE => Error::TooLarge,
            code::NOT_A_STRING => Error::NotAString,
            _ => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::BadArgument => "an argument the primitive does not take",
            Error::NotFound => "the JSON path selects nothing",
            Error::InvalidInput => "the input is not valid JSON or base64",
            Error::InvalidPath => "the JSON path is not in the supported subset",
            Error::TooLarge => "the input is over the host's size or nesting limit",
            Error::NotAString => "the selected JSON value is not a string",
        })
    }
}

impl core::error::Error for Error {}

/// Refuses an input over [`MAX_INPUT`].
fn check_input(input: &[u8]) -> Result<(), Error> {
    if input.len() > MAX_INPUT {
        Err(Error::TooLarge)
    } else {
        Ok(())
    }
}

/// Copies `bytes` into `out` when they fit, and returns their length either
/// way: the output convention of every primitive.
fn write_out(bytes: &[u8], out: &mut [u8]) -> usize {
    if let Some(dest) = out.get_mut(..bytes.len()) {
        dest.copy_from_slice(bytes);
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        let all = [
            Error::BadArgument,
            Error::NotFound,
            Error::InvalidInput,
            Error::InvalidPath,
            Error::TooLarge,
            Error::NotAString,
        ];
        for (i, e) in all.iter().enumerate() {
            assert!(e.code() < 0);
            assert_eq!(Error::from_code(e.code()), Some(*e));
            assert!(all[i + 1..].iter().all(|o| o.code() != e.code()));
        }
    }
}
