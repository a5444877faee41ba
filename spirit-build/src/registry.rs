//! The local registry: installed spirits, by name and version, under
//! `VUDO_HOME/registry` (see `docs/registry.md`).
//!
//! ```text
//! registry/
//!   index.json                    every installed spirit (the source of truth)
//!   registry.lock                 the lock that guards changes
//!   spirits/<name>/<version>/     manifest.toml, <name>.wasm, signature.toml
//!   staging/                      half-made installs; cleared by `repair`
//! ```
//!
//! Every change happens under an exclusive lock on `registry.lock` (std's
//! `File::lock`, an advisory `flock`), writes files under temporary names
//! and renames them into place, and rewrites `index.json` the same way, last.
//! A process killed at any point therefore leaves either the old state or the
//! new one plus leftovers, which the next change removes ([`Registry::repair`]).
//! Readers take a shared lock, so they never see a half-made change.
//!
//! Names are spirit names (letters, digits, `-`, `_`) and versions are
//! semantic versions, so no path built from them can leave the registry; and
//! no symbolic link is followed inside it.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::fs::FsError;
use crate::manifest;
use crate::package::SpiritFiles;
use crate::sign::{self, Author, Requirements, VerifyError};

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

/// `index.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Index {
    version: u32,
    /// name → version → entry; ordered, so listing needs no sort.
    spirits: BTreeMap<String, BTreeMap<Version, Entry>>,
}

/// How to install.
#[derive(Clone, Copy, Debug, Default)]
pub struct InstallOptions {
    /// Install an unsigned spirit (recorded in the index).
    pub allow_unsigned: bool,
    /// Replace the same name and version with different content.
    pub force: bool,
}

/// What an install did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installed {
    /// A new name or version.
    New(Entry),
    /// The same content was already installed.
    Unchanged(Entry),
    /// `--force` replaced different content.
    Replaced(Entry),
}

