//! The local registry: installed spirits, by name and version, under
//! `VUDO_HOME/registry` (see `docs/registry.md`).
//!
//! ```text
//! registry/
//!   index.redb                    every installed spirit (the source of truth)
//!   registry.lock                 the lock that guards changes
//!   spirits/<name>/<version>/     manifest.toml, <name>.wasm, signature.toml
//!   staging/                      a change under way; cleared by `repair`
//! ```
//!
//! [`Registry`] holds the operations and stays thin; each concern has its
//! own file: `entry` (what the index records of a version), `index` (the
//! redb index: its schema, reading, writing, migrating an `index.json`),
//! `legacy` (the one reader of the `index.json` earlier versions wrote),
//! `store` (the installed files on disk, staging), `path` (the check every
//! path passes: no symbolic link below `VUDO_HOME`), `transaction` (the lock,
//! the marker of a change under way, repair), `resolve` (names, semver
//! requirements, search). Signatures are checked with
//! [`sign::check_signed`] against the authors of [`trust`](crate::trust);
//! every path is named in [`home`](crate::home).
//!
//! Every change happens under an exclusive lock on `registry.lock` (std's
//! `File::lock`, an advisory `flock`), writes files under temporary names
//! and renames them into place, and commits the names it changed to the
//! index in one redb transaction, last.
//! A process killed at any point therefore leaves either the old state or the
//! new one plus leftovers, which the next change removes ([`Registry::repair`]).
//! Readers take a shared lock, so they never see a half-made change.
//!
//! Names are spirit names (letters, digits, `-`, `_`) and versions are
//! semantic versions, so no path built from them can leave the registry; and
//! no symbolic link is followed inside it.

mod dependencies;
mod entry;
mod error;
mod index;
mod legacy;
mod path;
mod resolve;
mod store;
mod transaction;

use std::path::{Path, PathBuf};

use semver::Version;

pub use entry::{Entry, Pinned};
pub use error::RegistryError;
pub use resolve::split_spec;

use crate::manifest::Dependency;
use crate::package::SpiritFiles;
use crate::sign::{self, Acceptance, Author, SignaturePolicy, VerifyError};
use resolve::validate_name;
pub use transaction::Installed;
use transaction::Transaction;

/// How to install.
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
/// let wasm = b"\0asm\x01\0\0\0".to_vec();
/// let manifest = Manifest::for_module("loose", "1.0.0".parse()?, &wasm);
/// let unsigned = SpiritFiles::new(manifest, wasm, None);
/// assert!(registry.install(&unsigned, InstallOptions::default()).is_err());
/// let options = InstallOptions { allow_unsigned: true, ..InstallOptions::default() };
/// assert!(registry.install(&unsigned, options)?.entry().unsigned);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct InstallOptions {
    /// Install an unsigned spirit (recorded in the index).
    pub allow_unsigned: bool,
    /// Replace the same name and version with different content.
    pub force: bool,
}

/// What [`Registry::upgrade`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgraded {
    /// The new version's entry.
    pub entry: Entry,
    /// The older versions removed.
    pub removed: Vec<Entry>,
    /// The older versions kept because installed spirits pin them, each
    /// with those spirits (`name@version`).
    pub kept: Vec<(Entry, Vec<String>)>,
}

/// The registry at `VUDO_HOME/registry`.
///
/// ```
/// use spirit_build::manifest::Manifest;
/// use spirit_build::package::SpiritFiles;
/// use spirit_build::registry::{InstallOptions, Registry};
/// use spirit_build::sign::Key;
///
/// let home = tempfile::tempdir()?; // a VUDO_HOME
/// let registry = Registry::new(home.path());
///
/// // Only spirits signed by a trusted author are installed.
/// let key = Key::generate()?;
/// registry.trust(key.author())?;
/// let wasm = b"\0asm\x01\0\0\0".to_vec();
/// let manifest = Manifest::for_module("hello", "1.2.0".parse()?, &wasm);
/// registry.install(&SpiritFiles::new(manifest, wasm, Some(&key)), InstallOptions::default())?;
///
/// let entry = registry.resolve("hello", Some("^1"))?;
/// let files = registry.load(&entry)?; // checked against the index again
/// assert_eq!(files.manifest.name, "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Registry {
    root: PathBuf,
    home: PathBuf,
}

