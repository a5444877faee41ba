//! What a running spirit may do with credits: the rule behind the
//! `host_credit_*` functions.
//!
//! The VUDO VM lets any spirit with `actuator_credit` move any account's
//! credits. Here a run has a **payer** (the account of the person running
//! it, who signs for it with their key) and a **spend limit**: the spirit
//! may debit the payer's account only, and in total (transfers, plus
//! reservations not released) at most the limit. It may read any account's
//! balance. A spirit has no account of its own to debit: an account is a
//! key pair, a spirit holds no private key, and any account the host made
//! up for it would be debitable by whoever can run it.
//!
//! Reservation ids belong to the run that made them: another run's id, even
//! a valid one, is refused. What a run reserved and did not release or
//! consume is released when the run ends ([`RunCredits::finish`], or on
//! drop). A consumed reservation pays the spirit's author (the same
//! account its pricing pays), or is burned for an unsigned spirit.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::account::{Account, Holdings};
use super::database::Ledger;
use super::error::LedgerError;
use super::journal::Origin;

/// The largest amount one `host_credit_transfer` may move: 10^12.
pub const MAX_TRANSFER: u64 = 1_000_000_000_000;

/// The largest amount one `host_credit_reserve` may hold: 10^11.
pub const MAX_RESERVE: u64 = 100_000_000_000;

/// Who pays for a run, and how much the spirit itself may move out of the
/// payer's account.
///
/// ```
/// use spirit_build::ledger::{Account, Spending};
/// let spending = Spending { payer: Account([1; 32]), limit: 0 };
/// assert_eq!(spending.limit, 0); // the default: the spirit may move nothing
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spending {
    /// The payer's account.
    pub payer: Account,
    /// Credits the spirit may move out of it through the host functions.
    pub limit: u64,
}

/// Why a run's credit call was refused. The spirit sees `-1`; the host
/// reports the reason.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// The run has no payer, so nothing may be debited.
    #[error(
        "this run has no payer, so the spirit cannot move credits\nhelp: run it with `--payer KEY` and a `--spend-limit`"
    )]
    NoPayer,
    /// A debit of an account that is not the payer's.
    #[error(
        "the spirit tried to debit account {account}, but may debit only the payer's account {payer}"
    )]
    NotPayer {
        /// The account it tried to debit.
        account: Account,
        /// The payer.
        payer: Account,
    },
    /// Past the spend limit.
    #[error(
        "the spirit tried to move {amount} credits of the payer's, but only {left} of its spend limit of {limit} are left\nhelp: raise it with `--spend-limit`"
    )]
    OverLimit {
        /// What it tried to move.
        amount: u64,
        /// What is left of the limit.
        left: u64,
        /// The limit.
        limit: u64,
    },
    /// An amount outside the ABI's range.
    #[error("{function} takes an amount from 1 to {max}, not {amount}")]
    Amount {
        /// The host function.
        function: &'static str,
        /// The amount.
        amount: i64,
        /// The largest allowed.
        max: u64,
    },
    /// A reservation id this run did not make, or already settled.
    #[error("reservation {0} is not an active reservation of this run")]
    NotThisRun(i64),
    /// The ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// One run's access to the ledger: the payer rule, the spend limit and the
/// run's own reservations.
///
/// ```
/// use std::sync::Arc;
/// use spirit_build::ledger::{Account, CreditError, Ledger, Origin, RunCredits, Spending};
///
/// let home = tempfile::tempdir()?;
/// let ledger = Arc::new(Ledger::open(home.path())?);
/// let (payer, author, other) = (Account([1; 32]), Account([2; 32]), Account([3; 32]));
/// ledger.mint(&payer, 1_000, &Origin::operator())?;
/// ledger.mint(&other, 1_000, &Origin::operator())?;
///
/// let spending = Spending { payer, limit: 100 };
/// let mut run = RunCredits::new(ledger.clone(), Some(spending), Some(author), Origin::run("shop", None));
/// run.transfer(&payer, &other, 60)?;
/// assert!(matches!(run.transfer(&other, &payer, 10), Err(CreditError::NotPayer { .. })));
/// assert!(matches!(run.reserve(&payer, 50), Err(CreditError::OverLimit { left: 40, .. })));
/// let id = run.reserve(&payer, 40)?;
/// run.consume(id)?; // pays the author
/// run.finish()?;
/// assert_eq!(ledger.balance(&payer)?, 900);
/// assert_eq!(ledger.balance(&author)?, 40);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RunCredits {
    ledger: Arc<Ledger>,
    origin: Origin,
    spending: Option<Spending>,
    payee: Option<Account>,
    /// Credits counted against the limit: transferred, consumed, and held
    /// by active reservations.
    committed: u64,
    /// This run's active reservations: id → amount.
    reservations: BTreeMap<u64, u64>,
}

