//! Why a ledger operation failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::account::{Account, MAX_BALANCE};
use crate::fs::FsError;

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The account lacks the credits.
    #[error(
        "account {account} has {} credits available (balance {balance}, {held} reserved), not the {needed} needed",
        balance.saturating_sub(*held)
    )]
    Insufficient {
        /// The account.
        account: Account,
        /// Its balance.
        balance: u64,
        /// Its reserved credits.
        held: u64,
        /// What the operation needed available.
        needed: u64,
    },
    /// A balance would pass [`MAX_BALANCE`].
    #[error(
        "the balance of account {account} would exceed {MAX_BALANCE} credits, the most an account may hold"
    )]
    Overflow {
        /// The account.
        account: Account,
    },
    /// No such active reservation.
    #[error(
        "there is no active reservation {id} (it was never made, or was already released or consumed)"
    )]
    NoReservation {
        /// The id.
        id: u64,
    },
    /// An amount of zero.
    #[error("an amount of credits must be more than 0")]
    ZeroAmount,
    /// A transfer from an account to itself.
    #[error("a transfer needs two different accounts, not {0} twice")]
    SameAccount(Account),
    /// The file holds a ledger of a later schema.
    #[error(
        "the credit ledger `{}` has schema {found}, newer than this cargo-spirit reads ({supported})\nhelp: use the cargo-spirit that wrote it, or a newer one",
        path.display()
    )]
    Schema {
        /// The database file.
        path: PathBuf,
        /// Its schema.
        found: u64,
        /// The newest schema this code reads.
        supported: u64,
    },
    /// Another process kept the ledger open for longer than the wait.
    #[error(
        "the credit ledger `{}` is in use by another process; gave up after {waited:?}\nhelp: wait for the other cargo-spirit process to finish, then retry",
        path.display()
    )]
    Busy {
        /// The database file.
        path: PathBuf,
        /// How long this operation waited.
        waited: Duration,
    },
    /// redb failed.
    #[error("the credit ledger `{}` failed: {error}", path.display())]
    Database {
        /// The database file (empty until the ledger fills it in).
        path: PathBuf,
        /// redb's reason.
        error: String,
    },
    /// A directory or lock file could not be made.
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl LedgerError {
    pub(super) fn at(self, file: &Path) -> LedgerError {
        match self {
            LedgerError::Database { path, error } if path.as_os_str().is_empty() => {
                LedgerError::Database {
                    path: file.to_owned(),
                    error,
                }
            }
            other => other,
        }
    }
}

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for LedgerError {
            fn from(error: $error) -> LedgerError {
                LedgerError::Database { path: PathBuf::new(), error: error.to_string() }
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
