//! The credit ledger: balances by account, reservations (holds) and an
//! append-only journal, in one [`redb`] database under `VUDO_HOME`
//! ([`home::ledger_file`](crate::home::ledger_file)).
//!
//! An account is an ed25519 public key ([`Account`], 64 hex characters).
//! Credits are issued by the local node's operator ([`Ledger::mint`]) and
//! move only between accounts: a transfer, or a reservation that is
//! consumed. So `sum(balances) = minted − burned` at every commit, and
//! [`Ledger::audit`] checks it.
//!
//! **Every change is one redb write transaction**, journal entry included:
//! it commits (durably, fsync'ed) or leaves nothing, so a crash or a killed
//! process cannot create or lose a credit. Concurrent changes do not
//! interleave: within a process a handle's transactions take turns, and
//! across processes redb's file lock admits one process at a time, so each
//! operation opens the database, commits and closes it again (a second
//! process waits, retrying, up to [`Ledger::with_wait`]). Checks such as
//! "enough available" happen inside the transaction that spends.
//!
//! **Reservations belong to the ledger handle that made them** (its
//! *holder*, see `holder.rs`): when a handle is dropped its remaining
//! reservations are released, and when its process is killed they are
//! released by the next [`Ledger::open`], which finds the dead holder by
//! its lock. A run's own reservations and the rule on whose credits a
//! spirit may move are [`RunCredits`]; charging a priced run is [`Charge`].
//!
//! ```
//! use std::sync::Arc;
//! use spirit_build::ledger::{Account, Ledger, Origin};
//!
//! let home = tempfile::tempdir()?;
//! let ledger = Ledger::open(home.path())?;
//! let (alice, bob) = (Account([1; 32]), Account([2; 32]));
//! ledger.mint(&alice, 1_000, &Origin::operator())?;
//! ledger.transfer(&alice, &bob, 300, &Origin::operator())?;
//! let hold = ledger.reserve(&alice, 500, &Origin::operator())?;
//! assert_eq!(ledger.holdings(&alice)?.available(), 200);
//! ledger.consume(hold, Some(&bob), &Origin::operator())?;
//! assert_eq!(ledger.balance(&alice)?, 200);
//! assert_eq!(ledger.balance(&bob)?, 800);
//! assert!(ledger.audit()?.is_consistent());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod charge;
mod holder;
mod journal;
mod spend;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

pub use charge::{Charge, ChargeTerms, Settlement};
pub use journal::{Entry, EntryKind};
pub use spend::{CreditError, MAX_RESERVE, MAX_TRANSFER, RunCredits, Spending};

use crate::fs::FsError;
use crate::sign::{decode_hex, encode_hex};
use holder::Holder;
use tables::{
    BALANCES, BURNED, HELD, JOURNAL, META, MINTED, RESERVATIONS, SCHEMA, SCHEMA_KEY, Tables,
};

/// The largest balance an account may have: `i64::MAX`, so the host
/// functions (which return `i64`) can always report it.
pub const MAX_BALANCE: u64 = i64::MAX as u64;

/// How long an operation waits, by default, for another process that has
/// the ledger open.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// redb's page cache: the ledger is small and each operation reopens it.
const CACHE_SIZE: usize = 1 << 20;

/// An account: the 32 bytes of an ed25519 public key, written as 64 hex
/// characters.
///
/// ```
/// use spirit_build::ledger::Account;
/// let hex = "0a".repeat(32);
/// let account: Account = hex.parse().unwrap();
/// assert_eq!(account, Account([10; 32]));
/// assert_eq!(account.to_string(), hex);
/// assert!("0a0a".parse::<Account>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account(pub [u8; 32]);

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_hex(&self.0))
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account({self})")
    }
}

impl std::str::FromStr for Account {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Account, LedgerError> {
        decode_hex::<32>(s.trim())
            .map(Account)
            .ok_or_else(|| LedgerError::BadAccount(s.trim().chars().take(80).collect()))
    }
}

impl From<crate::sign::Author> for Account {
    fn from(author: crate::sign::Author) -> Account {
        Account(author.0)
    }
}