impl RunCredits {
    /// A run paid for by `spending` (`None`: the spirit may debit nothing)
    /// whose consumed reservations pay `payee` (the spirit's author; `None`:
    /// burned).
    pub fn new(
        ledger: Arc<Ledger>,
        spending: Option<Spending>,
        payee: Option<Account>,
        origin: Origin,
    ) -> RunCredits {
        RunCredits {
            ledger,
            origin,
            spending,
            payee,
            committed: 0,
            reservations: BTreeMap::new(),
        }
    }

    /// The journal's view of this run.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// What is left of the spend limit.
    pub fn left(&self) -> u64 {
        self.spending
            .map_or(0, |s| s.limit.saturating_sub(self.committed))
    }

    /// Any account's balance and holds.
    ///
    /// # Errors
    ///
    /// Fails when the ledger cannot be read.
    pub fn holdings(&self, account: &Account) -> Result<Holdings, CreditError> {
        Ok(self.ledger.holdings(account)?)
    }

    /// Moves `amount` from `from` (which must be the payer) to `to`.
    ///
    /// # Errors
    ///
    /// Refused for an amount outside `1..=`[`MAX_TRANSFER`], a `from` that
    /// is not the payer, past the spend limit, and whatever
    /// [`Ledger::transfer`] refuses.
    pub fn transfer(
        &mut self,
        from: &Account,
        to: &Account,
        amount: u64,
    ) -> Result<(), CreditError> {
        check_amount("host_credit_transfer", amount, MAX_TRANSFER)?;
        self.may_debit(from, amount)?;
        self.ledger.transfer(from, to, amount, &self.origin)?;
        self.committed += amount;
        Ok(())
    }

    /// Holds `amount` of `account` (which must be the payer); the
    /// reservation's id.
    ///
    /// # Errors
    ///
    /// Refused for an amount outside `1..=`[`MAX_RESERVE`], an account that
    /// is not the payer, past the spend limit, and whatever
    /// [`Ledger::reserve`] refuses.
    pub fn reserve(&mut self, account: &Account, amount: u64) -> Result<u64, CreditError> {
        check_amount("host_credit_reserve", amount, MAX_RESERVE)?;
        self.may_debit(account, amount)?;
        let id = self.ledger.reserve(account, amount, &self.origin)?;
        self.committed += amount;
        self.reservations.insert(id, amount);
        Ok(id)
    }

    /// Cancels this run's reservation `id`; its amount counts against the
    /// limit no more.
    ///
    /// # Errors
    ///
    /// Refused when `id` is not an active reservation of this run.
    pub fn release(&mut self, id: u64) -> Result<(), CreditError> {
        let amount = self.own(id)?;
        self.ledger.release(id, &self.origin)?;
        self.reservations.remove(&id);
        self.committed -= amount;
        Ok(())
    }

    /// Spends this run's reservation `id`: the amount goes to the payee (the
    /// spirit's author), or is burned when there is none.
    ///
    /// # Errors
    ///
    /// Refused when `id` is not an active reservation of this run.
    pub fn consume(&mut self, id: u64) -> Result<(), CreditError> {
        self.own(id)?;
        self.ledger.consume(id, self.payee.as_ref(), &self.origin)?;
        self.reservations.remove(&id);
        Ok(())
    }

    /// Ends the run: releases what it still holds.
    ///
    /// # Errors
    ///
    /// Fails when the ledger does; what is left is then released when the
    /// ledger is dropped or next opened.
    pub fn finish(mut self) -> Result<(), LedgerError> {
        self.release_all()
    }

    fn release_all(&mut self) -> Result<(), LedgerError> {
        while let Some((id, amount)) = self.reservations.pop_first() {
            self.ledger.release(id, &self.origin)?;
            self.committed -= amount;
        }
        Ok(())
    }

    fn may_debit(&self, account: &Account, amount: u64) -> Result<(), CreditError> {
        let spending = self.spending.ok_or(CreditError::NoPayer)?;
        if *account != spending.payer {
            return Err(CreditError::NotPayer {
                account: *account,
                payer: spending.payer,
            });
        }
        let left = self.left();
        if amount > left {
            return Err(CreditError::OverLimit {
                amount,
                left,
                limit: spending.limit,
            });
        }
        Ok(())
    }

    fn own(&self, id: u64) -> Result<u64, CreditError> {
        self.reservations
            .get(&id)
            .copied()
            .ok_or(CreditError::NotThisRun(
                i64::try_from(id).unwrap_or(i64::MAX),
            ))
    }
}

impl Drop for RunCredits {
    fn drop(&mut self) {
        let _ = self.release_all();
    }
}

fn check_amount(function: &'static str, amount: u64, max: u64) -> Result<(), CreditError> {
    if amount == 0 || amount > max {
        return Err(CreditError::Amount {
            function,
            amount: i64::try_from(amount).unwrap_or(i64::MAX),
            max,
        });
    }
    Ok(())
}
