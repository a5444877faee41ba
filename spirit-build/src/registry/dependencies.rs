//! Spirits that call other spirits: pinning a dependency at build time (the
//! highest installed version matching its requirement, by exact version,
//! wasm hash and author), checking at install that each pinned dependency
//! is there and trusted, finding who depends on a spirit, and loading the
//! exact pinned files for a call.

use std::path::Path;

use semver::Version;

use super::index::{self, Index};
use super::{Entry, RegistryError, resolve, transaction};
use crate::manifest::Dependency;
use crate::package::SpiritFiles;
use crate::sign::Author;

/// The index entry of the version `dependency` pins, with the pinned
/// wasm hash.
pub(super) fn pinned_entry(home: &Path, dependency: &Dependency) -> Result<Entry, RegistryError> {
    resolve::validate_name(&dependency.name)?;
    let versions = {
        let _lock = transaction::lock_for_reading(home)?;
        index::Index::read_versions(home, &dependency.name)?
    };
    let entry = versions
        .and_then(|versions| {
            versions
                .into_values()
                .find(|e| index::same_version(&e.version, &dependency.version))
        })
        .ok_or_else(|| RegistryError::PinnedMissing {
            dependency: pinned(dependency),
        })?;
    if entry.blake3 != dependency.blake3 {
        return Err(RegistryError::PinnedChanged {
            dependency: pinned(dependency),
            pinned: dependency.blake3.clone(),
            installed: entry.blake3,
        });
    }
    Ok(entry)
}

/// `name@version`, as messages name a dependency.
fn pinned(dependency: &Dependency) -> String {
    format!("{}@{}", dependency.name, dependency.version)
}

/// The entries of `index` that depend on `name` at a version `matches`
/// accepts.
pub(super) fn dependents_in(
    index: &Index,
    name: &str,
    matches: impl Fn(&Version) -> bool,
) -> Vec<Entry> {
    index
        .spirits
        .values()
        .flat_map(|versions| versions.values())
        .filter(|e| {
            e.dependencies
                .iter()
                .any(|d| d.name == name && matches(&d.version))
        })
        .cloned()
        .collect()
}

/// Refuses to install a spirit whose pinned dependencies are neither
/// installed nor among the spirits installed with it, are other bytes than
/// pinned, or are by an author not trusted (or unsigned, without
/// `--allow-unsigned`).
pub(super) fn check_installable(
    spirits: &[SpiritFiles],
    entries: &[Entry],
    index: &Index,
    trusted: &[Author],
    allow_unsigned: bool,
) -> Result<(), RegistryError> {
    for files in spirits {
        let spirit = &files.manifest.name;
        for dependency in &files.manifest.dependencies {
            let pinned = pinned(dependency);
            let found = entries
                .iter()
                .find(|e| {
                    e.name == dependency.name
                        && index::same_version(&e.version, &dependency.version)
                })
                .or_else(|| index.get(&dependency.name, &dependency.version))
                .ok_or_else(|| RegistryError::DependencyMissing {
                    spirit: spirit.clone(),
                    dependency: pinned.clone(),
                })?;
            if found.blake3 != dependency.blake3 {
                return Err(RegistryError::DependencyChanged {
                    spirit: spirit.clone(),
                    dependency: pinned,
                    pinned: dependency.blake3.clone(),
                    installed: found.blake3.clone(),
                });
            }
            match (&dependency.author, &found.author) {
                (Some(author), Some(signer))
                    if author == signer && trusted.iter().any(|t| t.to_string() == *author) => {}
                (None, None) if allow_unsigned => {}
                _ => {
                    return Err(RegistryError::DependencyUntrusted {
                        spirit: spirit.clone(),
                        dependency: pinned,
                        author: dependency.author.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}
