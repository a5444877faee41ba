//! Values out of a JSON document, selected by a path and read by the host
//! (no capability needed), so a spirit needs neither a JSON parser nor an
//! allocator.
//!
//! A path is `$` followed by steps: `.name` or `["any key"]` for an
//! object's member, `[3]` for an array's element. `$.user.langs[0]` and
//! `$["user"]["langs"][0]` are the same path. There are no wildcards or
//! filters: a path selects one value or none. The host checks the whole
//! document, refuses one nested deeper than 128 arrays and objects, and
//! when an object has a key twice, takes the last. The full grammar and the
//! limits are in `docs/HOST_ABI.md`.
//!
//! ```
//! use spirit_sdk::json;
//!
//! let doc = br#"{"user": {"name": "Ada", "age": 36, "admin": true, "langs": ["en", "fr"]}}"#;
//! let mut buf = [0u8; 64];
//! assert_eq!(json::get_str(doc, "$.user.name", &mut buf)?, "Ada");
//! assert_eq!(json::get_u64(doc, "$.user.age")?, 36);
//! assert!(json::get_bool(doc, "$.user.admin")?);
//! assert_eq!(json::get(doc, "$.user.langs", &mut buf)?, br#"["en", "fr"]"#);
//! assert_eq!(json::get(doc, "$.user.email", &mut buf), Err(json::JsonError::NotFound));
//! # Ok::<(), json::JsonError>(())
//! ```

use core::fmt;

use crate::abi;

/// Why a value could not be read.
///
/// ```
/// use spirit_sdk::json::{self, JsonError};
///
/// let mut small = [0u8; 2];
/// let error = json::get(br#"{"a": "long"}"#, "$.a", &mut small).unwrap_err();
/// assert_eq!(error, JsonError::BufferTooSmall { needed: 6 });
/// assert!(error.as_str().contains("buffer"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonError {
    /// The path selects nothing: a missing key, an index past the end, or
    /// a step into a value of another kind.
    NotFound,
    /// The value does not fit in the buffer; nothing was written.
    BufferTooSmall {
        /// The buffer size that would have been enough.
        needed: usize,
    },
    /// The document is not JSON (or not UTF-8).
    InvalidJson,
    /// The path is not in the supported subset (see the [module](self)).
    InvalidPath,
    /// The document is over the host's size limit
    /// ([`abi::MAX_PRIMITIVE_INPUT`]) or nesting limit (128), or the path
    /// over its length (4096 bytes) or step (128) limit.
    TooLarge,
    /// The value is not of the kind asked for: not a string for
    /// [`get_str`], not `true` or `false` for [`get_bool`], not a number in
    /// the type's range for the number readers.
    WrongType,
    /// The host refused the call (a range outside the spirit's memory).
    Host,
}

impl JsonError {
    /// What went wrong, as one static line; formatting it costs no
    /// `core::fmt` code.
    ///
    /// ```
    /// assert!(spirit_sdk::json::JsonError::InvalidPath.as_str().contains("path"));
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            JsonError::NotFound => "the JSON path selects nothing in the document",
            JsonError::BufferTooSmall { .. } => "the JSON value does not fit in the buffer",
            JsonError::InvalidJson => "the document is not valid JSON",
            JsonError::InvalidPath => {
                "the JSON path is not `$` then `.name`, `[\"key\"]` or `[index]` steps"
            }
            JsonError::TooLarge => "the JSON document or path is over the host's limits",
            JsonError::WrongType => "the JSON value is not of the type asked for",
            JsonError::Host => "the host refused the JSON query",
        }
    }

    /// The error for a negative `host_json_path` result.
    fn from_code(code: i32) -> JsonError {
        match code {
            abi::NOT_FOUND => JsonError::NotFound,
            abi::INVALID_INPUT => JsonError::InvalidJson,
            abi::INVALID_PATH => JsonError::InvalidPath,
            abi::TOO_LARGE => JsonError::TooLarge,
            abi::NOT_A_STRING => JsonError::WrongType,
            _ => JsonError::Host,
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for JsonError {}

/// `host_json_path` in `mode`, as the written part of `buf`.
fn query<'b>(doc: &[u8], path: &str, buf: &'b mut [u8], mode: i32) -> Result<&'b [u8], JsonError> {
    let result = crate::sys::json_path(doc, path.as_bytes(), buf, mode);
    let Ok(len) = usize::try_from(result) else {
        return Err(JsonError::from_code(result));
    };
    buf.get(..len)
        .ok_or(JsonError::BufferTooSmall { needed: len })
}

