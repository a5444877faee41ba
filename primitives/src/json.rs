//! A JSON-path query (`host_json_path`): the value one path selects in a
//! JSON document, as JSON text or as a string's unquoted contents.
//!
//! # The path subset
//!
//! ```text
//! path    = "$" *step
//! step    = "." name / "[" index "]" / "[" string "]"
//! name    = 1*( ALPHA / DIGIT / "_" / "-" / any non-ASCII character )
//! index   = "0" / ( %x31-39 *DIGIT )        ; at most 4294967295
//! string  = a JSON string in double quotes, escapes included
//! ```
//!
//! `$` is the whole document, `.name` and `["key"]` a member of an object,
//! `[3]` an element of an array (from 0). There are no wildcards, slices,
//! filters, negative indices or recursive descent, and no whitespace: one
//! path selects at most one value. A member name is matched after decoding
//! escapes on both sides, so `$["é"]` finds `{"\u00e9": 1}`. When an object
//! has the same key twice, the last one counts, as in serde_json and
//! JavaScript.
//!
//! # What is checked
//!
//! The whole document is checked, not only the part on the path: it must be
//! one JSON value (RFC 8259) in UTF-8, with optional whitespace around it,
//! and no string may hold a lone surrogate escape (`"\ud800"`), since its
//! contents could not be written as UTF-8. A check failing anywhere gives
//! [`Error::InvalidInput`], so a document's validity never depends on the
//! path asked.
//!
//! # Limits
//!
//! A document of at most [`MAX_INPUT`](crate::MAX_INPUT) bytes, nested at
//! most [`MAX_DEPTH`] arrays and objects deep; a path of at most
//! [`MAX_PATH`] bytes and [`MAX_DEPTH`] steps. Beyond them,
//! [`Error::TooLarge`]. The output is never longer than the document.
//! Numbers are checked against the grammar only: their text is returned as
//! written, however long, and reading it as a number is the caller's.
//!
//! ```
//! use spirit_primitives::json::{Output, query};
//!
//! let doc = br#"{"user": {"name": "Ada", "langs": ["en", "fr"], "age": 36}}"#;
//! let mut out = [0u8; 32];
//! let n = query(doc, b"$.user.langs", Output::Json, &mut out)?;
//! assert_eq!(&out[..n], br#"["en", "fr"]"#);
//! let n = query(doc, b"$.user.langs[1]", Output::Unquoted, &mut out)?;
//! assert_eq!(&out[..n], b"fr");
//! let n = query(doc, br#"$["user"].age"#, Output::Json, &mut out)?;
//! assert_eq!(&out[..n], b"36");
//! # Ok::<(), spirit_primitives::Error>(())
//! ```

use crate::{Error, check_input, write_out};

/// The deepest nesting of arrays and objects a document may have, and the
/// most steps a path may have (as serde_json's default recursion limit).
pub const MAX_DEPTH: usize = 128;

/// The longest path, in bytes.
pub const MAX_PATH: usize = 4096;

/// What [`query`] writes for the selected value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// Its JSON text, exactly as in the document (a string with its quotes
    /// and escapes, an object with its inner whitespace). ABI mode `0`.
    Json,
    /// A string's contents with the escapes decoded, as UTF-8; any other
    /// value is [`Error::NotAString`]. ABI mode `1`.
    Unquoted,
}

impl Output {
    /// The output for an ABI `mode` argument: `0` JSON text, `1` unquoted.
    ///
    /// ```
    /// use spirit_primitives::json::Output;
    /// assert_eq!(Output::from_mode(1), Some(Output::Unquoted));
    /// assert_eq!(Output::from_mode(-1), None);
    /// ```
    pub const fn from_mode(mode: i32) -> Option<Output> {
        match mode {
            0 => Some(Output::Json),
            1 => Some(Output::Unquoted),
            _ => None,
        }
    }

