//! One run's storage as one transaction: the first storage call of a run
//! takes its spirit's writer lock and begins a redb write transaction; every
//! read, write and delete of the run goes through it (so the run reads its
//! own writes), and it commits when the run returns. A run that traps,
//! aborts, runs out of fuel or time applies nothing: the transaction is
//! dropped, which aborts it. The lock is held until the run ends, so runs of
//! the same spirit take turns and a read-modify-write loses no update.

use std::sync::Arc;
use std::time::Instant;

use redb::{Durability, ReadableTable, WriteTransaction};

use super::backend::{RunStorage, StorageBackend, check_key};
use super::storage::{
    DATA, META, SpiritStore, StorageDurability, StorageError, StorageOwner, Stores, TOTAL_BYTES,
};
use crate::limits::StorageQuota;

/// A run's open transaction on its spirit's store, holding the store's
/// writer lock until it is committed or dropped.
pub(crate) struct StorageTransaction {
    store: Arc<SpiritStore>,
    /// `None` only after commit, or if beginning failed.
    txn: Option<WriteTransaction>,
    /// Whether anything was written or deleted (a run that only read
    /// commits nothing, so it costs no disk write).
    dirty: bool,
    /// Why a write failed half-way inside redb, leaving the transaction in a
    /// state that must not be committed.
    broken: Option<String>,
}

impl StorageTransaction {
    /// Takes `store`'s writer lock (waiting until `deadline` while another
    /// run of this process holds it) and begins the run's transaction.
    pub(crate) fn begin(
        store: Arc<SpiritStore>,
        deadline: Instant,
    ) -> Result<StorageTransaction, StorageError> {
        store.lock_writer(deadline)?;
        // From here on, dropping `this` releases the lock.
        let mut this = StorageTransaction {
            store,
            txn: None,
            dirty: false,
            broken: None,
        };
        let mut txn = this
            .store
            .db
            .begin_write()
            .map_err(|e| this.store.failed(e))?;
        if this.store.durability == StorageDurability::Eventual {
            txn.set_durability(Durability::None)
                .map_err(|e| this.store.failed(redb::Error::Io(std::io::Error::other(e))))?;
        }
        this.txn = Some(txn);
        Ok(this)
    }

    fn txn(&self) -> Result<&WriteTransaction, StorageError> {
        self.txn.as_ref().ok_or_else(|| {
            self.store.failed(redb::Error::Io(std::io::Error::other(
                "the run's storage transaction has ended",
            )))
        })
    }

    /// Calls `f` with the value stored under `key` (`None` when missing),
    /// as this run sees it: its own writes included.
    pub(crate) fn read<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StorageError> {
        let failed = |e: redb::Error| self.store.failed(e);
        let table = self.txn()?.open_table(DATA).map_err(|e| failed(e.into()))?;
        let value = table.get(key).map_err(|e| failed(e.into()))?;
        Ok(f(value.as_ref().map(|v| v.value())))
    }

    /// Stores `value` under `key`, within `quota`, in this run's transaction.
    pub(crate) fn write(
        &mut self,
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
        let result = self.apply(|data, meta| {
            let total = meta.get(TOTAL_BYTES)?.map_or(0, |v| v.value());
            let old = data.get(key)?.map(|v| (key.len() + v.value().len()) as u64);
            // Saturating: the bookkeeping is read from a file, which a crash
            // or a hand can have left inconsistent.
            let new_total = total
                .saturating_sub(old.unwrap_or(0))
                .saturating_add((key.len() + value.len()) as u64);
            if new_total > quota.max_total {
                return Ok(Err(StorageError::QuotaExceeded {
                    total: new_total,
                    max: quota.max_total,
                }));
            }
            data.insert(key, value)?;
            meta.insert(TOTAL_BYTES, new_total)?;
            Ok(Ok(()))
        })?;
        if result.is_ok() {
            self.dirty = true;
        }
        result
    }

    /// Deletes `key` in this run's transaction; whether it was there.
    pub(crate) fn delete(
        &mut self,
        key: &[u8],
        quota: &StorageQuota,
    ) -> Result<bool, StorageError> {
        check_key(key, quota)?;
        let removed = self.apply(|data, meta| {
            let removed = data
                .remove(key)?
                .map(|v| (key.len() + v.value().len()) as u64);
            if let Some(freed) = removed {
                let total = meta.get(TOTAL_BYTES)?.map_or(0, |v| v.value());
                meta.insert(TOTAL_BYTES, total.saturating_sub(freed))?;
            }
            Ok(removed.is_some())
        })?;
        self.dirty |= removed;
        Ok(removed)
    }

