//! Base64 in the standard alphabet (RFC 4648 §4, `A–Z a–z 0–9 + /`), with
//! or without `=` padding (`host_base64_encode`, `host_base64_decode`).
//!
//! Decoding is strict, so that every byte string has exactly one encoding
//! in each padding: the padding must be as asked (present and complete, or
//! absent), no whitespace or other character is skipped, and the unused
//! low bits of the last character must be zero.
//!
//! ```
//! use spirit_primitives::base64::{self, Padding};
//!
//! let mut text = [0u8; 8];
//! let n = base64::encode(b"hi!?", Padding::Unpadded, &mut text)?;
//! assert_eq!(&text[..n], b"aGkhPw");
//! let mut bytes = [0u8; 4];
//! let m = base64::decode(&text[..n], Padding::Unpadded, &mut bytes)?;
//! assert_eq!(&bytes[..m], b"hi!?");
//! # Ok::<(), spirit_primitives::Error>(())
//! ```

use crate::{Error, MAX_INPUT, check_input};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Whether the text ends with `=` padding to a multiple of four characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// `=` pads the text to a multiple of 4 (ABI flag `0`).
    Padded,
    /// No `=` (ABI flag `1`).
    Unpadded,
}

impl Padding {
    /// The padding for an ABI `flags` argument: `0` padded, `1` unpadded.
    ///
    /// ```
    /// use spirit_primitives::base64::Padding;
    /// assert_eq!(Padding::from_flags(1), Some(Padding::Unpadded));
    /// assert_eq!(Padding::from_flags(2), None);
    /// ```
    pub const fn from_flags(flags: i32) -> Option<Padding> {
        match flags {
            0 => Some(Padding::Padded),
            1 => Some(Padding::Unpadded),
            _ => None,
        }
    }

    /// The ABI `flags` argument for this padding.
    pub const fn flags(self) -> i32 {
        match self {
            Padding::Padded => 0,
            Padding::Unpadded => 1,
        }
    }
}

/// The length of the base64 text of `len` bytes.
///
/// ```
/// use spirit_primitives::base64::{Padding, encoded_len};
/// assert_eq!(encoded_len(4, Padding::Padded), 8);
/// assert_eq!(encoded_len(4, Padding::Unpadded), 6);
/// ```
pub const fn encoded_len(len: usize, padding: Padding) -> usize {
    let full = len / 3 * 4;
    match (len % 3, padding) {
        (0, _) => full,
        (_, Padding::Padded) => full + 4,
        (rest, Padding::Unpadded) => full + rest + 1,
    }
}

/// Writes the base64 text of `input` into `out` when it fits, and returns
/// its length ([`encoded_len`]) either way.
///
/// ```
/// use spirit_primitives::base64::{Padding, encode};
/// let mut out = [0u8; 4];
/// assert_eq!(encode(b"hello", Padding::Padded, &mut out), Ok(8), "too small: nothing written");
/// assert_eq!(out, [0; 4]);
/// ```
///
/// # Errors
///
/// [`Error::TooLarge`] when `input` is over [`MAX_INPUT`].
pub fn encode(input: &[u8], padding: Padding, out: &mut [u8]) -> Result<usize, Error> {
    check_input(input)?;
    let needed = encoded_len(input.len(), padding);
    let Some(out) = out.get_mut(..needed) else {
        return Ok(needed);
    };
    let mut written = 0;
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        let chars = [
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ];
        let used = chunk.len() + 1;
        for (i, c) in chars.into_iter().enumerate() {
            let c = if i < used { c } else { b'=' };
            if let Some(slot) = out.get_mut(written) {
                *slot = c;
                written += 1;
            }
        }
    }
    Ok(needed)
}

