//! The [`Ledger`]: its database, opened per operation or kept open, and
//! every operation, each one write transaction.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::account::{Account, Holdings};
use super::error::LedgerError;
use super::holder::{self, Holder};
use super::journal::{Entry, EntryKind, Origin};
use super::tables::{
    BALANCES, BURNED, HELD, JOURNAL, META, MINTED, RESERVATIONS, Reservation, SCHEMA, SCHEMA_KEY,
    Tables,
};

/// How long an operation waits, by default, for another process that has
/// the ledger open.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// redb's page cache: the ledger is small and each operation reopens it.
const CACHE_SIZE: usize = 1 << 20;

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

/// The credit ledger under one `VUDO_HOME`. Share one per process (it is
/// `Sync`; wrap it in an `Arc` for [`RunCredits`](super::RunCredits) and
/// [`Charge`](super::Charge)).
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
    /// Whether this handle ever made a reservation, so its drop knows
    /// whether to look for what it still holds.
    reserved: AtomicBool,
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
            reserved: AtomicBool::new(false),
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
                supported: SCHEMA,
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
    /// Fails for an amount of 0, a balance past [`MAX_BALANCE`](super::MAX_BALANCE), or a
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
    /// a balance past [`MAX_BALANCE`](super::MAX_BALANCE), or a database failure; then nothing
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
        self.reserve_at_least(account, amount, amount, origin, true)
    }

    /// Reserves `amount` if `account` has at least `needed` (≥ `amount`)
    /// available, checked in the same transaction (a run's minimum balance).
    /// Not `durable`: committed without flushing the disk (see
    /// [`Ledger::commit`]).
    pub(super) fn reserve_at_least(
        &self,
        account: &Account,
        amount: u64,
        needed: u64,
        origin: &Origin,
        durable: bool,
    ) -> Result<u64, LedgerError> {
        nonzero(amount)?;
        self.reserved.store(true, Ordering::Relaxed);
        self.commit(durable, |t| {
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
    /// would pass [`MAX_BALANCE`](super::MAX_BALANCE), or on a database failure.
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
    pub(super) fn settle(
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
                t.release_all_of(*holder, EntryKind::Abandon)?;
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

    /// Runs `change` in one write transaction: committed (and flushed to
    /// disk) when it returns `Ok`, rolled back (nothing written) when it
    /// returns `Err`.
    fn transact<R>(
        &self,
        change: impl FnOnce(&mut Tables<'_>) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        self.commit(true, change)
    }

    /// [`Ledger::transact`], flushing the disk only when `durable`. A
    /// commit that is not durable is atomic like any other and seen by
    /// every later transaction, but until the next durable one (or the
    /// database's close, which makes it durable) a power loss may undo it.
    /// Only a charge's hold is committed so: losing it with the machine
    /// loses the run that needed it too, which is what releasing it would
    /// have done.
    fn commit<R>(
        &self,
        durable: bool,
        change: impl FnOnce(&mut Tables<'_>) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        let mut held = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let db = match held.take() {
            Some(db) => db,
            None => self.writable()?,
        };
        let result = (|| {
            let mut txn = db.begin_write()?;
            if !durable {
                txn.set_durability(redb::Durability::None)?;
            }
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
        // fails (or never runs), the next `open` releases it. A handle that
        // holds nothing writes nothing (a write costs disk flushes).
        let holder = self.holder.id;
        let holds = |ledger: &Ledger| -> Result<bool, LedgerError> {
            Ok(ledger.reservations()?.iter().any(|r| r.holder == holder))
        };
        if !self.reserved.load(Ordering::Relaxed) || matches!(holds(self), Ok(false)) {
            return;
        }
        let _ = self.transact(|t| t.release_all_of(holder, EntryKind::Release));
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