    /// The ABI `mode` argument for this output.
    pub const fn mode(self) -> i32 {
        match self {
            Output::Json => 0,
            Output::Unquoted => 1,
        }
    }
}

/// Writes the value `path` selects in `doc` into `out` when it fits, and
/// returns its length either way (nothing is written when it does not fit,
/// so the caller can retry with a buffer that large).
///
/// ```
/// use spirit_primitives::{Error, json::{Output, query}};
///
/// let doc = br#"{"a": [10, 20, 30]}"#;
/// let mut small = [0u8; 1];
/// assert_eq!(query(doc, b"$.a[2]", Output::Json, &mut small), Ok(2), "needs 2 bytes");
/// assert_eq!(query(doc, b"$.a[3]", Output::Json, &mut small), Err(Error::NotFound));
/// assert_eq!(query(doc, b"$.a[2]", Output::Unquoted, &mut small), Err(Error::NotAString));
/// assert_eq!(query(b"{", b"$", Output::Json, &mut small), Err(Error::InvalidInput));
/// assert_eq!(query(doc, b"a", Output::Json, &mut small), Err(Error::InvalidPath));
/// ```
///
/// # Errors
///
/// [`Error::InvalidPath`] for a path outside the subset,
/// [`Error::InvalidInput`] when the document is not JSON,
/// [`Error::TooLarge`] over a limit, [`Error::NotFound`] when the path
/// selects nothing (a missing key, an index past the end, a step into a
/// value of another kind), [`Error::NotAString`] for
/// [`Output::Unquoted`] of a value that is not a string. The path is
/// checked before the document, and the document before the value is
/// looked up.
pub fn query(doc: &[u8], path: &[u8], output: Output, out: &mut [u8]) -> Result<usize, Error> {
    let mut steps = [Step::Index(0); MAX_DEPTH];
    let steps = parse_path(path, &mut steps)?;
    check_input(doc)?;
    if core::str::from_utf8(doc).is_err() {
        return Err(Error::InvalidInput);
    }
    let mut scan = Scanner {
        doc,
        pos: 0,
        steps,
        found: None,
    };
    scan.skip_whitespace();
    scan.value(0, Some(0))?;
    scan.skip_whitespace();
    if scan.pos != doc.len() {
        return Err(Error::InvalidInput);
    }
    let (start, end) = scan.found.ok_or(Error::NotFound)?;
    let text = &doc[start..end];
    match output {
        Output::Json => Ok(write_out(text, out)),
        Output::Unquoted => {
            let [b'"', contents @ .., b'"'] = text else {
                return Err(Error::NotAString);
            };
            let needed = Unescaped::new(contents).count();
            if let Some(dest) = out.get_mut(..needed) {
                for (slot, byte) in dest.iter_mut().zip(Unescaped::new(contents)) {
                    *slot = byte;
                }
            }
            Ok(needed)
        }
    }
}

/// One step of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step<'p> {
    /// `.name` or `["key"]`: the key's text as written (between the quotes
    /// for a string), and whether it has escapes to decode.
    Key { text: &'p [u8], escaped: bool },
    /// `[n]`.
    Index(u32),
}

