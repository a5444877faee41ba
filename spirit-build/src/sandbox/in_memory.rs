//! [`MemoryStorage`]: a [`StorageBackend`] that keeps every spirit's store
//! in memory, with the default's transaction, turn-taking and quota rules;
//! for tests and for hosts whose spirits' state need not outlive them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use super::backend::{RunStorage, StorageBackend, check_key, total_after_write};
use super::storage::{StorageError, StorageOwner};
use crate::limits::StorageQuota;

/// Every spirit's storage in memory: one store per owner and spirit name,
/// each run one transaction (its writes applied together when it returns,
/// none when it fails), runs of one store taking turns. Nothing reaches
/// the disk, and nothing outlives the value.
///
/// ```
/// use std::sync::Arc;
/// use spirit_build::sandbox::{Call, Capability, Limits, MemoryStorage, Policy, RunRequest, Sandbox, SandboxConfig, StorageOwner};
///
/// let storage = Arc::new(MemoryStorage::new());
/// let sandbox = Sandbox::with_storage(SandboxConfig::in_memory(), storage.clone())?;
/// let spirit = sandbox.load("keeper", &wat::parse_str(r#"(module
///     (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
///     (memory (export "memory") 1) (data (i32.const 0) "kv")
///     (func (export "run") (drop (call $write (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1)))))"#)?)?;
/// sandbox.run(&spirit, RunRequest::new(Policy::allow([Capability::StorageWrite]), Limits::default()))?;
/// assert_eq!(storage.get(StorageOwner::Unsigned, "keeper", b"k"), Some(b"v".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStorage {
    stores: Mutex<HashMap<(StorageOwner, String), Arc<MemoryStore>>>,
}

impl MemoryStorage {
    /// No stores yet: each is created empty at its first run.
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// The value committed under `key` in the store of `spirit` owned by
    /// `owner` (what a run that begins now would read).
    pub fn get(&self, owner: StorageOwner, spirit: &str, key: &[u8]) -> Option<Vec<u8>> {
        let store = self.store(owner, spirit);
        let data = store.data.lock().unwrap_or_else(|e| e.into_inner());
        data.values.get(key).cloned()
    }

    fn store(&self, owner: StorageOwner, spirit: &str) -> Arc<MemoryStore> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        stores
            .entry((owner, spirit.to_owned()))
            .or_default()
            .clone()
    }
}

/// One spirit's store.
#[derive(Debug, Default)]
struct MemoryStore {
    data: Mutex<Data>,
    /// Whether a run's transaction is open on it.
    writer: Mutex<bool>,
    writer_freed: Condvar,
}

#[derive(Debug, Default)]
struct Data {
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The sum of every key's and value's length.
    total: u64,
}

impl StorageBackend for MemoryStorage {
    fn begin(
        &self,
        owner: StorageOwner,
        spirit: &str,
        deadline: Instant,
    ) -> Result<Box<dyn RunStorage>, StorageError> {
        let store = self.store(owner, spirit);
        let started = Instant::now();
        {
            let mut held = store.writer.lock().unwrap_or_else(|e| e.into_inner());
            while *held {
                let now = Instant::now();
                if now >= deadline {
                    return Err(StorageError::InUse {
                        spirit: spirit.to_owned(),
                        waited: now - started,
                    });
                }
                held = store
                    .writer_freed
                    .wait_timeout(held, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            *held = true;
        }
        let total = store.data.lock().unwrap_or_else(|e| e.into_inner()).total;
        Ok(Box::new(MemoryTransaction {
            store,
            changes: BTreeMap::new(),
            total,
        }))
    }
}

/// A run's transaction: its changes, applied to the store on commit.
struct MemoryTransaction {
    store: Arc<MemoryStore>,
    /// Each key the run wrote (`Some`) or deleted (`None`).
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The store's total as this run sees it.
    total: u64,
}

impl RunStorage for MemoryTransaction {
    fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(change) = self.changes.get(key) {
            return Ok(change.clone());
        }
        let data = self.store.data.lock().unwrap_or_else(|e| e.into_inner());
        Ok(data.values.get(key).cloned())
    }

    fn write(
        &mut self,
        key: &[u8],
        value: &[u8],
        quota: &StorageQuota,
    ) -> Result<(), StorageError> {
        let old = self.read(key)?.map(|v| v.len());
        self.total = total_after_write(self.total, key, old, value, quota)?;
        self.changes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8], quota: &StorageQuota) -> Result<bool, StorageError> {
        check_key(key, quota)?;
        let Some(old) = self.read(key)? else {
            return Ok(false);
        };
        self.total = self.total.saturating_sub((key.len() + old.len()) as u64);
        self.changes.insert(key.to_vec(), None);
        Ok(true)
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let mut data = self.store.data.lock().unwrap_or_else(|e| e.into_inner());
        for (key, change) in &self.changes {
            match change {
                Some(value) => data.values.insert(key.clone(), value.clone()),
                None => data.values.remove(key),
            };
        }
        data.total = self.total;
        Ok(())
    }
}

