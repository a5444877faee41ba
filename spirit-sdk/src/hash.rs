//! BLAKE3 hashing by the host (no capability needed): a 32-byte commitment
//! to some bytes, and its check in constant time.
//!
//! The host hashes natively, so a spirit carries no hash function: a call
//! costs [fuel](crate::abi#fuel) in proportion to the bytes hashed, a few
//! times less than hashing in WebAssembly would.
//!
//! In native tests the mock host hashes with the host's own BLAKE3, which
//! the SDK builds only with its `mock-hash` feature (a spirit's wasm is the
//! same with or without it); without the feature these calls panic there,
//! saying so.
//!
//! ```
//! use spirit_sdk::hash;
//!
//! let commitment = hash::commit(b"my vote: yes")?;
//! // Later, when the vote is revealed:
//! assert!(hash::verify(b"my vote: yes", &commitment)?);
//! assert!(!hash::verify(b"my vote: no", &commitment)?);
//! # Ok::<(), hash::HashError>(())
//! ```

use core::fmt;

use crate::abi::{SUCCESS, TOO_LARGE};

/// Why the host did not hash. (Its own type rather than a [`HostError`]
/// variant, so that spirits which do not hash carry none of its text.)
///
/// [`HostError`]: crate::HostError
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashError {
    /// The data is over the host's input limit
    /// ([`abi::MAX_PRIMITIVE_INPUT`](crate::abi::MAX_PRIMITIVE_INPUT)).
    TooLarge,
    /// The host refused the call (a range outside the spirit's memory).
    Host,
}

impl HashError {
    /// What went wrong, as one static line; formatting it costs no
    /// `core::fmt` code.
    ///
    /// ```
    /// assert!(spirit_sdk::hash::HashError::TooLarge.as_str().contains("16 MiB"));
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            HashError::TooLarge => "the data to hash is over the host's 16 MiB limit",
            HashError::Host => "the host refused the hash call",
        }
    }

    fn from_code(code: i32) -> HashError {
        match code {
            TOO_LARGE => HashError::TooLarge,
            _ => HashError::Host,
        }
    }
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for HashError {}

/// The length of a hash in bytes.
pub const LEN: usize = 32;

/// The BLAKE3 hash of `data`.
///
/// ```
/// let digest = spirit_sdk::hash::commit(b"abc")?;
/// assert_eq!(digest[..4], [0x64, 0x37, 0xb3, 0xac]);
/// # Ok::<(), spirit_sdk::hash::HashError>(())
/// ```
///
/// # Errors
///
/// [`HashError::TooLarge`] when `data` is over the host's input limit.
pub fn commit(data: &[u8]) -> Result<[u8; LEN], HashError> {
    let mut digest = [0u8; LEN];
    match crate::sys::hash_commit(data, &mut digest) {
        SUCCESS => Ok(digest),
        code => Err(HashError::from_code(code)),
    }
}

/// Whether `expected` is the BLAKE3 hash of `data`. The host compares the
/// hashes in constant time, so the time taken does not tell how much of
/// `expected` was right.
///
/// ```
/// let digest = spirit_sdk::hash::commit(b"secret")?;
/// assert!(spirit_sdk::hash::verify(b"secret", &digest)?);
/// # Ok::<(), spirit_sdk::hash::HashError>(())
/// ```
///
/// # Errors
///
/// [`HashError::TooLarge`] when `data` is over the host's input limit.
pub fn verify(data: &[u8], expected: &[u8; LEN]) -> Result<bool, HashError> {
    match crate::sys::hash_verify(data, expected) {
        1 => Ok(true),
        0 => Ok(false),
        code => Err(HashError::from_code(code)),
    }
}
