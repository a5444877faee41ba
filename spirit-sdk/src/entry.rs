//! What an entry point returns, and how it becomes the status the host reads.
//!
//! `#[spirit_sdk::main]` calls [`Status::into_status`] on the function's
//! result: `()` is `0`, an `i32` is itself, and `Err(e)` ends the run with
//! `e`'s message (through the host's abort call, which every spirit may use).

use core::fmt::{self, Write};

/// A value an entry point may return.
pub trait Status {
    /// The status the host reads: `0` is success.
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

impl<E: fmt::Display> Status for Result<(), E> {
    fn into_status(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(error) => {
                let mut message = MessageBuf::new();
                let _ = write!(message, "{error}");
                crate::sys::abort(message.as_str())
            }
        }
    }
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

    pub(crate) fn as_str(&mut self) -> &str {
        if self.truncated && self.len + 3 <= self.bytes.len() {
            self.bytes[self.len..self.len + 3].copy_from_slice("…".as_bytes());
            self.len += 3;
            self.truncated = false;
        }
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl Write for MessageBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep room for the ellipsis.
        let room = self.bytes.len() - 3 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.truncated = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_integers_are_statuses() {
        assert_eq!(().into_status(), 0);
        assert_eq!(7.into_status(), 7);
        assert_eq!(Ok::<(), &str>(()).into_status(), 0);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let mut buf = MessageBuf::new();
        for _ in 0..300 {
            write!(buf, "é").unwrap();
        }
        let s = buf.as_str();
        assert!(s.ends_with('…'));
        assert!(s.len() <= 512);
    }
}
