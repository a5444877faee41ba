//! Sizes and durations as people write and read them: `64MiB`, `500ms`,
//! `14.2 KiB`.

use std::fmt;
use std::time::Duration;

/// A byte count that displays as `812 B`, `14.2 KiB` or `3.0 MiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if value.fract() == 0.0 {
            write!(f, "{value:.0} {}", UNITS[unit])
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

/// Parses a size: a number with an optional unit `B`, `K`/`KiB`/`KB`,
/// `M`/`MiB`/`MB`, `G`/`GiB`/`GB` (all powers of 1024).
///
/// ```
/// use spirit_build::units::parse_size;
/// assert_eq!(parse_size("64MiB"), Ok(64 << 20));
/// assert_eq!(parse_size("512k"), Ok(512 << 10));
/// assert_eq!(parse_size("4096"), Ok(4096));
/// assert!(parse_size("lots").is_err());
/// ```
///
/// # Errors
///
/// Says what a size looks like.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = split_number(text);
    let bad = || {
        format!(
            "invalid size `{text}`: expected a number of bytes with an optional unit, such as `64MiB`, `512KiB` or `1048576`"
        )
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    number.checked_mul(1 << shift).ok_or_else(bad)
}

/// The longest duration [`parse_duration`] accepts: 365 days. Longer than
/// any run or timeout needs, and far from the points where adding a
/// duration to a clock reading overflows.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses a duration: a number with a unit `ms`, `s`, `m`, `h` or `d`,
/// longer than zero and at most [`MAX_DURATION`].
///
/// ```
/// use std::time::Duration;
/// use spirit_build::units::parse_duration;
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
/// assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86400)));
/// assert!(parse_duration("5").is_err());
/// assert!(parse_duration("18446744073709551615s").is_err(), "too long");
/// ```
///
/// # Errors
///
/// Says what a duration looks like, or that it is zero or too long.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = split_number(text);
    let bad = || {
        format!(
            "invalid duration `{text}`: expected a number with a unit, such as `500ms`, `5s`, `2m`, `1h` or `1d`"
        )
    };
    let too_long = || format!("invalid duration `{text}`: it must be at most 365 days (`365d`)");
    // A number too large for u64 is too long, not malformed.
    let number: u64 = match number.parse() {
        Ok(n) => n,
        Err(_) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(too_long());
        }
        Err(_) => return Err(bad()),
    };
    let millis_per_unit: u64 = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    let millis = number.checked_mul(millis_per_unit).ok_or_else(too_long)?;
    check_duration(Duration::from_millis(millis))
        .map_err(|why| format!("invalid duration `{text}`: {why}"))
}

/// Longer than zero and at most [`MAX_DURATION`] (the range
/// `crate::limits::check::timeout` holds every run's timeout to).
fn check_duration(duration: Duration) -> Result<Duration, &'static str> {
    if duration.is_zero() {
        Err("it must be longer than zero")
    } else if duration > MAX_DURATION {
        Err("it must be at most 365 days (`365d`)")
    } else {
        Ok(duration)
    }
}

/// `"64MiB"` → `("64", "MiB")`: the leading digits and the rest.
fn split_number(text: &str) -> (&str, &str) {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_a_person_writes_them() {
        assert_eq!(Bytes(812).to_string(), "812 B");
        assert_eq!(Bytes(14540).to_string(), "14.2 KiB");
        assert_eq!(Bytes(64 << 20).to_string(), "64 MiB");
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("18446744073709551615G").is_err());
    }

    #[test]
    fn durations_are_range_checked() {
        for text in [
            "18446744073709551615s",
            "99999999999d",
            "99999999999999999999999ms",
            "366d",
            "8761h",
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(error.contains("at most 365 days"), "{text}: {error}");
        }
        assert_eq!(parse_duration("365d"), Ok(MAX_DURATION));
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(
            parse_duration("5x")
                .unwrap_err()
                .contains("expected a number with a unit")
        );
    }
}
