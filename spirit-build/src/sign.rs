//! Signing and verifying spirits with ed25519.
//!
//! The signature covers the stripped wasm and every byte of the manifest,
//! so changing either breaks it (the VUDO signature covered only a few
//! manifest fields, and a swapped wasm still verified). The signed message
//! is 122 bytes:
//!
//! ```text
//! "cargo-spirit/signature/v1\0"   26 bytes, a domain separator
//! author public key               32 bytes
//! blake3(wasm)                    32 bytes, hashed from the file itself
//! blake3(manifest.toml)           32 bytes, the exact file bytes
//! ```
//!
//! The signature is stored beside the manifest as `signature.toml`, holding
//! the author's public key and the signature, both in hex.
//!
//! Keys are ed25519 key pairs from `ed25519-dalek`; a private key is kept
//! as 64 hex characters (its 32-byte seed) in a file of mode 0600, or in the
//! `SPIRIT_SIGNING_KEY` environment variable for CI. No function here ever
//! prints or logs a private key.

mod error;
mod hex;
mod key;

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use toml_edit::{DocumentMut, value};

pub use self::error::SignError;
pub(crate) use self::hex::{decode_hex, encode_hex};
pub use self::key::{Author, DEFAULT_KEY_NAME, KEY_ENV, Key, keygen};
use crate::manifest::Manifest;

/// The file name of a signature, beside `manifest.toml`.
pub const FILE_NAME: &str = "signature.toml";

impl Key {
    /// Signs a spirit's exact manifest bytes and wasm bytes.
    pub fn sign(&self, manifest: &[u8], wasm: &[u8]) -> SpiritSignature {
        let author = self.author();
        SpiritSignature {
            author,
            signature: self.sign_bytes(&message(&author, manifest, wasm)),
        }
    }
}

const DOMAIN: &[u8; 26] = b"cargo-spirit/signature/v1\0";

/// The message an author signs for a spirit (see the module docs).
pub fn message(author: &Author, manifest: &[u8], wasm: &[u8]) -> Vec<u8> {
    message_hashed(author, manifest, &blake3::hash(wasm))
}

/// [`message`], given the wasm's blake3 (a check has hashed it already).
fn message_hashed(author: &Author, manifest: &[u8], wasm_hash: &blake3::Hash) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + 96);
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(&author.0);
    message.extend_from_slice(wasm_hash.as_bytes());
    message.extend_from_slice(blake3::hash(manifest).as_bytes());
    message
}

/// A spirit's signature: who signed, and the signature bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiritSignature {
    /// The author's public key.
    pub author: Author,
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

impl SpiritSignature {
    /// The canonical text of `signature.toml`.
    pub fn to_toml(&self) -> String {
        let mut doc = DocumentMut::new();
        doc.insert("algorithm", value("ed25519"));
        doc.insert("author", value(self.author.to_string()));
        doc.insert("signature", value(encode_hex(&self.signature)));
        format!(
            "# cargo-spirit signature over the wasm and manifest.toml (see docs/signing.md)\n{doc}"
        )
    }

    /// Reads `signature.toml`'s text.
    ///
    /// # Errors
    ///
    /// Names the missing or malformed key.
    pub fn from_toml(text: &str) -> Result<SpiritSignature, SignError> {
        let bad = |what: &str| SignError::BadSignatureFile(what.to_owned());
        let doc: DocumentMut = text.parse().map_err(|_| bad("it is not valid TOML"))?;
        match doc.get("algorithm").and_then(|a| a.as_str()) {
            Some("ed25519") => {}
            Some(other) => {
                return Err(bad(&format!(
                    "unsupported algorithm `{other}` (expected `ed25519`)"
                )));
            }
            None => return Err(bad("missing key `algorithm`")),
        }
        let author = doc
            .get("author")
            .and_then(|a| a.as_str())
            .ok_or_else(|| bad("missing key `author`"))?
            .parse()?;
        let signature = doc
            .get("signature")
            .and_then(|a| a.as_str())
            .and_then(decode_hex::<64>)
            .ok_or_else(|| bad("`signature` must be 128 hex characters"))?;
        Ok(SpiritSignature { author, signature })
    }
}

/// What verification requires beyond a valid signature: the form of a
/// [`SignaturePolicy`] that `cargo spirit verify` takes from its flags.
#[derive(Clone, Debug, Default)]
pub struct Requirements {
    /// The signature must be by this author.
    pub author: Option<Author>,
    /// The author must be one of these (the trusted keys).
    pub trusted: Option<Vec<Author>>,
}

impl Requirements {
    /// The policy these requirements make: a signature is required, by
    /// [`author`](Requirements::author) when given, and by a trusted author
    /// when [`trusted`](Requirements::trusted) is given.
    pub fn policy(&self) -> SignaturePolicy {
        SignaturePolicy {
            unsigned: Acceptance::Refuse,
            untrusted: if self.trusted.is_some() {
                Acceptance::Refuse
            } else {
                Acceptance::Allow
            },
            author: self.author,
        }
    }
}

