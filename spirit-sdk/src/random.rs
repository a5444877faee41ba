//! Random bytes from the host (capability `sensor_random`).
//!
//! ```
//! let mut nonce = [0u8; 16];
//! spirit_sdk::random::fill(&mut nonce)?;
//! let roll = spirit_sdk::random::u64()? % 6 + 1;
//! assert!((1..=6).contains(&roll));
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;

/// Fills `buf` with random bytes. Needs `sensor_random`.
///
/// ```
/// let mut key = [0u8; 32];
/// spirit_sdk::random::fill(&mut key)?;
/// # assert_ne!(key, [0u8; 32]);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::Random`] when the host refuses the call or its generator
/// fails.
pub fn fill(buf: &mut [u8]) -> Result<(), HostError> {
    if buf.is_empty() {
        return Ok(());
    }
    match crate::sys::random_bytes(buf) {
        crate::abi::SUCCESS => Ok(()),
        _ => Err(HostError::Random),
    }
}

/// A random `u64`. Needs `sensor_random`.
///
/// ```
/// let id = spirit_sdk::random::u64()?;
/// # let _ = id;
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// As [`fill`].
pub fn u64() -> Result<u64, HostError> {
    let mut bytes = [0u8; 8];
    fill(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}
