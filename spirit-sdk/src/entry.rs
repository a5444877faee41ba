//! What an entry point returns, and how it becomes the status the host reads.
//!
//! [`#[spirit_sdk::main]`](crate::main) (or [`entry!`](crate::entry!)) exports
//! a function that calls yours and converts its result with
//! [`Status::into_status`]: `()` is `0`, an `i32` is itself, `Ok(v)` is `v`'s
//! status and `Err(e)` ends the run with `e`'s message (through the host's
//! abort call, which every spirit may use), so `cargo spirit run` prints
//! `error: spirit `name` failed: <message>`.
//!
//! ```
//! use spirit_sdk::entry::Status;
//!
//! assert_eq!(().into_status(), 0);
//! assert_eq!(3.into_status(), 3);
//! assert_eq!(Ok::<i32, &str>(7).into_status(), 7);
//! ```

use core::fmt::{self, Write};

/// A value an entry point may return.
///
/// ```
/// use spirit_sdk::entry::Status;
/// assert_eq!(Ok::<(), spirit_sdk::HostError>(()).into_status(), 0);
/// ```
pub trait Status {
    /// The status the host reads: `0` is success. An error ends the run
    /// instead of returning.
    fn into_status(self) -> i32;
}

impl Status for () {
    fn into_status(self) -> i32 {
        0
    }
}

impl Status for i32 {
    fn into_status(self) -> i32 {
        self
    }
}

impl<T: Status, E: fmt::Display> Status for Result<T, E> {
    fn into_status(self) -> i32 {
        match self {
            Ok(value) => value.into_status(),
            Err(error) => {
                let mut message = MessageBuf::new();
                let _ = write!(message, "{error}");
                crate::sys::abort(message.as_bytes())
            }
        }
    }
}

/// Runs an entry function: what the exported wrapper of
/// [`#[spirit_sdk::main]`](crate::main) and [`entry!`](crate::entry!) calls.
#[doc(hidden)]
#[inline(always)]
pub fn __run<S: Status>(entry: fn() -> S) -> i32 {
    #[cfg(all(feature = "std", target_arch = "wasm32"))]
    crate::panic::install_hook();
    entry().into_status()
}

/// Exports `$function` as the spirit's entry point, without the proc-macro
/// attribute (for spirits built with `default-features = false`).
///
/// The export is named `run` unless a second argument names it. The function
/// returns anything that implements [`Status`].
///
/// ```
/// fn start() -> Result<(), spirit_sdk::HostError> {
///     spirit_sdk::output::write(b"hi")
/// }
/// spirit_sdk::entry!(start);
/// // or, exported under another name: spirit_sdk::entry!(start, "main");
/// # start().unwrap();
/// # assert_eq!(spirit_sdk::mock::output(), b"hi");
/// ```
#[macro_export]
macro_rules! entry {
    ($function:ident) => {
        $crate::entry!($function, "run");
    };
    ($function:ident, $export:literal) => {
        const _: () = {
            #[cfg(target_arch = "wasm32")]
            #[unsafe(export_name = $export)]
            extern "C" fn __spirit_entry() -> i32 {
                $crate::entry::__run($function)
            }
            // Elsewhere nothing exports the entry: this keeps the function
            // from being reported as dead code.
            #[cfg(not(target_arch = "wasm32"))]
            const _: fn() -> i32 = || $crate::entry::__run($function);
        };
    };
}

/// A fixed-size buffer for messages formatted without an allocator; what
/// does not fit is cut at a character boundary and marked with `…`.
pub(crate) struct MessageBuf {
    bytes: [u8; 512],
    len: usize,
    truncated: bool,
}

impl MessageBuf {
    pub(crate) const fn new() -> MessageBuf {
        MessageBuf {
            bytes: [0; 512],
            len: 0,
            truncated: false,
        }
    }

    /// The message, UTF-8 (only whole `&str`s cut at character boundaries
    /// go in), ending in `…` when something was cut. Not checked again with
    /// `from_utf8`: that check alone would add most of a kilobyte to every
    /// spirit that can panic.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl Write for MessageBuf {
    // Written without indexing or `copy_from_slice`, which could panic: a
    // panic path here would pull the panic handler (and `core::fmt`) into
    // every spirit that returns an error.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.truncated {
            return Ok(());
        }
        // Keep room for the ellipsis.
        let room = self.bytes.len().saturating_sub(self.len + ELLIPSIS.len());
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let (kept, cut) = s.as_bytes().split_at_checked(take).ok_or(fmt::Error)?;
        let ellipsis: &[u8] = if cut.is_empty() { b"" } else { ELLIPSIS };
        let free = self.bytes.get_mut(self.len..).unwrap_or_default();
        for (to, from) in free.iter_mut().zip(kept.iter().chain(ellipsis)) {
            *to = *from;
        }
        self.len += kept.len() + ellipsis.len();
        self.truncated = !cut.is_empty();
        Ok(())
    }
}

/// Marks a cut message.
const ELLIPSIS: &[u8] = "…".as_bytes();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_integers_are_statuses() {
        assert_eq!(().into_status(), 0);
        assert_eq!(7.into_status(), 7);
        assert_eq!(Ok::<(), &str>(()).into_status(), 0);
        assert_eq!(Ok::<i32, &str>(4).into_status(), 4);
    }

    #[test]
    #[should_panic(expected = "spirit aborted: storage is full")]
    fn an_error_aborts_with_its_message() {
        Err::<(), &str>("storage is full").into_status();
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let buf = &mut MessageBuf::new();
        for _ in 0..300 {
            write!(buf, "é").unwrap();
        }
        write!(buf, "no more").unwrap();
        let s = core::str::from_utf8(buf.as_bytes()).unwrap();
        assert!(s.ends_with("é…"), "{s}");
        assert!(s.len() <= 512);
    }
}
