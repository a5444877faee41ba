//! Each spirit's persistent key-value storage, behind `host_storage_read`,
//! `host_storage_write` and `host_storage_delete`.
//!
//! One database file per spirit name, `<VUDO_HOME>/storage/<name>.redb`, in
//! [`redb`]. Why redb: it is a pure-Rust embedded database (no C library to
//! build for the host), every commit is an atomic copy-on-write with
//! checksummed pages so a crash (or a killed process) leaves the last
//! committed state, and it locks its file so a second process cannot open
//! it for writing at the same time. A hand-rolled file format would have to
//! earn all three.
//!
//! Every write and delete is its own committed, fsync'ed transaction, so what
//! a spirit stored survives whatever happens to the run afterwards.
//!
//! Concurrency: within one process, every run of the same spirit shares one
//! open database ([`Stores`] hands out the same handle) and redb serialises
//! their write transactions. Across processes redb's file lock admits one
//! process at a time: a run opens its spirit's database on its first storage
//! call and holds it until the run ends, and a second process waits for the
//! lock (retrying, up to the rest of its own time limit) so two concurrent
//! runs take turns instead of corrupting the file or failing at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::limits::StorageQuota;
use crate::units::Bytes;

/// Keys and values of the spirit's data.
const DATA: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("data");
/// Bookkeeping: `total_bytes`, the sum of every key's and value's length.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const TOTAL_BYTES: &str = "total_bytes";

/// How long to sleep between attempts to open a database another process
/// holds; doubled up to [`MAX_RETRY_SLEEP`].
const FIRST_RETRY_SLEEP: Duration = Duration::from_millis(2);
const MAX_RETRY_SLEEP: Duration = Duration::from_millis(50);

/// redb's page cache per open database. Spirits store little; the default
/// (1 GiB) is sized for servers.
const CACHE_SIZE: usize = 4 << 20;

/// Why a storage call returned `-1`. The spirit only sees `-1`; the host
/// reports the reason once per run as a warning.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key is empty or too long.
    #[error("a storage key must be 1 to {max} bytes long, not {len}")]
    KeyLength {
        /// The key's length.
        len: usize,
        /// The quota.
        max: usize,
    },
    /// The value is too large.
    #[error("a stored value may be at most {}, not {}", Bytes(*max as u64), Bytes(*len as u64))]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The quota.
        max: usize,
    },
    /// The write would take the spirit over its total quota.
    #[error("storage quota of {} exceeded: the write would bring the spirit's storage to {}", Bytes(*max), Bytes(*total))]
    QuotaExceeded {
        /// The total after the write.
        total: u64,
        /// The quota.
        max: u64,
    },
    /// Another process held the database for longer than the run could wait.
    #[error(
        "the storage of spirit `{spirit}` (`{}`) is in use by another run; gave up after {waited:?}",
        path.display()
    )]
    Busy {
        /// The spirit.
        spirit: String,
        /// The database file.
        path: PathBuf,
        /// How long the run waited.
        waited: Duration,
    },
    /// This sandbox has no storage directory.
    #[error("this sandbox has no storage directory, so storage calls fail")]
    Disabled,
    /// The directory or the database failed.
    #[error("storage of spirit `{spirit}` at `{}` failed: {error}", path.display())]
    Database {
        /// The spirit.
        spirit: String,
        /// The database file.
        path: PathBuf,
        /// redb's reason.
        error: String,
    },
}

/// The open databases of one sandbox, by spirit name, so that runs in the
/// same process share one handle instead of waiting for each other (redb
/// locks the file per open file description, so a second handle in the same
/// process is refused like one in another process).
#[derive(Debug)]
pub(crate) struct Stores {
    dir: Option<PathBuf>,
    /// One slot per spirit name; a slot's own lock is held while opening,
    /// so runs of one spirit queue behind the one waiting for another
    /// process, and runs of other spirits are not held up.
    slots: Mutex<HashMap<String, Arc<Mutex<Weak<SpiritStore>>>>>,
}

