//! Spirits that call other spirits: pinning a dependency at build time (the
//! highest installed version matching its requirement, by exact version,
//! wasm hash and author), checking at install that each pinned dependency
//! is there and trusted, finding who depends on a spirit, and loading the
//! exact pinned files for a call.

use semver::Version;

use super::index::{self, Index, Pinned};
use super::{Entry, Registry, RegistryError, resolve, transaction};
use crate::manifest::Dependency;
use crate::package::SpiritFiles;
use crate::sign::Author;

impl Registry {
    /// Pins `name` at `req`: the highest installed version that matches,
    /// with its wasm's blake3 and its author, as a manifest records it.
    ///
    /// ```
    /// # use spirit_build::{manifest::Manifest, package::SpiritFiles, sign::Key};
    /// # use spirit_build::registry::{InstallOptions, Registry};
    /// # let home = tempfile::tempdir()?;
    /// # let registry = Registry::new(home.path());
    /// # let key = Key::generate()?;
    /// # registry.trust(key.author())?;
    /// # let spirit = |name: &str, version: &str| {
    /// #     let wasm = b"\0asm\x01\0\0\0".to_vec();
    /// #     let manifest = Manifest::for_module(name, version.parse().unwrap(), &wasm);
    /// #     SpiritFiles::new(manifest, wasm, Some(&key))
    /// # };
    /// registry.install(&spirit("echo", "1.0.0"), InstallOptions::default())?;
    /// registry.install(&spirit("echo", "1.1.0"), InstallOptions::default())?;
    /// let pinned = registry.pin("echo", "^1.0")?;
    /// assert_eq!(pinned.version.to_string(), "1.1.0");
    /// assert_eq!(pinned.author, Some(key.author().to_string()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the name is not installed or no version matches.
    pub fn pin(&self, name: &str, req: &str) -> Result<Dependency, RegistryError> {
        let entry = self.resolve(name, Some(req))?;
        Ok(Dependency {
            name: entry.name,
            req: req.to_owned(),
            version: entry.version,
            blake3: entry.blake3,
            author: entry.author,
        })
    }

    /// The installed spirit versions that depend on `name` (on `version`
    /// only, when given), lowest name and version first.
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn dependents(
        &self,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Entry>, RegistryError> {
        let _lock = transaction::lock_for_reading(self.home())?;
        Ok(dependents_in(&Index::read(self.home())?, name, |v| {
            version.is_none_or(|wanted| index::same_version(v, wanted))
        }))
    }

    /// The files of `dependency` exactly as the caller was built against
    /// them: the pinned version must be installed with the pinned wasm hash,
    /// and its files must still verify ([`Registry::load`]).
    ///
    /// # Errors
    ///
    /// Fails, naming the dependency, when that version is not installed,
    /// when the installed one is other bytes, or when its files changed.
    pub fn load_pinned(
        &self,
        dependency: &Dependency,
    ) -> Result<(Entry, SpiritFiles), RegistryError> {
        resolve::validate_name(&dependency.name)?;
        let versions = {
            let _lock = transaction::lock_for_reading(self.home())?;
            index::Index::read_versions(self.home(), &dependency.name)?
        };
        let entry = versions
            .and_then(|versions| {
                versions
                    .into_values()
                    .find(|e| index::same_version(&e.version, &dependency.version))
            })
            .ok_or_else(|| RegistryError::PinnedMissing {
                dependency: Pinned {
                    name: dependency.name.clone(),
                    version: dependency.version.clone(),
                },
            })?;
        if entry.blake3 != dependency.blake3 {
            return Err(RegistryError::PinnedChanged {
                dependency: Pinned {
                    name: dependency.name.clone(),
                    version: dependency.version.clone(),
                },
                pinned: dependency.blake3.clone(),
                installed: entry.blake3,
            });
        }
        let files = self.load(&entry)?;
        Ok((entry, files))
    }
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
            let pinned = Pinned {
                name: dependency.name.clone(),
                version: dependency.version.clone(),
            };
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
