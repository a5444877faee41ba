//! Each spirit's persistent key-value storage, behind `host_storage_read`,
//! `host_storage_write` and `host_storage_delete`.
//!
//! One database file per spirit name and owner, in [`redb`]:
//! `<VUDO_HOME>/storage/<author>/<name>.redb` for a spirit whose signature
//! verified (`<author>` is the 64 hex characters of its public key), and
//! `<VUDO_HOME>/storage/unsigned/<name>.redb` for every other run (a bare
//! module, an unsigned package, a crate run from source). A store belongs to
//! the identity that signed the spirit, so a package that takes another
//! author's spirit name never opens that author's store; unsigned runs share
//! one namespace that no signed author's can be. The file name is
//! [`file_stem`]'s: the name itself when it is plain, otherwise a distinct
//! hashed form, so two names never share a file.
//!
//! Stores of earlier versions (`<VUDO_HOME>/storage/<name>.redb`, shared by
//! every spirit of that name whoever signed it) are not opened; the first
//! storage call of a spirit that has one says where it is and where to move
//! it if it is this spirit's (opening it on the spirit's behalf would hand an
//! impostor's writes to the real author).
//!
//! A store is created whole or not at all: a new database is made under a
//! temporary name, flushed, and linked into place, so a full disk or a crash
//! leaves no half-made file (the error names the real cause, such as
//! `No space left on device`). An empty or zero-filled file, as an earlier
//! version could leave, holds nothing and is replaced; any other file redb
//! cannot open is reported as damaged with what to do, never overwritten. Why redb: it is a pure-Rust embedded database (no C library to
//! build for the host), every commit is an atomic copy-on-write with
//! checksummed pages so a crash (or a killed process) leaves the last
//! committed state, and it locks its file so a second process cannot open
//! it for writing at the same time. A hand-rolled file format would have to
//! earn all three.
//!
//! A run's reads and writes go through one transaction
//! ([`crate::sandbox::transaction`]), committed when the run returns; this
//! module opens the database and holds the writer lock that makes runs of
//! one spirit take turns.
//!
//! Concurrency: within one process, every run of the same spirit shares one
//! open database ([`Stores`] hands out the same handle), and a run takes the
//! store's writer lock at its first storage call and keeps it until it ends,
//! so the next run of the spirit waits there (until its own deadline).
//! Across processes redb's file lock admits one process at a time: a run
//! opens its spirit's database on its first storage call and holds it until
//! the run ends, and a second process waits for the lock (retrying, up to
//! the rest of its own time limit) so two concurrent runs take turns instead
//! of corrupting the file, failing at once or losing an update.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use redb::{Database, TableDefinition};

use crate::units::Bytes;

/// Keys and values of the spirit's data.
pub(crate) const DATA: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("data");
/// Bookkeeping: `total_bytes`, the sum of every key's and value's length.
pub(crate) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
pub(crate) const TOTAL_BYTES: &str = "total_bytes";

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
    /// `host_storage_increment` found a value that is not a counter.
    #[error("the value under the key is {len} bytes, not a counter (8 bytes, a little-endian i64)")]
    NotACounter {
        /// The value's length.
        len: usize,
    },
    /// `host_storage_increment` would overflow the counter.
    #[error("incrementing the counter {value} by {delta} overflows an i64")]
    CounterOverflow {
        /// The stored value.
        value: i64,
        /// What was to be added.
        delta: i64,
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
    /// Another run held the store for longer than this run could wait (a
    /// backend other than the default's files: no path to name).
    #[error("the storage of spirit `{spirit}` is in use by another run; gave up after {waited:?}")]
    InUse {
        /// The spirit.
        spirit: String,
        /// How long the run waited.
        waited: Duration,
    },
    /// A storage backend other than the default failed, in its own words.
    #[error("storage of spirit `{spirit}` failed: {error}")]
    Backend {
        /// The spirit.
        spirit: String,
        /// The backend's reason.
        error: String,
    },
    /// This sandbox has no storage directory.
    #[error("this sandbox has no storage directory, so storage calls fail")]
    Disabled,
    /// The file is there but is not a store redb can open, and holds bytes
    /// that may be data, so it is left alone.
    #[error(
        "the storage of spirit `{spirit}` at `{}` is damaged: {error}\nhelp: it was probably left by a crash or a full disk; move it away to start with an empty store (what it held is lost)",
        path.display()
    )]
    Damaged {
        /// The spirit.
        spirit: String,
        /// The database file.
        path: PathBuf,
        /// redb's reason.
        error: String,
    },
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