/// The JSON text of the value `path` selects in `doc`, as written in the
/// document (a string keeps its quotes and escapes), in `buf`.
///
/// ```
/// let doc = br#"{"point": {"x": 1, "y": -2.5}, "name": "a\"b"}"#;
/// let mut buf = [0u8; 32];
/// assert_eq!(spirit_sdk::json::get(doc, "$.point", &mut buf)?, br#"{"x": 1, "y": -2.5}"#);
/// assert_eq!(spirit_sdk::json::get(doc, "$.name", &mut buf)?, br#""a\"b""#);
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// [`JsonError::BufferTooSmall`] with the size needed (nothing is
/// written), and as the variants say.
pub fn get<'b>(doc: &[u8], path: &str, buf: &'b mut [u8]) -> Result<&'b [u8], JsonError> {
    query(doc, path, buf, 0)
}

/// The string `path` selects, with its escapes decoded, in `buf`.
///
/// ```
/// let doc = br#"{"greeting": "h\u00e9llo \"you\""}"#;
/// let mut buf = [0u8; 32];
/// assert_eq!(spirit_sdk::json::get_str(doc, "$.greeting", &mut buf)?, "héllo \"you\"");
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// [`JsonError::WrongType`] when the value is not a string; as [`get`]
/// otherwise.
pub fn get_str<'b>(doc: &[u8], path: &str, buf: &'b mut [u8]) -> Result<&'b str, JsonError> {
    let bytes = get_str_bytes(doc, path, buf)?;
    core::str::from_utf8(bytes).map_err(|_| JsonError::InvalidJson)
}

/// The string `path` selects, with its escapes decoded, as UTF-8 bytes in
/// `buf`: [`get_str`] without checking the host's UTF-8 again, for a spirit
/// that only passes the text on (core's UTF-8 check is about 500 bytes of
/// code).
///
/// ```
/// let doc = br#"{"name": "Z\u00e9"}"#;
/// let mut buf = [0u8; 8];
/// assert_eq!(spirit_sdk::json::get_str_bytes(doc, "$.name", &mut buf)?, "Zé".as_bytes());
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// As [`get_str`].
pub fn get_str_bytes<'b>(doc: &[u8], path: &str, buf: &'b mut [u8]) -> Result<&'b [u8], JsonError> {
    query(doc, path, buf, 1)
}

/// The boolean `path` selects.
///
/// ```
/// assert!(spirit_sdk::json::get_bool(br#"{"on": true}"#, "$.on")?);
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// [`JsonError::WrongType`] for anything but `true` or `false` (the
/// string `"true"` included); as [`get`] otherwise.
pub fn get_bool(doc: &[u8], path: &str) -> Result<bool, JsonError> {
    let mut buf = [0u8; 5];
    match number_text(doc, path, &mut buf)? {
        b"true" => Ok(true),
        b"false" => Ok(false),
        _ => Err(JsonError::WrongType),
    }
}

/// The JSON text of a short scalar (a number or literal), with a value too
/// long for `buf` read as the wrong type.
fn number_text<'b>(doc: &[u8], path: &str, buf: &'b mut [u8]) -> Result<&'b [u8], JsonError> {
    match get(doc, path, buf) {
        Err(JsonError::BufferTooSmall { .. }) => Err(JsonError::WrongType),
        other => other,
    }
}

