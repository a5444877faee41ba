//! Keys: an author's public key ([`Author`]), a private signing key
//! ([`Key`]), and their files (`keygen`, reading a key file with a bound,
//! refusing a public key file and warning about a private one others can
//! read).

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};

use super::error::SignError;
use super::hex::{decode_hex, encode_hex};
use crate::fs::{FsError, MAX_KEY_FILE};

/// The environment variable that holds a signing key for CI.
pub const KEY_ENV: &str = "SPIRIT_SIGNING_KEY";

/// The name of the key `keygen` makes when none is given.
pub const DEFAULT_KEY_NAME: &str = "default";

/// An author's public key: 32 bytes, written as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Author(pub [u8; 32]);

impl Author {
    /// Parses 64 hex characters.
    ///
    /// ```
    /// use spirit_build::sign::Author;
    /// let hex = "ab".repeat(32);
    /// assert_eq!(hex.parse::<Author>().unwrap().to_string(), hex);
    /// assert!("abc".parse::<Author>().is_err());
    /// ```
    pub fn from_hex(hex: &str) -> Result<Author, SignError> {
        decode_hex::<32>(hex.trim())
            .map(Author)
            .ok_or_else(|| SignError::BadAuthor(hex.trim().chars().take(80).collect()))
    }
}

impl std::str::FromStr for Author {
    type Err = SignError;

    fn from_str(s: &str) -> Result<Author, SignError> {
        Author::from_hex(s)
    }
}

impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_hex(&self.0))
    }
}

impl fmt::Debug for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Author({self})")
    }
}

/// A private signing key. Its `Debug` never shows the key.
pub struct Key {
    signing: SigningKey,
    /// The key file and its mode, when others than its owner may read it
    /// (see [`Key::warning`]).
    exposed: Option<(PathBuf, u32)>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(author {})", self.author())
    }
}

impl Key {
    /// A new random key from the operating system's generator.
    ///
    /// # Errors
    ///
    /// Fails when the system has no randomness to give.
    pub fn generate() -> Result<Key, SignError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SignError::Random(e.to_string()))?;
        Ok(Key::from_seed(&seed))
    }

    /// The key in 64 hex characters (the format of key files and of
    /// `SPIRIT_SIGNING_KEY`). Handle with care.
    pub fn to_hex(&self) -> String {
        encode_hex(&self.signing.to_bytes())
    }

    /// Parses a key from 64 hex characters; `origin` says where it came
    /// from for the error message (which never contains the key).
    ///
    /// # Errors
    ///
    /// Fails when the text is not 64 hex characters.
    pub fn from_hex(text: &str, origin: &str) -> Result<Key, SignError> {
        decode_hex::<32>(text.trim())
            .map(|seed| Key::from_seed(&seed))
            .ok_or_else(|| SignError::BadKey(origin.to_owned()))
    }

    fn from_seed(seed: &[u8; 32]) -> Key {
        Key {
            signing: SigningKey::from_bytes(seed),
            exposed: None,
        }
    }

    /// Reads a private key file, of at most [`MAX_KEY_FILE`] bytes (so
    /// `--key /dev/zero` is refused at once). A public key file is refused:
    /// one named `*.pub`, or one holding the same text as a `.pub` file
    /// beside it or among `VUDO_HOME/keys/`, since a public key read as a
    /// private one signs with a secret everybody has. A file others may read
    /// is used, with a [`warning`](Key::warning).
    ///
    /// ```
    /// let home = tempfile::tempdir().unwrap();
    /// let (_, private) = spirit_build::sign::keygen(home.path(), "ci").unwrap();
    /// assert!(spirit_build::sign::Key::read(&private).is_ok());
    /// let public = private.with_extension("pub");
    /// assert!(spirit_build::sign::Key::read(&public).unwrap_err().to_string().contains("is a public key"));
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read, is too large, is a public key
    /// file or does not hold a key.
    pub fn read(path: &Path) -> Result<Key, SignError> {
        if path.extension().is_some_and(|e| e == "pub") {
            return Err(SignError::PublicKeyFile(path.to_owned()));
        }
        let text = crate::fs::read_bounded(path, MAX_KEY_FILE, "a key file")?;
        let mut key = Key::from_hex(&String::from_utf8_lossy(&text), &path.display().to_string())?;
        let beside = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        });
        if is_a_public_key(beside, &key.signing.to_bytes()) {
            return Err(SignError::PublicKeyFile(path.to_owned()));
        }
        key.exposed = exposed_mode(path).map(|mode| (path.to_owned(), mode));
        Ok(key)
    }

    /// A warning to show before the key is used, when its file may be read
    /// by others than its owner (as `ssh` warns about an unprotected
    /// private key); `None` otherwise.
    pub fn warning(&self) -> Option<String> {
        let (path, mode) = self.exposed.as_ref()?;
        Some(format!(
            "the private key file `{}` may be read by others (mode {mode:04o}): anyone who can read it can sign as you\nhelp: make it private with `chmod 600 {}`",
            path.display(),
            path.display()
        ))
    }

    /// The key named by `path`, else the one in `SPIRIT_SIGNING_KEY`, else
    /// the default key under `VUDO_HOME/keys/`.
    ///
    /// # Errors
    ///
    /// Fails when no key can be found or the one found is malformed.
    pub fn find(path: Option<&Path>) -> Result<Key, SignError> {
        if let Some(path) = path {
            return Key::read(path);
        }
        if let Some(text) = std::env::var_os(KEY_ENV) {
            let origin = format!("the {KEY_ENV} environment variable");
            let key = Key::from_hex(&text.to_string_lossy(), &origin)?;
            if is_a_public_key(None, &key.signing.to_bytes()) {
                return Err(SignError::PublicKeyFile(origin.into()));
            }
            return Ok(key);
        }
        let default = crate::home::private_key_file(&crate::home::vudo_home()?, DEFAULT_KEY_NAME);
        if default.is_file() {
            return Key::read(&default);
        }
        Err(SignError::NoKey(default))
    }

    /// The private key of `author`, when this machine holds it: the key in
    /// `SPIRIT_SIGNING_KEY`, or one of the private key files under
    /// `VUDO_HOME/keys/`. What a rebuild uses to sign its new bytes again
    /// in place of a signature they no longer match.
    ///
    /// ```
    /// let key = spirit_build::sign::Key::generate().unwrap();
    /// // A fresh key is in no key file and not in the environment.
    /// assert!(spirit_build::sign::Key::held(key.author()).is_none());
    /// ```
    pub fn held(author: Author) -> Option<Key> {
        let from_env = std::env::var_os(KEY_ENV)
            .and_then(|text| Key::from_hex(&text.to_string_lossy(), KEY_ENV).ok());
        if let Some(key) = from_env.filter(|key| key.author() == author) {
            return Some(key);
        }
        let dir = crate::home::keys_dir(&crate::home::vudo_home().ok()?);
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "key"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|path| Key::read(path).ok())
            .find(|key| key.author() == author)
    }

    /// The public key.
    pub fn author(&self) -> Author {
        Author(self.signing.verifying_key().to_bytes())
    }

    /// Signs arbitrary bytes (an execution receipt, for example).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// The permission bits of `path` when its group or others may read or
