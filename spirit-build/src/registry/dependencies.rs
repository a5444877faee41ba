//! Spirits that call other spirits: pinning a dependency at build time (the
//! highest installed version matching its requirement, by exact version,
//! wasm hash and author), checking at install that each pinned dependency
//! is there and trusted, finding who depends on a spirit (the index's
//! `dependents` table, one lookup), and loading the exact pinned files for
//! a call.

use std::path::Path;

use semver::Version;

use super::entry::same_version;
use super::index::Dependent;
use super::transaction::{self, Transaction};
use super::{Entry, RegistryError, resolve};
use crate::manifest::Dependency;
use crate::package::SpiritFiles;
use crate::sign::Author;

/// The index entry of the version `dependency` pins, with the pinned
/// wasm hash.
pub(super) fn pinned_entry(home: &Path, dependency: &Dependency) -> Result<Entry, RegistryError> {
    resolve::validate_name(&dependency.name)?;
    let versions = {
        let (_lock, index) = transaction::read_index(home)?;
        match index {
            Some(index) => index.versions(&dependency.name)?,
            None => Default::default(),
        }
    };
    let entry = versions
        .into_values()
        .find(|e| same_version(&e.version, &dependency.version))
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

/// The callers in `dependents` of `version` of the dependency (of any
/// version, when `None`; build metadata ignored), as `(name, version)`,
/// without duplicates.
pub(super) fn callers(
    dependents: &[Dependent],
    version: Option<&Version>,
) -> Vec<(String, Version)> {
    let mut callers: Vec<(String, Version)> = dependents
        .iter()
        .filter(|(_, _, pinned)| version.is_none_or(|wanted| same_version(pinned, wanted)))
        .map(|(name, version, _)| (name.clone(), version.clone()))
        .collect();
    callers.sort();
    callers.dedup();
    callers
}

/// Refuses to install a spirit whose pinned dependencies are neither
/// installed nor among the spirits installed with it, are other bytes than
/// pinned, or are by an author not trusted (or unsigned, without
/// `--allow-unsigned`).
pub(super) fn check_installable(
    spirits: &[SpiritFiles],
    entries: &[Entry],
    change: &mut Transaction<'_>,
    trusted: &[Author],
    allow_unsigned: bool,
) -> Result<(), RegistryError> {
    for files in spirits {
        let spirit = &files.manifest.name;
        for dependency in &files.manifest.dependencies {
            let pinned = pinned(dependency);
            let given = entries
                .iter()
                .find(|e| {
                    e.name == dependency.name && same_version(&e.version, &dependency.version)
                })
                .cloned();
            let found = match given {
                Some(entry) => Some(entry),
                None => change.get(&dependency.name, &dependency.version)?,
            }
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
