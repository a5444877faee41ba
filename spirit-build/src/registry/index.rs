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
    /// The spirits it calls, at the exact versions its build resolved
    /// (from its manifest; what `uninstall` and `info` look at).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Pinned>,
}

/// A dependency of an installed spirit: a name and an exact version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    /// The dependency's name.
    pub name: String,
    /// The version it was built against.
    pub version: Version,
}

impl std::fmt::Display for Pinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
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
            dependencies: files
                .manifest
                .dependencies
                .iter()
                .map(|d| Pinned {
                    name: d.name.clone(),
                    version: d.version.clone(),
                })
                .collect(),
        }
    }
}

/// Whether two versions are the same spirit version: equal but for build
/// metadata, which is not part of a spirit's identity (as semver and cargo
/// say). The registry records none today; an index written before may hold
/// some, and `1.0.0+old` is still `1.0.0` then.
///
/// ```text
/// 1.0.0 ≡ 1.0.0+evil    1.0.0 ≢ 1.0.0-rc.1
/// ```
pub(super) fn same_version(a: &Version, b: &Version) -> bool {
    a.cmp_precedence(b).is_eq()
}

/// The versions of one name, lowest first.
pub(super) type Versions = BTreeMap<Version, Entry>;

/// `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Index {
    /// [`FORMAT`]; anything else is refused when read (see `check_format`).
    version: serde_json::Value,
    /// name → version → entry; ordered, so listing needs no sort.
    pub(super) spirits: BTreeMap<String, Versions>,
}

/// The index format written today.
const FORMAT: u32 = 1;

impl Index {
    /// The whole index at `home` (empty when there is none yet).
    pub(super) fn read(home: &Path) -> Result<Index, RegistryError> {
        let path = crate::home::registry_index(home);
        match read_bytes(home, &path)? {
            None => Ok(Index {
                version: FORMAT.into(),
                spirits: BTreeMap::new(),
            }),
            Some(bytes) => {
                let index: Index =
                    serde_json::from_slice(&bytes).map_err(|e| unreadable(&path, &bytes, &e))?;
                check_format(&path, &index.version)?;
                Ok(index)
            }
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
            version: serde_json::Value,
            #[serde(borrow)]
            spirits: BTreeMap<std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue>,
        }
        let path = crate::home::registry_index(home);
        let Some(bytes) = read_bytes(home, &path)? else {
            return Ok(None);
        };
        let raw: RawIndex<'_> =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(&path, &bytes, &e))?;
        check_format(&path, &raw.version)?;
        raw.spirits
            .get(name)
            .map(|versions| serde_json::from_str(versions.get()).map_err(|e| damaged(&path, &e)))
            .transpose()
    }

    /// Writes the index through a temporary file and a rename.
    pub(super) fn write(&mut self, home: &Path) -> Result<(), RegistryError> {
        let path = super::path::checked(home, crate::home::registry_index(home))?;
        self.version = FORMAT.into();
        // Compact: with thousands installed, every byte is written and
        // flushed on each change (`jq . index.json` reads it comfortably).
        let mut json = serde_json::to_vec(self).map_err(|e| damaged(&path, &e))?;
        json.push(b'\n');
        crate::fs::write_atomic(&path, &json)?;
        Ok(())
    }

    /// The entry of `name` at `version` (build metadata ignored), if
    /// installed.
    pub(super) fn get(&self, name: &str, version: &Version) -> Option<&Entry> {
        self.spirits.get(name).and_then(|versions| {
            versions
                .values()
                .find(|e| same_version(&e.version, version))
        })
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
fn read_bytes(home: &Path, path: &Path) -> Result<Option<Vec<u8>>, RegistryError> {
    super::path::checked(home, path.to_owned())?;
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::new("read", path, e).into()),
    }
}

/// Refuses an index of a format this build does not know (a newer
/// cargo-spirit wrote it): read as if it were ours, it could be misread and
/// then overwritten.
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
    .unwrap_or_else(|| damaged(path, error))
}

fn damaged(path: &Path, error: &serde_json::Error) -> RegistryError {
    RegistryError::BadIndex {
        path: path.to_owned(),
        error: error.to_string(),
    }
}
