//! Whose reservations are they: each open [`Ledger`](super::Ledger) is a
//! *holder* with a random id and a lock file, `holders/<id>.lock`, on which
//! it keeps an exclusive `flock` for as long as it is open. Every
//! reservation records its holder. The operating system drops a `flock`
//! when its process dies, however it dies (`SIGKILL` included), so a
//! holder whose lock can be taken is gone, and its reservations can be
//! released: [`abandoned`] finds them when a ledger is opened.
//!
//! A lock file is created and locked under a temporary name, then renamed
//! into place (the lock stays with the file), so no one ever sees a
//! holder's file unlocked while the holder lives.

use std::collections::BTreeSet;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::fs::FsError;
use crate::home;

/// This process's hold on its holder id.
#[derive(Debug)]
pub(super) struct Holder {
    pub(super) id: u64,
    path: PathBuf,
    _lock: File,
}

impl Holder {
    /// A new holder, its lock file created and locked.
    pub(super) fn new(home: &Path) -> Result<Holder, FsError> {
        let dir = home::ledger_holders_dir(home);
        crate::fs::create_dir_all(&dir)?;
        let id = random_id();
        let path = home::ledger_holder_lock(home, &file_id(id));
        let tmp = dir.join(format!(".{}.tmp", file_id(id)));
        let file = File::create(&tmp).map_err(|e| FsError::new("create", &tmp, e))?;
        file.lock().map_err(|e| FsError::new("lock", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| FsError::new("rename", &tmp, e))?;
        Ok(Holder {
            id,
            path,
            _lock: file,
        })
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Removed while still locked: a sweeper that opened it before the
        // removal finds it locked, one that opens it after finds nothing.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A dead holder's lock, taken: its reservations may be released, then its
/// file removed with [`Gone::remove`].
#[derive(Debug)]
pub(super) struct Gone {
    path: Option<PathBuf>,
    _lock: Option<File>,
}

impl Gone {
    pub(super) fn remove(self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Of `holders` (ids found in reservations) and the lock files present,
/// those whose process is gone, each with its lock taken. A holder with
/// reservations but no file is gone too (its file is only removed by its
/// own drop, after its reservations, or by a sweeper, after releasing them).
pub(super) fn abandoned(home: &Path, holders: &BTreeSet<u64>, me: u64) -> Vec<(u64, Gone)> {
    let mut ids = holders.clone();
    if let Ok(entries) = std::fs::read_dir(home::ledger_holders_dir(home)) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_suffix(".lock")
                .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            {
                ids.insert(id);
            }
        }
    }
    ids.remove(&me);
    let mut gone = Vec::new();
    for id in ids {
        let path = home::ledger_holder_lock(home, &file_id(id));
        match File::options().write(true).open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => gone.push((
                id,
                Gone {
                    path: None,
                    _lock: None,
                },
            )),
            // Unreadable: treated as alive, like an untestable lock below.
            Err(_) => {}
            Ok(file) => match file.try_lock() {
                Ok(()) => gone.push((
                    id,
                    Gone {
                        path: Some(path),
                        _lock: Some(file),
                    },
                )),
                Err(TryLockError::WouldBlock) => {}
                // A lock that cannot be tried is treated as alive: releasing
                // a live run's holds would let it overspend.
                Err(TryLockError::Error(_)) => {}
            },
        }
    }
    gone
}

fn file_id(id: u64) -> String {
    format!("{id:016x}")
}

/// A random id; `0` is never one (it marks "no holder").
fn random_id() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness, the process id and the clock are still
        // unique among live processes.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        bytes = (u64::from(std::process::id()) << 32 | u64::from(nanos)).to_le_bytes();
    }
    u64::from_le_bytes(bytes).max(1)
}

/// A random run id below 2^53, so it survives JSON readers that use
/// doubles.
pub(super) fn random_run_id() -> u64 {
    (random_id() >> 11).max(1)
}