impl Installed {
    /// The entry installed.
    pub fn entry(&self) -> &Entry {
        match self {
            Installed::New(e) | Installed::Unchanged(e) | Installed::Replaced(e) => e,
        }
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A name that cannot be a spirit's.
    #[error("invalid spirit name `{0}`: use letters, digits, `-` and `_`, starting with a letter")]
    BadName(String),
    /// A version requirement that does not parse.
    #[error(
        "invalid version requirement `{req}` for `{name}`: {error}\nhelp: use semver syntax such as `^1.2`, `~1.2.3`, `>=1.0` or `=1.2.3`"
    )]
    BadRequirement {
        /// The spirit.
        name: String,
        /// The requirement given.
        req: String,
        /// Why it does not parse.
        error: String,
    },
    /// Nothing of that name.
    #[error(
        "no spirit named `{0}` is installed\nhelp: `cargo spirit list` shows what is; `cargo spirit install` adds one"
    )]
    NotInstalled(String),
    /// `upgrade NAME` from a source without that spirit.
    #[error("the given package or crate has no spirit named `{0}`")]
    NotInSource(String),
    /// No version matches.
    #[error("no installed version of `{name}` matches `{req}`; installed: {installed}")]
    NoMatch {
        /// The spirit.
        name: String,
        /// The requirement.
        req: String,
        /// The installed versions.
        installed: String,
    },
    /// Unsigned and not allowed.
    #[error(
        "spirit `{0}` is unsigned\nhelp: sign it (`cargo spirit sign`), or install it anyway with `--allow-unsigned` (recorded in the index)"
    )]
    Unsigned(String),
    /// Signed by someone not trusted.
    #[error(
        "spirit `{name}` is signed by {author}, who is not trusted\nhelp: if you trust them, run `cargo spirit trust {author}`"
    )]
    Untrusted {
        /// The spirit.
        name: String,
        /// Its author.
        author: Author,
    },
    /// The spirit failed verification.
    #[error("spirit `{name}` failed verification: {error}")]
    Verify {
        /// The spirit.
        name: String,
        /// Why.
        error: VerifyError,
    },
    /// Same name and version, different content.
    #[error(
        "`{name}@{version}` is already installed with different content (blake3 {installed}, this one {new})\nhelp: bump the version, or replace it with `--force`"
    )]
    Conflict {
        /// The spirit.
        name: String,
        /// The version.
        version: Version,
        /// The installed wasm's blake3.
        installed: String,
        /// The new wasm's blake3.
        new: String,
    },
    /// `upgrade` with a version that is not newer.
    #[error(
        "`{name}` {new} is not newer than the installed {installed}\nhelp: `upgrade` installs a higher version; use `install --force` to replace the same one"
    )]
    NotNewer {
        /// The spirit.
        name: String,
        /// The highest installed version.
        installed: Version,
        /// The version offered.
        new: Version,
    },
    /// The stored files do not match the index: changed on disk.
    #[error(
        "installed spirit `{name}@{version}` was changed on disk: {error}\nhelp: reinstall it with `cargo spirit install --force`"
    )]
    Tampered {
        /// The spirit.
        name: String,
        /// The version.
        version: Version,
        /// What does not match.
        error: String,
    },
    /// The index is damaged.
    #[error("the registry index `{}` is damaged: {error}\nhelp: move it away and reinstall your spirits", path.display())]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// Why it does not parse.
        error: String,
    },
    /// A symbolic link where the registry keeps files.
    #[error("refusing to follow the symbolic link `{}` inside the registry", .0.display())]
    Symlink(PathBuf),
    /// Reading the spirit failed.
    #[error(transparent)]
    Package(#[from] crate::package::PackageError),
    /// `VUDO_HOME` is unknown.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    /// Reading the trusted authors failed.
    #[error(transparent)]
    Sign(#[from] sign::SignError),
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// The registry at `VUDO_HOME/registry`.
#[derive(Clone, Debug)]
pub struct Registry {
    root: PathBuf,
    home: PathBuf,
}

/// A held registry lock; released when the file is closed on drop.
#[derive(Debug)]
struct Lock {
    _file: File,
}

impl Registry {
    /// The registry under `home` (a `VUDO_HOME`).
    pub fn new(home: &Path) -> Registry {
        Registry {
            root: home.join("registry"),
            home: home.to_owned(),
        }
    }

    /// The registry under [`vudo_home`](crate::home::vudo_home).
    ///
    /// # Errors
    ///
    /// Fails when `VUDO_HOME` is unset and there is no home directory.
    pub fn open_default() -> Result<Registry, RegistryError> {
        Ok(Registry::new(&crate::home::vudo_home()?))
    }

    /// The `VUDO_HOME` it lives in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The registry's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }

    /// Where a version's files live.
    pub fn spirit_dir(&self, name: &str, version: &Version) -> PathBuf {
        self.root
            .join("spirits")
            .join(name)
            .join(version.to_string())
    }

    fn lock(&self, exclusive: bool) -> Result<Lock, RegistryError> {
        crate::fs::create_dir_all(&self.root)?;
        let path = self.root.join("registry.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| FsError::new("open", &path, e))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(|e| FsError::new("lock", &path, e))?;
        Ok(Lock { _file: file })
    }

    fn read_index(&self) -> Result<Index, RegistryError> {
        let path = self.index_path();
        refuse_symlink(&path)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Index {
                    version: 1,
                    spirits: BTreeMap::new(),
                });
            }
            Err(e) => return Err(FsError::new("read", &path, e).into()),
        };
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::BadIndex {
            path,
            error: e.to_string(),
        })
    }

    /// Every installed version of `name`, lowest first (empty when none).
    ///
    /// # Errors
    ///
    /// Fails for an invalid name or an unreadable index.
    pub fn versions(&self, name: &str) -> Result<Vec<Entry>, RegistryError> {
        validate_name(name)?;
        let _lock = self.lock(false)?;
        Ok(self
            .read_versions(name)?
            .map(|v| v.into_values().collect())
            .unwrap_or_default())
    }

    /// One name's versions, without building the rest of the index: the
    /// other names' entries are skipped as raw JSON, which keeps resolving a
    /// name fast with thousands installed.
    fn read_versions(&self, name: &str) -> Result<Option<BTreeMap<Version, Entry>>, RegistryError> {
        #[derive(Deserialize)]
        struct RawIndex<'a> {
            #[serde(borrow)]
            spirits: BTreeMap<std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue>,
        }
        let path = self.index_path();
        refuse_symlink(&path)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(FsError::new("read", &path, e).into()),
        };
        let bad = |e: serde_json::Error| RegistryError::BadIndex {
            path: path.clone(),
            error: e.to_string(),
        };
        let raw: RawIndex<'_> = serde_json::from_slice(&bytes).map_err(bad)?;
        raw.spirits
            .get(name)
            .map(|versions| serde_json::from_str(versions.get()).map_err(bad))
            .transpose()
    }

    fn write_index(&self, index: &Index) -> Result<(), RegistryError> {
        // Compact: with thousands installed, every byte is written and
        // flushed on each change (`jq . index.json` reads it comfortably).
        let mut json = serde_json::to_vec(index).map_err(|e| RegistryError::BadIndex {
            path: self.index_path(),
            error: e.to_string(),
        })?;
        json.push(b'\n');
        crate::fs::write_atomic(&self.index_path(), &json)?;
        Ok(())
    }

    /// Every installed version, by name then version.
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn list(&self) -> Result<Vec<Entry>, RegistryError> {
        let _lock = self.lock(false)?;
        Ok(self
            .read_index()?
            .spirits
            .into_values()
            .flat_map(BTreeMap::into_values)
            .collect())
    }

    /// Installed versions whose name or description contains `query`, or
    /// that declare a capability equal to it (case-insensitive).
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn search(&self, query: &str) -> Result<Vec<Entry>, RegistryError> {
        let query = query.to_lowercase();
        Ok(self
            .list()?
            .into_iter()
            .filter(|e| {
                e.name.to_lowercase().contains(&query)
                    || e.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(&query))
                    || e.capabilities.contains(&query)
            })
            .collect())
    }

    /// The highest installed version of `name` that matches `req` (any
    /// version when `None`).
    ///
    /// # Errors
    ///
    /// Fails when nothing matches; the message lists what is installed.
    pub fn resolve(&self, name: &str, req: Option<&str>) -> Result<Entry, RegistryError> {
        validate_name(name)?;
        let req = match req {
            None => VersionReq::STAR,
            Some(text) => parse_req(name, text)?,
        };
        let _lock = self.lock(false)?;
        let versions = self
            .read_versions(name)?
            .ok_or_else(|| RegistryError::NotInstalled(name.to_owned()))?;
        versions
            .values()
            .rev()
            .find(|e| req.matches(&e.version))
            .cloned()
            .ok_or_else(|| RegistryError::NoMatch {
                name: name.to_owned(),
                req: req.to_string(),
                installed: versions
                    .keys()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The installed files of an entry, checked against the index: the wasm's
    /// blake3 must still be the one recorded at install.
    ///
    /// # Errors
    ///
    /// Fails when a file is missing, a link, or changed since install.
    pub fn load(&self, entry: &Entry) -> Result<SpiritFiles, RegistryError> {
        let dir = self.spirit_dir(&entry.name, &entry.version);
        for path in [
            &dir,
            &dir.join(manifest::FILE_NAME),
            &dir.join(format!("{}.wasm", entry.name)),
        ] {
            refuse_symlink(path)?;
        }
        let files = SpiritFiles::read(&dir)?;
        let tampered = |error: String| RegistryError::Tampered {
            name: entry.name.clone(),
            version: entry.version.clone(),
            error,
        };
        let actual = blake3::hash(&files.wasm).to_hex().to_string();
        if actual != entry.blake3 {
            return Err(tampered(format!(
                "wasm hash mismatch: the index has {}, the file has {actual}",
                entry.blake3
            )));
        }
        if let Err(e) = sign::verify(
            &files.manifest_bytes,
            &files.wasm,
            files.signature.as_ref(),
            &Requirements::default(),
        ) && !(entry.unsigned && e == VerifyError::Unsigned)
        {
            return Err(tampered(e.to_string()));
        }
        Ok(files)
    }

    /// Installs a spirit: verifies it (hash, signature, trusted author),
    /// then writes its files and the index atomically.
    ///
    /// # Errors
    ///
    /// Fails when the spirit is unsigned (without `allow_unsigned`), signed by
    /// an untrusted author, tampered with, or conflicts with what is
    /// installed; the registry is unchanged then.
    pub fn install(
        &self,
        files: &SpiritFiles,
        options: InstallOptions,
    ) -> Result<Installed, RegistryError> {
        let mut installed = self.install_many(std::slice::from_ref(files), options)?;
        Ok(installed.remove(0))
    }

    /// Installs several spirits under one lock and one index write: all of
    /// them are verified first, so one that is refused leaves the registry
    /// unchanged.
    ///
    /// # Errors
    ///
    /// As [`Registry::install`], for the first spirit that is refused.
    pub fn install_many(
        &self,
        spirits: &[SpiritFiles],
        options: InstallOptions,
    ) -> Result<Vec<Installed>, RegistryError> {
        let trusted = sign::trusted_authors(&self.home)?;
        let entries = spirits
            .iter()
            .map(|files| self.check(files, options, &trusted))
            .collect::<Result<Vec<Entry>, _>>()?;

        let _lock = self.lock(true)?;
        self.repair_if_interrupted()?;
        let mut index = self.read_index()?;
        let mut results = Vec::with_capacity(spirits.len());
        // First every conflict, so that nothing is written when one is refused.
        for entry in &entries {
            if let Some(existing) = index
                .spirits
                .get(&entry.name)
                .and_then(|v| v.get(&entry.version))
                && existing != entry
                && !options.force
            {
                return Err(RegistryError::Conflict {
                    name: entry.name.clone(),
                    version: entry.version.clone(),
                    installed: existing.blake3.clone(),
                    new: entry.blake3.clone(),
                });
            }
        }
        let marker = self.begin()?;
        let mut aside = Vec::new();
        for (files, entry) in spirits.iter().zip(entries) {
            let existing = index
                .spirits
                .get(&entry.name)
                .and_then(|v| v.get(&entry.version));
            if existing == Some(&entry) {
                results.push(Installed::Unchanged(entry));
                continue;
            }
            let replacing = existing.is_some();
            let staged = self.stage(files)?;
            let dir = self.spirit_dir(&entry.name, &entry.version);
            let parent = dir.parent().unwrap_or(&self.root);
            crate::fs::create_dir_all(parent)?;
            if !replacing && dir.exists() {
                // Not in the index: files an interrupted change left behind.
                remove_any(&dir).map_err(|e| FsError::new("remove leftover", &dir, e))?;
            }
            if replacing && dir.exists() {
                let old = self.staging().join(format!(
                    "old-{}-{}-{}",
                    entry.name,
                    entry.version,
                    std::process::id()
                ));
                rename(&dir, &old)?;
                aside.push(old);
            }
            rename(&staged, &dir)?;
            sync_dir(parent);
            index
                .spirits
                .entry(entry.name.clone())
                .or_default()
                .insert(entry.version.clone(), entry.clone());
            results.push(if replacing {
                Installed::Replaced(entry)
            } else {
                Installed::New(entry)
            });
        }
        index.version = 1;
        self.write_index(&index)?;
        for old in aside {
            let _ = std::fs::remove_dir_all(old);
        }
        self.commit(marker);
        Ok(results)
    }

    /// Verifies a spirit for installation and makes its index entry.
    fn check(
        &self,
        files: &SpiritFiles,
        options: InstallOptions,
        trusted: &[Author],
    ) -> Result<Entry, RegistryError> {
        let name = files.manifest.name.clone();
        validate_name(&name)?;
        let author = match sign::verify(
            &files.manifest_bytes,
            &files.wasm,
            files.signature.as_ref(),
            &Requirements::default(),
        ) {
            Ok(author) => Some(author),
            Err(VerifyError::Unsigned) if options.allow_unsigned => None,
            Err(VerifyError::Unsigned) => return Err(RegistryError::Unsigned(name)),
            Err(error) => return Err(RegistryError::Verify { name, error }),
        };
        if let Some(author) = author
            && !trusted.contains(&author)
        {
            return Err(RegistryError::Untrusted { name, author });
        }
        let version = Version::parse(&files.manifest.version.to_string()).map_err(|e| {
            RegistryError::BadRequirement {
                name: name.clone(),
                req: files.manifest.version.to_string(),
                error: e.to_string(),
            }
        })?;
        Ok(Entry {
            name,
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
        })
    }

    /// Writes a spirit's files into a fresh staging directory, flushed.
    fn stage(&self, files: &SpiritFiles) -> Result<PathBuf, RegistryError> {
        let staging = self.staging();
        crate::fs::create_dir_all(&staging)?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| FsError::new("create", &staging, std::io::Error::other(e.to_string())))?;
        let dir = staging.join(format!("new-{}", u64::from_le_bytes(nonce)));
        crate::fs::create_dir_all(&dir)?;
        crate::fs::write_atomic(&dir.join(manifest::FILE_NAME), &files.manifest_bytes)?;
        crate::fs::write_atomic(
            &dir.join(format!("{}.wasm", files.manifest.name)),
            &files.wasm,
        )?;
        if let Some(signature) = &files.signature {
            crate::fs::write_atomic(&dir.join(sign::FILE_NAME), signature.to_toml().as_bytes())?;
        }
        sync_dir(&dir);
        Ok(dir)
    }

    /// Removes `name` (one version, or every version), returning what was
    /// removed.
    ///
    /// # Errors
    ///
    /// Fails when nothing matches.
    pub fn uninstall(
        &self,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Entry>, RegistryError> {
        validate_name(name)?;
        let _lock = self.lock(true)?;
        self.repair_if_interrupted()?;
        let mut index = self.read_index()?;
        let versions = index
            .spirits
            .get_mut(name)
            .ok_or_else(|| RegistryError::NotInstalled(name.to_owned()))?;
        let removed: Vec<Entry> = match version {
            Some(v) => {
                let entry = versions.remove(v).ok_or_else(|| RegistryError::NoMatch {
                    name: name.to_owned(),
                    req: format!("={v}"),
                    installed: versions
                        .keys()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
                vec![entry]
            }
            None => std::mem::take(versions).into_values().collect(),
        };
        if versions.is_empty() {
            index.spirits.remove(name);
        }
        // The index first: a crash after it leaves only unreferenced files,
        // which `repair` removes.
        let marker = self.begin()?;
        self.write_index(&index)?;
        for entry in &removed {
            let _ = std::fs::remove_dir_all(self.spirit_dir(&entry.name, &entry.version));
        }
        let _ = std::fs::remove_dir(self.root.join("spirits").join(name));
        self.commit(marker);
        Ok(removed)
    }

    /// Installs a newer version of an installed spirit and removes the older
    /// ones.
    ///
    /// # Errors
    ///
    /// Fails when the spirit is not installed, the version is not newer, or
    /// the install fails.
    pub fn upgrade(
        &self,
        files: &SpiritFiles,
        options: InstallOptions,
    ) -> Result<(Entry, Vec<Entry>), RegistryError> {
        let name = files.manifest.name.clone();
        let current = self.resolve(&name, None)?;
        let new = Version::parse(&files.manifest.version.to_string()).map_err(|e| {
            RegistryError::BadRequirement {
                name: name.clone(),
                req: files.manifest.version.to_string(),
                error: e.to_string(),
            }
        })?;
        if new <= current.version {
            return Err(RegistryError::NotNewer {
                name,
                installed: current.version,
                new,
            });
        }
        let entry = self.install(files, options)?.entry().clone();
        let mut removed = Vec::new();
        for old in self
            .list()?
            .into_iter()
            .filter(|e| e.name == name && e.version < new)
        {
            removed.extend(self.uninstall(&name, Some(&old.version))?);
        }
        Ok((entry, removed))
    }

    /// Brings the registry back to the state its index describes after a
    /// crash: restores a version a forced reinstall had moved aside, drops
    /// index entries whose files are gone, and removes staged and
    /// unreferenced files. Returns what it did, in words.
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read or written.
    pub fn repair(&self) -> Result<Vec<String>, RegistryError> {
        let _lock = self.lock(true)?;
        self.repair_locked()
    }

    /// Marks a change as under way: a marker file in `staging/` that only
    /// [`Registry::commit`] removes. A process killed mid-change leaves it,
    /// and the next change repairs.
    fn begin(&self) -> Result<PathBuf, RegistryError> {
        let staging = self.staging();
        crate::fs::create_dir_all(&staging)?;
        let marker = staging.join(format!("txn-{}", std::process::id()));
        crate::fs::write_atomic(&marker, b"a registry change is under way\n")?;
        Ok(marker)
    }

    fn commit(&self, marker: PathBuf) {
        let _ = std::fs::remove_file(marker);
    }

    /// Repairs only when an earlier change was interrupted (something is
    /// left in `staging/`), so that a normal change does not re-read every
    /// installed spirit.
    fn repair_if_interrupted(&self) -> Result<(), RegistryError> {
        if read_dir_paths(&self.staging()).is_empty() {
            return Ok(());
        }
        self.repair_locked().map(drop)
    }

    fn repair_locked(&self) -> Result<Vec<String>, RegistryError> {
        let mut done = Vec::new();
        let staging = self.staging();
        let mut index = self.read_index()?;
        let mut changed = false;
        // Every entry must have its files, with the recorded wasm.
        for versions in index.spirits.values_mut() {
            versions.retain(|version, entry| {
                let dir = self.spirit_dir(&entry.name, version);
                if self.matches(&dir, entry) {
                    return true;
                }
                // A forced reinstall moved the old version aside, then died.
                let aside = read_dir_paths(&staging).into_iter().find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("old-"))
                        && self.matches(p, entry)
                });
                if let Some(aside) = aside {
                    let _ = std::fs::remove_dir_all(&dir);
                    if rename(&aside, &dir).is_ok() {
                        done.push(format!(
                            "restored {}@{version} from an interrupted reinstall",
                            entry.name
                        ));
                        return true;
                    }
                }
                done.push(format!(
                    "dropped {}@{version}: its files are missing or changed",
                    entry.name
                ));
                changed = true;
                false
            });
        }
        index.spirits.retain(|_, versions| !versions.is_empty());
        if changed {
            self.write_index(&index)?;
        }
        // Leftovers: staging, and directories the index does not name.
        for path in read_dir_paths(&staging) {
            let _ = remove_any(&path);
            done.push(format!("removed leftover {}", path.display()));
        }
        let spirits = self.root.join("spirits");
        for name_dir in read_dir_paths(&spirits) {
            let name = name_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let versions = index.spirits.get(&name);
            for version_dir in read_dir_paths(&name_dir) {
                let listed = version_dir
                    .file_name()
                    .and_then(|v| Version::parse(&v.to_string_lossy()).ok())
                    .is_some_and(|v| versions.is_some_and(|vs| vs.contains_key(&v)));
                if !listed {
                    let _ = remove_any(&version_dir);
                    done.push(format!("removed unreferenced {}", version_dir.display()));
                }
            }
            if versions.is_none() {
                let _ = remove_any(&name_dir);
            }
        }
        Ok(done)
    }

    /// Whether `dir` holds the entry's files with the recorded wasm.
    fn matches(&self, dir: &Path, entry: &Entry) -> bool {
        if refuse_symlink(dir).is_err() {
            return false;
        }
        match std::fs::read(dir.join(format!("{}.wasm", entry.name))) {
            Ok(wasm) => {
                blake3::hash(&wasm).to_hex().as_str() == entry.blake3
                    && dir.join(manifest::FILE_NAME).is_file()
            }
            Err(_) => false,
        }
    }

    /// Adds an author to `VUDO_HOME/trusted.toml`; returns whether it was new.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or written.
    pub fn trust(&self, author: Author) -> Result<bool, RegistryError> {
        Ok(sign::set_trusted(&self.home, author, true)?)
    }

    /// Removes an author from `VUDO_HOME/trusted.toml`; returns whether it was there.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or written.
    pub fn untrust(&self, author: Author) -> Result<bool, RegistryError> {
        Ok(sign::set_trusted(&self.home, author, false)?)
    }
}

/// Splits `name@req` into the name and the requirement.
pub fn split_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('@') {
        Some((name, req)) => (name, Some(req)),
        None => (spec, None),
    }
}