impl Registry {
    /// The registry under `home` (a `VUDO_HOME`); nothing is created until
    /// the first change.
    ///
    /// ```
    /// use spirit_build::registry::Registry;
    /// let registry = Registry::new("/srv/vudo".as_ref());
    /// assert_eq!(registry.root(), std::path::Path::new("/srv/vudo/registry"));
    /// ```
    pub fn new(home: &Path) -> Registry {
        Registry {
            root: crate::home::registry_dir(home),
            home: home.to_owned(),
        }
    }

    /// The registry under [`vudo_home`](crate::home::vudo_home).
    ///
    /// ```no_run
    /// use spirit_build::registry::Registry;
    /// let registry = Registry::open_default()?; // $VUDO_HOME/registry, or ~/.vudo/registry
    /// println!("{} installed", registry.list()?.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when `VUDO_HOME` is unset and there is no home directory.
    pub fn open_default() -> Result<Registry, RegistryError> {
        Ok(Registry::new(&crate::home::vudo_home()?))
    }

    /// The `VUDO_HOME` it lives in.
    ///
    /// ```
    /// use spirit_build::registry::Registry;
    /// let registry = Registry::new("/srv/vudo".as_ref());
    /// assert_eq!(registry.home(), std::path::Path::new("/srv/vudo"));
    /// ```
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The registry's directory, `<home>/registry`.
    ///
    /// ```
    /// use spirit_build::registry::Registry;
    /// let registry = Registry::new("/srv/vudo".as_ref());
    /// assert_eq!(registry.root(), std::path::Path::new("/srv/vudo/registry"));
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a version's files live.
    ///
    /// ```
    /// use spirit_build::registry::Registry;
    /// let registry = Registry::new("/srv/vudo".as_ref());
    /// assert_eq!(
    ///     registry.spirit_dir("hello", &"1.2.0".parse().unwrap()),
    ///     std::path::Path::new("/srv/vudo/registry/spirits/hello/1.2.0"),
    /// );
    /// ```
    pub fn spirit_dir(&self, name: &str, version: &Version) -> PathBuf {
        crate::home::installed_version_dir(&self.home, name, version)
    }

    /// Every installed version of `name`, lowest first (empty when none).
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
    /// for version in ["1.0.0", "2.0.0"] {
    ///     registry.install(&spirit("hello", version), InstallOptions::default())?;
    /// }
    /// let versions = registry.versions("hello")?;
    /// assert_eq!(versions.iter().map(|e| e.version.to_string()).collect::<Vec<_>>(), ["1.0.0", "2.0.0"]);
    /// assert!(registry.versions("other")?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails for an invalid name or an unreadable index.
    pub fn versions(&self, name: &str) -> Result<Vec<Entry>, RegistryError> {
        validate_name(name)?;
        let (_lock, index) = transaction::read_index(&self.home)?;
        Ok(match index {
            Some(index) => index.versions(name)?.into_values().collect(),
            None => Vec::new(),
        })
    }