/// Checks a spirit and requires a signature: the wasm matches the
/// manifest's hash and size, the manifest is canonical, and the signature
/// verifies for its author and meets `requirements`. Returns the author.
/// This is [`check_signed`] with [`Requirements::policy`].
///
/// ```
/// use spirit_build::manifest::Manifest;
/// use spirit_build::sign::{verify, Key, Requirements, VerifyError};
///
/// let wasm = b"\0asm\x01\0\0\0";
/// let manifest_text = Manifest::for_module("x", "1.0.0".parse().unwrap(), wasm).to_toml();
///
/// let key = Key::generate().unwrap();
/// let signature = key.sign(manifest_text.as_bytes(), wasm);
/// let author = verify(manifest_text.as_bytes(), wasm, Some(&signature), &Requirements::default()).unwrap();
/// assert_eq!(author, key.author());
///
/// let tampered = b"\0asm\x01\0\0\x01";
/// let error = verify(manifest_text.as_bytes(), tampered, Some(&signature), &Requirements::default()).unwrap_err();
/// assert!(matches!(error, VerifyError::WasmHash { .. }));
/// ```
///
/// # Errors
///
/// Each way a spirit can fail, in words: see [`VerifyError`].
pub fn verify(
    manifest: &[u8],
    wasm: &[u8],
    signature: Option<&SpiritSignature>,
    requirements: &Requirements,
) -> Result<Author, VerifyError> {
    let files = Signed {
        manifest,
        wasm,
        signature,
    };
    let trusted = requirements.trusted.as_deref().unwrap_or_default();
    match check_signed(files, &requirements.policy(), trusted)? {
        Verdict::Trusted(author) | Verdict::Untrusted(author) => Ok(author),
        Verdict::Unsigned => Err(VerifyError::Unsigned),
    }
}

/// A spirit's signed parts, as read from a build directory or a package
/// (see `SpiritFiles::signed`).
#[derive(Clone, Copy, Debug)]
pub struct Signed<'a> {
    /// `manifest.toml`'s exact bytes.
    pub manifest: &'a [u8],
    /// The wasm's bytes.
    pub wasm: &'a [u8],
    /// The signature, when there is one.
    pub signature: Option<&'a SpiritSignature>,
}

/// What a [`SignaturePolicy`] does with a spirit in one of its cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// Fail the check.
    Refuse,
    /// Pass, and have the caller warn (see [`SignaturePolicy::warning`]).
    Warn,
    /// Pass silently.
    Allow,
}

/// Which spirits [`check_signed`] accepts, beyond files that agree with
/// each other and a signature that verifies (which it always requires).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// A spirit with no signature.
    pub unsigned: Acceptance,
    /// A valid signature by an author who is not among the trusted.
    pub untrusted: Acceptance,
    /// The signature must be by this author.
    pub author: Option<Author>,
}

impl SignaturePolicy {
    /// Consistency only: the files agree and a signature, if any, verifies;
    /// who signed does not matter (`pack`, and `sign` before it signs).
    pub const CONSISTENT: SignaturePolicy = SignaturePolicy {
        unsigned: Acceptance::Allow,
        untrusted: Acceptance::Allow,
        author: None,
    };

    /// What a caller should warn about a spirit that passed with `verdict`,
    /// naming it `what`; `None` when the policy does not ask for a warning.
    ///
    /// ```
    /// use spirit_build::sign::{Acceptance, SignaturePolicy, Verdict};
    /// let policy = SignaturePolicy { unsigned: Acceptance::Warn, ..SignaturePolicy::CONSISTENT };
    /// assert_eq!(
    ///     policy.warning(Verdict::Unsigned, &"hello.spirit").unwrap(),
    ///     "`hello.spirit` is unsigned: who made it cannot be checked"
    /// );
    /// assert_eq!(SignaturePolicy::CONSISTENT.warning(Verdict::Unsigned, &"hello.spirit"), None);
    /// ```
    pub fn warning(&self, verdict: Verdict, what: &dyn fmt::Display) -> Option<String> {
        match verdict {
            Verdict::Unsigned if self.unsigned == Acceptance::Warn => Some(format!(
                "`{what}` is unsigned: who made it cannot be checked"
            )),
            Verdict::Untrusted(author) if self.untrusted == Acceptance::Warn => Some(format!(
                "`{what}` is signed by {author}, who is not trusted"
            )),
            _ => None,
        }
    }
}

/// What [`check_signed`] found in a spirit it accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by a trusted author; the signature verifies.
    Trusted(Author),
    /// The signature verifies, but its author is not among the trusted.
    Untrusted(Author),
    /// No signature.
    Unsigned,
}