impl serde::Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Account, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What made a change, for the journal: a run (its spirit, wasm hash and
/// id) or the operator.
///
/// ```
/// use spirit_build::ledger::Origin;
/// let origin = Origin::run("hello", Some("ab".repeat(32)));
/// assert_eq!(origin.spirit.as_deref(), Some("hello"));
/// assert!(origin.run.is_some());
/// assert_eq!(Origin::operator().run, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The spirit whose run made the change.
    pub spirit: Option<String>,
    /// The blake3 of its wasm, in hex.
    pub wasm: Option<String>,
    /// The run's id (below 2^53).
    pub run: Option<u64>,
}

impl Origin {
    /// A change made by the operator (`cargo spirit credit`), not a run.
    pub fn operator() -> Origin {
        Origin::default()
    }

    /// A new run of `spirit` with a fresh random id.
    pub fn run(spirit: &str, wasm: Option<String>) -> Origin {
        Origin {
            spirit: Some(spirit.to_owned()),
            wasm,
            run: Some(holder::random_run_id()),
        }
    }
}

/// An active reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Its id, from 1, never reused.
    pub id: u64,
    /// The account whose credits it holds.
    pub account: Account,
    /// The credits held.
    pub amount: u64,
    /// The ledger handle that made it.
    pub holder: u64,
    /// The run that made it (`0`: none).
    pub run: u64,
}

/// An account's balance and what of it is on hold.
///
/// ```
/// let h = spirit_build::ledger::Holdings { balance: 10, held: 4 };
/// assert_eq!(h.available(), 6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Holdings {
    /// Credits in the account.
    pub balance: u64,
    /// Credits reserved and not yet released or consumed.
    pub held: u64,
}

impl Holdings {
    /// What can be spent or reserved: the balance minus what is held.
    pub fn available(&self) -> u64 {
        self.balance.saturating_sub(self.held)
    }
}

/// The ledger's totals, and whether they agree ([`Ledger::audit`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// The sum of every balance.
    pub balances: u128,
    /// Credits ever minted.
    pub minted: u64,
    /// Credits consumed with no recipient.
    pub burned: u64,
    /// The sum of the `held` column.
    pub held: u128,
    /// The sum of the active reservations.
    pub reserved: u128,
    /// The number of active reservations.
    pub reservations: usize,
    /// Accounts whose held credits exceed their balance.
    pub overdrawn: usize,
    /// Journal entries.
    pub entries: u64,
}

