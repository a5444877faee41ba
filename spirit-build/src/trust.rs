//! The trusted authors: `authors` in `VUDO_HOME/trusted.toml`, the keys
//! whose spirits `install` accepts and `verify --trusted` requires.
//!
//! The file is edited with `toml_edit`, so its comments and layout survive
//! `cargo spirit trust` and `untrust`. Used by the registry (installs, and
//! its `trust`/`untrust`), by `keygen` (your own key is trusted) and by
//! `verify --trusted`; it lives beside `sign` rather than inside the
//! registry for that reason.

use std::path::Path;

use toml_edit::{DocumentMut, value};

use crate::sign::{Author, SignError};

/// What a new `trusted.toml` starts with.
const NEW_FILE: &str =
    "# Authors whose spirits cargo-spirit installs (`cargo spirit trust HEX`).\nauthors = []\n";

/// The trusted authors: `authors` in `VUDO_HOME/trusted.toml` (none when
/// the file does not exist).
///
/// ```
/// use spirit_build::sign::Key;
/// use spirit_build::trust;
///
/// let home = tempfile::tempdir()?;
/// assert!(trust::trusted_authors(home.path())?.is_empty());
/// let author = Key::generate()?.author();
/// trust::set_trusted(home.path(), author, true)?;
/// assert_eq!(trust::trusted_authors(home.path())?, [author]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Fails when the file exists but is not a list of keys.
pub fn trusted_authors(home: &Path) -> Result<Vec<Author>, SignError> {
    let Some(doc) = read(home)? else {
        return Ok(Vec::new());
    };
    let Some(authors) = doc.get("authors") else {
        return Ok(Vec::new());
    };
    authors
        .as_array()
        .ok_or_else(|| malformed(home))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| malformed(home))
                .and_then(Author::from_hex)
        })
        .collect()
}

/// Adds (`trust`) or removes an author in `VUDO_HOME/trusted.toml`, keeping
/// the file's comments and layout; returns whether anything changed.
///
/// ```
/// use spirit_build::sign::Key;
/// use spirit_build::trust::set_trusted;
///
/// let home = tempfile::tempdir()?;
/// let author = Key::generate()?.author();
/// assert!(set_trusted(home.path(), author, true)?);
/// assert!(!set_trusted(home.path(), author, true)?); // already trusted
/// assert!(set_trusted(home.path(), author, false)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Fails when the file is malformed or cannot be written.
pub fn set_trusted(home: &Path, author: Author, trust: bool) -> Result<bool, SignError> {
    let mut doc = match read(home)? {
        Some(doc) => doc,
        None => NEW_FILE.parse().map_err(|_| malformed(home))?,
    };
    let authors = doc
        .entry("authors")
        .or_insert_with(|| value(toml_edit::Array::new()))
        .as_array_mut()
        .ok_or_else(|| malformed(home))?;
    let hex = author.to_string();
    let position = authors
        .iter()
        .position(|v| v.as_str() == Some(hex.as_str()));
    let changed = match (trust, position) {
        (true, None) => {
            authors.push(hex);
            true
        }
        (false, Some(i)) => {
            authors.remove(i);
            true
        }
        _ => false,
    };
    if changed {
        crate::fs::create_dir_all(home)?;
        crate::fs::write_atomic(&crate::home::trusted_file(home), doc.to_string().as_bytes())?;
    }
    Ok(changed)
}

/// The file's document, or `None` when there is no file.
fn read(home: &Path) -> Result<Option<DocumentMut>, SignError> {
    let path = crate::home::trusted_file(home);
    if !path.exists() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&crate::fs::read(&path)?).into_owned();
    text.parse().map(Some).map_err(|_| malformed(home))
}

fn malformed(home: &Path) -> SignError {
    SignError::BadSignatureFile(format!(
        "{}: expected `authors = [\"<64 hex>\", …]`",
        crate::home::trusted_file(home).display()
    ))
}
