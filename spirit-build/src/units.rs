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

/// Parses a duration: a number with a unit `ms`, `s`, `m` or `h`.
///
/// ```
/// use std::time::Duration;
/// use spirit_build::units::parse_duration;
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
/// assert!(parse_duration("5").is_err());
/// ```
///
/// # Errors
///
/// Says what a duration looks like.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = split_number(text);
    let bad = || {
        format!(
            "invalid duration `{text}`: expected a number with a unit, such as `500ms`, `5s` or `2m`"
        )
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.checked_mul(60).ok_or_else(bad)?),
        "h" => Duration::from_secs(number.checked_mul(3600).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if duration.is_zero() {
        return Err(format!(
            "invalid duration `{text}`: it must be longer than zero"
        ));
    }
    Ok(duration)
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
}