/// Parses `path` into `steps`, returning the steps used.
fn parse_path<'p, 's>(
    path: &'p [u8],
    steps: &'s mut [Step<'p>; MAX_DEPTH],
) -> Result<&'s [Step<'p>], Error> {
    if path.len() > MAX_PATH {
        return Err(Error::TooLarge);
    }
    if core::str::from_utf8(path).is_err() {
        return Err(Error::InvalidPath);
    }
    let Some(mut rest) = path.strip_prefix(b"$") else {
        return Err(Error::InvalidPath);
    };
    let mut count = 0;
    while !rest.is_empty() {
        let (step, after) = match rest {
            [b'.', name @ ..] => {
                let len = name
                    .iter()
                    .position(|&b| !is_name_byte(b))
                    .unwrap_or(name.len());
                if len == 0 {
                    return Err(Error::InvalidPath);
                }
                let step = Step::Key {
                    text: &name[..len],
                    escaped: false,
                };
                (step, &name[len..])
            }
            [b'[', b'"', ..] => {
                let end = string_end(rest, 1).map_err(|_| Error::InvalidPath)?;
                let text = &rest[2..end - 1];
                let [b']', after @ ..] = &rest[end..] else {
                    return Err(Error::InvalidPath);
                };
                let escaped = text.contains(&b'\\');
                (Step::Key { text, escaped }, after)
            }
            [b'[', digits @ ..] => {
                let len = digits
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(digits.len());
                let (number, after) = digits.split_at(len);
                let [b']', after @ ..] = after else {
                    return Err(Error::InvalidPath);
                };
                (Step::Index(parse_index(number)?), after)
            }
            _ => return Err(Error::InvalidPath),
        };
        let slot = steps.get_mut(count).ok_or(Error::TooLarge)?;
        *slot = step;
        count += 1;
        rest = after;
    }
    Ok(&steps[..count])
}

/// A byte of a `.name` step: ASCII letters, digits, `_`, `-`, or part of a
/// non-ASCII character (the path is already known to be UTF-8).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80
}

/// An index: digits without a leading zero, at most `u32::MAX`.
fn parse_index(digits: &[u8]) -> Result<u32, Error> {
    match digits {
        [] => Err(Error::InvalidPath),
        [b'0'] => Ok(0),
        [b'0', ..] => Err(Error::InvalidPath),
        _ => digits.iter().try_fold(0u32, |n, &d| {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u32::from(d - b'0')))
                .ok_or(Error::InvalidPath)
        }),
    }
}

/// The position just past the closing quote of the JSON string whose
/// opening quote is at `open`, after checking its escapes and characters.
fn string_end(bytes: &[u8], open: usize) -> Result<usize, Error> {
    let mut pos = open + 1;
    loop {
        match bytes.get(pos) {
            None => return Err(Error::InvalidInput),
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => {
                pos = escape_end(bytes, pos)?;
            }
            Some(&b) if b < 0x20 => return Err(Error::InvalidInput),
            Some(_) => pos += 1,
        }
    }
}

/// The position after the escape starting with the backslash at `pos`,
/// refusing an unknown escape and a lone or reversed surrogate.
fn escape_end(bytes: &[u8], pos: usize) -> Result<usize, Error> {
    match bytes.get(pos + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(pos + 2),
        Some(b'u') => {
            let unit = hex4(bytes, pos + 2).ok_or(Error::InvalidInput)?;
            match unit {
                0xD800..=0xDBFF => {
                    let low = match bytes.get(pos + 6..pos + 8) {
                        Some(b"\\u") => hex4(bytes, pos + 8),
                        _ => None,
                    };
                    match low {
                        Some(0xDC00..=0xDFFF) => Ok(pos + 12),
                        _ => Err(Error::InvalidInput),
                    }
                }
                0xDC00..=0xDFFF => Err(Error::InvalidInput),
                _ => Ok(pos + 6),
            }
        }
        _ => Err(Error::InvalidInput),
    }
}

/// The four hex digits at `at` as a UTF-16 code unit.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, &d| {
        let v = (d as char).to_digit(16)?;
        Some(n << 4 | v)
    })
}

/// The document being checked, and where the path's value was found.
struct Scanner<'d, 'p, 's> {
    doc: &'d [u8],
    pos: usize,
    steps: &'s [Step<'p>],
    /// The byte range of the selected value, once seen.
    found: Option<(usize, usize)>,
}

