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

mod account;
mod charge;
mod database;
mod error;
mod holder;
mod journal;
mod spend;
mod tables;
#[cfg(test)]
mod tests;

pub use account::{Account, AccountError, Holdings, MAX_BALANCE};
pub use charge::{Charge, ChargeTerms, Settlement};
pub use database::{Audit, DEFAULT_WAIT, Ledger};
pub use error::LedgerError;
pub use journal::{Entry, EntryKind, Origin};
pub use spend::{CreditError, MAX_RESERVE, MAX_TRANSFER, RunCredits, Spending};
pub use tables::Reservation;
