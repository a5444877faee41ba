//! BLAKE3 hashing by the host (no capability needed): a 32-byte commitment
//! to some bytes, and its check in constant time.
//!
//! The host hashes natively, so a spirit carries no hash function: a call
//! costs [fuel](crate::abi#fuel) in proportion to the bytes hashed, a few
//! times less than hashing in WebAssembly would.
//!
//! ```
//! use spirit_sdk::hash;
//!
//! let commitment = hash::commit(b"my vote: yes")?;
//! // Later, when the vote is revealed:
//! assert!(hash::verify(b"my vote: yes", &commitment)?);
//! assert!(!hash::verify(b"my vote: no", &commitment)?);
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;
use crate::abi::SUCCESS;

/// The length of a hash in bytes.
pub const LEN: usize = 32;

/// The BLAKE3 hash of `data`.
///
/// ```
/// let digest = spirit_sdk::hash::commit(b"abc")?;
/// assert_eq!(digest[..4], [0x64, 0x37, 0xb3, 0xac]);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::Hash`] when `data` is over the host's input limit
/// ([`abi::MAX_PRIMITIVE_INPUT`](crate::abi::MAX_PRIMITIVE_INPUT)).
pub fn commit(data: &[u8]) -> Result<[u8; LEN], HostError> {
    let mut digest = [0u8; LEN];
    match crate::sys::hash_commit(data, &mut digest) {
        SUCCESS => Ok(digest),
        _ => Err(HostError::Hash),
    }
}

/// Whether `expected` is the BLAKE3 hash of `data`. The host compares the
/// hashes in constant time, so the time taken does not tell how much of
/// `expected` was right.
///
/// ```
/// let digest = spirit_sdk::hash::commit(b"secret")?;
/// assert!(spirit_sdk::hash::verify(b"secret", &digest)?);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::Hash`] when `data` is over the host's input limit.
pub fn verify(data: &[u8], expected: &[u8; LEN]) -> Result<bool, HostError> {
    match crate::sys::hash_verify(data, expected) {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(HostError::Hash),
    }
}