/// When a run's storage commit reaches the disk
/// ([`SandboxConfig::storage_durability`](crate::sandbox::SandboxConfig::storage_durability)).
/// Either way a commit is atomic and a crash leaves a consistent store, the
/// state after some finished run.
///
/// ```
/// use spirit_build::sandbox::{SandboxConfig, StorageDurability};
/// let config = SandboxConfig {
///     storage_durability: StorageDurability::Eventual,
///     ..SandboxConfig::in_home("/srv/vudo".as_ref())
/// };
/// assert_eq!(SandboxConfig::in_memory().storage_durability, StorageDurability::Immediate);
/// # let _ = config;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StorageDurability {
    /// Each run's commit is flushed to the disk (fsync) before the run
    /// returns: once `Sandbox::run` has returned, what the run stored
    /// survives a crash or a power loss.
    #[default]
    Immediate,
    /// A run's commit is visible to the next run at once but is not flushed
    /// by itself (redb's `Durability::None`): it reaches the disk with the
    /// next flush, which is made when the last run of the spirit in this
    /// process ends (the database closes) or by a run of a sandbox with
    /// [`StorageDurability::Immediate`]. A crash or a killed process may
    /// lose the runs committed since the last flush, never part of one.
    /// For hosts that run a spirit many times at once and can redo recent
    /// work.
    Eventual,
}

/// Whose store a run opens: a spirit's storage belongs to its name and the
/// identity that signed it.
///
/// ```
/// use spirit_build::sandbox::StorageOwner;
/// assert_eq!(StorageOwner::default(), StorageOwner::Unsigned);
/// assert_eq!(StorageOwner::Unsigned.dir_name(), "unsigned");
/// assert_eq!(StorageOwner::Author([0xab; 32]).dir_name(), "ab".repeat(32));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StorageOwner {
    /// No verified signature (a bare module, an unsigned package, a crate
    /// run from source): the namespace every unsigned run shares, which no
    /// signed author's store is in.
    #[default]
    Unsigned,
    /// The author (ed25519 public key) whose signature on the spirit
    /// verified.
    Author([u8; 32]),
}

impl StorageOwner {
    /// The directory of this owner's stores under the storage directory:
    /// `unsigned`, or the author's key in 64 lowercase hex characters (which
    /// `unsigned` can never be).
    pub fn dir_name(&self) -> String {
        match self {
            StorageOwner::Unsigned => "unsigned".to_owned(),
            StorageOwner::Author(key) => blake3::Hash::from_bytes(*key).to_hex().to_string(),
        }
    }
}

/// The open databases of one sandbox, by owner and spirit name, so that runs in the
/// same process share one handle instead of waiting for each other (redb
/// locks the file per open file description, so a second handle in the same
/// process is refused like one in another process).
#[derive(Debug)]
pub(crate) struct Stores {
    dir: Option<PathBuf>,
    durability: StorageDurability,
    /// One slot per owner and spirit name; a slot's own lock is held while
    /// opening, so runs of one spirit queue behind the one waiting for
    /// another process, and runs of other spirits are not held up.
    slots: Mutex<HashMap<(StorageOwner, String), Slot>>,
}