impl Drop for MemoryTransaction {
    fn drop(&mut self) {
        *self.store.writer.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.store.writer_freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn begin(storage: &MemoryStorage) -> Result<Box<dyn RunStorage>, StorageError> {
        storage.begin(
            StorageOwner::Unsigned,
            "s",
            Instant::now() + Duration::from_millis(50),
        )
    }

    #[test]
    fn a_run_reads_its_writes_and_a_dropped_run_applies_nothing() {
        let storage = MemoryStorage::new();
        let quota = StorageQuota::default();
        let mut txn = begin(&storage).unwrap();
        txn.write(b"k", b"v", &quota).unwrap();
        assert_eq!(txn.read(b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(txn.increment(b"n", 2, &quota).unwrap(), 2);
        drop(txn);
        assert_eq!(storage.get(StorageOwner::Unsigned, "s", b"k"), None);

        let mut txn = begin(&storage).unwrap();
        txn.write(b"k", b"v", &quota).unwrap();
        assert!(txn.delete(b"k", &quota).unwrap());
        txn.write(b"j", b"w", &quota).unwrap();
        txn.commit().unwrap();
        assert_eq!(storage.get(StorageOwner::Unsigned, "s", b"k"), None);
        assert_eq!(
            storage.get(StorageOwner::Unsigned, "s", b"j"),
            Some(b"w".to_vec())
        );
    }

    #[test]
    fn runs_take_turns_and_a_waiting_run_gives_up_in_words() {
        let storage = MemoryStorage::new();
        let first = begin(&storage).unwrap();
        let error = begin(&storage).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("the storage of spirit `s` is in use by another run; gave up after "),
            "{error}"
        );
        drop(first);
        assert!(begin(&storage).is_ok());
    }

    #[test]
    fn quotas_are_enforced_and_freed_and_errors_name_their_cause() {
        let storage = MemoryStorage::new();
        let quota = StorageQuota {
            max_key: 4,
            max_value: 8,
            max_total: 12,
        };
        let mut txn = begin(&storage).unwrap();
        assert_eq!(
            txn.write(b"", b"v", &quota).unwrap_err().to_string(),
            "a storage key must be 1 to 4 bytes long, not 0"
        );
        assert!(matches!(
            txn.write(b"k", &[0; 9], &quota),
            Err(StorageError::ValueTooLarge { len: 9, max: 8 })
        ));
        txn.write(b"a", &[0; 8], &quota).unwrap();
        assert!(matches!(
            txn.write(b"b", &[0; 4], &quota),
            Err(StorageError::QuotaExceeded { total: 14, max: 12 })
        ));
        assert!(txn.delete(b"a", &quota).unwrap());
        txn.write(b"b", &[0; 4], &quota).unwrap();
        assert!(matches!(
            txn.increment(b"b", 1, &quota),
            Err(StorageError::NotACounter { len: 4 })
        ));
    }
}
