//! The index: what is installed, by name and version, in one redb database,
//! `registry/index.redb`. Its schema, reading it, writing a change in one
//! transaction, and the one-time migration of an `index.json` that earlier
//! versions wrote.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `spirits` | name | the name's entries, lowest version first (a JSON array of [`Entry`]) |
//! | `search` | name | the lowercase text a search looks in: name, descriptions, capabilities |
//! | `dependents` | a dependency's name | who calls it: a JSON array of `[caller, caller's version, pinned version]` |
//! | `meta` | `format` | [`FORMAT`] |
//!
//! One row per name: an install, uninstall or upgrade reads and writes only
//! the rows of the names it concerns, and resolving `NAME@REQ` reads one row,
//! each a B-tree lookup, whatever the number of spirits installed. `list`
//! walks `spirits` in name order (so a page costs its own rows), and
//! `search` walks the small `search` rows, decoding the entries of a name
//! only when its text contains the query. `dependents` is the reverse of
//! every entry's [`Pinned`](super::entry::Pinned) dependencies, kept by the
//! same commit, so `uninstall` finds who depends on a name in one lookup.
//!
//! The index is the registry's source of truth: a version is installed when
//! the index lists it, whatever else is on disk (see `transaction`), and a
//! change's one redb commit is its commit point. Readers open the database
//! read-only (redb's shared file lock, under the registry's shared lock),
//! so any number of `run NAME` read it at once; a change opens it for
//! writing under the registry's exclusive lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
};

use super::RegistryError;
use super::entry::{Entry, Versions};
use super::path::checked;
use semver::Version;

const SPIRITS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("spirits");
const SEARCH: TableDefinition<'_, &str, &str> = TableDefinition::new("search");
const DEPENDENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("dependents");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const FORMAT_KEY: &str = "format";

/// The index format written today.
const FORMAT: u32 = 1;

/// An error of redb while `action`ing the index at `path`, in words.
fn failed<'p>(action: &'static str, path: &'p Path) -> impl Fn(redb::Error) -> RegistryError + 'p {
    move |error| RegistryError::IndexDatabase {
        action,
        path: path.to_owned(),
        error: error.to_string(),
    }
}

/// What opening the index for reading found.
pub(super) enum Opened {
    /// No index yet (and no `index.json` to migrate): nothing is installed.
    Empty,
    /// The index, as of one commit.
    Ready(Reader),
    /// A writer must open it first: an `index.json` to migrate, or a
    /// database a killed writer left to be repaired.
    NeedsWriter,
}

/// The index as of one commit, for reading.
pub(super) struct Reader {
    txn: ReadTransaction,
    path: PathBuf,
}