fn parse_req(name: &str, text: &str) -> Result<VersionReq, RegistryError> {
    VersionReq::parse(text).map_err(|e| RegistryError::BadRequirement {
        name: name.to_owned(),
        req: text.to_owned(),
        error: e.to_string(),
    })
}

fn validate_name(name: &str) -> Result<(), RegistryError> {
    crate::template::validate_name(name).map_err(|_| RegistryError::BadName(name.to_owned()))
}

fn refuse_symlink(path: &Path) -> Result<(), RegistryError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(RegistryError::Symlink(path.to_owned())),
        _ => Ok(()),
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), FsError> {
    std::fs::rename(from, to).map_err(|e| FsError::new("move into place", to, e))
}

/// Flushes a directory's entries (the renames into it) to disk; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(file) = File::open(dir) {
        let _ = file.sync_all();
    }
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Removes a directory or, without following it, a link or file.
fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::sign::Key;

    fn spirit(name: &str, version: &str, key: Option<&Key>, body: &str) -> SpiritFiles {
        let wasm = wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (func (export "run") {body}))"#
        ))
        .unwrap();
        let mut manifest = Manifest::for_module(name, version.parse().unwrap(), &wasm);
        manifest.description = Some(format!("the {name} spirit"));
        manifest.capabilities = vec![spirit_sdk::abi::Capability::ActuatorLog];
        SpiritFiles::new(manifest, wasm, key)
    }

    fn setup() -> (tempfile::TempDir, Registry, Key) {
        let home = tempfile::tempdir().unwrap();
        let registry = Registry::new(home.path());
        let key = Key::generate().unwrap();
        registry.trust(key.author()).unwrap();
        (home, registry, key)
    }

    #[test]
    fn install_resolve_uninstall() {
        let (_home, registry, key) = setup();
        for v in ["1.0.0", "1.2.0", "1.2.5", "2.0.0"] {
            assert!(matches!(
                registry
                    .install(
                        &spirit("hello", v, Some(&key), ""),
                        InstallOptions::default()
                    )
                    .unwrap(),
                Installed::New(_)
            ));
        }
        let resolve = |req| {
            registry
                .resolve("hello", req)
                .map(|e| e.version.to_string())
        };
        assert_eq!(resolve(None).unwrap(), "2.0.0");
        assert_eq!(resolve(Some("^1.2")).unwrap(), "1.2.5");
        assert_eq!(resolve(Some("~1.2.0")).unwrap(), "1.2.5");
        assert_eq!(resolve(Some("=1.2.0")).unwrap(), "1.2.0");
        assert_eq!(resolve(Some(">=1.0, <1.2")).unwrap(), "1.0.0");
        let error = resolve(Some("^3")).unwrap_err().to_string();
        assert_eq!(
            error,
            "no installed version of `hello` matches `^3`; installed: 1.0.0, 1.2.0, 1.2.5, 2.0.0"
        );
        assert!(matches!(
            resolve(Some("one")),
            Err(RegistryError::BadRequirement { .. })
        ));
        let removed = registry
            .uninstall("hello", Some(&Version::new(2, 0, 0)))
            .unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(resolve(None).unwrap(), "1.2.5");
        assert_eq!(registry.uninstall("hello", None).unwrap().len(), 3);
        assert!(matches!(
            registry.resolve("hello", None),
            Err(RegistryError::NotInstalled(_))
        ));
        assert!(!registry.root().join("spirits/hello").exists());
    }

    #[test]
    fn trust_and_signatures_are_required() {
        let (_home, registry, key) = setup();
        let unsigned = spirit("loose", "1.0.0", None, "");
        assert!(matches!(
            registry.install(&unsigned, InstallOptions::default()),
            Err(RegistryError::Unsigned(_))
        ));
        let installed = registry
            .install(
                &unsigned,
                InstallOptions {
                    allow_unsigned: true,
                    force: false,
                },
            )
            .unwrap();
        assert!(installed.entry().unsigned);
        let stranger = Key::generate().unwrap();
        let error = registry
            .install(
                &spirit("other", "1.0.0", Some(&stranger), ""),
                InstallOptions::default(),
            )
            .unwrap_err();
        assert!(matches!(error, RegistryError::Untrusted { .. }));
        let mut tampered = spirit("bad", "1.0.0", Some(&key), "");
        tampered.wasm.push(0);
        assert!(matches!(
            registry.install(&tampered, InstallOptions::default()),
            Err(RegistryError::Verify { .. })
        ));
        assert_eq!(registry.list().unwrap().len(), 1);
    }

    #[test]
    fn reinstalling_different_content_needs_force() {
        let (_home, registry, key) = setup();
        let a = spirit("same", "1.0.0", Some(&key), "");
        let b = spirit("same", "1.0.0", Some(&key), "nop");
        registry.install(&a, InstallOptions::default()).unwrap();
        assert!(matches!(
            registry.install(&a, InstallOptions::default()).unwrap(),
            Installed::Unchanged(_)
        ));
        assert!(matches!(
            registry.install(&b, InstallOptions::default()),
            Err(RegistryError::Conflict { .. })
        ));
        let force = InstallOptions {
            allow_unsigned: false,
            force: true,
        };
        assert!(matches!(
            registry.install(&b, force).unwrap(),
            Installed::Replaced(_)
        ));
        let entry = registry.resolve("same", None).unwrap();
        assert_eq!(registry.load(&entry).unwrap().wasm, b.wasm);
    }

    #[test]
    // Tampering is the point: the file is changed in place, not atomically.
    #[allow(clippy::disallowed_methods)]
    fn changed_files_are_refused_at_load() {
        let (_home, registry, key) = setup();
        registry
            .install(
                &spirit("victim", "1.0.0", Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
        let entry = registry.resolve("victim", None).unwrap();
        let wasm = registry
            .spirit_dir("victim", &entry.version)
            .join("victim.wasm");
        let mut bytes = std::fs::read(&wasm).unwrap();
        bytes.push(0);
        std::fs::write(&wasm, bytes).unwrap();
        assert!(matches!(
            registry.load(&entry),
            Err(RegistryError::Tampered { .. })
        ));
    }

    #[test]
    fn repair_restores_an_interrupted_forced_reinstall_and_clears_leftovers() {
        let (_home, registry, key) = setup();
        registry
            .install(
                &spirit("crashy", "1.0.0", Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
        let entry = registry.resolve("crashy", None).unwrap();
        let dir = registry.spirit_dir("crashy", &entry.version);
        // Killed after moving the old version aside, before the new one arrived.
        let aside = registry.root().join("staging/old-crashy-1.0.0-1");
        std::fs::create_dir_all(aside.parent().unwrap()).unwrap();
        std::fs::rename(&dir, &aside).unwrap();
        std::fs::create_dir_all(registry.root().join("staging/new-7")).unwrap();
        std::fs::create_dir_all(registry.root().join("spirits/ghost/0.1.0")).unwrap();
        let done = registry.repair().unwrap();
        assert!(
            done.iter().any(|d| d.starts_with("restored crashy@1.0.0")),
            "{done:?}"
        );
        assert!(registry.load(&entry).is_ok());
        assert!(!registry.root().join("staging/new-7").exists());
        assert!(!registry.root().join("spirits/ghost").exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_the_registry_are_not_followed() {
        let (home, registry, key) = setup();
        registry
            .install(
                &spirit("linked", "1.0.0", Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
        let entry = registry.resolve("linked", None).unwrap();
        let dir = registry.spirit_dir("linked", &entry.version);
        // Move the real files elsewhere and leave a link in their place.
        let outside = home.path().join("outside");
        std::fs::rename(&dir, &outside).unwrap();
        std::os::unix::fs::symlink(&outside, &dir).unwrap();
        assert!(matches!(
            registry.load(&entry),
            Err(RegistryError::Symlink(_))
        ));
        // A link to the wasm alone is refused too.
        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(outside.join("manifest.toml"), dir.join("manifest.toml")).unwrap();
        std::os::unix::fs::symlink(outside.join("linked.wasm"), dir.join("linked.wasm")).unwrap();
        assert!(matches!(
            registry.load(&entry),
            Err(RegistryError::Symlink(_))
        ));
    }

    #[test]
    fn names_cannot_leave_the_registry() {
        let (_home, registry, _key) = setup();
        for name in ["../etc", "a/b", "", ".."] {
            assert!(
                matches!(registry.resolve(name, None), Err(RegistryError::BadName(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn search_by_name_description_and_capability() {
        let (_home, registry, key) = setup();
        registry
            .install(
                &spirit("alpha", "1.0.0", Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
        registry
            .install(
                &spirit("beta", "1.0.0", Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
        assert_eq!(registry.search("alp").unwrap().len(), 1);
        assert_eq!(registry.search("the beta").unwrap().len(), 1);
        assert_eq!(registry.search("actuator_log").unwrap().len(), 2);
        assert_eq!(registry.search("storage_read").unwrap().len(), 0);
    }
}
