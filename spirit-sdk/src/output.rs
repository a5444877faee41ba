//! The run's output bytes (no capability needed).
//!
//! `cargo spirit run` copies them to its standard output; an embedding
//! application gets them from the run's outcome.
//!
//! ```
//! use core::fmt::Write;
//!
//! spirit_sdk::output::write(b"raw bytes\n")?;
//! spirit_sdk::output::write_str("text\n")?;
//! // `write!` works too (it links `core::fmt`, a few KiB):
//! write!(spirit_sdk::output::Writer, "{} + {} = {}\n", 1, 2, 1 + 2).unwrap();
//! # assert_eq!(spirit_sdk::mock::output(), b"raw bytes\ntext\n1 + 2 = 3\n");
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use core::fmt;

use crate::HostError;

/// Appends `bytes` to the output.
///
/// ```
/// spirit_sdk::output::write(b"42\n")?;
/// # assert_eq!(spirit_sdk::mock::output(), b"42\n");
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::Output`] when the host refuses the bytes: the run's output
/// limit is reached, or the host could not write them.
pub fn write(bytes: impl AsRef<[u8]>) -> Result<(), HostError> {
    match crate::sys::output_write(bytes.as_ref()) {
        crate::abi::SUCCESS => Ok(()),
        _ => Err(HostError::Output),
    }
}

/// Appends `text` to the output.
///
/// ```
/// spirit_sdk::output::write_str("hello\n")?;
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// As [`write()`].
pub fn write_str(text: &str) -> Result<(), HostError> {
    write(text.as_bytes())
}

/// The output as a [`core::fmt::Write`], for `write!` and `writeln!`.
///
/// ```
/// use core::fmt::Write;
/// writeln!(spirit_sdk::output::Writer, "count: {}", 3)?;
/// # assert_eq!(spirit_sdk::mock::output(), b"count: 3\n");
/// # Ok::<(), core::fmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Writer;

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_str(s).map_err(|_| fmt::Error)
    }
}
