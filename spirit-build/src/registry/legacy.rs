//! `index.json`, the index earlier versions wrote (one JSON file rewritten
//! whole on every change): its one reader, for the migration into the redb
//! index (`index.rs`) when a registry is first opened.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::RegistryError;
use super::entry::{Entry, Versions};
use crate::fs::FsError;

/// The one `index.json` format there was.
const FORMAT: u32 = 1;

/// `index.json`.
#[derive(Deserialize)]
struct Index {
    /// [`FORMAT`]; anything else is refused (see `check_format`).
    version: serde_json::Value,
    /// name → version → entry.
    spirits: BTreeMap<String, Versions>,
}

/// Every name's versions in the `index.json` at `path`, `None` when there
/// is none. An index of an unknown format (a newer cargo-spirit wrote it) is
/// refused rather than misread, and damage is reported: either way the file
/// is left as it is.
pub(super) fn read(
    home: &Path,
    path: &Path,
) -> Result<Option<BTreeMap<String, Versions>>, RegistryError> {
    super::path::checked(home, path.to_owned())?;
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FsError::new("read", path, e).into()),
    };
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| unreadable(path, &bytes, &e))?;
    check_format(path, &index.version)?;
    let mut spirits = index.spirits;
    // The key was the version as written; the entry's own name and version
    // are what the registry uses.
    for (name, versions) in &mut spirits {
        if versions.values().any(|e: &Entry| &e.name != name) {
            return Err(RegistryError::BadIndex {
                path: path.to_owned(),
                error: format!("an entry under `{name}` names another spirit"),
            });
        }
    }
    spirits.retain(|_, versions| !versions.is_empty());
    Ok(Some(spirits))
}

/// Refuses an index of a format this build does not know (a newer
/// cargo-spirit wrote it): read as if it were ours, it could be misread.
fn check_format(path: &Path, version: &serde_json::Value) -> Result<(), RegistryError> {
    if version.as_u64() == Some(u64::from(FORMAT)) {
        return Ok(());
    }
    Err(RegistryError::IndexFormat {
        path: path.to_owned(),
        found: version.to_string().chars().take(40).collect(),
        understood: FORMAT,
    })
}

/// Why an index that does not parse could not be read: a format this build
/// does not know (a newer one may have another schema), else damage.
fn unreadable(path: &Path, bytes: &[u8], error: &serde_json::Error) -> RegistryError {
    #[derive(Deserialize)]
    struct Format {
        version: serde_json::Value,
    }
    match serde_json::from_slice::<Format>(bytes) {
        Ok(format) => check_format(path, &format.version).err(),
        Err(_) => None,
    }
    .unwrap_or_else(|| RegistryError::BadIndex {
        path: path.to_owned(),
        error: error.to_string(),
    })
}