impl Reader {
    /// Opens the index read-only; the caller holds the registry's lock.
    pub(super) fn open(home: &Path) -> Result<Opened, RegistryError> {
        let path = checked(home, crate::home::registry_index(home))?;
        if !exists(&path)? {
            let legacy = checked(home, crate::home::legacy_registry_index(home))?;
            return Ok(if exists(&legacy)? {
                Opened::NeedsWriter
            } else {
                Opened::Empty
            });
        }
        let db = match ReadOnlyDatabase::open(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::RepairAborted) => return Ok(Opened::NeedsWriter),
            Err(e) => return Err(failed("open", &path)(e.into())),
        };
        let txn = db
            .begin_read()
            .map_err(|e| failed("read", &path)(e.into()))?;
        check_format(&txn, &path)?;
        Ok(Opened::Ready(Reader { txn, path }))
    }

    /// The versions of `name` (empty when none is installed).
    pub(super) fn versions(&self, name: &str) -> Result<Versions, RegistryError> {
        let table = self.spirits()?;
        let row = table
            .get(name)
            .map_err(|e| failed("read", &self.path)(e.into()))?;
        row.map_or(Ok(Versions::new()), |row| decode(&self.path, row.value()))
    }

    /// Entries by name then version, skipping `offset` of them and stopping
    /// after `limit`, each given to `each` as it is read.
    pub(super) fn entries(
        &self,
        offset: usize,
        limit: usize,
        mut each: impl FnMut(Entry),
    ) -> Result<(), RegistryError> {
        let fail = failed("read", &self.path);
        let (mut skip, mut left) = (offset, limit);
        for row in self.spirits()?.iter().map_err(|e| fail(e.into()))? {
            if left == 0 {
                break;
            }
            let (_, value) = row.map_err(|e| fail(e.into()))?;
            for entry in decode(&self.path, value.value())?.into_values() {
                if skip > 0 {
                    skip -= 1;
                } else if left > 0 {
                    left -= 1;
                    each(entry);
                }
            }
        }
        Ok(())
    }

    /// The entries `found` accepts, by name then version: a name's entries
    /// are decoded only when its search text contains `query` (lowercase).
    pub(super) fn search(
        &self,
        query: &str,
        found: impl Fn(&Entry) -> bool,
        mut each: impl FnMut(Entry),
    ) -> Result<(), RegistryError> {
        let fail = failed("read", &self.path);
        let texts = self.txn.open_table(SEARCH).map_err(|e| fail(e.into()))?;
        for row in texts.iter().map_err(|e| fail(e.into()))? {
            let (name, text) = row.map_err(|e| fail(e.into()))?;
            if text.value().contains(query) {
                self.versions(name.value())?
                    .into_values()
                    .filter(&found)
                    .for_each(&mut each);
            }
        }
        Ok(())
    }

    /// Who depends on `name`: each caller's name and version, and the
    /// version of `name` it pinned.
    pub(super) fn dependents(&self, name: &str) -> Result<Vec<Dependent>, RegistryError> {
        let fail = failed("read", &self.path);
        let table = match self.txn.open_table(DEPENDENTS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(fail(e.into())),
        };
        let row = table.get(name).map_err(|e| fail(e.into()))?;
        row.map_or(Ok(Vec::new()), |row| {
            decode_dependents(&self.path, row.value())
        })
    }

    /// Every name's versions (for a full repair, and tests).
    pub(super) fn all(&self) -> Result<BTreeMap<String, Versions>, RegistryError> {
        let fail = failed("read", &self.path);
        let mut all = BTreeMap::new();
        for row in self.spirits()?.iter().map_err(|e| fail(e.into()))? {
            let (name, value) = row.map_err(|e| fail(e.into()))?;
            all.insert(name.value().to_owned(), decode(&self.path, value.value())?);
        }
        Ok(all)
    }

    fn spirits(&self) -> Result<redb::ReadOnlyTable<&'static str, &'static [u8]>, RegistryError> {
        self.txn
            .open_table(SPIRITS)
            .map_err(|e| failed("read", &self.path)(e.into()))
    }
}

/// The index open for a change, under the registry's exclusive lock.
pub(super) struct Writer {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("path", &self.path).finish()
    }
}

impl Writer {
    /// Opens the index for writing, creating it when there is none: from
    /// an `index.json` when there is one (migrated once; see [`create`]),
    /// else empty. A database a killed writer left is repaired by redb
    /// here. The caller holds the registry's exclusive lock.
    pub(super) fn open(home: &Path) -> Result<Writer, RegistryError> {
        let path = checked(home, crate::home::registry_index(home))?;
        if !exists(&path)? {
            create(home, &path)?;
        }
        let db = Database::create(&path).map_err(|e| failed("open", &path)(e.into()))?;
        let txn = db
            .begin_read()
            .map_err(|e| failed("read", &path)(e.into()))?;
        check_format(&txn, &path)?;
        Ok(Writer { db, path })
    }

    /// The index as of the last commit.
    pub(super) fn reader(&self) -> Result<Reader, RegistryError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| failed("read", &self.path)(e.into()))?;
        Ok(Reader {
            txn,
            path: self.path.clone(),
        })
    }

    /// Writes the versions of each name in `names` (an empty set removes
    /// the name) in one transaction, flushed: the commit point of a change.
    pub(super) fn commit(&self, names: &BTreeMap<String, Versions>) -> Result<(), RegistryError> {
        write(&self.db, &self.path, names)
    }
}