/// The integer `path` selects, written without a fraction or exponent
/// (`-0` is `0`).
///
/// ```
/// let doc = br#"{"min": -9223372036854775808, "big": 9223372036854775808, "f": 1.0}"#;
/// assert_eq!(spirit_sdk::json::get_i64(doc, "$.min")?, i64::MIN);
/// assert!(spirit_sdk::json::get_i64(doc, "$.big").is_err());
/// assert!(spirit_sdk::json::get_i64(doc, "$.f").is_err());
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// [`JsonError::WrongType`] for anything else, or an integer outside
/// `i64`; as [`get`] otherwise.
pub fn get_i64(doc: &[u8], path: &str) -> Result<i64, JsonError> {
    // i64::MIN is 20 characters.
    let mut buf = [0u8; 20];
    let text = number_text(doc, path, &mut buf)?;
    let (negative, digits) = match text {
        [b'-', digits @ ..] => (true, digits),
        digits => (false, digits),
    };
    let magnitude = parse_digits(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
    .ok_or(JsonError::WrongType)
}

/// The unsigned integer `path` selects, written without a sign, fraction
/// or exponent.
///
/// ```
/// let doc = br#"{"max": 18446744073709551615, "neg": -1}"#;
/// assert_eq!(spirit_sdk::json::get_u64(doc, "$.max")?, u64::MAX);
/// assert!(spirit_sdk::json::get_u64(doc, "$.neg").is_err());
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// [`JsonError::WrongType`] for anything else, or an integer outside
/// `u64`; as [`get`] otherwise.
pub fn get_u64(doc: &[u8], path: &str) -> Result<u64, JsonError> {
    let mut buf = [0u8; 20];
    parse_digits(number_text(doc, path, &mut buf)?)
}

/// The number `path` selects, as the nearest `f64` (an integer, a
/// fraction, an exponent; `1e400` is infinity). Links core's float parser,
/// a few KiB; the integer readers do not.
///
/// ```
/// assert_eq!(spirit_sdk::json::get_f64(br#"{"x": -2.5e-1}"#, "$.x")?, -0.25);
/// # Ok::<(), spirit_sdk::json::JsonError>(())
/// ```
///
/// # Errors
///
/// [`JsonError::WrongType`] for anything but a number of at most 128
/// characters; as [`get`] otherwise.
pub fn get_f64(doc: &[u8], path: &str) -> Result<f64, JsonError> {
    let mut buf = [0u8; 128];
    let text = number_text(doc, path, &mut buf)?;
    // A JSON number is also Rust's float syntax; `true`, `"1"`, `null` and
    // the like are not.
    if !matches!(text.first(), Some(b'-' | b'0'..=b'9')) {
        return Err(JsonError::WrongType);
    }
    core::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(JsonError::WrongType)
}

/// Decimal digits (no sign, no leading zero but `0` itself, as JSON writes
/// integers) as a `u64`.
fn parse_digits(digits: &[u8]) -> Result<u64, JsonError> {
    if digits.is_empty() || (digits.len() > 1 && digits.first() == Some(&b'0')) {
        return Err(JsonError::WrongType);
    }
    // Overflow is checked against `u64::MAX / 10` rather than with
    // `checked_mul`, which would link a 128-bit multiplication on wasm32.
    const LIMIT: u64 = u64::MAX / 10;
    digits.iter().try_fold(0u64, |n, &d| {
        let d = u64::from(d.wrapping_sub(b'0'));
        if d > 9 || n > LIMIT || (n == LIMIT && d > u64::MAX % 10) {
            return Err(JsonError::WrongType);
        }
        Ok(n * 10 + d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_at_the_limits() {
        let doc = br#"{"a": 9223372036854775807, "b": -9223372036854775808, "c": -9223372036854775809,
            "d": 18446744073709551616, "z": -0, "e": 1e2, "s": "1", "t": true, "n": null, "long": 123456789012345678901234}"#;
        assert_eq!(get_i64(doc, "$.a"), Ok(i64::MAX));
        assert_eq!(get_i64(doc, "$.b"), Ok(i64::MIN));
        assert_eq!(get_i64(doc, "$.c"), Err(JsonError::WrongType));
        assert_eq!(get_u64(doc, "$.d"), Err(JsonError::WrongType));
        assert_eq!(get_u64(doc, "$.a"), Ok(i64::MAX as u64));
        assert_eq!(get_i64(doc, "$.z"), Ok(0));
        assert_eq!(get_u64(doc, "$.z"), Err(JsonError::WrongType));
        for path in ["$.e", "$.s", "$.t", "$.n", "$.long"] {
            assert_eq!(get_i64(doc, path), Err(JsonError::WrongType), "{path}");
        }
        assert_eq!(get_f64(doc, "$.e"), Ok(100.0));
        assert_eq!(get_f64(doc, "$.long"), Ok(1.2345678901234568e23));
        assert_eq!(get_f64(doc, "$.s"), Err(JsonError::WrongType));
        assert_eq!(get_f64(br#"[1e400]"#, "$[0]"), Ok(f64::INFINITY));
        assert_eq!(get_bool(doc, "$.t"), Ok(true));
        assert_eq!(get_bool(doc, "$.s"), Err(JsonError::WrongType));
        assert_eq!(get_bool(doc, "$.long"), Err(JsonError::WrongType));
        assert_eq!(get_bool(doc, "$.x"), Err(JsonError::NotFound));
    }

    #[test]
    fn each_host_code_has_its_error() {
        let mut buf = [0u8; 8];
        assert_eq!(get(b"{", "$", &mut buf), Err(JsonError::InvalidJson));
        assert_eq!(get(b"{}", "$.", &mut buf), Err(JsonError::InvalidPath));
        let deep = [b'['; 200];
        assert_eq!(get(&deep, "$", &mut buf), Err(JsonError::TooLarge));
        assert_eq!(get_str(b"[1]", "$[0]", &mut buf), Err(JsonError::WrongType));
        assert_eq!(
            get_str(br#"["123456789"]"#, "$[0]", &mut buf),
            Err(JsonError::BufferTooSmall { needed: 9 })
        );
        assert_eq!(buf, [0; 8], "nothing written");
    }
}