impl Stores {
    /// Storage under `dir` (`None`: every storage call fails).
    pub(crate) fn new(dir: Option<PathBuf>) -> Stores {
        Stores {
            dir,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The database of `spirit`, opened (and created) if no run in this
    /// process has it open; waits until `deadline` while another process
    /// holds it.
    pub(crate) fn open(
        &self,
        spirit: &str,
        deadline: Instant,
    ) -> Result<Arc<SpiritStore>, StorageError> {
        let dir = self.dir.as_deref().ok_or(StorageError::Disabled)?;
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.retain(|name, slot| {
                name == spirit || Arc::strong_count(slot) > 1 || slot_is_open(slot)
            });
            slots.entry(spirit.to_owned()).or_default().clone()
        };
        let mut open = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = open.upgrade() {
            return Ok(store);
        }
        let store = Arc::new(SpiritStore::open(dir, spirit, deadline)?);
        *open = Arc::downgrade(&store);
        Ok(store)
    }
}

/// Whether a slot still holds an open database (a slot being opened is
/// kept by its strong count instead).
fn slot_is_open(slot: &Mutex<Weak<SpiritStore>>) -> bool {
    slot.try_lock().map_or(true, |weak| weak.strong_count() > 0)
}

/// One spirit's open database.
#[derive(Debug)]
pub(crate) struct SpiritStore {
    spirit: String,
    path: PathBuf,
    db: Database,
}

impl SpiritStore {
    fn open(dir: &Path, spirit: &str, deadline: Instant) -> Result<SpiritStore, StorageError> {
        let path = dir.join(format!("{}.redb", file_stem(spirit)));
        let failed = |error: String| StorageError::Database {
            spirit: spirit.to_owned(),
            path: path.clone(),
            error,
        };
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
        let started = Instant::now();
        let mut sleep = FIRST_RETRY_SLEEP;
        let db = loop {
            match Database::builder().set_cache_size(CACHE_SIZE).create(&path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(StorageError::Busy {
                            spirit: spirit.to_owned(),
                            path,
                            waited: now - started,
                        });
                    }
                    std::thread::sleep(sleep.min(deadline - now));
                    sleep = (sleep * 2).min(MAX_RETRY_SLEEP);
                }
                Err(e) => return Err(failed(e.to_string())),
            }
        };
        Ok(SpiritStore {
            spirit: spirit.to_owned(),
            path,
            db,
        })
    }

    fn failed(&self, error: impl Into<redb::Error>) -> StorageError {
        StorageError::Database {
            spirit: self.spirit.clone(),
            path: self.path.clone(),
            error: error.into().to_string(),
        }
    }

    /// Calls `f` with the value stored under `key` (`None` when missing).
    pub(crate) fn read<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StorageError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = match txn.open_table(DATA) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(f(None)),
            Err(e) => return Err(self.failed(e)),
        };
        let value = table.get(key).map_err(|e| self.failed(e))?;
        Ok(f(value.as_ref().map(|v| v.value())))
    }

    /// Stores `value` under `key`, within `quota`, durably.
    pub(crate) fn write(
        &self,
        key: &[u8],
        value: &[u8],
        quota: &StorageQuota,
    ) -> Result<(), StorageError> {
        check_key(key, quota)?;
        if value.len() > quota.max_value {
            return Err(StorageError::ValueTooLarge {
                len: value.len(),
                max: quota.max_value,
            });
        }
        let txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        {
            let mut data = txn.open_table(DATA).map_err(|e| self.failed(e))?;
            let mut meta = txn.open_table(META).map_err(|e| self.failed(e))?;
            let total = meta
                .get(TOTAL_BYTES)
                .map_err(|e| self.failed(e))?
                .map_or(0, |v| v.value());
            let old = data
                .get(key)
                .map_err(|e| self.failed(e))?
                .map(|v| (key.len() + v.value().len()) as u64);
            let new_total = total - old.unwrap_or(0) + (key.len() + value.len()) as u64;
            if new_total > quota.max_total {
                // Dropping the transaction without committing aborts it.
                return Err(StorageError::QuotaExceeded {
                    total: new_total,
                    max: quota.max_total,
                });
            }
            data.insert(key, value).map_err(|e| self.failed(e))?;
            meta.insert(TOTAL_BYTES, new_total)
                .map_err(|e| self.failed(e))?;
        }
        txn.commit().map_err(|e| self.failed(e))
    }

    /// Deletes `key`; whether it was there.
    pub(crate) fn delete(&self, key: &[u8], quota: &StorageQuota) -> Result<bool, StorageError> {
        check_key(key, quota)?;
        let txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        let removed = {
            let mut data = txn.open_table(DATA).map_err(|e| self.failed(e))?;
            let mut meta = txn.open_table(META).map_err(|e| self.failed(e))?;
            let removed = data
                .remove(key)
                .map_err(|e| self.failed(e))?
                .map(|v| (key.len() + v.value().len()) as u64);
            if let Some(freed) = removed {
                let total = meta
                    .get(TOTAL_BYTES)
                    .map_err(|e| self.failed(e))?
                    .map_or(0, |v| v.value());
                meta.insert(TOTAL_BYTES, total.saturating_sub(freed))
                    .map_err(|e| self.failed(e))?;
            }
            removed.is_some()
        };
        if removed {
            txn.commit().map_err(|e| self.failed(e))?;
        }
        Ok(removed)
    }
}

