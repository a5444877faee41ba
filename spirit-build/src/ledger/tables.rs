//! The ledger's schema and the changes made inside one write transaction.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `balances` | account (32 bytes) | credits |
//! | `held` | account | the sum of its active reservations |
//! | `reservations` | id (from 1, never reused) | account, amount, holder, run |
//! | `journal` | sequence number (from 1) | one [`Entry`], JSON |
//! | `meta` | `schema`, `next_reservation`, `minted`, `burned` | a number |
//!
//! `held` is kept beside `reservations` so that `available` is two point
//! reads; [`Tables`] changes both together and [`Ledger::audit`](super::Ledger::audit)
//! checks that they agree.

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::account::{Account, MAX_BALANCE};
use super::error::LedgerError;
use super::journal::{Entry, EntryKind, Origin};

pub(super) const BALANCES: TableDefinition<'_, &[u8; 32], u64> = TableDefinition::new("balances");
pub(super) const HELD: TableDefinition<'_, &[u8; 32], u64> = TableDefinition::new("held");
/// Value: (account, amount, holder, run).
pub(super) const RESERVATIONS: TableDefinition<'_, u64, (&[u8; 32], u64, u64, u64)> =
    TableDefinition::new("reservations");
pub(super) const JOURNAL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("journal");
pub(super) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

pub(super) const SCHEMA_KEY: &str = "schema";
pub(super) const NEXT_RESERVATION: &str = "next_reservation";
pub(super) const MINTED: &str = "minted";
pub(super) const BURNED: &str = "burned";

/// The schema this code reads and writes.
pub(super) const SCHEMA: u64 = 1;

/// Every table, open in one write transaction.
pub(super) struct Tables<'t> {
    balances: Table<'t, &'static [u8; 32], u64>,
    held: Table<'t, &'static [u8; 32], u64>,
    reservations: Table<'t, u64, (&'static [u8; 32], u64, u64, u64)>,
    journal: Table<'t, u64, &'static [u8]>,
    meta: Table<'t, &'static str, u64>,
    now_ns: u64,
}

