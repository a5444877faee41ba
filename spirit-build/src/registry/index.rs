//! `index.json`: what is installed, by name and version. Its schema, the one
//! reader of the file, and its writing.
//!
//! The index is the registry's source of truth: a version is installed when
//! the index lists it, whatever else is on disk (see `transaction`).

use std::collections::BTreeMap;
use std::path::Path;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::RegistryError;
use crate::fs::FsError;
use crate::package::SpiritFiles;
use crate::sign::Author;

/// One installed spirit version, as the index records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The spirit's name.
    pub name: String,
    /// Its version.
    pub version: Version,
    /// `description` from its manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its capabilities, by name.
    pub capabilities: Vec<String>,
    /// The wasm's blake3.
    pub blake3: String,
    /// Who signed it, or `None` when installed with `--allow-unsigned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Whether it was installed unsigned, with `--allow-unsigned`.
    #[serde(default)]
    pub unsigned: bool,
}

impl Entry {
    /// The entry for `files` at `version`, signed by `author` (or unsigned).
    pub(super) fn new(files: &SpiritFiles, version: Version, author: Option<Author>) -> Entry {
        Entry {
            name: files.manifest.name.clone(),
            version,
            description: files.manifest.description.clone(),
            capabilities: files
                .manifest
                .capabilities
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            blake3: files.manifest.wasm.blake3.clone(),
            author: author.map(|a| a.to_string()),
            unsigned: author.is_none(),
        }
    }
}

/// The versions of one name, lowest first.
pub(super) type Versions = BTreeMap<Version, Entry>;

/// `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Index {
    version: u32,
    /// name → version → entry; ordered, so listing needs no sort.
    pub(super) spirits: BTreeMap<String, Versions>,
}

/// The index format written today.
const FORMAT: u32 = 1;

impl Index {
    /// The whole index at `home` (empty when there is none yet).
    pub(super) fn read(home: &Path) -> Result<Index, RegistryError> {
        let path = crate::home::registry_index(home);
        match read_bytes(&path)? {
            None => Ok(Index {
                version: FORMAT,
                spirits: BTreeMap::new(),
            }),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| damaged(&path, &e)),
        }
    }

    /// One name's versions, without building the rest of the index: the
    /// other names' entries are skipped as raw JSON, which keeps resolving a
    /// name fast with thousands installed.
    pub(super) fn read_versions(
        home: &Path,
        name: &str,
    ) -> Result<Option<Versions>, RegistryError> {
        #[derive(Deserialize)]
        struct RawIndex<'a> {
            #[serde(borrow)]
            spirits: BTreeMap<std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue>,
        }
        let path = crate::home::registry_index(home);
        let Some(bytes) = read_bytes(&path)? else {
            return Ok(None);
        };
        let raw: RawIndex<'_> = serde_json::from_slice(&bytes).map_err(|e| damaged(&path, &e))?;
        raw.spirits
            .get(name)
            .map(|versions| serde_json::from_str(versions.get()).map_err(|e| damaged(&path, &e)))
            .transpose()
    }

    /// Writes the index through a temporary file and a rename.
    pub(super) fn write(&mut self, home: &Path) -> Result<(), RegistryError> {
        let path = crate::home::registry_index(home);
        self.version = FORMAT;
        // Compact: with thousands installed, every byte is written and
        // flushed on each change (`jq . index.json` reads it comfortably).
        let mut json = serde_json::to_vec(self).map_err(|e| damaged(&path, &e))?;
        json.push(b'\n');
        crate::fs::write_atomic(&path, &json)?;
        Ok(())
    }

    /// The entry of `name` at `version`, if installed.
    pub(super) fn get(&self, name: &str, version: &Version) -> Option<&Entry> {
        self.spirits.get(name).and_then(|v| v.get(version))
    }

    /// Records `entry`, replacing the same name and version.
    pub(super) fn insert(&mut self, entry: Entry) {
        self.spirits
            .entry(entry.name.clone())
            .or_default()
            .insert(entry.version.clone(), entry);
    }

    /// Every entry, by name then version.
    pub(super) fn into_entries(self) -> impl Iterator<Item = Entry> {
        self.spirits.into_values().flat_map(BTreeMap::into_values)
    }
}

/// The one place `index.json` is read: `None` when it does not exist yet;
/// a symbolic link is refused.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, RegistryError> {
    if crate::fs::is_symlink(path) {
        return Err(RegistryError::Symlink(path.to_owned()));
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::new("read", path, e).into()),
    }
}

fn damaged(path: &Path, error: &serde_json::Error) -> RegistryError {
    RegistryError::BadIndex {
        path: path.to_owned(),
        error: error.to_string(),
    }
}
