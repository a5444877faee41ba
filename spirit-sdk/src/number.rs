//! Integers as decimal text without `core::fmt`.
//!
//! `write!(out, "{n}")` links core's formatting machinery, a few kilobytes
//! in a spirit that otherwise needs none of it; [`Decimal`] is a few dozen
//! bytes of code.
//!
//! ```
//! use spirit_sdk::number::Decimal;
//!
//! assert_eq!(Decimal::from(1234_u64).as_str(), "1234");
//! assert_eq!(Decimal::from(-7_i64).as_str(), "-7");
//! ```

/// An integer's decimal digits (and sign), held on the stack.
///
/// ```
/// let n = spirit_sdk::number::Decimal::from(42_u32);
/// assert_eq!(n.as_str(), "42");
/// assert_eq!(n.as_bytes(), b"42");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    // u64::MAX has 20 digits; i64::MIN has 19 and a sign.
    digits: [u8; 20],
    start: u8,
}

impl Decimal {
    // Written without indexing, which could panic: a panic path here would
    // pull the panic handler into every spirit that prints a number.
    fn unsigned(mut n: u64, negative: bool) -> Decimal {
        let mut digits = [0u8; 20];
        let mut len = 0;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
            len += 1;
            if n == 0 {
                break;
            }
        }
        if negative {
            // A signed value has at most 19 digits: there is room.
            if let Some(slot) = digits.iter_mut().rev().nth(len) {
                *slot = b'-';
                len += 1;
            }
        }
        Decimal {
            digits,
            start: (20 - len) as u8,
        }
    }

    /// The text, such as `"-12"`.
    ///
    /// ```
    /// assert_eq!(spirit_sdk::number::Decimal::from(0_u8).as_str(), "0");
    /// ```
    pub fn as_str(&self) -> &str {
        // SAFETY: only ASCII digits and `-` are ever written. (A checked
        // `from_utf8` would add most of a kilobyte to a panicking spirit.)
        unsafe { core::str::from_utf8_unchecked(self.as_bytes()) }
    }

    /// The text as bytes, ready for [`output::write`](crate::output::write).
    ///
    /// ```
    /// assert_eq!(spirit_sdk::number::Decimal::from(10_u16).as_bytes(), b"10");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.digits
            .get(usize::from(self.start)..)
            .unwrap_or_default()
    }
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            fn from(n: $t) -> Decimal {
                Decimal::unsigned(n as u64, false)
            }
        }
    )*};
}
from_unsigned!(u8, u16, u32, u64, usize);

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            fn from(n: $t) -> Decimal {
                Decimal::unsigned((n as i64).unsigned_abs(), n < 0)
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, isize);

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn extremes() {
        assert_eq!(Decimal::from(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(Decimal::from(i64::MIN).as_str(), "-9223372036854775808");
        assert_eq!(Decimal::from(i64::MAX).as_str(), "9223372036854775807");
        assert_eq!(Decimal::from(0_i32).as_str(), "0");
        assert_eq!(Decimal::from(-1_i8).as_str(), "-1");
    }
}