impl<'t> Tables<'t> {
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Tables<'t>, LedgerError> {
        Ok(Tables {
            balances: txn.open_table(BALANCES)?,
            held: txn.open_table(HELD)?,
            reservations: txn.open_table(RESERVATIONS)?,
            journal: txn.open_table(JOURNAL)?,
            meta: txn.open_table(META)?,
            now_ns: now_ns(),
        })
    }

    pub(super) fn meta(&self, key: &str) -> Result<u64, LedgerError> {
        Ok(self.meta.get(key)?.map_or(0, |v| v.value()))
    }

    pub(super) fn set_meta(&mut self, key: &str, value: u64) -> Result<(), LedgerError> {
        self.meta.insert(key, value)?;
        Ok(())
    }

    pub(super) fn balance(&self, account: &Account) -> Result<u64, LedgerError> {
        Ok(self.balances.get(&account.0)?.map_or(0, |v| v.value()))
    }

    pub(super) fn held(&self, account: &Account) -> Result<u64, LedgerError> {
        Ok(self.held.get(&account.0)?.map_or(0, |v| v.value()))
    }

    /// Fails unless `account` has `needed` credits that are not held.
    pub(super) fn require_available(
        &self,
        account: &Account,
        needed: u64,
    ) -> Result<(), LedgerError> {
        let balance = self.balance(account)?;
        let held = self.held(account)?;
        if balance.saturating_sub(held) < needed {
            return Err(LedgerError::Insufficient {
                account: *account,
                balance,
                held,
                needed,
            });
        }
        Ok(())
    }

    fn set_balance(&mut self, account: &Account, balance: u64) -> Result<(), LedgerError> {
        if balance == 0 {
            self.balances.remove(&account.0)?;
        } else {
            self.balances.insert(&account.0, balance)?;
        }
        Ok(())
    }

    fn set_held(&mut self, account: &Account, held: u64) -> Result<(), LedgerError> {
        if held == 0 {
            self.held.remove(&account.0)?;
        } else {
            self.held.insert(&account.0, held)?;
        }
        Ok(())
    }

    /// Adds `amount` to `account`, refusing a balance over [`MAX_BALANCE`].
    pub(super) fn credit(&mut self, account: &Account, amount: u64) -> Result<(), LedgerError> {
        let balance = self
            .balance(account)?
            .checked_add(amount)
            .filter(|b| *b <= MAX_BALANCE)
            .ok_or(LedgerError::Overflow { account: *account })?;
        self.set_balance(account, balance)
    }

    /// Takes `amount` of `account`'s available (not held) credits.
    pub(super) fn debit(&mut self, account: &Account, amount: u64) -> Result<(), LedgerError> {
        self.require_available(account, amount)?;
        let balance = self.balance(account)?;
        self.set_balance(account, balance - amount)
    }

    /// Puts `amount` of `account`'s available credits on hold; the new
    /// reservation's id.
    pub(super) fn hold(
        &mut self,
        account: &Account,
        amount: u64,
        holder: u64,
        run: u64,
    ) -> Result<u64, LedgerError> {
        self.require_available(account, amount)?;
        let held = self.held(account)?;
        self.set_held(account, held + amount)?;
        let id = self.meta(NEXT_RESERVATION)?.max(1);
        self.set_meta(NEXT_RESERVATION, id + 1)?;
        self.reservations
            .insert(id, (&account.0, amount, holder, run))?;
        Ok(id)
    }

    /// Removes reservation `id`, making its amount available again.
    pub(super) fn unhold(&mut self, id: u64) -> Result<Reservation, LedgerError> {
        let reservation = self
            .reservations
            .remove(id)?
            .map(|v| {
                let (account, amount, holder, run) = v.value();
                Reservation {
                    id,
                    account: Account(*account),
                    amount,
                    holder,
                    run,
                }
            })
            .ok_or(LedgerError::NoReservation { id })?;
        let held = self.held(&reservation.account)?;
        self.set_held(&reservation.account, held - reservation.amount)?;
        Ok(reservation)
    }

    /// Every active reservation of `holder`.
    pub(super) fn reservations_of(&self, holder: u64) -> Result<Vec<u64>, LedgerError> {
        let mut ids = Vec::new();
        for row in self.reservations.iter()? {
            let (id, value) = row?;
            if value.value().2 == holder {
                ids.push(id.value());
            }
        }
        Ok(ids)
    }

    /// Lifts every active reservation of `holder`, journalling each as
    /// `kind` (a release when its ledger closes, an abandon when a killed
    /// process's are found).
    pub(super) fn release_all_of(
        &mut self,
        holder: u64,
        kind: EntryKind,
    ) -> Result<(), LedgerError> {
        for id in self.reservations_of(holder)? {
            let r = self.unhold(id)?;
            let origin = Origin {
                run: (r.run != 0).then_some(r.run),
                ..Origin::default()
            };
            self.record(kind, Some(&r.account), None, r.amount, Some(id), &origin)?;
        }
        Ok(())
    }

    /// Appends one entry to the journal.
    pub(super) fn record(
        &mut self,
        kind: EntryKind,
        from: Option<&Account>,
        to: Option<&Account>,
        amount: u64,
        reservation: Option<u64>,
        origin: &Origin,
    ) -> Result<Entry, LedgerError> {
        let seq = self.journal.last()?.map_or(1, |(k, _)| k.value() + 1);
        let entry = Entry {
            seq,
            time_ns: self.now_ns,
            kind,
            from: from.copied(),
            to: to.copied(),
            amount,
            reservation,
            spirit: origin.spirit.clone(),
            wasm: origin.wasm.clone(),
            run: origin.run,
        };
        self.journal.insert(seq, entry.encode().as_slice())?;
        Ok(entry)
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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