impl Audit {
    /// Whether no credit was created or lost: balances sum to minted minus
    /// burned, holds agree with reservations, and no account holds more
    /// than it has.
    pub fn is_consistent(&self) -> bool {
        self.balances == u128::from(self.minted) - u128::from(self.burned)
            && self.held == self.reserved
            && self.overdrawn == 0
    }
}

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Not 64 hex characters.
    #[error(
        "`{0}` is not an account\nhelp: an account is an ed25519 public key in 64 hex characters, or the name of a key under VUDO_HOME/keys"
    )]
    BadAccount(String),
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
        "the credit ledger `{}` has schema {found}, newer than this cargo-spirit reads ({SCHEMA})\nhelp: use the cargo-spirit that wrote it, or a newer one",
        path.display()
    )]
    Schema {
        /// The database file.
        path: PathBuf,
        /// Its schema.
        found: u64,
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
    fn at(self, file: &Path) -> LedgerError {
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
    redb::CommitError
);

/// The credit ledger under one `VUDO_HOME`. Share one per process (it is
/// `Sync`; wrap it in an `Arc` for [`RunCredits`] and [`Charge`]).
#[derive(Debug)]
pub struct Ledger {
    home: PathBuf,
    file: PathBuf,
    holder: Holder,
    /// The open database, when [`Ledger::keep_open`] keeps it. This
    /// handle's transactions take turns on this lock rather than on redb's
    /// file lock, which refuses a second open in the same process.
    db: Mutex<Option<Database>>,
    keep_open: bool,
    wait: Duration,
}

impl Ledger {
    /// Opens (creating if needed) the ledger under `home`, and releases the
    /// reservations of handles whose process is gone.
    ///
    /// # Errors
    ///
    /// Fails when the directory or database cannot be created or read, when
    /// the database is of a newer schema, or when another process keeps it
    /// open for longer than [`DEFAULT_WAIT`].
    pub fn open(home: &Path) -> Result<Ledger, LedgerError> {
        let dir = crate::home::ledger_dir(home);
        crate::fs::create_dir_all(&dir)?;
        let ledger = Ledger {
            home: home.to_owned(),
            file: crate::home::ledger_file(home),
            holder: Holder::new(home)?,
            db: Mutex::new(None),
            keep_open: false,
            wait: DEFAULT_WAIT,
        };
        let found = ledger.read(|txn| match txn.open_table(META) {
            Ok(meta) => Ok(meta.get(SCHEMA_KEY)?.map_or(0, |v| v.value())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        })?;
        if found > SCHEMA {
            return Err(LedgerError::Schema {
                path: ledger.file.clone(),
                found,
            });
        }
        if found < SCHEMA {
            // A new ledger: create every table, so readers find them.
            ledger.transact(|t| t.set_meta(SCHEMA_KEY, SCHEMA))?;
        }
        ledger.release_abandoned()?;
        Ok(ledger)
    }

    /// How long each operation waits for another process that has the
    /// ledger open before failing with [`LedgerError::Busy`].
    pub fn with_wait(mut self, wait: Duration) -> Ledger {
        self.wait = wait;
        self
    }

    /// Keeps the database open between operations (`true`), instead of
    /// opening it for each one and closing it after (the default).
    ///
    /// Opening and closing a redb database each flush the disk, so an open
    /// database makes each change one flush instead of four: the choice of
    /// an embedding host that is the only process using this `VUDO_HOME`.
    /// While it is open, any other process waits ([`LedgerError::Busy`]
    /// after its wait), so `cargo spirit`, one process per command, keeps
    /// the default.
    pub fn keep_open(mut self, keep: bool) -> Ledger {
        self.keep_open = keep;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// This handle's holder id, recorded in its reservations.
    pub fn holder(&self) -> u64 {
        self.holder.id
    }

    /// `account`'s balance (`0` for an account never seen).
    ///
    /// # Errors
    ///
    /// Fails when the database cannot be read.
    pub fn balance(&self, account: &Account) -> Result<u64, LedgerError> {
        Ok(self.holdings(account)?.balance)
    }

    /// `account`'s balance minus its active reservations.
    ///
    /// # Errors
    ///
    /// Fails when the database cannot be read.
    pub fn available(&self, account: &Account) -> Result<u64, LedgerError> {
        Ok(self.holdings(account)?.available())
    }

    /// `account`'s balance and reserved credits, read together.
    ///
    /// # Errors
    ///
    /// Fails when the database cannot be read.
    pub fn holdings(&self, account: &Account) -> Result<Holdings, LedgerError> {
        self.read(|txn| {
            let balance = txn
                .open_table(BALANCES)?
                .get(&account.0)?
                .map_or(0, |v| v.value());
            let held = txn
                .open_table(HELD)?
                .get(&account.0)?
                .map_or(0, |v| v.value());
            Ok(Holdings { balance, held })
        })
    }

    /// Issues `amount` new credits to `to`: the local node's operator
    /// creating credits, recorded as `mint`.
    ///
    /// # Errors
    ///
    /// Fails for an amount of 0, a balance past [`MAX_BALANCE`], or a
    /// database failure.
    pub fn mint(&self, to: &Account, amount: u64, origin: &Origin) -> Result<Entry, LedgerError> {
        nonzero(amount)?;
        self.transact(|t| {
            t.credit(to, amount)?;
            let minted = t.meta(MINTED)?;
            t.set_meta(MINTED, minted.saturating_add(amount))?;
            t.record(EntryKind::Mint, None, Some(to), amount, None, origin)
        })
    }

    /// Moves `amount` of `from`'s available credits to `to`.
    ///
    /// # Errors
    ///
    /// Fails for an amount of 0, `from == to`, too few available credits,
    /// a balance past [`MAX_BALANCE`], or a database failure; then nothing
    /// moved.
    pub fn transfer(
        &self,
        from: &Account,
        to: &Account,
        amount: u64,
        origin: &Origin,
    ) -> Result<Entry, LedgerError> {
        nonzero(amount)?;
        if from == to {
            return Err(LedgerError::SameAccount(*from));
        }
        self.transact(|t| {
            t.debit(from, amount)?;
            t.credit(to, amount)?;
            t.record(
                EntryKind::Transfer,
                Some(from),
                Some(to),
                amount,
                None,
                origin,
            )
        })
    }

    /// Puts `amount` of `account`'s available credits on hold; the
    /// reservation's id. The hold belongs to this handle: it is released
    /// when the handle is dropped, or after its process dies, unless it was
    /// released or consumed before.
    ///
    /// # Errors
    ///
    /// Fails for an amount of 0, too few available credits, or a database
    /// failure.
    pub fn reserve(
        &self,
        account: &Account,
        amount: u64,
        origin: &Origin,
    ) -> Result<u64, LedgerError> {
        self.reserve_at_least(account, amount, amount, origin)
    }

    /// Reserves `amount` if `account` has at least `needed` (≥ `amount`)
    /// available, checked in the same transaction (a run's minimum balance).
    fn reserve_at_least(
        &self,
        account: &Account,
        amount: u64,
        needed: u64,
        origin: &Origin,
    ) -> Result<u64, LedgerError> {
        nonzero(amount)?;
        self.transact(|t| {
            t.require_available(account, needed)?;
            let id = t.hold(account, amount, self.holder.id, origin.run.unwrap_or(0))?;
            t.record(
                EntryKind::Reserve,
                Some(account),
                None,
                amount,
                Some(id),
                origin,
            )?;
            Ok(id)
        })
    }

    /// Cancels reservation `id`: its amount is available again. Returns it.
    ///
    /// # Errors
    ///
    /// Fails when `id` is not an active reservation, or on a database
    /// failure.
    pub fn release(&self, id: u64, origin: &Origin) -> Result<Reservation, LedgerError> {
        self.transact(|t| {
            let r = t.unhold(id)?;
            t.record(
                EntryKind::Release,
                Some(&r.account),
                None,
                r.amount,
                Some(id),
                origin,
            )?;
            Ok(r)
        })
    }

    /// Spends reservation `id`: its amount leaves the account for `to`, or
    /// is burned (taken out of circulation, counted in [`Audit::burned`])
    /// when `to` is `None`. Returns it.
    ///
    /// # Errors
    ///
    /// Fails when `id` is not an active reservation, when `to`'s balance
    /// would pass [`MAX_BALANCE`], or on a database failure.
    pub fn consume(
        &self,
        id: u64,
        to: Option<&Account>,
        origin: &Origin,
    ) -> Result<Reservation, LedgerError> {
        self.transact(|t| {
            let r = t.unhold(id)?;
            spend_held(t, &r, r.amount, to)?;
            t.record(
                EntryKind::Consume,
                Some(&r.account),
                to,
                r.amount,
                Some(id),
                origin,
            )?;
            Ok(r)
        })
    }

    /// Spends `amount` (at most the held amount) of reservation `id` for
    /// `to`, as a `charge`, and releases the rest, in one transaction.
    fn settle(
        &self,
        id: u64,
        amount: u64,
        to: &Account,
        origin: &Origin,
    ) -> Result<u64, LedgerError> {
        self.transact(|t| {
            let r = t.unhold(id)?;
            let amount = amount.min(r.amount);
            if amount > 0 {
                spend_held(t, &r, amount, Some(to))?;
                t.record(
                    EntryKind::Charge,
                    Some(&r.account),
                    Some(to),
                    amount,
                    Some(id),
                    origin,
                )?;
            }
            if amount < r.amount {
                t.record(
                    EntryKind::Release,
                    Some(&r.account),
                    None,
                    r.amount - amount,
                    Some(id),
                    origin,
                )?;
            }
            Ok(amount)
        })
    }

    /// The journal, oldest first: every entry, or those touching `account`.
    ///
    /// # Errors
    ///
    /// Fails when the database cannot be read.
    pub fn history(&self, account: Option<&Account>) -> Result<Vec<Entry>, LedgerError> {
        self.read(|txn| {
            let journal = txn.open_table(JOURNAL)?;
            let mut entries = Vec::new();
            for row in journal.iter()? {
                let (_, bytes) = row?;
                if let Some(entry) = Entry::decode(bytes.value())
                    && account.is_none_or(|a| entry.touches(a))
                {
                    entries.push(entry);
                }
            }
            Ok(entries)
        })
    }

    /// Every active reservation, by id.
    ///
    /// # Errors
    ///
    /// Fails when the database cannot be read.
    pub fn reservations(&self) -> Result<Vec<Reservation>, LedgerError> {
        self.read(|txn| {
            let table = txn.open_table(RESERVATIONS)?;
            let mut all = Vec::new();
            for row in table.iter()? {
                let (id, value) = row?;
                let (account, amount, holder, run) = value.value();
                all.push(Reservation {
                    id: id.value(),
                    account: Account(*account),
                    amount,
                    holder,
                    run,
                });
            }
            Ok(all)
        })
    }

    /// Adds up the ledger in one read transaction; see
    /// [`Audit::is_consistent`].
    ///
    /// # Errors
    ///
    /// Fails when the database cannot be read.
    pub fn audit(&self) -> Result<Audit, LedgerError> {
        self.read(|txn| {
            let mut audit = Audit::default();
            let balances = txn.open_table(BALANCES)?;
            let held = txn.open_table(HELD)?;
            for row in balances.iter()? {
                audit.balances += u128::from(row?.1.value());
            }
            for row in held.iter()? {
                let (account, amount) = row?;
                audit.held += u128::from(amount.value());
                let balance = balances.get(account.value())?.map_or(0, |v| v.value());
                if amount.value() > balance {
                    audit.overdrawn += 1;
                }
            }
            for row in txn.open_table(RESERVATIONS)?.iter()? {
                audit.reserved += u128::from(row?.1.value().1);
                audit.reservations += 1;
            }
            let meta = txn.open_table(META)?;
            let get = |key: &str| -> Result<u64, LedgerError> {
                Ok(meta.get(key)?.map_or(0, |v| v.value()))
            };
            audit.minted = get(MINTED)?;
            audit.burned = get(BURNED)?;
            audit.entries = txn.open_table(JOURNAL)?.len()?;
            Ok(audit)
        })
    }

    /// Releases every reservation whose holder's process is gone, one
    /// transaction for all, each recorded as `abandon`.
    fn release_abandoned(&self) -> Result<(), LedgerError> {
        let holders: BTreeSet<u64> = self.reservations()?.iter().map(|r| r.holder).collect();
        let gone = holder::abandoned(&self.home, &holders, self.holder.id);
        if gone.is_empty() {
            return Ok(());
        }
        self.transact(|t| {
            for (holder, _) in &gone {
                for id in t.reservations_of(*holder)? {
                    let r = t.unhold(id)?;
                    let origin = Origin {
                        run: (r.run != 0).then_some(r.run),
                        ..Origin::default()
                    };
                    t.record(
                        EntryKind::Abandon,
                        Some(&r.account),
                        None,
                        r.amount,
                        Some(id),
                        &origin,
                    )?;
                }
            }
            Ok(())
        })?;
        for (_, gone) in gone {
            gone.remove();
        }
        Ok(())
    }

    /// Opens the database for writing.
    fn writable(&self) -> Result<Database, LedgerError> {
        self.opening(|builder| builder.create(&self.file))
    }

    /// Opens the database for reading, which costs no disk flush (unless it
    /// needs the repair only a writable open makes).
    fn readable(&self) -> Result<Open, LedgerError> {
        self.opening(|builder| match builder.open_read_only(&self.file) {
            Ok(db) => Ok(Open::ReadOnly(db)),
            // A new ledger: a writable open creates it.
            Err(_) if !self.file.exists() => builder.create(&self.file).map(Open::Writable),
            // Left by a killed writer: a writable open repairs it.
            Err(redb::DatabaseError::RepairAborted) => {
                builder.create(&self.file).map(Open::Writable)
            }
            Err(e) => Err(e),
        })
    }

    /// Calls `open` until it succeeds, waiting while another process has
    /// the database open.
    fn opening<T>(
        &self,
        open: impl Fn(&redb::Builder) -> Result<T, redb::DatabaseError>,
    ) -> Result<T, LedgerError> {
        let started = Instant::now();
        let mut sleep = Duration::from_micros(200);
        let mut builder = Database::builder();
        builder.set_cache_size(CACHE_SIZE);
        loop {
            match open(&builder) {
                Ok(db) => return Ok(db),
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    let waited = started.elapsed();
                    if waited >= self.wait {
                        return Err(LedgerError::Busy {
                            path: self.file.clone(),
                            waited,
                        });
                    }
                    std::thread::sleep(jitter(sleep).min(self.wait - waited));
                    sleep = (sleep * 2).min(Duration::from_millis(10));
                }
                Err(e) => return Err(LedgerError::from(e).at(&self.file)),
            }
        }
    }

    /// Calls `f` in one read transaction.
    fn read<R>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        let mut held = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let result = match held.as_ref() {
            Some(db) => db
                .begin_read()
                .map_err(LedgerError::from)
                .and_then(|txn| f(&txn)),
            None if self.keep_open => {
                let db = held.insert(self.writable()?);
                db.begin_read()
                    .map_err(LedgerError::from)
                    .and_then(|txn| f(&txn))
            }
            None => {
                // The database must outlive the transaction: dropping it
                // closes the file under the transaction.
                let db = self.readable()?;
                let txn = match &db {
                    Open::ReadOnly(db) => db.begin_read(),
                    Open::Writable(db) => db.begin_read(),
                };
                let result = txn.map_err(LedgerError::from).and_then(|txn| f(&txn));
                drop(db);
                result
            }
        };
        result.map_err(|e| e.at(&self.file))
    }

    /// Runs `change` in one write transaction: committed when it returns
    /// `Ok`, rolled back (nothing written) when it returns `Err`.
    fn transact<R>(
        &self,
        change: impl FnOnce(&mut Tables<'_>) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        let mut held = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let db = match held.take() {
            Some(db) => db,
            None => self.writable()?,
        };
        let result = (|| {
            let txn = db.begin_write()?;
            let result = {
                let mut tables = Tables::open(&txn)?;
                change(&mut tables)?
            };
            txn.commit()?;
            Ok(result)
        })();
        if self.keep_open {
            *held = Some(db);
        }
        result.map_err(|e: LedgerError| e.at(&self.file))
    }
}

/// A database opened by [`Ledger::readable`].
enum Open {
    ReadOnly(redb::ReadOnlyDatabase),
    Writable(Database),
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // What this handle still holds goes back to its accounts; if this
        // fails (or never runs), the next `open` releases it.
        let holder = self.holder.id;
        let _ = self.transact(|t| {
            for id in t.reservations_of(holder)? {
                let r = t.unhold(id)?;
                let origin = Origin {
                    run: (r.run != 0).then_some(r.run),
                    ..Origin::default()
                };
                t.record(
                    EntryKind::Release,
                    Some(&r.account),
                    None,
                    r.amount,
                    Some(id),
                    &origin,
                )?;
            }
            Ok(())
        });
    }
}

/// Moves `amount` of a just-removed reservation's credits out of its
/// account, to `to` or burned.
fn spend_held(
    t: &mut Tables<'_>,
    r: &Reservation,
    amount: u64,
    to: Option<&Account>,
) -> Result<(), LedgerError> {
    // The hold guaranteed the credits; debit checks them again against
    // what is now held by others, which the hold excluded.
    t.debit(&r.account, amount)?;
    match to {
        Some(to) => t.credit(to, amount),
        None => {
            let burned = t.meta(BURNED)?;
            t.set_meta(BURNED, burned.saturating_add(amount))
        }
    }
}

fn nonzero(amount: u64) -> Result<(), LedgerError> {
    if amount == 0 {
        return Err(LedgerError::ZeroAmount);
    }
    Ok(())
}

/// `sleep` give or take half, so processes waiting for the same lock do not
/// retry in step.
fn jitter(sleep: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    sleep / 2 + sleep.mul_f64(f64::from(nanos % 1000) / 1000.0)
}