/// The value of one base64 character, if it is one.
const fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes the base64 `text` into `out` when it fits, and returns the
/// decoded length either way (the whole text is checked first, so nothing
/// is written for invalid text).
///
/// ```
/// use spirit_primitives::{Error, base64::{Padding, decode}};
/// let mut out = [0u8; 8];
/// assert_eq!(decode(b"aGk=", Padding::Padded, &mut out), Ok(2));
/// assert_eq!(&out[..2], b"hi");
/// assert_eq!(decode(b"aGk", Padding::Padded, &mut out), Err(Error::InvalidInput));
/// assert_eq!(decode(b"aGl=", Padding::Padded, &mut out), Err(Error::InvalidInput), "non-zero unused bits");
/// ```
///
/// # Errors
///
/// [`Error::InvalidInput`] for a character outside the alphabet, padding
/// other than asked, a length no encoding has, or non-zero unused bits;
/// [`Error::TooLarge`] when `text` is over [`MAX_INPUT`].
pub fn decode(text: &[u8], padding: Padding, out: &mut [u8]) -> Result<usize, Error> {
    check_input(text)?;
    let data = match padding {
        Padding::Padded => {
            if !text.len().is_multiple_of(4) {
                return Err(Error::InvalidInput);
            }
            let pad = text.iter().rev().take(2).filter(|&&c| c == b'=').count();
            // Only a trailing `=` or `==`: `x=y=` is caught below, as `=`
            // is not in the alphabet.
            if pad == 1 && text.last() != Some(&b'=') {
                return Err(Error::InvalidInput);
            }
            &text[..text.len() - pad]
        }
        Padding::Unpadded => text,
    };
    let needed = match data.len() % 4 {
        0 => data.len() / 4 * 3,
        1 => return Err(Error::InvalidInput),
        rest => data.len() / 4 * 3 + rest - 1,
    };
    debug_assert!(needed <= MAX_INPUT);
    // Validate everything before writing anything.
    let mut last = 0;
    for &c in data {
        last = sextet(c).ok_or(Error::InvalidInput)?;
    }
    let unused_bits = match data.len() % 4 {
        2 => 4,
        3 => 2,
        _ => 0,
    };
    if last & ((1 << unused_bits) - 1) != 0 {
        return Err(Error::InvalidInput);
    }
    let Some(out) = out.get_mut(..needed) else {
        return Ok(needed);
    };
    let mut written = 0;
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= sextet(c).unwrap_or(0) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        for &b in &bytes[1..chunk.len()] {
            if let Some(slot) = out.get_mut(written) {
                *slot = b;
                written += 1;
            }
        }
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    fn enc(input: &[u8], padding: Padding) -> std::string::String {
        let mut out = [0u8; 64];
        let n = encode(input, padding, &mut out).unwrap();
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, text) in vectors {
            assert_eq!(enc(plain.as_bytes(), Padding::Padded), text);
            let unpadded = text.trim_end_matches('=');
            assert_eq!(enc(plain.as_bytes(), Padding::Unpadded), unpadded);
            let mut out = [0u8; 8];
            let n = decode(text.as_bytes(), Padding::Padded, &mut out).unwrap();
            assert_eq!(&out[..n], plain.as_bytes());
            let n = decode(unpadded.as_bytes(), Padding::Unpadded, &mut out).unwrap();
            assert_eq!(&out[..n], plain.as_bytes());
        }
    }

    #[test]
    fn every_length_and_byte_round_trips() {
        let data: [u8; 256] = core::array::from_fn(|i| i as u8);
        for len in 0..=data.len() {
            for padding in [Padding::Padded, Padding::Unpadded] {
                let mut text = [0u8; 344];
                let n = encode(&data[..len], padding, &mut text).unwrap();
                assert_eq!(n, encoded_len(len, padding));
                let mut back = [0u8; 256];
                let m = decode(&text[..n], padding, &mut back).unwrap();
                assert_eq!(&back[..m], &data[..len]);
                // Exactly the needed size is enough; one less writes nothing.
                assert_eq!(decode(&text[..n], padding, &mut back[..m]), Ok(m));
                if m > 0 {
                    let mut short = [0xAAu8; 255];
                    assert_eq!(decode(&text[..n], padding, &mut short[..m - 1]), Ok(m));
                    assert!(short.iter().all(|&b| b == 0xAA));
                }
            }
        }
    }

    #[test]
    fn strict_decoding_refuses_what_has_another_encoding() {
        let mut out = [0u8; 16];
        for (text, padding) in [
            (&b"Zg"[..], Padding::Padded),
            (b"Zg==", Padding::Unpadded),
            (b"Zg=", Padding::Padded),
            (b"Z===", Padding::Padded),
            (b"Z", Padding::Unpadded),
            (b"Zh==", Padding::Padded),
            (b"Zm9=", Padding::Padded),
            (b"Zg=a", Padding::Padded),
            (b"=Zg=", Padding::Padded),
            (b"Zm 9v", Padding::Unpadded),
            (b"Zm9v\n", Padding::Unpadded),
            (b"Zm-_", Padding::Unpadded),
        ] {
            assert_eq!(
                decode(text, padding, &mut out),
                Err(Error::InvalidInput),
                "{:?} {padding:?}",
                core::str::from_utf8(text)
            );
        }
    }

    #[test]
    fn inputs_over_the_limit_are_refused() {
        let big = std::vec![b'A'; MAX_INPUT + 1];
        assert_eq!(encode(&big, Padding::Padded, &mut []), Err(Error::TooLarge));
        assert_eq!(
            decode(&big, Padding::Unpadded, &mut []),
            Err(Error::TooLarge)
        );
        assert_eq!(
            encode(&big[..MAX_INPUT], Padding::Padded, &mut []),
            Ok(MAX_INPUT / 3 * 4 + 4)
        );
    }
}