/// Writes `names` into `db` in one durable transaction.
fn write(
    db: &Database,
    path: &Path,
    names: &BTreeMap<String, Versions>,
) -> Result<(), RegistryError> {
    let fail = failed("write", path);
    let txn = db.begin_write().map_err(|e| fail(e.into()))?;
    {
        let mut spirits = txn.open_table(SPIRITS).map_err(|e| fail(e.into()))?;
        let mut texts = txn.open_table(SEARCH).map_err(|e| fail(e.into()))?;
        let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
        meta.insert(FORMAT_KEY, u64::from(FORMAT))
            .map_err(|e| fail(e.into()))?;
        let mut dependents = txn.open_table(DEPENDENTS).map_err(|e| fail(e.into()))?;
        // The reverse rows this commit changes: the dependencies of each
        // name's old entries are taken out, those of its new ones put in.
        let mut reverse: BTreeMap<String, Vec<Dependent>> = BTreeMap::new();
        for (name, versions) in names {
            let old = match spirits.get(name.as_str()).map_err(|e| fail(e.into()))? {
                Some(row) => decode(path, row.value())?,
                None => Versions::new(),
            };
            // Only the rows of what its old entries pinned can name it.
            let unpinned: BTreeSet<String> = old
                .values()
                .flat_map(|e| e.dependencies.iter().map(|d| d.name.clone()))
                .collect();
            let pinned = versions
                .values()
                .flat_map(|e| e.dependencies.iter().map(|d| d.name.clone()));
            for dependency in unpinned.iter().cloned().chain(pinned) {
                if let std::collections::btree_map::Entry::Vacant(slot) = reverse.entry(dependency)
                {
                    let row = dependents
                        .get(slot.key().as_str())
                        .map_err(|e| fail(e.into()))?
                        .map(|row| decode_dependents(path, row.value()))
                        .transpose()?
                        .unwrap_or_default();
                    slot.insert(row);
                }
            }
            for dependency in &unpinned {
                if let Some(callers) = reverse.get_mut(dependency) {
                    callers.retain(|(caller, _, _)| caller != name);
                }
            }
            for entry in versions.values() {
                for dependency in &entry.dependencies {
                    if let Some(callers) = reverse.get_mut(&dependency.name) {
                        callers.push((
                            name.clone(),
                            entry.version.clone(),
                            dependency.version.clone(),
                        ));
                    }
                }
            }
        }
        for (dependency, mut callers) in reverse {
            if callers.is_empty() {
                dependents
                    .remove(dependency.as_str())
                    .map_err(|e| fail(e.into()))?;
            } else {
                callers.sort();
                let json = serde_json::to_vec(&callers).map_err(|e| RegistryError::BadIndex {
                    path: path.to_owned(),
                    error: e.to_string(),
                })?;
                dependents
                    .insert(dependency.as_str(), json.as_slice())
                    .map_err(|e| fail(e.into()))?;
            }
        }
        for (name, versions) in names {
            if versions.is_empty() {
                spirits.remove(name.as_str()).map_err(|e| fail(e.into()))?;
                texts.remove(name.as_str()).map_err(|e| fail(e.into()))?;
            } else {
                let entries: Vec<&Entry> = versions.values().collect();
                let json = serde_json::to_vec(&entries).map_err(|e| RegistryError::BadIndex {
                    path: path.to_owned(),
                    error: e.to_string(),
                })?;
                spirits
                    .insert(name.as_str(), json.as_slice())
                    .map_err(|e| fail(e.into()))?;
                texts
                    .insert(name.as_str(), search_text(name, versions).as_str())
                    .map_err(|e| fail(e.into()))?;
            }
        }
    }
    txn.commit().map_err(|e| fail(e.into()))
}