impl Stores {
    /// Storage under `dir` (`None`: every storage call fails).
    pub(crate) fn new(dir: Option<PathBuf>) -> Stores {
        Stores {
            dir,
            durability: StorageDurability::Immediate,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The same stores, whose runs commit with `durability`.
    pub(crate) fn with_durability(self, durability: StorageDurability) -> Stores {
        Stores { durability, ..self }
    }

    /// The database of `spirit` signed by `owner`, opened (and created) if
    /// no run in this process has it open; waits until `deadline` while
    /// another process holds it.
    pub(crate) fn open(
        &self,
        owner: StorageOwner,
        spirit: &str,
        deadline: Instant,
    ) -> Result<Arc<SpiritStore>, StorageError> {
        let dir = self.dir.as_deref().ok_or(StorageError::Disabled)?;
        let key = (owner, spirit.to_owned());
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.retain(|k, slot| *k == key || Arc::strong_count(slot) > 1 || slot_is_open(slot));
            slots.entry(key).or_default().clone()
        };
        let mut open = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = open.upgrade() {
            return Ok(store);
        }
        let mut store = SpiritStore::open(dir, owner, spirit, deadline)?;
        store.durability = self.durability;
        let store = Arc::new(store);
        *open = Arc::downgrade(&store);
        Ok(store)
    }
}

/// Where the one open handle of a spirit's database is kept.
type Slot = Arc<Mutex<Weak<SpiritStore>>>;

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
    pub(crate) db: Database,
    /// When the runs' commits reach the disk.
    pub(crate) durability: StorageDurability,
    /// Whether a run holds the writer lock: runs of this spirit in this
    /// process take turns, each for its whole run, so a read and the write
    /// that depends on it are never interleaved with another run's.
    writer: Mutex<bool>,
    writer_freed: Condvar,
    /// What the host should tell the person running the spirit once, on
    /// opening (a store of an earlier version, a replaced empty file).
    pub(crate) notes: Vec<String>,
}