impl Verdict {
    /// Who signed, when someone did.
    pub fn author(self) -> Option<Author> {
        match self {
            Verdict::Trusted(author) | Verdict::Untrusted(author) => Some(author),
            Verdict::Unsigned => None,
        }
    }
}

/// The signed-files check: the manifest is canonical, the wasm matches its
/// hash and size, a signature (if any) verifies for its author, and the
/// author is `policy.author` when that is set; then `policy` says whether an
/// unsigned spirit, or one by an author not in `trusted`, passes. Checks
/// stop at the first failure, in that order (see `docs/signing.md`).
///
/// ```
/// use spirit_build::manifest::Manifest;
/// use spirit_build::package::SpiritFiles;
/// use spirit_build::sign::{check_signed, Acceptance, Key, SignaturePolicy, Verdict, VerifyError};
///
/// let wasm = b"\0asm\x01\0\0\0".to_vec();
/// let manifest = Manifest::for_module("x", "1.0.0".parse().unwrap(), &wasm);
/// let key = Key::generate().unwrap();
/// let signed = SpiritFiles::new(manifest.clone(), wasm.clone(), Some(&key));
/// let unsigned = SpiritFiles::new(manifest, wasm, None);
///
/// let install = SignaturePolicy {
///     unsigned: Acceptance::Refuse,
///     untrusted: Acceptance::Refuse,
///     author: None,
/// };
/// let trusted = [key.author()];
/// assert_eq!(check_signed(signed.signed(), &install, &trusted), Ok(Verdict::Trusted(key.author())));
/// assert_eq!(check_signed(signed.signed(), &install, &[]), Err(VerifyError::Untrusted(key.author())));
/// assert_eq!(check_signed(unsigned.signed(), &install, &trusted), Err(VerifyError::Unsigned));
/// assert_eq!(check_signed(unsigned.signed(), &SignaturePolicy::CONSISTENT, &[]), Ok(Verdict::Unsigned));
/// ```
///
/// # Errors
///
/// Each way a spirit can fail, in words: see [`VerifyError`];
/// [`VerifyError::Unsigned`] and [`VerifyError::Untrusted`] only when the
/// policy refuses them.
pub fn check_signed(
    files: Signed<'_>,
    policy: &SignaturePolicy,
    trusted: &[Author],
) -> Result<Verdict, VerifyError> {
    check_signed_known(files, Known::default(), policy, trusted)
}

/// What a caller of [`check_signed_known`] has already computed from the
/// very bytes it checks, so that they are not parsed or hashed twice.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Known<'a> {
    /// The manifest parsed from `Signed::manifest`.
    pub(crate) manifest: Option<&'a Manifest>,
    /// The blake3 of `Signed::wasm`.
    pub(crate) wasm_hash: Option<blake3::Hash>,
    /// The manifest's bytes were found in canonical form when their
    /// signature was first checked (an installed spirit's were, at
    /// install): a signature that verifies now proves they are still those
    /// bytes, so their form is not checked again. An unsigned manifest's
    /// always is.
    pub(crate) canonical_if_signed: bool,
}

/// [`check_signed`], given what the caller already parsed and hashed from
/// the same `files` (the registry's load has both).
pub(crate) fn check_signed_known(
    files: Signed<'_>,
    known: Known<'_>,
    policy: &SignaturePolicy,
    trusted: &[Author],
) -> Result<Verdict, VerifyError> {
    let Signed {
        manifest,
        wasm,
        signature,
    } = files;
    let text = std::str::from_utf8(manifest)
        .map_err(|_| VerifyError::Manifest("it is not UTF-8".to_owned()))?;
    let owned;
    let parsed = match known.manifest {
        Some(parsed) => parsed,
        None => {
            owned = Manifest::from_toml(text).map_err(|e| VerifyError::Manifest(e.message))?;
            &owned
        }
    };
    let form_known = known.canonical_if_signed && signature.is_some();
    if !form_known && parsed.to_toml() != text {
        return Err(VerifyError::Manifest(
            "it is not in the canonical form cargo-spirit writes (was it edited by hand?)"
                .to_owned(),
        ));
    }
    // Hashed once: compared with the manifest's, then signed over.
    let wasm_hash = known.wasm_hash.unwrap_or_else(|| blake3::hash(wasm));
    let actual = wasm_hash.to_hex().to_string();
    if actual != parsed.wasm.blake3 {
        return Err(VerifyError::WasmHash {
            manifest: parsed.wasm.blake3.clone(),
            file: actual,
        });
    }
    if parsed.wasm.size != wasm.len() as u64 {
        return Err(VerifyError::WasmSize {
            manifest: parsed.wasm.size,
            file: wasm.len() as u64,
        });
    }
    let Some(signature) = signature else {
        return match policy.unsigned {
            Acceptance::Refuse => Err(VerifyError::Unsigned),
            Acceptance::Warn | Acceptance::Allow => Ok(Verdict::Unsigned),
        };
    };
    let author = signature.author;
    let key = VerifyingKey::from_bytes(&author.0).map_err(|_| VerifyError::BadSignature(author))?;
    key.verify_strict(
        &message_hashed(&author, manifest, &wasm_hash),
        &Signature::from_bytes(&signature.signature),
    )
    .map_err(|_| VerifyError::BadSignature(author))?;
    if let Some(expected) = policy.author
        && expected != author
    {
        return Err(VerifyError::WrongAuthor { expected, author });
    }
    if trusted.contains(&author) {
        return Ok(Verdict::Trusted(author));
    }
    match policy.untrusted {
        Acceptance::Refuse => Err(VerifyError::Untrusted(author)),
        Acceptance::Warn | Acceptance::Allow => Ok(Verdict::Untrusted(author)),
    }
}

