//! [`SignError`]: why keys or signatures could not be handled.

use std::path::PathBuf;

use crate::fs::FsError;

/// Why keys or signatures could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A public key that is not 64 hex characters.
    #[error("invalid author key `{0}`: expected 64 hex characters (an ed25519 public key)")]
    BadAuthor(String),
    /// A private key that is not 64 hex characters.
    #[error(
        "the signing key in {0} is not 64 hex characters\nhelp: keys are made by `cargo spirit keygen`"
    )]
    BadKey(String),
    /// A public key file given as the signing key.
    #[error("`{}` is a public key file, not a private key: a public key cannot sign (everybody has it)\nhelp: give the private key file (`cargo spirit keygen` writes `<name>.key` beside `<name>.pub`)", .0.display())]
    PublicKeyFile(PathBuf),
    /// No key anywhere (the message spells out `KEY_ENV`: a unit test
    /// holds them equal).
    #[error("no signing key: no --key, no SPIRIT_SIGNING_KEY, and no default key at {}\nhelp: create one with `cargo spirit keygen`", .0.display())]
    NoKey(PathBuf),
    /// A key of that name exists.
    #[error("a key named `{name}` already exists at {}\nhelp: cargo-spirit never overwrites a key; choose another name with `--name`", path.display())]
    KeyExists {
        /// The key's name.
        name: String,
        /// Its file.
        path: PathBuf,
    },
    /// A key name that is not a plain file name.
    #[error("invalid key name `{0}`: use letters, digits, `-` and `_`")]
    BadKeyName(String),
    /// `signature.toml` is malformed.
    #[error("invalid signature file: {0}")]
    BadSignatureFile(String),
    /// The system could not provide randomness.
    #[error("could not get random bytes for a key: {0}")]
    Random(String),
    /// `VUDO_HOME` is unknown.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}