impl SpiritStore {
    fn open(
        dir: &Path,
        owner: StorageOwner,
        spirit: &str,
        deadline: Instant,
    ) -> Result<SpiritStore, StorageError> {
        let owner_dir = dir.join(owner.dir_name());
        let path = owner_dir.join(format!("{}.redb", file_stem(spirit)));
        let failed = |error: String| StorageError::Database {
            spirit: spirit.to_owned(),
            path: path.clone(),
            error,
        };
        std::fs::create_dir_all(&owner_dir).map_err(|e| failed(e.to_string()))?;
        let mut notes = Vec::new();
        let legacy = dir.join(format!("{}.redb", legacy_file_stem(spirit)));
        if legacy.is_file() && !path.exists() {
            notes.push(format!(
                "spirit `{spirit}` has a store from an earlier version at `{}`, which is not opened: stores now belong to a spirit's name and its signing author, and that one was shared by every spirit named `{spirit}`\nhelp: if it is this spirit's, move it to `{}`",
                legacy.display(),
                path.display()
            ));
        }
        if !path.exists() {
            create_store(&path).map_err(|e| failed(format!("creating the store failed: {e}")))?;
        }
        let started = Instant::now();
        let mut sleep = FIRST_RETRY_SLEEP;
        let mut repaired = false;
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
                Err(e) if !repaired && holds_nothing(&path) => {
                    // An empty or zero-filled file: what an interrupted
                    // creation leaves (a full disk), with no data to lose.
                    repaired = true;
                    replace_empty(&path).map_err(|io| {
                        failed(format!(
                            "replacing it failed: {io} (it was not a store: {e})"
                        ))
                    })?;
                    notes.push(format!(
                        "the storage of spirit `{spirit}` at `{}` was an empty file left by an interrupted creation (a crash or a full disk); it was replaced by an empty store",
                        path.display()
                    ));
                }
                // redb reports a file that is not a database as invalid
                // data; any other I/O error is the disk's, not the file's.
                Err(redb::DatabaseError::Storage(redb::StorageError::Io(e)))
                    if e.kind() != std::io::ErrorKind::InvalidData =>
                {
                    return Err(failed(e.to_string()));
                }
                Err(e) => {
                    return Err(StorageError::Damaged {
                        spirit: spirit.to_owned(),
                        path,
                        error: e.to_string(),
                    });
                }
            }
        };
        Ok(SpiritStore {
            spirit: spirit.to_owned(),
            path,
            db,
            durability: StorageDurability::Immediate,
            writer: Mutex::new(false),
            writer_freed: Condvar::new(),
            notes,
        })
    }

    /// Takes this store's writer lock, which the run holds until it ends
    /// ([`crate::sandbox::transaction::StorageTransaction`] releases it):
    /// one run at a time in this process, waiting until `deadline`.
    pub(crate) fn lock_writer(&self, deadline: Instant) -> Result<(), StorageError> {
        let started = Instant::now();
        let mut held = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        while *held {
            let now = Instant::now();
            if now >= deadline {
                return Err(StorageError::Busy {
                    spirit: self.spirit.clone(),
                    path: self.path.clone(),
                    waited: now - started,
                });
            }
            held = self
                .writer_freed
                .wait_timeout(held, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *held = true;
        Ok(())
    }

    /// Releases the writer lock [`SpiritStore::lock_writer`] took.
    pub(crate) fn unlock_writer(&self) {
        *self.writer.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.writer_freed.notify_one();
    }

    /// The error of a failed redb call on this store.
    pub(crate) fn failed(&self, error: impl Into<redb::Error>) -> StorageError {
        StorageError::Database {
            spirit: self.spirit.clone(),
            path: self.path.clone(),
            error: error.into().to_string(),
        }
    }
}

/// Makes an empty store at `path`, whole or not at all: the database is
/// created under a temporary name beside it, flushed, and linked into place
/// (which never replaces a store another process made meanwhile). On any
/// failure the temporary file is removed and the error says why (a full
/// disk is `No space left on device`).
fn create_store(path: &Path) -> std::io::Result<()> {
    let tmp = temporary_beside(path);
    let result = (|| {
        write_empty_store(&tmp)?;
        match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Makes a new, empty store at `tmp` and flushes it to disk, to be moved
/// into place by the caller.
fn write_empty_store(tmp: &Path) -> std::io::Result<()> {
    drop(
        Database::builder()
            .set_cache_size(CACHE_SIZE)
            .create(tmp)
            .map_err(into_io)?,
    );
    std::fs::File::open(tmp)?.sync_all()
}

/// Replaces the empty or zero-filled file at `path` by a new empty store,
/// by a rename over it, checking again just before that it still holds
/// nothing (so a store another process made meanwhile is kept).
fn replace_empty(path: &Path) -> std::io::Result<()> {
    let tmp = temporary_beside(path);
    let result = (|| {
        write_empty_store(&tmp)?;
        if holds_nothing(path) {
            std::fs::rename(&tmp, path)?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// redb's error as the I/O error it wraps (so a full disk stays
/// `No space left on device`), or as an error of its own.
fn into_io(error: redb::DatabaseError) -> std::io::Error {
    match error {
        redb::DatabaseError::Storage(redb::StorageError::Io(e)) => e,
        other => std::io::Error::other(other),
    }
}

/// A temporary name in `path`'s directory, unique to this process and call.
fn temporary_beside(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Whether the file at `path` is empty or all zero bytes: no data in it.
fn holds_nothing(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = vec![0; 64 << 10];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) if buf[..n].iter().all(|b| *b == 0) => {}
            _ => return false,
        }
    }
}

/// The longest spirit name kept as it is in a file name; longer names get
/// the hashed form, so a file name stays far below the usual 255 bytes.
const MAX_PLAIN_STEM: usize = 64;

/// The spirit's name as a file name, one-to-one: the name itself when it is
/// 1 to 64 lowercase ASCII letters, digits, `-` and `_` (nearly every crate
/// name), otherwise the name with other characters as `_`, cut to 64, then
/// `.` and 32 hex characters of its blake3. A plain name has no `.` and a
/// hashed one has exactly one, so the two forms never meet, and two hashed
/// names differ in their hashes; uppercase names are hashed, so a
/// case-insensitive file system cannot fold two names into one file.
fn file_stem(spirit: &str) -> String {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if !spirit.is_empty() && spirit.len() <= MAX_PLAIN_STEM && spirit.chars().all(plain) {
        return spirit.to_owned();
    }
    let cleaned: String = spirit
        .chars()
        .map(|c| if plain(c) { c } else { '_' })
        .take(MAX_PLAIN_STEM)
        .collect();
    let hash = blake3::hash(spirit.as_bytes()).to_hex();
    format!("{cleaned}.{}", &hash[..32])
}

/// The file stem of earlier versions, to find their stores
/// (`<storage>/<stem>.redb`).
fn legacy_file_stem(spirit: &str) -> String {
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
    use crate::limits::StorageQuota;
    use crate::sandbox::transaction::StorageTransaction;

    fn store(dir: &Path) -> (Stores, Arc<SpiritStore>) {
        let stores = Stores::new(Some(dir.to_owned()));
        let store = stores
            .open(
                StorageOwner::Unsigned,
                "unit",
                Instant::now() + Duration::from_secs(5),
            )
            .unwrap();
        (stores, store)
    }

    /// The value under `key`, read in a transaction of its own.
    fn get(store: &Arc<SpiritStore>, key: &[u8]) -> Option<Vec<u8>> {
        let txn = StorageTransaction::begin(store.clone(), Instant::now()).unwrap();
        txn.read(key, |v| v.map(<[u8]>::to_vec)).unwrap()
    }

    /// Stores `value` under `key` in a transaction of its own.
    fn put(store: &Arc<SpiritStore>, key: &[u8], value: &[u8]) {
        let mut txn = StorageTransaction::begin(store.clone(), Instant::now()).unwrap();
        txn.write(key, value, &StorageQuota::default()).unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn runs_in_one_process_share_the_handle() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, first) = store(dir.path());
        let second = stores
            .open(StorageOwner::Unsigned, "unit", Instant::now())
            .unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn a_busy_database_makes_its_runs_wait_and_no_one_else() {
        let dir = tempfile::tempdir().unwrap();
        // Another handle stands for another process holding `a`.
        std::fs::create_dir(dir.path().join("unsigned")).unwrap();
        let _held = Database::create(dir.path().join("unsigned/a.redb")).unwrap();
        let stores = Stores::new(Some(dir.path().to_owned()));
        std::thread::scope(|s| {
            let waiting = s.spawn(|| {
                let started = Instant::now();
                let result = stores.open(
                    StorageOwner::Unsigned,
                    "a",
                    started + Duration::from_millis(400),
                );
                (result, started.elapsed())
            });
            std::thread::sleep(Duration::from_millis(50));
            // `b` opens while `a` is still waiting.
            stores
                .open(StorageOwner::Unsigned, "b", Instant::now())
                .unwrap();
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
        assert!(file_stem("../x").starts_with("___x."));
        assert_ne!(file_stem("Hello"), file_stem("hello"));
        assert!(file_stem(&"x".repeat(300)).len() < 100);
    }

    /// Names that collided before: `..` was stored as `__-<hash>`, which is
    /// also a plain name of its own.
    #[test]
    fn the_name_to_file_mapping_is_one_to_one() {
        let dotdot = file_stem("..");
        let mut names = vec![
            "..".to_owned(),
            dotdot.clone(),
            legacy_file_stem(".."),
            format!("__-{}", &blake3::hash(b"..").to_hex()[..16]),
            "__".to_owned(),
            "a.b".to_owned(),
            "a/b".to_owned(),
            "A".to_owned(),
            "a".to_owned(),
            String::new(),
            "x".repeat(64),
            "x".repeat(65),
            "x".repeat(66),
        ];
        names.dedup();
        let stems: std::collections::HashSet<String> = names.iter().map(|n| file_stem(n)).collect();
        assert_eq!(stems.len(), names.len(), "{names:?}");
        // Every stem is a single, safe path component.
        for stem in &stems {
            assert!(!stem.contains('/') && stem != "." && stem != "..", "{stem}");
        }
    }

    #[test]
    fn each_owner_has_its_own_store() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::new(Some(dir.path().to_owned()));
        let deadline = Instant::now() + Duration::from_secs(5);
        let author = StorageOwner::Author([7; 32]);
        let impostor = StorageOwner::Author([8; 32]);
        let real = stores.open(author, "victim", deadline).unwrap();
        put(&real, b"k", b"the author's");
        for other in [impostor, StorageOwner::Unsigned] {
            let store = stores.open(other, "victim", deadline).unwrap();
            assert_eq!(get(&store, b"k"), None, "{other:?}");
            put(&store, b"k", b"overwritten");
        }
        assert_eq!(get(&real, b"k").as_deref(), Some(&b"the author's"[..]));
        assert!(dir.path().join("unsigned/victim.redb").is_file());
        assert!(
            dir.path()
                .join(format!("{}/victim.redb", "07".repeat(32)))
                .is_file()
        );
    }

    fn open_fresh(dir: &Path, spirit: &str) -> Result<Arc<SpiritStore>, StorageError> {
        Stores::new(Some(dir.to_owned())).open(
            StorageOwner::Unsigned,
            spirit,
            Instant::now() + Duration::from_secs(5),
        )
    }

    /// What a full disk left while a store was created: a zero-filled (or
    /// empty) file. The next run replaces it and says so; nothing else is
    /// left behind.
    #[test]
    fn a_store_left_empty_by_an_interrupted_creation_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("unsigned")).unwrap();
        for (name, len) in [("zeros", 1 << 20), ("empty", 0), ("short", 7)] {
            let path = dir.path().join(format!("unsigned/{name}.redb"));
            crate::fs::write_atomic(&path, &vec![0; len]).unwrap();
            let store = open_fresh(dir.path(), name).unwrap();
            assert!(
                store
                    .notes
                    .iter()
                    .all(|n| n.contains("interrupted creation")),
                "{:?}",
                store.notes
            );
            put(&store, b"k", b"v");
            drop(store);
            let store = open_fresh(dir.path(), name).unwrap();
            assert_eq!(get(&store, b"k").as_deref(), Some(&b"v"[..]));
            assert!(store.notes.is_empty());
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("unsigned"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    /// A file that holds bytes redb cannot read is not overwritten: the
    /// error says it is damaged, the likely cause and what to do.
    #[test]
    fn a_damaged_store_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("unsigned")).unwrap();
        let path = dir.path().join("unsigned/torn.redb");
        // A real store cut short, as a crash could leave one.
        drop(Database::create(&path).unwrap());
        let bytes = std::fs::read(&path).unwrap();
        crate::fs::write_atomic(&path, b"not a database at all, but data").unwrap();
        let error = open_fresh(dir.path(), "torn").unwrap_err().to_string();
        assert!(error.contains("is damaged"), "{error}");
        assert!(error.contains("move it away"), "{error}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"not a database at all, but data"
        );
        assert!(!bytes.is_empty());
    }

    /// Creation is whole or nothing: when it fails (here: the directory
    /// is a file, standing for a full disk), the error names the cause
    /// and no store file is left to break the next run.
    #[test]
    fn a_failed_creation_leaves_nothing_and_names_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir/x.redb");
        let error = create_store(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        assert!(!path.exists());
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn a_store_of_an_earlier_version_is_named_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        {
            let old = Database::create(dir.path().join("old.redb")).unwrap();
            drop(old);
        }
        let store = open_fresh(dir.path(), "old").unwrap();
        assert_eq!(store.notes.len(), 1);
        assert!(
            store.notes[0].contains("from an earlier version"),
            "{:?}",
            store.notes
        );
        assert!(
            store.notes[0].contains("unsigned/old.redb"),
            "{:?}",
            store.notes
        );
        put(&store, b"k", b"v");
        drop(store);
        assert!(open_fresh(dir.path(), "old").unwrap().notes.is_empty());
    }
}
