//! Changing the registry safely: the `flock` on `registry.lock`, one
//! [`Transaction`] per change, the marker that says a change is under way,
//! and [`repair`], which completes or undoes an interrupted one.
//!
//! A change stages files and renames them into place, moving a version it
//! replaces aside into `staging/`; then it commits the names it changed to
//! the index in one redb transaction: that commit is the change's commit
//! point. Only after it are removed and set-aside versions deleted. So a
//! process killed at any point leaves the index describing the old state or
//! the new one, plus files the index does not name, and a marker in
//! `staging/`. The next change sees the marker and repairs first: what the
//! index names is kept (a set-aside version is restored if its directory is
//! gone), and everything else is removed.
//!
//! `upgrade` installs the new version and removes the older ones in one
//! transaction, so an interrupted upgrade ends with the old versions (index
//! not yet written) or with the new one alone, never with both.

use std::fs::File;
use std::path::{Path, PathBuf};

use semver::Version;

use std::collections::BTreeMap;

use super::entry::{Versions, same_version};
use super::index::{Dependent, Opened, Reader, Writer};
use super::path::checked;
use super::store::{self, Flush, read_dir_paths, remove_any, rename, sync_dir};
use super::{Entry, RegistryError};
use crate::fs::FsError;
use crate::package::SpiritFiles;

/// A held registry lock; released when the file is closed on drop.
#[derive(Debug)]
pub(super) struct Lock {
    _file: File,
}

