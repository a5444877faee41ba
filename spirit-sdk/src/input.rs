//! The run's input bytes (no capability needed).
//!
//! `cargo spirit run --input FILE` (or `--input -` for standard input)
//! supplies them; without `--input` the input is empty.
//!
//! ```
//! # spirit_sdk::mock::set_input(b"hello");
//! let mut buf = [0u8; 64];
//! let n = spirit_sdk::input::read(0, &mut buf)?;
//! assert_eq!(&buf[..n], b"hello");
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;

/// The input's length in bytes.
///
/// ```
/// spirit_sdk::mock::set_input(b"four");
/// assert_eq!(spirit_sdk::input::len(), 4);
/// ```
pub fn len() -> usize {
    usize::try_from(crate::sys::input_len()).unwrap_or(0)
}

/// Whether the input is empty.
///
/// ```
/// assert!(spirit_sdk::input::is_empty());
/// ```
pub fn is_empty() -> bool {
    len() == 0
}

/// Copies input bytes starting at byte `offset` into `buf`, and returns how
/// many were copied: `buf.len()`, fewer near the end, `0` at (or past) the
/// end. Read a large input in chunks:
///
/// ```
/// # spirit_sdk::mock::set_input(b"stream me");
/// let mut chunk = [0u8; 4];
/// let mut offset = 0;
/// loop {
///     let n = spirit_sdk::input::read(offset, &mut chunk)?;
///     if n == 0 {
///         break;
///     }
///     spirit_sdk::output::write(&chunk[..n])?;
///     offset += n;
/// }
/// # assert_eq!(spirit_sdk::mock::output(), b"stream me");
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::Input`] when the host refuses the call.
pub fn read(offset: usize, buf: &mut [u8]) -> Result<usize, HostError> {
    // The input is at most `i32::MAX` bytes: an offset past that is past its end.
    let Ok(offset) = i32::try_from(offset) else {
        return Ok(0);
    };
    let n = usize::try_from(crate::sys::input_read(buf, offset)).map_err(|_| HostError::Input)?;
    // Never more than asked for, so that `&buf[..n]` needs no panic path.
    Ok(n.min(buf.len()))
}

/// The whole input. Needs the `alloc` feature.
///
/// ```
/// spirit_sdk::mock::set_input(b"all of it");
/// assert_eq!(spirit_sdk::input::read_all()?, b"all of it");
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// As [`read`].
#[cfg(feature = "alloc")]
pub fn read_all() -> Result<alloc::vec::Vec<u8>, HostError> {
    let mut bytes = alloc::vec![0; len()];
    let mut filled = 0;
    while filled < bytes.len() {
        let n = read(filled, &mut bytes[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    bytes.truncate(filled);
    Ok(bytes)
}