/// write it (unix only).
fn exposed_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        // Only a regular file can be fixed with chmod (not `/dev/stdin`).
        (std::fs::metadata(path).ok()?.is_file() && mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether `seed` is the text of a public key file: a `.pub` file in
/// `beside` (the key file's directory), or among the keys under
/// `VUDO_HOME/keys/`.
fn is_a_public_key(beside: Option<&Path>, seed: &[u8; 32]) -> bool {
    let beside = beside.map(Path::to_owned);
    let home = crate::home::vudo_home()
        .ok()
        .map(|home| crate::home::keys_dir(&home));
    beside.into_iter().chain(home).any(|dir| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                let file = entry.path();
                file.extension().is_some_and(|e| e == "pub")
                    && crate::fs::read_bounded(&file, MAX_KEY_FILE, "a key file")
                        .ok()
                        .and_then(|text| decode_hex::<32>(String::from_utf8_lossy(&text).trim()))
                        .is_some_and(|public| &public == seed)
            })
    })
}

/// Creates a key pair called `name` under `home/keys/`: the private key
/// (mode 0600, directory 0700) and `<name>.pub`. Never overwrites.
///
/// # Errors
///
/// Fails when a key of that name exists or the files cannot be written.
pub fn keygen(home: &Path, name: &str) -> Result<(Author, PathBuf), SignError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SignError::BadKeyName(name.to_owned()));
    }
    let dir = crate::home::keys_dir(home);
    create_private_dir(&dir)?;
    let path = crate::home::private_key_file(home, name);
    if path.exists() {
        return Err(SignError::KeyExists {
            name: name.to_owned(),
            path,
        });
    }
    let key = Key::generate()?;
    crate::fs::write_new_private(&path, format!("{}\n", key.to_hex()).as_bytes()).map_err(|e| {
        match e.kind() {
            std::io::ErrorKind::AlreadyExists => SignError::KeyExists {
                name: name.to_owned(),
                path: path.clone(),
            },
            _ => SignError::Fs(FsError::new("write", &path, e)),
        }
    })?;
    let public = crate::home::public_key_file(home, name);
    crate::fs::write_atomic(&public, format!("{}\n", key.author()).as_bytes())?;
    Ok((key.author(), path))
}

fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    crate::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| FsError::new("set permissions on", dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_key_message_names_the_environment_variable() {
        let message = SignError::NoKey("k".into()).to_string();
        assert!(message.contains(&format!("no {KEY_ENV},")), "{message}");
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let key = Key::generate().unwrap();
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }

    #[test]
    fn keygen_never_overwrites_and_is_private() {
        let home = tempfile::tempdir().unwrap();
        let (author, path) = keygen(home.path(), "ci").unwrap();
        assert_eq!(Key::read(&path).unwrap().author(), author);
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(
            keygen(home.path(), "ci"),
            Err(SignError::KeyExists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(crate::home::keys_dir(home.path()))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        assert!(matches!(
            keygen(home.path(), "../x"),
            Err(SignError::BadKeyName(_))
        ));
    }
}
