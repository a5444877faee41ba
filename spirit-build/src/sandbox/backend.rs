//! Where spirits' storage lives, as the sandbox sees it: a
//! [`StorageBackend`] begins each run's [`RunStorage`], the one
//! transaction that run's storage calls go through. The default is the redb
//! store on disk (`storage.rs`, `transaction.rs`); [`MemoryStorage`](super::MemoryStorage)
//! keeps everything in memory; an embedder may bring its own.

use std::fmt;
use std::time::Instant;

use super::storage::{StorageError, StorageOwner};
use crate::limits::StorageQuota;

/// Opens a run's storage: the store of a spirit's name and owner, as one
/// transaction ([`RunStorage`]). Given to
/// [`Sandbox::with_storage`](super::Sandbox::with_storage).
///
/// What the sandbox relies on, and an implementation must give: runs of the
/// same store take turns (`begin` waits, until `deadline`, while another
/// run's transaction on that store is open, then fails in words), a run
/// reads its own writes, its writes are applied together on
/// [`RunStorage::commit`] or not at all when the transaction is dropped,
/// and the quota (`StorageQuota`) passed to each write is enforced
/// against the store's total of key and value bytes.
pub trait StorageBackend: Send + Sync + fmt::Debug {
    /// Begins the transaction of a run of `spirit` owned by `owner`,
    /// waiting until `deadline` for a run holding that store.
    ///
    /// # Errors
    ///
    /// Fails when the store cannot be opened, or stays in use past
    /// `deadline`.
    fn begin(
        &self,
        owner: StorageOwner,
        spirit: &str,
        deadline: Instant,
    ) -> Result<Box<dyn RunStorage>, StorageError>;
}

/// One run's storage: one transaction, begun by
/// [`StorageBackend::begin`] at the run's first storage call, committed
/// when the run returns, dropped (applying nothing) when it fails.
pub trait RunStorage: Send {
    /// The value stored under `key`, as this run sees it (its own writes
    /// included); `None` when missing.
    ///
    /// # Errors
    ///
    /// Fails when the store cannot be read.
    fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stores `value` under `key`, within `quota`.
    ///
    /// # Errors
    ///
    /// [`StorageError::KeyLength`], [`StorageError::ValueTooLarge`],
    /// [`StorageError::QuotaExceeded`], or the store's own failure.
    fn write(&mut self, key: &[u8], value: &[u8], quota: &StorageQuota)
    -> Result<(), StorageError>;

    /// Deletes `key`; whether it was there.
    ///
    /// # Errors
    ///
    /// [`StorageError::KeyLength`], or the store's own failure.
    fn delete(&mut self, key: &[u8], quota: &StorageQuota) -> Result<bool, StorageError>;

    /// Applies the run's writes and deletes together.
    ///
    /// # Errors
    ///
    /// Fails when they cannot be saved; then none of them is.
    fn commit(self: Box<Self>) -> Result<(), StorageError>;

    /// Notes for the person running the spirit about the store, reported
    /// once per run as warnings (a store moved aside, an old format).
    fn notes(&self) -> &[String] {
        &[]
    }

    /// Adds `delta` to the counter under `key` (8 bytes, little-endian; a
    /// missing key or an empty value is 0) and stores the sum, which it
    /// returns.
    ///
    /// # Errors
    ///
    /// [`StorageError::NotACounter`], [`StorageError::CounterOverflow`], or
    /// a failed read or write.
    fn increment(
        &mut self,
        key: &[u8],
        delta: i64,
        quota: &StorageQuota,
    ) -> Result<i64, StorageError> {
        check_key(key, quota)?;
        let value = match self.read(key)?.as_deref() {
            None | Some([]) => 0,
            Some(bytes) => <[u8; 8]>::try_from(bytes)
                .map(i64::from_le_bytes)
                .map_err(|_| StorageError::NotACounter { len: bytes.len() })?,
        };
        let sum = value
            .checked_add(delta)
            .ok_or(StorageError::CounterOverflow { value, delta })?;
        self.write(key, &sum.to_le_bytes(), quota)?;
        Ok(sum)
    }

    /// Stores `new` under `key` only if the value there is `old` (empty:
    /// only if the key is missing or empty); whether it did.
    ///
    /// # Errors
    ///
    /// A failed read or write.
    fn compare_and_swap(
        &mut self,
        key: &[u8],
        old: &[u8],
        new: &[u8],
        quota: &StorageQuota,
    ) -> Result<bool, StorageError> {
        check_key(key, quota)?;
        if self.read(key)?.unwrap_or_default() != old {
            return Ok(false);
        }
        self.write(key, new, quota)?;
        Ok(true)
    }
}

/// Refuses an empty key or one longer than the quota allows.
///
/// # Errors
///
/// [`StorageError::KeyLength`].
pub fn check_key(key: &[u8], quota: &StorageQuota) -> Result<(), StorageError> {
    if key.is_empty() || key.len() > quota.max_key {
        return Err(StorageError::KeyLength {
            len: key.len(),
            max: quota.max_key,
        });
    }
    Ok(())
}

/// The store's total of key and value bytes after storing `value` under
/// `key` where `old` (the length of the value there, if any) was: the
/// measure of [`StorageQuota::max_total`].
///
/// # Errors
///
/// [`StorageError::KeyLength`], [`StorageError::ValueTooLarge`],
/// [`StorageError::QuotaExceeded`].
pub fn total_after_write(
    total: u64,
    key: &[u8],
    old: Option<usize>,
    value: &[u8],
    quota: &StorageQuota,
) -> Result<u64, StorageError> {
    check_key(key, quota)?;
    if value.len() > quota.max_value {
        return Err(StorageError::ValueTooLarge {
            len: value.len(),
            max: quota.max_value,
        });
    }
    // Saturating: a store's bookkeeping may come from a file, which a
    // crash or a hand can have left inconsistent.
    let new_total = total
        .saturating_sub(old.map_or(0, |len| (key.len() + len) as u64))
        .saturating_add((key.len() + value.len()) as u64);
    if new_total > quota.max_total {
        return Err(StorageError::QuotaExceeded {
            total: new_total,
            max: quota.max_total,
        });
    }
    Ok(new_total)
}
