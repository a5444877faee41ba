//! Messages between the spirits of a séance (`cargo spirit seance`), over
//! the @vudo/runtime ABI: [`send`] (capability `network_broadcast`),
//! [`broadcast`] (the same), [`pending`] and [`recv_into`] (or [`recv`]
//! with `alloc`) for the spirit's own queue.
//!
//! A payload is at most [`MAX_PAYLOAD`] bytes; the host caps each queue
//! (256 messages, 1 MiB), so sending to a spirit that does not receive
//! fails once its queue is full. In a one-shot `cargo spirit run` the
//! spirit is alone: [`send`] finds no one. Natively, the [mock](crate::mock)
//! host keeps one queue per spirit name, and [`mock::act_as`](crate::mock::act_as)
//! switches which spirit the code runs as, so two spirits' exchange can be
//! tested in one `cargo test`:
//!
//! ```
//! use spirit_sdk::{message, mock};
//!
//! mock::act_as("ping");
//! mock::summon("pong");
//! assert_eq!(message::send("pong", b"hello"), Ok(true));
//! assert_eq!(message::send("nobody", b"hello"), Ok(false));
//!
//! mock::act_as("pong");
//! assert_eq!(message::pending(), 1);
//! let mut buf = [0u8; 64];
//! let got = message::recv_into(&mut buf)?.unwrap();
//! assert_eq!((got.from(&buf), got.payload(&buf)), (&b"ping"[..], &b"hello"[..]));
//! // To ping, and to `spirit`, whom the mock runs code as by default.
//! assert_eq!(message::broadcast(b"hi all"), Ok(2));
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;

/// The largest payload the host accepts: 64 KiB.
pub const MAX_PAYLOAD: usize = 64 << 10;

/// Sends `payload` to the spirit named `to`: `Ok(true)` delivered,
/// `Ok(false)` there is no such spirit in the séance. Needs
/// `network_broadcast`.
///
/// # Errors
///
/// [`HostError::Message`]: the capability is not granted, the payload is
/// over [`MAX_PAYLOAD`], or `to`'s queue is full.
pub fn send(to: &str, payload: &[u8]) -> Result<bool, HostError> {
    match crate::sys::message_send(to.as_bytes(), payload) {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(HostError::Message),
    }
}

/// Sends `payload` to every other spirit of the séance; returns how many
/// received it. Needs `network_broadcast`.
///
/// # Errors
///
/// As [`send`].
pub fn broadcast(payload: &[u8]) -> Result<usize, HostError> {
    usize::try_from(crate::sys::message_broadcast(payload)).map_err(|_| HostError::Message)
}

/// How many messages wait in the spirit's queue.
pub fn pending() -> usize {
    usize::try_from(crate::sys::message_pending()).unwrap_or(0)
}

/// Where a message received by [`recv_into`] lies in the buffer: its
/// sender first, then its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    from_len: usize,
    payload_len: usize,
    /// The payload's whole length, larger than what was copied when the
    /// buffer was too small.
    pub full_len: usize,
}

impl Received {
    /// The sender's name (a spirit's, `@host` for the host, or
    /// `effect:<id>:<spirit>` for an effect the spirit subscribed to).
    pub fn from<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(..self.from_len).unwrap_or_default()
    }

    /// The payload (cut to the buffer when [`Received::truncated`]).
    pub fn payload<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.from_len..self.from_len + self.payload_len)
            .unwrap_or_default()
    }

    /// Whether the buffer was too small for the whole payload.
    pub fn truncated(&self) -> bool {
        self.payload_len < self.full_len
    }
}

/// Takes the oldest message of the spirit's queue into `buf` (the sender,
/// then the payload, cut to fit); `None` when the queue is empty.
///
/// # Errors
///
/// [`HostError::Message`] when the host could not hand the message over
/// (it stays queued).
pub fn recv_into(buf: &mut [u8]) -> Result<Option<Received>, HostError> {
    let mut received = None;
    let code = crate::sys::message_recv(&mut |from, payload| {
        let from_len = from.len().min(buf.len());
        buf[..from_len].copy_from_slice(&from[..from_len]);
        let payload_len = payload.len().min(buf.len() - from_len);
        buf[from_len..from_len + payload_len].copy_from_slice(&payload[..payload_len]);
        received = Some(Received {
            from_len,
            payload_len,
            full_len: payload.len(),
        });
    });
    match code {
        0 => Ok(None),
        1 => Ok(received),
        _ => Err(HostError::Message),
    }
}

/// A message received whole by [`recv`].
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender (see [`Received::from`]).
    pub from: alloc::string::String,
    /// The payload.
    pub payload: alloc::vec::Vec<u8>,
}

/// Takes the oldest message of the spirit's queue; `None` when it is empty.
///
/// ```
/// spirit_sdk::mock::act_as("a");
/// spirit_sdk::mock::summon("b");
/// spirit_sdk::message::send("b", b"hi")?;
/// spirit_sdk::mock::act_as("b");
/// let message = spirit_sdk::message::recv()?.unwrap();
/// assert_eq!((message.from.as_str(), &message.payload[..]), ("a", &b"hi"[..]));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// As [`recv_into`].
#[cfg(feature = "alloc")]
pub fn recv() -> Result<Option<Message>, HostError> {
    let mut received = None;
    let code = crate::sys::message_recv(&mut |from, payload| {
        received = Some(Message {
            from: alloc::string::String::from_utf8_lossy(from).into_owned(),
            payload: payload.to_vec(),
        });
    });
    match code {
        0 => Ok(None),
        1 => Ok(received),
        _ => Err(HostError::Message),
    }
}