fn check_key(key: &[u8], quota: &StorageQuota) -> Result<(), StorageError> {
    if key.is_empty() || key.len() > quota.max_key {
        return Err(StorageError::KeyLength {
            len: key.len(),
            max: quota.max_key,
        });
    }
    Ok(())
}

/// The spirit's name as a file name: itself when it is made of ASCII
/// letters, digits, `-` and `_` (every crate name is), otherwise a cleaned
/// version with a hash of the real name, so two names never share a file.
fn file_stem(spirit: &str) -> String {
    let clean = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !spirit.is_empty() && spirit.chars().all(clean) {
        return spirit.to_owned();
    }
    let cleaned: String = spirit
        .chars()
        .map(|c| if clean(c) { c } else { '_' })
        .collect();
    let hash = blake3::hash(spirit.as_bytes()).to_hex();
    format!("{cleaned}-{}", &hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> (Stores, Arc<SpiritStore>) {
        let stores = Stores::new(Some(dir.to_owned()));
        let store = stores
            .open("unit", Instant::now() + Duration::from_secs(5))
            .unwrap();
        (stores, store)
    }

    fn get(store: &SpiritStore, key: &[u8]) -> Option<Vec<u8>> {
        store.read(key, |v| v.map(<[u8]>::to_vec)).unwrap()
    }

    #[test]
    fn values_round_trip_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let quota = StorageQuota::default();
        {
            let (_stores, store) = store(dir.path());
            assert_eq!(get(&store, b"k"), None);
            store.write(b"k", b"one", &quota).unwrap();
            store.write(b"k", b"two", &quota).unwrap();
            assert_eq!(get(&store, b"k").as_deref(), Some(&b"two"[..]));
        }
        let (_stores, store) = store(dir.path());
        assert_eq!(get(&store, b"k").as_deref(), Some(&b"two"[..]));
        assert!(store.delete(b"k", &quota).unwrap());
        assert!(!store.delete(b"k", &quota).unwrap());
        assert_eq!(get(&store, b"k"), None);
    }

    #[test]
    fn quotas_are_enforced_and_freed() {
        let dir = tempfile::tempdir().unwrap();
        let (_stores, store) = store(dir.path());
        let quota = StorageQuota {
            max_key: 4,
            max_value: 8,
            max_total: 20,
        };
        assert!(matches!(
            store.write(b"", b"v", &quota),
            Err(StorageError::KeyLength { len: 0, .. })
        ));
        assert!(matches!(
            store.write(b"12345", b"v", &quota),
            Err(StorageError::KeyLength { len: 5, .. })
        ));
        assert!(matches!(
            store.write(b"k", &[0; 9], &quota),
            Err(StorageError::ValueTooLarge { len: 9, .. })
        ));
        store.write(b"a", &[0; 8], &quota).unwrap(); // 9
        store.write(b"b", &[0; 8], &quota).unwrap(); // 18
        let err = store.write(b"c", &[0; 8], &quota).unwrap_err();
        assert_eq!(
            err.to_string(),
            "storage quota of 20 B exceeded: the write would bring the spirit's storage to 27 B"
        );
        // Replacing a value counts only the difference.
        store.write(b"b", &[0; 2], &quota).unwrap(); // 12
        store.write(b"c", &[0; 7], &quota).unwrap(); // 20
        store.delete(b"a", &quota).unwrap(); // 11
        store.write(b"d", &[0; 8], &quota).unwrap(); // 20
    }

    #[test]
    fn runs_in_one_process_share_the_handle() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, first) = store(dir.path());
        let second = stores.open("unit", Instant::now()).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn a_busy_database_makes_its_runs_wait_and_no_one_else() {
        let dir = tempfile::tempdir().unwrap();
        // Another handle stands for another process holding `a`.
        let _held = Database::create(dir.path().join("a.redb")).unwrap();
        let stores = Stores::new(Some(dir.path().to_owned()));
        std::thread::scope(|s| {
            let waiting = s.spawn(|| {
                let started = Instant::now();
                let result = stores.open("a", started + Duration::from_millis(400));
                (result, started.elapsed())
            });
            std::thread::sleep(Duration::from_millis(50));
            // `b` opens while `a` is still waiting.
            stores.open("b", Instant::now()).unwrap();
            assert!(!waiting.is_finished());
            let (result, waited) = waiting.join().unwrap();
            assert!(waited >= Duration::from_millis(400));
            let error = result.unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with("the storage of spirit `a` (`"),
                "{error}"
            );
        });
    }

    #[test]
    fn odd_names_get_distinct_files() {
        assert_eq!(file_stem("hello-world_2"), "hello-world_2");
        assert_ne!(file_stem("a/b"), file_stem("a.b"));
        assert!(file_stem("../x").starts_with("___x-"));
    }
}
