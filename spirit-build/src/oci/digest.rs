//! Content digests (`sha256:<64 hex>`) and reading a blob from the network
//! while checking its size and digest.

use std::fmt;
use std::io::Read;

use sha2::{Digest as _, Sha256};

/// A `sha256:` content digest, the only algorithm registries use for what
/// we push; anything else is refused when parsed.
///
/// ```
/// use spirit_build::oci::Digest;
/// let d = Digest::of(b"hello");
/// assert_eq!(d.to_string(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
/// assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// The digest as 64 lowercase hex digits, without `sha256:`.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Digest {
    type Err = String;

    fn from_str(text: &str) -> Result<Digest, String> {
        let Some(hex) = text.strip_prefix("sha256:") else {
            return Err(
                "a digest must be `sha256:` and 64 lowercase hex digits (the only algorithm supported)"
                    .to_owned(),
            );
        };
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err("a digest must be `sha256:` and 64 lowercase hex digits".to_owned());
        }
        let mut bytes = [0; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "a digest must be hex".to_owned())?;
        }
        Ok(Digest(bytes))
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a bounded, hashed read found wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadProblem {
    /// More bytes came than allowed.
    TooLong,
    /// Fewer bytes came than expected.
    Short(u64),
    /// The bytes' digest is not the expected one.
    Digest(Digest),
    /// The connection failed while reading.
    Io(String),
}

/// Reads at most `limit` bytes from `reader`, hashing as it goes; when
/// `expected` is given, exactly `expected.1` bytes whose digest is
/// `expected.0`. Memory grows with what arrives, never past `limit`.
pub(crate) fn read_checked(
    reader: impl Read,
    limit: u64,
    expected: Option<(Digest, u64)>,
) -> Result<(Vec<u8>, Digest), ReadProblem> {
    let limit = expected.map_or(limit, |(_, size)| size.min(limit));
    let mut hasher = Sha256::new();
    let mut data = Vec::with_capacity(usize::try_from(limit.min(1 << 20)).unwrap_or(0));
    let mut reader = reader.take(limit + 1);
    let mut buffer = [0; 64 << 10];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadProblem::Io(e.to_string())),
        };
        hasher.update(&buffer[..n]);
        data.extend_from_slice(&buffer[..n]);
        if data.len() as u64 > limit {
            return Err(ReadProblem::TooLong);
        }
    }
    let digest = Digest(hasher.finalize().into());
    if let Some((want, size)) = expected {
        if (data.len() as u64) < size {
            return Err(ReadProblem::Short(data.len() as u64));
        }
        if digest != want {
            return Err(ReadProblem::Digest(digest));
        }
    }
    Ok((data, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_refuses_other_algorithms_and_bad_hex() {
        assert!(
            "sha512:ab"
                .parse::<Digest>()
                .unwrap_err()
                .contains("sha256")
        );
        assert!(
            format!("sha256:{}", "A".repeat(64))
                .parse::<Digest>()
                .is_err()
        );
        assert!(
            format!("sha256:{}", "a".repeat(63))
                .parse::<Digest>()
                .is_err()
        );
    }

    #[test]
    fn checked_reads_refuse_long_short_and_altered_content() {
        let data = b"content".as_slice();
        let good = (Digest::of(data), data.len() as u64);
        assert_eq!(read_checked(data, 100, Some(good)).unwrap().0, data);
        assert_eq!(
            read_checked(b"contenT".as_slice(), 100, Some(good)),
            Err(ReadProblem::Digest(Digest::of(b"contenT")))
        );
        assert_eq!(
            read_checked(b"conte".as_slice(), 100, Some(good)),
            Err(ReadProblem::Short(5))
        );
        assert_eq!(
            read_checked(b"content!".as_slice(), 100, Some(good)),
            Err(ReadProblem::TooLong)
        );
        assert_eq!(read_checked(data, 3, None), Err(ReadProblem::TooLong));
    }
}
