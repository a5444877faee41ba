//! Charging a priced run: hold the most it can cost before it starts,
//! settle the actual cost after it ends.
//!
//! The cost of a run comes from its pricing (`Pricing::cost` in the
//! sandbox's limits: `base_cost + fuel × per_fuel_cost / 1000`); this
//! module only moves the credits, so it needs no sandbox. Before the run,
//! [`Ledger::hold_charge`] reserves the maximum cost (the pricing at the
//! run's fuel limit) on the payer, in the same transaction that checks the
//! payer has it (and the spirit's `min-balance`): a payer who cannot cover
//! it is refused before the spirit starts. After the run,
//! [`Charge::settle`] pays the actual cost to the spirit's author and
//! releases the rest, in one transaction. A charge dropped without being
//! settled (the run could not start) releases its hold; one whose process
//! is killed is released by the next [`Ledger::open`], so the payer pays
//! nothing for a run that never finished.
//!
//! A run whose payer is the spirit's author costs nothing: no hold, no
//! charge.
//!
//! The hold is committed without flushing the disk (redb's
//! `Durability::None`), the settlement with: a hold lost to a power cut is
//! lost with the run that needed it, which is what releasing it would have
//! done, and a ledger kept open ([`Ledger::keep_open`]) saves one flush per
//! run. (A ledger opened per change flushes when it closes anyway.)

use std::sync::Arc;

use super::account::Account;
use super::database::Ledger;
use super::error::LedgerError;
use super::journal::Origin;

/// What a run may be charged, and who pays whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChargeTerms {
    /// The payer's account.
    pub payer: Account,
    /// The spirit's author's account, which the charge pays.
    pub payee: Account,
    /// The most the run can cost (its pricing at its fuel limit).
    pub max_cost: u64,
    /// Credits the payer must have available before the run starts, if the
    /// spirit's pricing sets a `min-balance`.
    pub min_balance: Option<u64>,
}

impl ChargeTerms {
    /// Whether the run is free: the payer is the author.
    pub fn is_free(&self) -> bool {
        self.payer == self.payee
    }
}

/// What a run was charged, for its receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    /// The payer's account.
    pub payer: Account,
    /// The author's account, paid.
    pub payee: Account,
    /// The credits that moved from payer to author.
    pub cost: u64,
    /// The credits held before the run (the most it could have cost).
    pub held: u64,
    /// The journal's run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
}

/// A priced run's hold on its payer, from before the run until
/// [`Charge::settle`].
#[derive(Debug)]
pub struct Charge {
    ledger: Arc<Ledger>,
    terms: ChargeTerms,
    origin: Origin,
    /// The hold (`None`: a free run, or a maximum cost of 0).
    reservation: Option<u64>,
}

impl Ledger {
    /// Holds the most a run can cost on its payer: the start of charging
    /// it. A free run ([`ChargeTerms::is_free`]) holds nothing and checks
    /// nothing.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use spirit_build::ledger::{Account, ChargeTerms, Ledger, LedgerError, Origin};
    ///
    /// let home = tempfile::tempdir()?;
    /// let ledger = Arc::new(Ledger::open(home.path())?);
    /// let (payer, author) = (Account([1; 32]), Account([2; 32]));
    /// ledger.mint(&payer, 1_000, &Origin::operator())?;
    ///
    /// let terms = ChargeTerms { payer, payee: author, max_cost: 600, min_balance: None };
    /// let charge = ledger.hold_charge(terms, Origin::run("hello", None))?;
    /// assert_eq!(ledger.available(&payer)?, 400);
    /// // A second run at the same time cannot be covered: refused up front.
    /// let refused = ledger.hold_charge(terms, Origin::run("hello", None)).unwrap_err();
    /// assert!(matches!(refused, LedgerError::Insufficient { needed: 600, .. }));
    ///
    /// let settled = charge.settle(250)?;
    /// assert_eq!(settled.cost, 250);
    /// assert_eq!(ledger.balance(&payer)?, 750);
    /// assert_eq!(ledger.balance(&author)?, 250);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LedgerError::Insufficient`] when the payer has less available than
    /// the maximum cost or the minimum balance; a database failure.
    pub fn hold_charge(
        self: &Arc<Self>,
        terms: ChargeTerms,
        origin: Origin,
    ) -> Result<Charge, LedgerError> {
        let reservation = if terms.is_free() {
            None
        } else {
            let needed = terms.max_cost.max(terms.min_balance.unwrap_or(0));
            if terms.max_cost > 0 {
                Some(self.reserve_at_least(&terms.payer, terms.max_cost, needed, &origin, false)?)
            } else {
                let holdings = self.holdings(&terms.payer)?;
                if holdings.available() < needed {
                    return Err(LedgerError::Insufficient {
                        account: terms.payer,
                        balance: holdings.balance,
                        held: holdings.held,
                        needed,
                    });
                }
                None
            }
        };
        Ok(Charge {
            ledger: self.clone(),
            terms,
            origin,
            reservation,
        })
    }
}

impl Charge {
    /// The terms it was made with.
    pub fn terms(&self) -> &ChargeTerms {
        &self.terms
    }

    /// The journal's view of the run.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Pays `cost` (at most the maximum held) from the payer to the author
    /// and releases the rest, in one transaction.
    ///
    /// # Errors
    ///
    /// Fails when the ledger does; then nothing moved, and the hold is
    /// released when the ledger is dropped or next opened.
    pub fn settle(mut self, cost: u64) -> Result<Settlement, LedgerError> {
        let held = self.terms.max_cost;
        let cost = match self.reservation.take() {
            Some(id) => self
                .ledger
                .settle(id, cost, &self.terms.payee, &self.origin)?,
            None => 0,
        };
        Ok(Settlement {
            payer: self.terms.payer,
            payee: self.terms.payee,
            cost,
            held: if self.terms.is_free() { 0 } else { held },
            run: self.origin.run,
        })
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if let Some(id) = self.reservation.take() {
            let _ = self.ledger.release(id, &self.origin);
        }
    }
}
