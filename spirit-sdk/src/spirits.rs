//! Calling other spirits (capability `cross_sandbox_call`): a spirit's
//! declared dependencies, each pinned by its build to an exact version.
//!
//! A dependency is declared in `Cargo.toml` and resolved against the
//! installed spirits when the caller is built:
//!
//! ```toml
//! [package.metadata.spirit]
//! capabilities = ["cross_sandbox_call"]
//!
//! [package.metadata.spirit.dependencies]
//! echo = "^0.1"
//! ```
//!
//! A call runs the dependency in a sandbox of its own, with its own
//! capabilities and storage, the input given as its input, and returns its
//! output. Its fuel and time count against the caller's. It fails (with
//! `SpiritCallError::Failed`, and [`last_error`] saying why) when the
//! dependency is not installed, was changed, needs a capability it is not
//! granted, would close a cycle, traps, or returns a non-zero status.
//!
//! ```
//! use spirit_sdk::{mock, spirits};
//!
//! mock::register_spirit("echo", |_export, input| Ok(input.to_vec()));
//! let mut out = [0u8; 32];
//! let n = spirits::call("echo", b"hello", &mut out)?;
//! assert_eq!(&out[..n], b"hello");
//! # Ok::<(), spirit_sdk::spirits::SpiritCallError>(())
//! ```

use core::fmt;

/// Why [`call`] failed. Its own type, not a [`HostError`](crate::HostError)
/// variant, so that a spirit that calls no other carries none of its
/// messages (as [`JsonError`](crate::json::JsonError) for JSON paths).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpiritCallError {
    /// The name is not a dependency the spirit declares in
    /// `[package.metadata.spirit.dependencies]`, or `cross_sandbox_call`
    /// is not declared.
    NotADependency,
    /// The called spirit failed or was refused (not installed, changed, a
    /// capability it lacks, a cycle, a trap, a non-zero status);
    /// [`last_error`] says why.
    Failed,
    /// Its output is larger than the buffer given; read it with
    /// [`last_output`].
    OutputTooLarge {
        /// The output's length.
        len: usize,
    },
}

impl SpiritCallError {
    /// What went wrong, as one static line.
    ///
    /// ```
    /// use spirit_sdk::spirits::SpiritCallError;
    /// assert!(SpiritCallError::Failed.as_str().contains("last_error"));
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            SpiritCallError::NotADependency => {
                "not a declared dependency: declare it in `[package.metadata.spirit.dependencies]`, with `cross_sandbox_call`"
            }
            SpiritCallError::Failed => {
                "the called spirit failed or was refused: `spirits::last_error` says why"
            }
            SpiritCallError::OutputTooLarge { .. } => {
                "the called spirit's output does not fit in the buffer: read it with `spirits::last_output`"
            }
        }
    }
}

impl fmt::Display for SpiritCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for SpiritCallError {}

/// Runs the dependency `name`'s entry with `input`; its output goes to
/// `output` and its length is returned.
///
/// # Errors
///
/// [`SpiritCallError::NotADependency`] when `name` is not declared (or
/// `cross_sandbox_call` is not), [`SpiritCallError::Failed`] when the call
/// failed ([`last_error`] says why), [`SpiritCallError::OutputTooLarge`]
/// when the output does not fit (read it with [`last_output`]).
pub fn call(name: &str, input: &[u8], output: &mut [u8]) -> Result<usize, SpiritCallError> {
    call_export(name, "", input, output)
}

/// [`call`] of the export `export` (taking nothing, returning nothing or
/// an `i32` status) instead of the entry; `""` is the entry.
///
/// ```
/// use spirit_sdk::{mock, spirits};
/// mock::register_spirit("text", |export, input| match export {
///     "shout" => Ok(input.to_ascii_uppercase()),
///     _ => Ok(input.to_vec()),
/// });
/// let mut out = [0u8; 8];
/// assert_eq!(spirits::call_export("text", "shout", b"hey", &mut out), Ok(3));
/// assert_eq!(&out[..3], b"HEY");
/// ```
///
/// # Errors
///
/// As [`call`].
pub fn call_export(
    name: &str,
    export: &str,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, SpiritCallError> {
    match crate::sys::spirit_call(name.as_bytes(), export.as_bytes(), input, output) {
        n if n >= 0 => {
            let len = n as usize;
            if len <= output.len() {
                Ok(len)
            } else {
                Err(SpiritCallError::OutputTooLarge { len })
            }
        }
        crate::abi::SPIRIT_FAILED => Err(SpiritCallError::Failed),
        _ => Err(SpiritCallError::NotADependency),
    }
}

/// Runs the dependency `name`'s entry with `input` and returns its whole
/// output. Needs the `alloc` feature.
///
/// ```
/// spirit_sdk::mock::register_spirit("twice", |_, input| Ok([input, input].concat()));
/// assert_eq!(spirit_sdk::spirits::call_vec("twice", b"ab")?, b"abab");
/// # Ok::<(), spirit_sdk::spirits::SpiritCallError>(())
/// ```
///
/// # Errors
///
/// As [`call`], but for the output's size.
#[cfg(feature = "alloc")]
pub fn call_vec(name: &str, input: &[u8]) -> Result<alloc::vec::Vec<u8>, SpiritCallError> {
    call_export_vec(name, "", input)
}

/// [`call_vec`] of the export `export`. Needs the `alloc` feature.
///
/// # Errors
///
/// As [`call`], but for the output's size.
#[cfg(feature = "alloc")]
pub fn call_export_vec(
    name: &str,
    export: &str,
    input: &[u8],
) -> Result<alloc::vec::Vec<u8>, SpiritCallError> {
    let mut output = alloc::vec![0u8; 4096];
    match call_export(name, export, input, &mut output) {
        Ok(len) => {
            output.truncate(len);
            Ok(output)
        }
        Err(SpiritCallError::OutputTooLarge { len }) => {
            output.resize(len, 0);
            let n = last_output(&mut output);
            output.truncate(n);
            Ok(output)
        }
        Err(e) => Err(e),
    }
}

/// Copies the last call's output into `buf` when it fits, and returns its
/// length (0 when there is none; compare with `buf.len()` to know whether
/// it was copied).
pub fn last_output(buf: &mut [u8]) -> usize {
    crate::sys::spirit_output(buf).max(0) as usize
}

/// Copies why the last call failed (UTF-8) into `buf` when it fits, and
/// returns its length (0 when the call did not fail).
pub fn last_error(buf: &mut [u8]) -> usize {
    crate::sys::spirit_error(buf).max(0) as usize
}

/// Why the last call failed, or an empty string. Needs the `alloc` feature.
///
/// ```
/// use spirit_sdk::{mock, spirits::{self, SpiritCallError}};
/// mock::register_spirit("flaky", |_, _| Err("`flaky@1.0.0` returned status 3".into()));
/// assert_eq!(spirits::call_vec("flaky", b""), Err(SpiritCallError::Failed));
/// assert_eq!(spirits::last_error_string(), "`flaky@1.0.0` returned status 3");
/// ```
#[cfg(feature = "alloc")]
pub fn last_error_string() -> alloc::string::String {
    let mut buf = alloc::vec![0u8; 256];
    let len = last_error(&mut buf);
    if len > buf.len() {
        buf.resize(len, 0);
        last_error(&mut buf);
    }
    buf.truncate(len);
    alloc::string::String::from_utf8_lossy(&buf).into_owned()
}