impl Scanner<'_, '_, '_> {
    fn peek(&self) -> Option<u8> {
        self.doc.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Error> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Error::InvalidInput)
        }
    }

    /// Checks the value at `pos` (no whitespace before it), `depth` arrays
    /// and objects deep. `matched` is the number of path steps that lead
    /// here, or `None` when this value is off the path.
    fn value(&mut self, depth: usize, matched: Option<usize>) -> Result<(), Error> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(depth + 1, matched)?,
            Some(b'[') => self.array(depth + 1, matched)?,
            Some(b'"') => self.pos = string_end(self.doc, self.pos)?,
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(Error::InvalidInput),
        }
        if matched == Some(self.steps.len()) {
            self.found = Some((start, self.pos));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize, matched: Option<usize>) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::TooLarge);
        }
        self.pos += 1;
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key_start = self.pos;
            if self.peek() != Some(b'"') {
                return Err(Error::InvalidInput);
            }
            self.pos = string_end(self.doc, self.pos)?;
            let key = &self.doc[key_start + 1..self.pos - 1];
            let child = match matched.map(|k| (k, self.steps.get(k))) {
                Some((k, Some(&Step::Key { text, escaped }))) if same_key(key, text, escaped) => {
                    // A later duplicate key replaces an earlier one.
                    self.found = None;
                    Some(k + 1)
                }
                _ => None,
            };
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            self.value(depth, child)?;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Error::InvalidInput),
            }
        }
    }

    fn array(&mut self, depth: usize, matched: Option<usize>) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::TooLarge);
        }
        self.pos += 1;
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index: u64 = 0;
        loop {
            let child = match matched.map(|k| (k, self.steps.get(k))) {
                Some((k, Some(&Step::Index(i)))) if u64::from(i) == index => Some(k + 1),
                _ => None,
            };
            self.value(depth, child)?;
            index += 1;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Error::InvalidInput),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        if self.doc.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Error::InvalidInput)
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), Error> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Error::InvalidInput),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), Error> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            Err(Error::InvalidInput)
        } else {
            Ok(())
        }
    }
}

/// Whether a document's key (between its quotes) names the same string as
/// a path step's key. Both were checked by [`string_end`].
fn same_key(key: &[u8], step: &[u8], step_escaped: bool) -> bool {
    if !step_escaped && !key.contains(&b'\\') {
        key == step
    } else {
        Unescaped::new(key).eq(Unescaped::new(step))
    }
}

/// The UTF-8 bytes of a checked JSON string's contents with its escapes
/// decoded.
struct Unescaped<'a> {
    raw: &'a [u8],
    pos: usize,
    /// The rest of a decoded escape's UTF-8 encoding.
    pending: [u8; 4],
    pending_at: usize,
    pending_len: usize,
}

impl<'a> Unescaped<'a> {
    fn new(raw: &'a [u8]) -> Unescaped<'a> {
        Unescaped {
            raw,
            pos: 0,
            pending: [0; 4],
            pending_at: 0,
            pending_len: 0,
        }
    }
}

impl Iterator for Unescaped<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.pending_at < self.pending_len {
            let byte = self.pending.get(self.pending_at).copied();
            self.pending_at += 1;
            return byte;
        }
        let byte = *self.raw.get(self.pos)?;
        if byte != b'\\' {
            self.pos += 1;
            return Some(byte);
        }
        let simple = match self.raw.get(self.pos + 1)? {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0C),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(byte) = simple {
            self.pos += 2;
            return Some(byte);
        }
        // `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx` (checked before).
        let high = hex4(self.raw, self.pos + 2)?;
        let code = if (0xD800..=0xDBFF).contains(&high) {
            let low = hex4(self.raw, self.pos + 8)?;
            self.pos += 12;
            0x10000 + ((high - 0xD800) << 10) + low.checked_sub(0xDC00)?
        } else {
            self.pos += 6;
            high
        };
        let encoded = char::from_u32(code)?.encode_utf8(&mut self.pending);
        self.pending_len = encoded.len();
        self.pending_at = 1;
        self.pending.first().copied()
    }
}

#[cfg(test)]
mod tests;