/// Why a spirit failed verification.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No signature.
    #[error(
        "unsigned\nhelp: sign it with `cargo spirit sign` (key from --key, {KEY_ENV}, or `cargo spirit keygen`)"
    )]
    Unsigned,
    /// The wasm is not the one the manifest describes.
    #[error("wasm hash mismatch: manifest has {manifest}, file has {file}")]
    WasmHash {
        /// The hash in the manifest.
        manifest: String,
        /// The hash of the file.
        file: String,
    },
    /// The wasm's size is not the manifest's.
    #[error("wasm size mismatch: manifest has {manifest} bytes, file has {file}")]
    WasmSize {
        /// The size in the manifest.
        manifest: u64,
        /// The size of the file.
        file: u64,
    },
    /// The manifest cannot be read or is not canonical.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// The signature does not verify.
    #[error(
        "signature does not verify for author {0}: the manifest or the wasm changed after signing, or the signature is not theirs\nhelp: if you rebuilt or changed it, sign it again with `cargo spirit sign` (or build with `cargo spirit build --sign`)"
    )]
    BadSignature(Author),
    /// Signed by someone else than required.
    #[error("signed by {author}, but {expected} was required")]
    WrongAuthor {
        /// The required author.
        expected: Author,
        /// The actual author.
        author: Author,
    },
    /// The author is not trusted.
    #[error(
        "author {0} is not trusted\nhelp: trust them by adding the key to `authors` in VUDO_HOME/trusted.toml"
    )]
    Untrusted(Author),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_file_round_trips() {
        let key = Key::generate().unwrap();
        let signature = key.sign(b"manifest", b"wasm");
        assert_eq!(
            SpiritSignature::from_toml(&signature.to_toml()).unwrap(),
            signature
        );
    }

    #[test]
    fn the_policy_decides_unsigned_and_untrusted_spirits() {
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let manifest = Manifest::for_module("x", "1.0.0".parse().unwrap(), &wasm).to_toml();
        let key = Key::generate().unwrap();
        let signature = key.sign(manifest.as_bytes(), &wasm);
        let signed = Signed {
            manifest: manifest.as_bytes(),
            wasm: &wasm,
            signature: Some(&signature),
        };
        let unsigned = Signed {
            signature: None,
            ..signed
        };
        let author = key.author();
        let policy = |unsigned, untrusted| SignaturePolicy {
            unsigned,
            untrusted,
            author: None,
        };
        use Acceptance::{Allow, Refuse, Warn};
        let warn = policy(Warn, Warn);
        assert_eq!(
            check_signed(unsigned, &policy(Refuse, Allow), &[]),
            Err(VerifyError::Unsigned)
        );
        assert_eq!(check_signed(unsigned, &warn, &[]), Ok(Verdict::Unsigned));
        assert_eq!(
            check_signed(signed, &policy(Allow, Refuse), &[]),
            Err(VerifyError::Untrusted(author))
        );
        assert_eq!(
            check_signed(signed, &warn, &[]),
            Ok(Verdict::Untrusted(author))
        );
        assert_eq!(
            check_signed(signed, &policy(Refuse, Refuse), &[author]),
            Ok(Verdict::Trusted(author))
        );
        assert_eq!(
            warn.warning(Verdict::Untrusted(author), &"x.spirit"),
            Some(format!(
                "`x.spirit` is signed by {author}, who is not trusted"
            ))
        );
        assert_eq!(warn.warning(Verdict::Trusted(author), &"x.spirit"), None);
        // A required author comes before trust, as `verify --author` reports it.
        let other = Key::generate().unwrap().author();
        let wrong = SignaturePolicy {
            author: Some(other),
            ..policy(Refuse, Refuse)
        };
        assert_eq!(
            check_signed(signed, &wrong, &[]),
            Err(VerifyError::WrongAuthor {
                expected: other,
                author
            })
        );
    }
}