    /// Runs `f` on the data and bookkeeping tables; a redb failure inside it
    /// marks the transaction broken (a write may have been half done), so
    /// it is never committed.
    fn apply<R>(
        &mut self,
        f: impl FnOnce(
            &mut redb::Table<'_, &'static [u8], &'static [u8]>,
            &mut redb::Table<'_, &'static str, u64>,
        ) -> Result<R, redb::Error>,
    ) -> Result<R, StorageError> {
        let result = (|| {
            let txn = self.txn.as_ref().ok_or_else(|| {
                redb::Error::Io(std::io::Error::other(
                    "the run's storage transaction has ended",
                ))
            })?;
            let mut data = txn.open_table(DATA)?;
            let mut meta = txn.open_table(META)?;
            f(&mut data, &mut meta)
        })();
        result.map_err(|e| {
            let error = self.store.failed(e);
            self.broken = Some(error.to_string());
            error
        })
    }

    /// Commits the run's writes and deletes together (nothing to do when it
    /// made none), then releases the writer lock.
    pub(crate) fn commit(mut self) -> Result<(), StorageError> {
        if let Some(reason) = self.broken.take() {
            return Err(self
                .store
                .failed(redb::Error::Io(std::io::Error::other(format!(
                    "a write of this run failed half-way, so none was saved: {reason}"
                )))));
        }
        match self.txn.take() {
            Some(txn) if self.dirty => txn.commit().map_err(|e| self.store.failed(e)),
            _ => Ok(()),
        }
    }
}

/// The default backend: each spirit's redb database under the storage
/// directory.
impl StorageBackend for Stores {
    fn begin(
        &self,
        owner: StorageOwner,
        spirit: &str,
        deadline: Instant,
    ) -> Result<Box<dyn RunStorage>, StorageError> {
        let store = self.open(owner, spirit, deadline)?;
        Ok(Box::new(StorageTransaction::begin(store, deadline)?))
    }
}

impl RunStorage for StorageTransaction {
    fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        StorageTransaction::read(self, key, |value| value.map(<[u8]>::to_vec))
    }

    fn write(
        &mut self,
        key: &[u8],
        value: &[u8],
        quota: &StorageQuota,
    ) -> Result<(), StorageError> {
        StorageTransaction::write(self, key, value, quota)
    }

    fn delete(&mut self, key: &[u8], quota: &StorageQuota) -> Result<bool, StorageError> {
        StorageTransaction::delete(self, key, quota)
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        StorageTransaction::commit(*self)
    }

    fn notes(&self) -> &[String] {
        &self.store.notes
    }
}

impl Drop for StorageTransaction {
    fn drop(&mut self) {
        // Abort first, so the next run's `begin_write` does not wait for it.
        if let Some(txn) = self.txn.take() {
            let _ = txn.abort();
        }
        self.store.unlock_writer();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::sandbox::storage::{StorageOwner, Stores};

    fn begin(stores: &Stores) -> StorageTransaction {
        let deadline = Instant::now() + Duration::from_secs(5);
        let store = stores
            .open(StorageOwner::Unsigned, "unit", deadline)
            .unwrap();
        StorageTransaction::begin(store, deadline).unwrap()
    }

    fn stores(dir: &Path) -> Stores {
        Stores::new(Some(dir.to_owned()))
    }

    fn get(txn: &StorageTransaction, key: &[u8]) -> Option<Vec<u8>> {
        txn.read(key, |v| v.map(<[u8]>::to_vec)).unwrap()
    }

    #[test]
    fn values_round_trip_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let quota = StorageQuota::default();
        {
            let stores = stores(dir.path());
            let mut txn = begin(&stores);
            assert_eq!(get(&txn, b"k"), None);
            txn.write(b"k", b"one", &quota).unwrap();
            txn.write(b"k", b"two", &quota).unwrap();
            // A run reads its own writes.
            assert_eq!(get(&txn, b"k").as_deref(), Some(&b"two"[..]));
            txn.commit().unwrap();
        }
        let stores = stores(dir.path());
        let mut txn = begin(&stores);
        assert_eq!(get(&txn, b"k").as_deref(), Some(&b"two"[..]));
        assert!(txn.delete(b"k", &quota).unwrap());
        assert!(!txn.delete(b"k", &quota).unwrap());
        assert_eq!(get(&txn, b"k"), None);
        txn.commit().unwrap();
        assert_eq!(get(&begin(&stores), b"k"), None);
    }