/// Takes the registry's lock: exclusive for a change, shared for reading.
pub(super) fn lock(home: &Path, exclusive: bool) -> Result<Lock, RegistryError> {
    store::create_dir_all(home, crate::home::registry_dir(home))?;
    let path = checked(home, crate::home::registry_lock(home))?;
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

/// Takes the shared lock for reading, after completing or undoing a change
/// that was interrupted (a process killed mid-change leaves files in
/// `staging/`): a reader then sees the state the index describes, not a
/// forced reinstall's half-replaced files reported as tampering. While a
/// change is under way, this waits for it.
pub(super) fn lock_for_reading(home: &Path) -> Result<Lock, RegistryError> {
    let staging = crate::home::registry_staging_dir(home);
    if !read_dir_paths(home, &staging)?.is_empty() {
        let _exclusive = lock(home, true)?;
        // Checked again under the lock: the change may have just finished.
        if !read_dir_paths(home, &staging)?.is_empty() {
            repair_locked(home)?;
        }
    }
    lock(home, false)
}

/// The index for reading, under the shared lock (see [`lock_for_reading`]);
/// `None` when nothing was ever installed. An `index.json` to migrate, or a
/// database a killed change left unrepaired, is first opened once under the
/// exclusive lock.
pub(super) fn read_index(home: &Path) -> Result<(Lock, Option<Reader>), RegistryError> {
    for _ in 0..2 {
        let shared = lock_for_reading(home)?;
        match Reader::open(home)? {
            Opened::Empty => return Ok((shared, None)),
            Opened::Ready(reader) => return Ok((shared, Some(reader))),
            Opened::NeedsWriter => {
                drop(shared);
                let _exclusive = lock(home, true)?;
                Writer::open(home)?;
            }
        }
    }
    // A writer opened it and closed it cleanly; another change may have
    // left it unrepaired again in between, so once more, at most.
    let shared = lock_for_reading(home)?;
    match Reader::open(home)? {
        Opened::Ready(reader) => Ok((shared, Some(reader))),
        _ => Ok((shared, None)),
    }
}

/// Stops the process at `step` of a change, for tests that kill it there:
/// only in debug builds, and only when `CARGO_SPIRIT_TEST_PAUSE_AT` names
/// the step; the file `CARGO_SPIRIT_TEST_PAUSED` is created to say so.
fn pause_point(step: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("CARGO_SPIRIT_TEST_PAUSE_AT").is_some_and(|at| at == step) {
        if let Some(paused) = std::env::var_os("CARGO_SPIRIT_TEST_PAUSED") {
            let _ = crate::fs::write_atomic(std::path::Path::new(&paused), step.as_bytes());
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// One change to the registry, under the exclusive lock from
/// [`Transaction::begin`] to [`Transaction::commit`]. Dropped without a
/// commit, it leaves its marker, and the next change repairs.
#[derive(Debug)]
pub(super) struct Transaction<'h> {
    home: &'h Path,
    /// Declared before the lock, so dropped (closed) while it is held.
    index: Writer,
    _lock: Lock,
    /// The versions of each name the change has read, as they will be
    /// written: only these rows of the index are read and written.
    names: BTreeMap<String, Versions>,
    /// The marker, once something on disk has changed.
    marker: Option<PathBuf>,
    /// Replaced versions, moved aside until the commit.
    set_aside: Vec<PathBuf>,
    /// Removed versions, deleted after the commit.
    removed: Vec<Entry>,
    /// How staged files reach the disk: each as written, or all at once
    /// before the commit.
    flush: Flush,
}

impl<'h> Transaction<'h> {
    /// Takes the exclusive lock, repairs an interrupted change, and opens
    /// the index.
    pub(super) fn begin(home: &'h Path) -> Result<Transaction<'h>, RegistryError> {
        let lock = lock(home, true)?;
        if !read_dir_paths(home, &crate::home::registry_staging_dir(home))?.is_empty() {
            // Only then: a normal change does not re-read every installed spirit.
            repair_locked(home)?;
        }
        Ok(Transaction {
            home,
            _lock: lock,
            index: Writer::open(home)?,
            names: BTreeMap::new(),
            marker: None,
            set_aside: Vec::new(),
            removed: Vec::new(),
            flush: Flush::Each,
        })
    }

    /// Flushes staged files all at once before the commit instead of one
    /// by one (see [`Flush`]): for a change that installs many spirits.
    pub(super) fn batched(mut self, flush: Flush) -> Transaction<'h> {
        self.flush = flush;
        self
    }

    /// The versions of `name` as this change sees them, read from the index
    /// the first time.
    pub(super) fn versions(&mut self, name: &str) -> Result<&mut Versions, RegistryError> {
        if !self.names.contains_key(name) {
            let versions = self.index.reader()?.versions(name)?;
            self.names.insert(name.to_owned(), versions);
        }
        Ok(self
            .names
            .get_mut(name)
            .expect("the name's versions were just read"))
    }

    /// The entry of `name` at `version` (build metadata ignored), if
    /// installed.
    pub(super) fn get(
        &mut self,
        name: &str,
        version: &Version,
    ) -> Result<Option<Entry>, RegistryError> {
        Ok(self
            .versions(name)?
            .values()
            .find(|e| same_version(&e.version, version))
            .cloned())
    }

    /// Who depends on `name`, as the index records it before this change.
    pub(super) fn dependents(&self, name: &str) -> Result<Vec<Dependent>, RegistryError> {
        self.index.reader()?.dependents(name)
    }

    /// Marks the change as under way, before its first change on disk: a
    /// marker file in `staging/` that only [`Transaction::commit`] removes.
    fn mark(&mut self) -> Result<(), RegistryError> {
        if self.marker.is_none() {
            store::create_dir_all(self.home, crate::home::registry_staging_dir(self.home))?;
            let marker = checked(
                self.home,
                crate::home::change_marker(self.home, std::process::id()),
            )?;
            crate::fs::write_atomic(&marker, b"a registry change is under way\n")?;
            self.marker = Some(marker);
        }
        Ok(())
    }

    /// Puts a verified spirit's files in place and records `entry`; the
    /// caller has refused conflicts. Nothing changes when the same entry is
    /// installed.
    pub(super) fn install(
        &mut self,
        files: &SpiritFiles,
        entry: Entry,
    ) -> Result<Installed, RegistryError> {
        let existing = self.get(&entry.name, &entry.version)?;
        if existing.as_ref() == Some(&entry) {
            return Ok(Installed::Unchanged(entry));
        }
        let replacing = existing.is_some();
        self.mark()?;
        // An index written before build metadata stopped counting may hold
        // this version under another name (`1.0.0+old`): set that aside too.
        if let Some(old) = existing.filter(|old| old.version != entry.version) {
            let old_dir = checked(
                self.home,
                crate::home::installed_version_dir(self.home, &old.name, &old.version),
            )?;
            if std::fs::symlink_metadata(&old_dir).is_ok() {
                let aside = crate::home::set_aside_dir(
                    self.home,
                    &old.name,
                    &old.version,
                    std::process::id(),
                );
                rename(self.home, &old_dir, &aside)?;
                self.set_aside.push(aside);
            }
            self.versions(&old.name)?.remove(&old.version);
        }
        let staged = store::stage(self.home, files, self.flush)?;
        let parent = store::create_dir_all(
            self.home,
            crate::home::installed_name_dir(self.home, &entry.name),
        )?;
        let dir = checked(
            self.home,
            crate::home::installed_version_dir(self.home, &entry.name, &entry.version),
        )?;
        if std::fs::symlink_metadata(&dir).is_ok() {
            if replacing {
                let aside = crate::home::set_aside_dir(
                    self.home,
                    &entry.name,
                    &entry.version,
                    std::process::id(),
                );
                rename(self.home, &dir, &aside)?;
                self.set_aside.push(aside);
            } else {
                // Not in the index: files an interrupted change left behind.
                remove_any(self.home, &dir)?;
            }
        }
        rename(self.home, &staged, &dir)?;
        if self.flush == Flush::Each {
            sync_dir(&parent);
        }
        self.versions(&entry.name)?
            .insert(entry.version.clone(), entry.clone());
        Ok(if replacing {
            Installed::Replaced(entry)
        } else {
            Installed::New(entry)
        })
    }

    /// Removes the versions of `name` that `select` picks from the index;
    /// their files go after the commit. Returns what it removed, lowest
    /// version first.
    pub(super) fn remove(
        &mut self,
        name: &str,
        select: impl FnOnce(&mut Versions) -> Result<Vec<Entry>, RegistryError>,
    ) -> Result<Vec<Entry>, RegistryError> {
        let versions = self.versions(name)?;
        if versions.is_empty() {
            return Err(RegistryError::NotInstalled(name.to_owned()));
        }
        let removed = select(versions)?;
        // Refused before anything changes: a removal never goes through a link.
        for entry in &removed {
            checked(
                self.home,
                crate::home::installed_version_dir(self.home, &entry.name, &entry.version),
            )?;
        }
        if !removed.is_empty() {
            self.mark()?;
        }
        self.removed.extend(removed.iter().cloned());
        Ok(removed)
    }

    /// Commits the names it changed to the index: the commit point (apart
    /// from `commit` so that the tests can stop here, as a crash would).
    fn write(&mut self) -> Result<(), RegistryError> {
        if self.marker.is_some() {
            if self.flush == Flush::Batched {
                store::flush_all(self.home)?;
            }
            self.index.commit(&self.names)?;
        }
        Ok(())
    }

    /// Commits: writes the index, then deletes what it no longer names and
    /// removes the marker.
    pub(super) fn commit(mut self) -> Result<(), RegistryError> {
        pause_point("before-index-write");
        self.write()?;
        pause_point("after-index-write");
        // Best effort from here: what is left, the next change repairs.
        for aside in &self.set_aside {
            let _ = remove_any(self.home, aside);
        }
        for entry in &self.removed {
            let _ = remove_any(
                self.home,
                &crate::home::installed_version_dir(self.home, &entry.name, &entry.version),
            );
            // Only when it is empty: the name's last version is gone.
            if let Ok(name_dir) = checked(
                self.home,
                crate::home::installed_name_dir(self.home, &entry.name),
            ) {
                let _ = std::fs::remove_dir(name_dir);
            }
        }
        if let Some(marker) = self.marker.take() {
            let _ = remove_any(self.home, &marker);
        }
        Ok(())
    }
}

/// Brings the registry back to the state its index describes (see
/// [`Registry::repair`](super::Registry::repair)), under the exclusive lock.
pub(super) fn repair(home: &Path) -> Result<Vec<String>, RegistryError> {
    let _lock = lock(home, true)?;
    repair_locked(home)
}

fn repair_locked(home: &Path) -> Result<Vec<String>, RegistryError> {
    let mut done = Vec::new();
    let staging = crate::home::registry_staging_dir(home);
    let staged = read_dir_paths(home, &staging)?;
    let index = Writer::open(home)?;
    let mut names = index.reader()?.all()?;
    let mut changed = BTreeMap::new();
    // Every entry must have its files, with the recorded wasm.
    for (name, versions) in &mut names {
        let mut dropped = Vec::new();
        for (version, entry) in versions.iter() {
            let dir = crate::home::installed_version_dir(home, &entry.name, version);
            if store::holds(home, &dir, entry)? {
                continue;
            }
            // A forced reinstall moved the old version aside, then died.
            let mut aside = None;
            for path in staged.iter().filter(|p| crate::home::is_set_aside(p)) {
                if store::holds(home, path, entry)? {
                    aside = Some(path);
                    break;
                }
            }
            if let Some(aside) = aside {
                remove_any(home, &dir)?;
                rename(home, aside, &dir)?;
                done.push(format!(
                    "restored {}@{version} from an interrupted reinstall",
                    entry.name
                ));
                continue;
            }
            done.push(format!(
                "dropped {}@{version}: its files are missing or changed",
                entry.name
            ));
            dropped.push(version.clone());
        }
        if !dropped.is_empty() {
            for version in dropped {
                versions.remove(&version);
            }
            changed.insert(name.clone(), versions.clone());
        }
    }
    names.retain(|_, versions| !versions.is_empty());
    if !changed.is_empty() {
        index.commit(&changed)?;
    }
    drop(index);
    // Leftovers: staging, temporary files of a killed write, and
    // directories the index does not name.
    for path in read_dir_paths(home, &staging)? {
        remove_any(home, &path)?;
        done.push(format!("removed leftover {}", path.display()));
    }
    for path in read_dir_paths(home, &crate::home::registry_dir(home))? {
        if crate::fs::is_temporary(&path) {
            remove_any(home, &path)?;
            done.push(format!("removed leftover {}", path.display()));
        }
    }
    for name_dir in read_dir_paths(home, &crate::home::installed_spirits_dir(home))? {
        let name = name_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let versions = names.get(&name);
        if versions.is_none() {
            remove_any(home, &name_dir)?;
            done.push(format!("removed unreferenced {}", name_dir.display()));
            continue;
        }
        for version_dir in read_dir_paths(home, &name_dir)? {
            let listed = version_dir
                .file_name()
                .and_then(|v| Version::parse(&v.to_string_lossy()).ok())
                .is_some_and(|v| versions.is_some_and(|vs| vs.contains_key(&v)));
            if !listed {
                remove_any(home, &version_dir)?;
                done.push(format!("removed unreferenced {}", version_dir.display()));
            }
        }
    }
    Ok(done)
}

/// What an install did.
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
/// use spirit_build::registry::Installed;
///
/// let hello = spirit("hello", "1.0.0");
/// assert!(matches!(registry.install(&hello, InstallOptions::default())?, Installed::New(_)));
/// assert!(matches!(registry.install(&hello, InstallOptions::default())?, Installed::Unchanged(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// assert_eq!(installed.entry().version.to_string(), "1.0.0");
    /// assert_eq!(installed.entry().author, Some(key.author().to_string()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entry(&self) -> &Entry {
        match self {
            Installed::New(e) | Installed::Unchanged(e) | Installed::Replaced(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::registry::{InstallOptions, Registry};
    use crate::sign::Key;

    fn spirit(version: &str, key: &Key) -> SpiritFiles {
        let wasm = wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (func (export "run")) (data (i32.const 0) "{version}"))"#
        ))
        .unwrap();
        let manifest = Manifest::for_module("phoenix", version.parse().unwrap(), &wasm);
        SpiritFiles::new(manifest, wasm, Some(key))
    }

    /// A registry with `phoenix` 1.0.0, and an upgrade to 2.0.0 made as
    /// `upgrade` makes it, up to (not including) its commit.
    fn interrupted_upgrade<'h>(home: &'h Path, key: &Key) -> Transaction<'h> {
        let registry = Registry::new(home);
        registry.trust(key.author()).unwrap();
        registry
            .install(&spirit("1.0.0", key), InstallOptions::default())
            .unwrap();
        let new = spirit("2.0.0", key);
        let entry = Entry::new(&new, Version::new(2, 0, 0), Some(key.author()));
        let mut change = Transaction::begin(home).unwrap();
        change.install(&new, entry).unwrap();
        change
            .remove("phoenix", |versions| {
                let newer = versions.split_off(&Version::new(2, 0, 0));
                Ok(std::mem::replace(versions, newer).into_values().collect())
            })
            .unwrap();
        change
    }

    /// The versions the index lists and the version directories on disk.
    fn state(registry: &Registry) -> (Vec<String>, Vec<String>) {
        // The index as it is, without the repair a reader would make first.
        let listed = Writer::open(registry.home())
            .unwrap()
            .reader()
            .unwrap()
            .versions("phoenix")
            .unwrap()
            .keys()
            .map(ToString::to_string)
            .collect();
        let mut on_disk: Vec<String> = read_dir_paths(
            registry.home(),
            &crate::home::installed_name_dir(registry.home(), "phoenix"),
        )
        .unwrap()
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
        on_disk.sort();
        (listed, on_disk)
    }

    #[test]
    fn an_upgrade_killed_before_its_index_write_is_rolled_back() {
        let home = tempfile::tempdir().unwrap();
        let key = Key::generate().unwrap();
        // Killed with the new version's files in place, the index not written.
        drop(interrupted_upgrade(home.path(), &key));
        let registry = Registry::new(home.path());
        assert!(marker_left(home.path()));
        assert_eq!(state(&registry).0, ["1.0.0"]);
        assert_eq!(state(&registry).1, ["1.0.0", "2.0.0"]);
        // The next change repairs first: exactly the old version is left.
        registry
            .install(&spirit("3.0.0", &key), InstallOptions::default())
            .unwrap();
        registry
            .uninstall("phoenix", Some(&Version::new(3, 0, 0)))
            .unwrap();
        assert_eq!(
            state(&registry),
            (vec!["1.0.0".to_owned()], vec!["1.0.0".to_owned()])
        );
        assert!(
            registry
                .load(&registry.resolve("phoenix", None).unwrap())
                .is_ok()
        );
        assert!(!marker_left(home.path()));
    }

    #[test]
    fn an_upgrade_killed_after_its_index_write_is_completed() {
        let home = tempfile::tempdir().unwrap();
        let key = Key::generate().unwrap();
        // Killed right after the commit point: the old files still there.
        let mut change = interrupted_upgrade(home.path(), &key);
        change.write().unwrap();
        drop(change);
        let registry = Registry::new(home.path());
        assert!(marker_left(home.path()));
        assert_eq!(state(&registry).0, ["2.0.0"]);
        assert_eq!(state(&registry).1, ["1.0.0", "2.0.0"]);
        let done = registry.repair().unwrap();
        assert!(
            done.iter().any(|d| d.starts_with("removed unreferenced")),
            "{done:?}"
        );
        assert_eq!(
            state(&registry),
            (vec!["2.0.0".to_owned()], vec!["2.0.0".to_owned()])
        );
        assert!(
            registry
                .load(&registry.resolve("phoenix", None).unwrap())
                .is_ok()
        );
        assert!(!marker_left(home.path()));
    }

    /// A forced reinstall stopped before its index write (as SIGKILL leaves
    /// it, with a temporary index file of a killed write beside): a reader
    /// repairs first, so it gets the old version, not "changed on disk".
    #[test]
    fn a_reader_repairs_a_forced_reinstall_killed_before_its_index_write() {
        let home = tempfile::tempdir().unwrap();
        let key = Key::generate().unwrap();
        let registry = Registry::new(home.path());
        registry.trust(key.author()).unwrap();
        let old = spirit("1.0.0", &key);
        registry.install(&old, InstallOptions::default()).unwrap();
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "run")) (data (i32.const 0) "new"))"#,
        )
        .unwrap();
        let manifest = Manifest::for_module("phoenix", Version::new(1, 0, 0), &wasm);
        let new = SpiritFiles::new(manifest, wasm, Some(&key));
        let entry = Entry::new(&new, Version::new(1, 0, 0), Some(key.author()));
        let mut change = Transaction::begin(home.path()).unwrap();
        change.install(&new, entry).unwrap();
        drop(change);
        let stale = crate::home::registry_dir(home.path()).join(".index.redb.4000000.tmp");
        crate::fs::write_atomic(&stale, b"{").unwrap();

        let entry = registry.resolve("phoenix", None).unwrap();
        assert_eq!(registry.load(&entry).unwrap().wasm, old.wasm);
        assert!(!marker_left(home.path()));
        assert!(!stale.exists());
    }

    /// Whether this process's change marker is still in `staging/`.
    fn marker_left(home: &Path) -> bool {
        crate::home::change_marker(home, std::process::id()).exists()
    }
}
