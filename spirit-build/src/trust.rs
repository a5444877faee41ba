//! The trusted authors: `authors` in `VUDO_HOME/trusted.toml`, the keys
//! whose spirits `install` accepts and `verify --trusted` requires.
//!
//! The file is edited with `toml_edit`, so its comments and layout survive
//! `cargo spirit trust` and `untrust`. Used by the registry (installs, and
//! its `trust`/`untrust`), by `keygen` (your own key is trusted) and by
//! `verify --trusted`; it lives beside `sign` rather than inside the
//! registry for that reason.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, value};

use crate::fs::FsError;
use crate::sign::Author;

/// What a new `trusted.toml` starts with.
const NEW_FILE: &str =
    "# Authors whose spirits cargo-spirit installs (`cargo spirit trust HEX`).\nauthors = []\n";

/// Why the trusted authors could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// `trusted.toml` exists but is not a list of author keys.
    #[error(
        "the trusted authors' file `{}` is damaged: {reason}\nhelp: fix it by hand (it holds `authors = [\"<64 hex>\", …]`), or move it away and trust your authors again with `cargo spirit trust HEX`; cargo-spirit does not change a file it cannot read",
        path.display()
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

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
/// Fails when the file exists but is not a list of keys; the error says
/// what is wrong and where.
pub fn trusted_authors(home: &Path) -> Result<Vec<Author>, TrustError> {
    Ok(read(home)?.map(|(_, authors)| authors).unwrap_or_default())
}

/// Adds (`trust`) or removes an author in `VUDO_HOME/trusted.toml`, keeping
/// the file's comments and layout; returns whether anything changed. A file
/// that cannot be read as a whole is never changed.
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
/// Fails when the file is damaged or cannot be written.
pub fn set_trusted(home: &Path, author: Author, trust: bool) -> Result<bool, TrustError> {
    let path = crate::home::trusted_file(home);
    let mut doc = match read(home)? {
        Some((doc, _)) => doc,
        None => NEW_FILE.parse().map_err(|e| damaged(&path, &e))?,
    };
    let authors = doc
        .entry("authors")
        .or_insert_with(|| value(toml_edit::Array::new()))
        .as_array_mut()
        .ok_or_else(|| damaged(&path, &"`authors` is not a list"))?;
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
        crate::fs::write_atomic(&path, doc.to_string().as_bytes())?;
    }
    Ok(changed)
}

/// The file's document and its authors, or `None` when there is no file;
/// every part of it is checked, so a damaged file is never edited.
fn read(home: &Path) -> Result<Option<(DocumentMut, Vec<Author>)>, TrustError> {
    let path = crate::home::trusted_file(home);
    let bytes = match crate::fs::read_bounded(&path, crate::fs::MAX_TEXT_FILE, "trusted.toml") {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        damaged(
            &path,
            &format_args!("it is not UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| damaged(&path, &e.to_string().trim_end()))?;
    let authors = match doc.get("authors") {
        None => Vec::new(),
        Some(authors) => authors
            .as_array()
            .ok_or_else(|| damaged(&path, &"`authors` is not a list"))?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .and_then(|hex| Author::from_hex(hex).ok())
                    .ok_or_else(|| {
                        damaged(
                            &path,
                            &format_args!(
                                "entry {} of `authors` is not an author key (64 hex characters in quotes)",
                                i + 1
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Some((doc, authors)))
}

fn damaged(path: &Path, reason: &dyn std::fmt::Display) -> TrustError {
    TrustError::Damaged {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::Key;

    #[test]
    fn a_damaged_file_is_named_and_never_changed() {
        let author = Key::generate().unwrap().author();
        for (text, reason) in [
            (
                &b"authors = [\"zz\"]\n"[..],
                "entry 1 of `authors` is not an author key",
            ),
            (b"authors = \"x\"\n", "`authors` is not a list"),
            (b"authors = [\n", "TOML parse error at line 1, column 12"),
            (b"authors = [\"\xff\"]\n", "it is not UTF-8 (at byte 12)"),
        ] {
            let home = tempfile::tempdir().unwrap();
            let path = crate::home::trusted_file(home.path());
            crate::fs::write_atomic(&path, text).unwrap();
            for error in [
                trusted_authors(home.path()).unwrap_err(),
                set_trusted(home.path(), author, true).unwrap_err(),
            ] {
                let message = error.to_string();
                assert!(
                    message.starts_with(&format!(
                        "the trusted authors' file `{}` is damaged: ",
                        path.display()
                    )),
                    "{message}"
                );
                assert!(message.contains(reason), "{text:?}: {message}");
                assert!(message.contains("\nhelp: fix it by hand"), "{message}");
            }
            assert_eq!(std::fs::read(&path).unwrap(), text, "{text:?}");
        }
    }
}
