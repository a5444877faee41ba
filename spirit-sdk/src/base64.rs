//! Base64 by the host (no capability needed): the standard alphabet
//! (`A–Z a–z 0–9 + /`), with or without `=` padding.
//!
//! Decoding is strict: the padding must be as asked, no whitespace is
//! skipped, and the unused bits of the last character must be zero, so
//! every byte string has exactly one text in each padding.
//!
//! ```
//! use spirit_sdk::base64::{self, Padding};
//!
//! let mut text = [0u8; 16];
//! let encoded = base64::encode(b"spirit", Padding::Padded, &mut text)?;
//! assert_eq!(encoded, b"c3Bpcml0");
//! let mut bytes = [0u8; 16];
//! assert_eq!(base64::decode(b"c3Bpcml0", Padding::Padded, &mut bytes)?, b"spirit");
//! # Ok::<(), base64::Base64Error>(())
//! ```

use core::fmt;

use crate::abi;

/// Whether the text is padded with `=` to a multiple of four characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// `aGk=`: padded (RFC 4648's default).
    Padded,
    /// `aGk`: no padding (as in URLs and JWTs, there with another alphabet).
    Unpadded,
}

impl Padding {
    /// The ABI's `flags` argument for this padding.
    pub(crate) const fn flags(self) -> i32 {
        match self {
            Padding::Padded => 0,
            Padding::Unpadded => 1,
        }
    }
}

/// The length of the text of `len` bytes, to size a buffer.
///
/// ```
/// use spirit_sdk::base64::{Padding, encoded_len};
/// assert_eq!(encoded_len(5, Padding::Padded), 8);
/// assert_eq!(encoded_len(5, Padding::Unpadded), 7);
/// ```
pub const fn encoded_len(len: usize, padding: Padding) -> usize {
    let full = len / 3 * 4;
    match (len % 3, padding) {
        (0, _) => full,
        (_, Padding::Padded) => full + 4,
        (rest, Padding::Unpadded) => full + rest + 1,
    }
}

/// Why base64 could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Base64Error {
    /// The result does not fit in the buffer; nothing was written.
    BufferTooSmall {
        /// The buffer size that would have been enough.
        needed: usize,
    },
    /// The text is not base64 in the padding asked for.
    Invalid,
    /// The input is over the host's limit ([`abi::MAX_PRIMITIVE_INPUT`]).
    TooLarge,
    /// The host refused the call (a range outside the spirit's memory).
    Host,
}

impl Base64Error {
    /// What went wrong, as one static line; formatting it costs no
    /// `core::fmt` code.
    ///
    /// ```
    /// assert!(spirit_sdk::base64::Base64Error::Invalid.as_str().contains("base64"));
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            Base64Error::BufferTooSmall { .. } => {
                "the base64 result does not fit in the buffer: retry with `needed` bytes"
            }
            Base64Error::Invalid => {
                "the text is not base64 (standard alphabet, padding as asked, no whitespace)"
            }
            Base64Error::TooLarge => "the base64 input is over the host's 16 MiB limit",
            Base64Error::Host => "the host refused the base64 call",
        }
    }
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Base64Error {}

/// A raw `host_base64_*` result as the written part of `buf`.
fn written(result: i32, buf: &mut [u8]) -> Result<&[u8], Base64Error> {
    let Ok(len) = usize::try_from(result) else {
        return Err(match result {
            abi::INVALID_INPUT => Base64Error::Invalid,
            abi::TOO_LARGE => Base64Error::TooLarge,
            _ => Base64Error::Host,
        });
    };
    match buf.get(..len) {
        Some(text) => Ok(text),
        None => Err(Base64Error::BufferTooSmall { needed: len }),
    }
}

/// The base64 text of `bytes`, in `buf` (of at least
/// [`encoded_len`] bytes).
///
/// ```
/// use spirit_sdk::base64::{self, Padding, Base64Error};
/// let mut buf = [0u8; 4];
/// assert_eq!(base64::encode(b"hi", Padding::Unpadded, &mut buf)?, b"aGk");
/// assert_eq!(base64::encode(b"hello", Padding::Padded, &mut buf), Err(Base64Error::BufferTooSmall { needed: 8 }));
/// # Ok::<(), Base64Error>(())
/// ```
///
/// # Errors
///
/// [`Base64Error::BufferTooSmall`] (nothing is written),
/// [`Base64Error::TooLarge`].
pub fn encode<'b>(
    bytes: &[u8],
    padding: Padding,
    buf: &'b mut [u8],
) -> Result<&'b [u8], Base64Error> {
    let result = crate::sys::base64_encode(bytes, buf, padding.flags());
    written(result, buf)
}

/// The bytes of the base64 `text`, in `buf` (3 bytes for every 4
/// characters are enough).
///
/// ```
/// use spirit_sdk::base64::{self, Padding, Base64Error};
/// let mut buf = [0u8; 8];
/// assert_eq!(base64::decode(b"aGk=", Padding::Padded, &mut buf)?, b"hi");
/// assert_eq!(base64::decode(b"aGk=", Padding::Unpadded, &mut buf), Err(Base64Error::Invalid));
/// # Ok::<(), Base64Error>(())
/// ```
///
/// # Errors
///
/// [`Base64Error::Invalid`] for text that is not base64 in `padding`,
/// [`Base64Error::BufferTooSmall`] (nothing is written),
/// [`Base64Error::TooLarge`].
pub fn decode<'b>(
    text: &[u8],
    padding: Padding,
    buf: &'b mut [u8],
) -> Result<&'b [u8], Base64Error> {
    let result = crate::sys::base64_decode(text, buf, padding.flags());
    written(result, buf)
}