    #[test]
    fn a_dropped_transaction_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let quota = StorageQuota::default();
        let stores = stores(dir.path());
        let mut txn = begin(&stores);
        txn.write(b"kept", b"1", &quota).unwrap();
        txn.commit().unwrap();
        let mut txn = begin(&stores);
        txn.write(b"lost", b"2", &quota).unwrap();
        assert!(txn.delete(b"kept", &quota).unwrap());
        drop(txn);
        let txn = begin(&stores);
        assert_eq!(get(&txn, b"lost"), None);
        assert_eq!(get(&txn, b"kept").as_deref(), Some(&b"1"[..]));
    }

    #[test]
    fn a_second_run_waits_for_the_first_and_gives_up_at_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let stores = stores(dir.path());
        let first = begin(&stores);
        let store = stores
            .open(StorageOwner::Unsigned, "unit", Instant::now())
            .unwrap();
        let started = Instant::now();
        let Err(error) =
            StorageTransaction::begin(store.clone(), started + Duration::from_millis(100))
        else {
            panic!("the second transaction began while the first was open");
        };
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(
            error.to_string().contains("is in use by another run"),
            "{error}"
        );
        drop(first);
        StorageTransaction::begin(store, Instant::now()).unwrap();
    }

    #[test]
    fn increment_counts_from_zero_and_refuses_what_is_not_a_counter() {
        let dir = tempfile::tempdir().unwrap();
        let quota = StorageQuota::default();
        let stores = stores(dir.path());
        let mut txn = begin(&stores);
        assert_eq!(txn.increment(b"n", 5, &quota).unwrap(), 5);
        assert_eq!(txn.increment(b"n", -7, &quota).unwrap(), -2);
        assert_eq!(get(&txn, b"n").unwrap(), (-2i64).to_le_bytes());
        txn.write(b"text", b"abc", &quota).unwrap();
        assert_eq!(
            txn.increment(b"text", 1, &quota).unwrap_err().to_string(),
            "the value under the key is 3 bytes, not a counter (8 bytes, a little-endian i64)"
        );
        txn.write(b"max", &i64::MAX.to_le_bytes(), &quota).unwrap();
        assert!(matches!(
            txn.increment(b"max", 1, &quota),
            Err(StorageError::CounterOverflow { .. })
        ));
        assert_eq!(get(&txn, b"max").unwrap(), i64::MAX.to_le_bytes());
        txn.commit().unwrap();
        assert_eq!(begin(&stores).increment(b"n", 1, &quota).unwrap(), -1);
    }

    #[test]
    fn compare_and_swap_writes_only_over_the_expected_value() {
        let dir = tempfile::tempdir().unwrap();
        let quota = StorageQuota::default();
        let stores = stores(dir.path());
        let mut txn = begin(&stores);
        // Empty expected: only if missing.
        assert!(txn.compare_and_swap(b"k", b"", b"one", &quota).unwrap());
        assert!(!txn.compare_and_swap(b"k", b"", b"two", &quota).unwrap());
        assert!(
            !txn.compare_and_swap(b"k", b"two", b"three", &quota)
                .unwrap()
        );
        assert_eq!(get(&txn, b"k").as_deref(), Some(&b"one"[..]));
        assert!(txn.compare_and_swap(b"k", b"one", b"two", &quota).unwrap());
        assert_eq!(get(&txn, b"k").as_deref(), Some(&b"two"[..]));
        let small = StorageQuota {
            max_value: 2,
            ..quota
        };
        assert!(matches!(
            txn.compare_and_swap(b"k", b"two", b"three", &small),
            Err(StorageError::ValueTooLarge { .. })
        ));
    }

    #[test]
    fn quotas_are_enforced_and_freed() {
        let dir = tempfile::tempdir().unwrap();
        let stores = stores(dir.path());
        let mut txn = begin(&stores);
        let quota = StorageQuota {
            max_key: 4,
            max_value: 8,
            max_total: 20,
        };
        assert!(matches!(
            txn.write(b"", b"v", &quota),
            Err(StorageError::KeyLength { len: 0, .. })
        ));
        assert!(matches!(
            txn.write(b"12345", b"v", &quota),
            Err(StorageError::KeyLength { len: 5, .. })
        ));
        assert!(matches!(
            txn.write(b"k", &[0; 9], &quota),
            Err(StorageError::ValueTooLarge { len: 9, .. })
        ));
        txn.write(b"a", &[0; 8], &quota).unwrap(); // 9
        txn.write(b"b", &[0; 8], &quota).unwrap(); // 18
        let err = txn.write(b"c", &[0; 8], &quota).unwrap_err();
        assert_eq!(
            err.to_string(),
            "storage quota of 20 B exceeded: the write would bring the spirit's storage to 27 B"
        );
        // Replacing a value counts only the difference.
        txn.write(b"b", &[0; 2], &quota).unwrap(); // 12
        txn.write(b"c", &[0; 7], &quota).unwrap(); // 20
        txn.delete(b"a", &quota).unwrap(); // 11
        txn.write(b"d", &[0; 8], &quota).unwrap(); // 20
        txn.commit().unwrap();
        // The total is kept across runs.
        let mut txn = begin(&stores);
        assert!(matches!(
            txn.write(b"e", &[0; 1], &quota),
            Err(StorageError::QuotaExceeded { total: 22, .. })
        ));
    }
}
