//! One installed spirit version as the index records it ([`Entry`], with
//! the dependencies it was built against, [`Pinned`]), and the versions of
//! one name ([`Versions`]).

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};

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
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