    /// Every installed version, by name then version.
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
    /// registry.install(&spirit("beta", "1.0.0"), InstallOptions::default())?;
    /// registry.install(&spirit("alpha", "1.0.0"), InstallOptions::default())?;
    /// let names: Vec<String> = registry.list()?.into_iter().map(|e| e.name).collect();
    /// assert_eq!(names, ["alpha", "beta"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn list(&self) -> Result<Vec<Entry>, RegistryError> {
        let mut all = Vec::new();
        self.each(0, usize::MAX, |entry| all.push(entry))?;
        Ok(all)
    }

    /// One page of [`Registry::list`]: at most `limit` entries, after the
    /// first `offset`. It costs the rows it reads (those before `offset`
    /// are skipped without being kept), not the whole index.
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
    /// for name in ["alpha", "beta", "gamma"] {
    ///     registry.install(&spirit(name, "1.0.0"), InstallOptions::default())?;
    /// }
    /// let page: Vec<String> = registry.list_page(1, 1)?.into_iter().map(|e| e.name).collect();
    /// assert_eq!(page, ["beta"]);
    /// assert!(registry.list_page(3, 10)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn list_page(&self, offset: usize, limit: usize) -> Result<Vec<Entry>, RegistryError> {
        let mut page = Vec::new();
        self.each(offset, limit, |entry| page.push(entry))?;
        Ok(page)
    }

    /// Streams the installed versions, by name then version, to `each` as
    /// they are read (skipping `offset`, at most `limit`): nothing but the
    /// current row is held, whatever the number installed.
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
    /// registry.install(&spirit("alpha", "1.0.0"), InstallOptions::default())?;
    /// let mut count = 0;
    /// registry.each(0, usize::MAX, |_| count += 1)?;
    /// assert_eq!(count, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn each(
        &self,
        offset: usize,
        limit: usize,
        each: impl FnMut(Entry),
    ) -> Result<(), RegistryError> {
        let (_lock, index) = transaction::read_index(&self.home)?;
        match index {
            Some(index) => index.entries(offset, limit, each),
            None => Ok(()),
        }
    }

    /// Installed versions whose name or description contains `query`, or
    /// that declare a capability equal to it (case-insensitive).
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
    /// registry.install(&spirit("greeter", "1.0.0"), InstallOptions::default())?;
    /// assert_eq!(registry.search("GREET")?.len(), 1);
    /// assert!(registry.search("storage_read")?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn search(&self, query: &str) -> Result<Vec<Entry>, RegistryError> {
        let query = query.to_lowercase();
        let mut found = Vec::new();
        let (_lock, index) = transaction::read_index(&self.home)?;
        if let Some(index) = index {
            index.search(&query, |e| resolve::found(e, &query), |e| found.push(e))?;
        }
        Ok(found)
    }

    /// The highest installed version of `name` that matches `req` (any
    /// version when `None`).
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
    /// for version in ["1.0.0", "1.2.5", "2.0.0"] {
    ///     registry.install(&spirit("hello", version), InstallOptions::default())?;
    /// }
    /// assert_eq!(registry.resolve("hello", None)?.version.to_string(), "2.0.0");
    /// assert_eq!(registry.resolve("hello", Some("^1"))?.version.to_string(), "1.2.5");
    /// assert_eq!(
    ///     registry.resolve("hello", Some("^3")).unwrap_err().to_string(),
    ///     "no installed version of `hello` matches `^3`; installed: 1.0.0, 1.2.5, 2.0.0"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when nothing matches; the message lists what is installed.
    pub fn resolve(&self, name: &str, req: Option<&str>) -> Result<Entry, RegistryError> {
        let (_lock, entry) = self.resolve_locked(name, req)?;
        Ok(entry)
    }

    /// [`Registry::resolve`], keeping the shared lock it read the index
    /// under.
    fn resolve_locked(
        &self,
        name: &str,
        req: Option<&str>,
    ) -> Result<(transaction::Lock, Entry), RegistryError> {
        validate_name(name)?;
        let req = resolve::parse_req(name, req)?;
        let (lock, index) = transaction::read_index(&self.home)?;
        let versions = match index {
            Some(index) => index.versions(name)?,
            None => entry::Versions::new(),
        };
        if versions.is_empty() {
            return Err(RegistryError::NotInstalled(name.to_owned()));
        }
        Ok((lock, resolve::highest_match(name, &versions, &req)?))
    }

    /// The highest installed version of `name` that matches `req`, and its
    /// files, checked as [`Registry::load`] checks them: what `cargo spirit
    /// run NAME[@REQ]` runs. Both are read under one lock, so the version
    /// resolved is the version loaded, even while another process
    /// uninstalls or upgrades it.
    ///
    /// ```
    /// # use spirit_build::{manifest::Manifest, package::SpiritFiles, sign::Key};
    /// # use spirit_build::registry::{InstallOptions, Registry};
    /// # let home = tempfile::tempdir()?;
    /// # let registry = Registry::new(home.path());
    /// # let key = Key::generate()?;
    /// # registry.trust(key.author())?;
    /// # let wasm = b"\0asm\x01\0\0\0".to_vec();
    /// # let manifest = Manifest::for_module("hello", "1.2.0".parse()?, &wasm);
    /// # registry.install(&SpiritFiles::new(manifest, wasm, Some(&key)), InstallOptions::default())?;
    /// let (entry, files) = registry.resolve_and_load("hello", Some("^1"))?;
    /// assert_eq!(entry.version.to_string(), "1.2.0");
    /// assert_eq!(files.manifest.wasm.blake3, entry.blake3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Registry::resolve`] and [`Registry::load`].
    pub fn resolve_and_load(
        &self,
        name: &str,
        req: Option<&str>,
    ) -> Result<(Entry, SpiritFiles), RegistryError> {
        let Loaded { entry, files, .. } = self.resolve_and_load_hashed(name, req)?;
        Ok((entry, files))
    }

    /// [`Registry::resolve_and_load`], with the blake3 of the wasm the
    /// check computed, for the code cache.
    pub(crate) fn resolve_and_load_hashed(
        &self,
        name: &str,
        req: Option<&str>,
    ) -> Result<Loaded, RegistryError> {
        let (_lock, entry) = self.resolve_locked(name, req)?;
        let (files, wasm_hash) = self.load_locked(&entry)?;
        Ok(Loaded {
            entry,
            files,
            wasm_hash,
        })
    }

    /// The installed files of an entry, checked against the index: the wasm's
    /// blake3 must still be the one recorded at install, and the signature
    /// must still verify (unless it was installed unsigned).
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
    /// let entry = registry.install(&spirit("hello", "1.0.0"), InstallOptions::default())?.entry().clone();
    /// let files = registry.load(&entry)?;
    /// assert_eq!(files.manifest.wasm.blake3, entry.blake3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when a file is missing, a link, or changed since install.
    pub fn load(&self, entry: &Entry) -> Result<SpiritFiles, RegistryError> {
        let _lock = transaction::lock_for_reading(&self.home)?;
        Ok(self.load_locked(entry)?.0)
    }

    /// [`Registry::load`] under a lock the caller holds; with the wasm's
    /// blake3.
    fn load_locked(&self, entry: &Entry) -> Result<(SpiritFiles, blake3::Hash), RegistryError> {
        let files = store::read(&self.home, entry)?;
        let tampered = |error: String| RegistryError::Tampered {
            name: entry.name.clone(),
            version: entry.version.clone(),
            error,
        };
        let hash = blake3::hash(&files.wasm);
        let actual = hash.to_hex().to_string();
        if actual != entry.blake3 {
            return Err(tampered(format!(
                "wasm hash mismatch: the index has {}, the file has {actual}",
                entry.blake3
            )));
        }
        let policy = SignaturePolicy {
            unsigned: if entry.unsigned {
                Acceptance::Allow
            } else {
                Acceptance::Refuse
            },
            ..SignaturePolicy::CONSISTENT
        };
        // `SpiritFiles::read` parsed the manifest from these bytes, and the
        // wasm was hashed above: neither is done twice.
        // `install` refused a manifest not in canonical form; a signature
        // that verifies proves these are the bytes it checked.
        let known = sign::Known {
            manifest: Some(&files.manifest),
            wasm_hash: Some(hash),
            canonical_if_signed: true,
        };
        sign::check_signed_known(files.signed(), known, &policy, &[])
            .map_err(|e| tampered(e.to_string()))?;
        Ok((files, hash))
    }

    /// Installs a spirit: verifies it (hash, signature, trusted author),
    /// then writes its files and the index atomically.
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
    /// let installed = registry.install(&spirit("hello", "1.0.0"), InstallOptions::default())?;
    /// assert!(registry.spirit_dir("hello", &installed.entry().version).join("hello.wasm").is_file());
    ///
    /// let stranger = Key::generate()?;
    /// let wasm = b"\0asm\x01\0\0\0".to_vec();
    /// let manifest = Manifest::for_module("other", "1.0.0".parse()?, &wasm);
    /// let error = registry.install(&SpiritFiles::new(manifest, wasm, Some(&stranger)), InstallOptions::default());
    /// assert!(error.unwrap_err().to_string().contains("who is not trusted"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

    /// Installs several spirits under one lock and one index commit: all of
    /// them are verified first, so one that is refused leaves the registry
    /// unchanged. Their files are flushed all at once before the commit
    /// (`syncfs` on Linux), so a batch of thousands is not thousands of
    /// flushes.
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
    /// let spirits = [spirit("alpha", "1.0.0"), spirit("beta", "1.0.0")];
    /// assert_eq!(registry.install_many(&spirits, InstallOptions::default())?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Registry::install`], for the first spirit that is refused.
    pub fn install_many(
        &self,
        spirits: &[SpiritFiles],
        options: InstallOptions,
    ) -> Result<Vec<Installed>, RegistryError> {
        let trusted = crate::trust::trusted_authors(&self.home)?;
        let entries = spirits
            .iter()
            .map(|files| admit(files, options, &trusted))
            .collect::<Result<Vec<Entry>, _>>()?;

        let mut change =
            Transaction::begin(&self.home)?.batched(store::Flush::for_batch(spirits.len()));
        dependencies::check_installable(
            spirits,
            &entries,
            &mut change,
            &trusted,
            options.allow_unsigned,
        )?;
        // First every conflict, so that nothing is written when one is
        // refused: with what is installed, and within the spirits given.
        for (i, entry) in entries.iter().enumerate() {
            let earlier = entries[..i]
                .iter()
                .rev()
                .find(|e| e.name == entry.name && entry::same_version(&e.version, &entry.version))
                .cloned();
            let existing = match earlier {
                Some(earlier) => Some(earlier),
                None => change.get(&entry.name, &entry.version)?,
            };
            if let Some(existing) = existing
                && existing != *entry
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
        let results = spirits
            .iter()
            .zip(entries)
            .map(|(files, entry)| change.install(files, entry))
            .collect::<Result<Vec<_>, _>>()?;
        change.commit()?;
        Ok(results)
    }

    /// Removes `name` (one version, or every version), returning what was
    /// removed.
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
    /// for version in ["1.0.0", "2.0.0"] {
    ///     registry.install(&spirit("hello", version), InstallOptions::default())?;
    /// }
    /// assert_eq!(registry.uninstall("hello", Some(&"2.0.0".parse()?))?.len(), 1);
    /// assert_eq!(registry.uninstall("hello", None)?.len(), 1);
    /// assert!(registry.list()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when nothing matches, and when installed spirits depend on
    /// what would be removed ([`RegistryError::DependedOn`], naming them).
    pub fn uninstall(
        &self,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Entry>, RegistryError> {
        self.uninstall_with(name, version, false)
    }

    /// [`Registry::uninstall`]; with `force`, also what installed spirits
    /// depend on (their calls to it then fail, naming it).
    ///
    /// # Errors
    ///
    /// As [`Registry::uninstall`], but for the dependents when forced.
    pub fn uninstall_with(
        &self,
        name: &str,
        version: Option<&Version>,
        force: bool,
    ) -> Result<Vec<Entry>, RegistryError> {
        validate_name(name)?;
        let mut change = Transaction::begin(&self.home)?;
        if !force {
            // Dependents of the versions removed, other than themselves.
            let dependents: Vec<String> = dependencies::callers(&change.dependents(name)?, version)
                .into_iter()
                .filter(|(caller, _)| caller != name)
                .map(|(caller, version)| format!("{caller}@{version}"))
                .collect();
            if !dependents.is_empty() {
                return Err(RegistryError::DependedOn {
                    name: name.to_owned(),
                    dependents,
                });
            }
        }
        let removed = change.remove(name, |versions| match version {
            Some(v) => {
                let removed = resolve::take_version(versions, v);
                if removed.is_empty() {
                    Err(resolve::no_match(name, format!("={v}"), versions))
                } else {
                    Ok(removed)
                }
            }
            None => Ok(std::mem::take(versions).into_values().collect()),
        })?;
        change.commit()?;
        Ok(removed)
    }

    /// Installs a newer version of an installed spirit and removes the older
    /// ones, in one change: interrupted, it leaves the old versions or the
    /// new one, never both. An older version that installed spirits pin
    /// (their calls are to that version's exact bytes) is kept, and
    /// [`Upgraded::kept`] says which and for whom.
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
    /// registry.install(&spirit("hello", "1.0.0"), InstallOptions::default())?;
    /// let upgraded = registry.upgrade(&spirit("hello", "1.1.0"), InstallOptions::default())?;
    /// assert_eq!(upgraded.entry.version.to_string(), "1.1.0");
    /// assert_eq!(upgraded.removed[0].version.to_string(), "1.0.0");
    /// assert!(upgraded.kept.is_empty()); // nothing installed pins 1.0.0
    /// assert_eq!(registry.versions("hello")?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the spirit is not installed, the version is not newer, or
    /// the install fails; the registry is unchanged then.
    pub fn upgrade(
        &self,
        files: &SpiritFiles,
        options: InstallOptions,
    ) -> Result<Upgraded, RegistryError> {
        let name = files.manifest.name.as_str();
        validate_name(name)?;
        let mut change = Transaction::begin(&self.home)?;
        let current = change
            .versions(name)?
            .last_key_value()
            .map(|(version, _)| version.clone())
            .ok_or_else(|| RegistryError::NotInstalled(name.to_owned()))?;
        let new = resolve::version_of(files)?;
        if new.cmp_precedence(&current).is_le() {
            return Err(RegistryError::NotNewer {
                name: name.to_owned(),
                installed: current,
                new,
            });
        }
        let trusted = crate::trust::trusted_authors(&self.home)?;
        let entry = admit(files, options, &trusted)?;
        // Who pins which version, other than the spirit itself.
        let pinners: Vec<_> = change
            .dependents(name)?
            .into_iter()
            .filter(|(caller, _, _)| caller != name)
            .collect();
        let entry = change.install(files, entry)?.entry().clone();
        let mut kept = Vec::new();
        let removed = change.remove(name, |versions| {
            let newer = versions.split_off(&new);
            let mut removed = Vec::new();
            for (version, old) in std::mem::replace(versions, newer) {
                let by: Vec<String> = dependencies::callers(&pinners, Some(&version))
                    .into_iter()
                    .map(|(caller, version)| format!("{caller}@{version}"))
                    .collect();
                if by.is_empty() {
                    removed.push(old);
                } else {
                    kept.push((old.clone(), by));
                    versions.insert(version, old);
                }
            }
            Ok(removed)
        })?;
        change.commit()?;
        Ok(Upgraded {
            entry,
            removed,
            kept,
        })
    }

    /// Brings the registry back to the state its index describes after a
    /// crash: restores a version a forced reinstall had moved aside, drops
    /// index entries whose files are gone, and removes staged and
    /// unreferenced files. Returns what it did, in words.
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
    /// registry.install(&spirit("hello", "1.0.0"), InstallOptions::default())?;
    /// // Files the index does not name, as a killed install leaves them.
    /// let ghost = spirit_build::home::installed_version_dir(registry.home(), "ghost", &"0.1.0");
    /// std::fs::create_dir_all(ghost)?;
    /// let done = registry.repair()?;
    /// assert!(done[0].starts_with("removed unreferenced"));
    /// assert_eq!(registry.list()?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read or written.
    pub fn repair(&self) -> Result<Vec<String>, RegistryError> {
        transaction::repair(&self.home)
    }

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
    /// only, when given), lowest name and version first: one lookup in the
    /// index's reverse table, whatever the number of spirits installed.
    ///
    /// # Errors
    ///
    /// Fails when the index cannot be read.
    pub fn dependents(
        &self,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Entry>, RegistryError> {
        validate_name(name)?;
        let (_lock, index) = transaction::read_index(&self.home)?;
        let Some(index) = index else {
            return Ok(Vec::new());
        };
        let callers = dependencies::callers(&index.dependents(name)?, version);
        let mut entries = Vec::new();
        for (caller, caller_version) in callers {
            entries.extend(
                index
                    .versions(&caller)?
                    .into_values()
                    .filter(|e| entry::same_version(&e.version, &caller_version)),
            );
        }
        Ok(entries)
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
        let entry = dependencies::pinned_entry(&self.home, dependency)?;
        let files = self.load(&entry)?;
        Ok((entry, files))
    }

    /// Adds an author to `VUDO_HOME/trusted.toml`; returns whether it was new.
    ///
    /// ```
    /// use spirit_build::registry::Registry;
    /// use spirit_build::sign::Key;
    /// let home = tempfile::tempdir()?;
    /// let registry = Registry::new(home.path());
    /// let author = Key::generate()?.author();
    /// assert!(registry.trust(author)?);
    /// assert!(!registry.trust(author)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or written.
    pub fn trust(&self, author: Author) -> Result<bool, RegistryError> {
        Ok(crate::trust::set_trusted(&self.home, author, true)?)
    }

    /// Removes an author from `VUDO_HOME/trusted.toml`; returns whether it was there.
    ///
    /// ```
    /// use spirit_build::registry::Registry;
    /// use spirit_build::sign::Key;
    /// let home = tempfile::tempdir()?;
    /// let registry = Registry::new(home.path());
    /// let author = Key::generate()?.author();
    /// assert!(!registry.untrust(author)?);
    /// registry.trust(author)?;
    /// assert!(registry.untrust(author)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or written.
    pub fn untrust(&self, author: Author) -> Result<bool, RegistryError> {
        Ok(crate::trust::set_trusted(&self.home, author, false)?)
    }
}

/// An installed spirit resolved and loaded ([`Registry::resolve_and_load`]).
pub(crate) struct Loaded {
    /// Its index entry.
    pub(crate) entry: Entry,
    /// Its files, checked.
    pub(crate) files: SpiritFiles,
    /// The blake3 of `files.wasm`.
    pub(crate) wasm_hash: blake3::Hash,
}

/// Verifies a spirit for installation (the signed-files check with the
/// install policy) and makes its index entry.
fn admit(
    files: &SpiritFiles,
    options: InstallOptions,
    trusted: &[Author],
) -> Result<Entry, RegistryError> {
    let name = files.manifest.name.clone();
    validate_name(&name)?;
    if let Some(reason) = crate::package::wasm_file_problem(&files.manifest) {
        return Err(RegistryError::WasmFile { name, reason });
    }
    let policy = SignaturePolicy {
        unsigned: if options.allow_unsigned {
            Acceptance::Allow
        } else {
            Acceptance::Refuse
        },
        untrusted: Acceptance::Refuse,
        author: None,
    };
    let author = match sign::check_signed(files.signed(), &policy, trusted) {
        Ok(verdict) => verdict.author(),
        Err(VerifyError::Unsigned) => return Err(RegistryError::Unsigned(name)),
        Err(VerifyError::Untrusted(author)) => {
            return Err(RegistryError::Untrusted { name, author });
        }
        Err(error) => return Err(RegistryError::Verify { name, error }),
    };
    Ok(Entry::new(files, resolve::version_of(files)?, author))
}

#[cfg(test)]
mod tests;
