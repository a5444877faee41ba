//! BLAKE3 hashing (`host_hash_commit`) and verification against an
//! expected hash in constant time (`host_hash_verify`).
//!
//! ```
//! use spirit_primitives::hash;
//!
//! let digest = hash::commit(b"abc")?;
//! assert!(hash::verify(b"abc", &digest)?);
//! assert!(!hash::verify(b"abd", &digest)?);
//! # Ok::<(), spirit_primitives::Error>(())
//! ```

use crate::{Error, check_input};

/// The length of a BLAKE3 hash in bytes.
pub const LEN: usize = blake3::OUT_LEN;

/// The BLAKE3 hash of `data` (at most [`MAX_INPUT`](crate::MAX_INPUT) bytes).
///
/// ```
/// let digest = spirit_primitives::hash::commit(b"")?;
/// assert_eq!(digest[..4], [0xaf, 0x13, 0x49, 0xb9]);
/// # Ok::<(), spirit_primitives::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::TooLarge`] when `data` is over the input limit.
pub fn commit(data: &[u8]) -> Result<[u8; LEN], Error> {
    check_input(data)?;
    Ok(*blake3::hash(data).as_bytes())
}

/// Whether `expected` is the BLAKE3 hash of `data`. The comparison takes
/// the same time wherever the hashes differ (BLAKE3's `Hash` equality is
/// constant-time), so a spirit checking a secret's commitment does not leak
/// how much of it matched.
///
/// ```
/// let digest = spirit_primitives::hash::commit(b"secret")?;
/// assert!(spirit_primitives::hash::verify(b"secret", &digest)?);
/// # Ok::<(), spirit_primitives::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::TooLarge`] when `data` is over the input limit.
pub fn verify(data: &[u8], expected: &[u8; LEN]) -> Result<bool, Error> {
    check_input(data)?;
    Ok(blake3::hash(data) == blake3::Hash::from_bytes(*expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_blake3_test_vector() {
        // BLAKE3's reference hash of "abc".
        let abc = [
            0x64, 0x37, 0xb3, 0xac, 0x38, 0x46, 0x51, 0x33, 0xff, 0xb6, 0x3b, 0x75, 0x27, 0x3a,
            0x8d, 0xb5, 0x48, 0xc5, 0x58, 0x46, 0x5d, 0x79, 0xdb, 0x03, 0xfd, 0x35, 0x9c, 0x6c,
            0xd5, 0xbd, 0x9d, 0x85,
        ];
        assert_eq!(commit(b"abc"), Ok(abc));
        assert_eq!(verify(b"abc", &abc), Ok(true));
        let mut wrong = abc;
        wrong[31] ^= 1;
        assert_eq!(verify(b"abc", &wrong), Ok(false));
    }
}