/// What a search looks in for a name: every text `resolve::found` matches
/// against, lowercase, one per line. It holds every match `found` makes
/// (a name or description containing the query, a capability equal to it),
/// so filtering on it first loses none.
fn search_text(name: &str, versions: &Versions) -> String {
    let mut text = name.to_lowercase();
    for entry in versions.values() {
        if let Some(description) = &entry.description {
            text.push('\n');
            text.push_str(&description.to_lowercase());
        }
        for capability in &entry.capabilities {
            text.push('\n');
            text.push_str(&capability.to_lowercase());
        }
    }
    text
}

/// Creates the index at `path`, atomically: written under a temporary name
/// (`.index.redb.<pid>.tmp`, which a repair removes if this process is
/// killed), closed, then renamed into place. With an `index.json` beside
/// it, every entry of that file goes in (the migration) and the file is
/// removed after the rename; an `index.json` that cannot be read stops the
/// migration and is left as it is.
fn create(home: &Path, path: &Path) -> Result<(), RegistryError> {
    let legacy = crate::home::legacy_registry_index(home);
    let names = super::legacy::read(home, &legacy)?;
    let dir = crate::home::registry_dir(home);
    // Under the exclusive lock, nobody else is creating one: a temporary
    // index here is what a killed creation left.
    for path in super::store::read_dir_paths(home, &dir)? {
        let killed = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".index.redb."));
        if killed && crate::fs::is_temporary(&path) {
            super::store::remove_any(home, &path)?;
        }
    }
    let tmp = checked(
        home,
        dir.join(format!(".index.redb.{}.tmp", std::process::id())),
    )?;
    {
        let db = Database::create(&tmp).map_err(|e| failed("create", &tmp)(e.into()))?;
        write(&db, &tmp, names.as_ref().unwrap_or(&BTreeMap::new()))?;
    }
    super::store::rename(home, &tmp, path)?;
    super::store::sync_dir(&dir);
    if names.is_some() {
        // The index is in place: from here `index.json` is never read again.
        super::store::remove_any(home, &legacy)?;
        super::store::sync_dir(&dir);
    }
    Ok(())
}

/// Refuses an index of a format this build does not know (a newer
/// cargo-spirit wrote it): read as if it were ours, it could be misread and
/// then overwritten.
fn check_format(txn: &ReadTransaction, path: &Path) -> Result<(), RegistryError> {
    let found = match txn.open_table(META) {
        Ok(meta) => meta
            .get(FORMAT_KEY)
            .map_err(|e| failed("read", path)(e.into()))?
            .map(|v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(failed("read", path)(e.into())),
    };
    if found == Some(u64::from(FORMAT)) {
        return Ok(());
    }
    Err(RegistryError::IndexFormat {
        path: path.to_owned(),
        found: found.map_or_else(|| "(none)".to_owned(), |f| f.to_string()),
        understood: FORMAT,
    })
}

fn decode(path: &Path, bytes: &[u8]) -> Result<Versions, RegistryError> {
    let entries: Vec<Entry> =
        serde_json::from_slice(bytes).map_err(|e| RegistryError::BadIndex {
            path: path.to_owned(),
            error: e.to_string(),
        })?;
    Ok(entries
        .into_iter()
        .map(|entry| (entry.version.clone(), entry))
        .collect())
}

/// A caller of a spirit: its name and version, and the version of the
/// spirit it pinned (a row of `dependents`).
pub(super) type Dependent = (String, Version, Version);

fn decode_dependents(path: &Path, bytes: &[u8]) -> Result<Vec<Dependent>, RegistryError> {
    serde_json::from_slice(bytes).map_err(|e| RegistryError::BadIndex {
        path: path.to_owned(),
        error: e.to_string(),
    })
}

/// Whether `path` exists (a link counts: `checked` has refused one already).
fn exists(path: &Path) -> Result<bool, RegistryError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::fs::FsError::new("read", path, e).into()),
    }
}
