//! Credits (capability `actuator_credit`): read any account's balance,
//! move the run's payer's credits, and reserve them.
//!
//! An [`Account`] is the 32 bytes of an ed25519 public key. The host lets a
//! spirit debit only the run's **payer** (`cargo spirit run --payer KEY`),
//! and in total at most the run's **spend limit** (`--spend-limit N`,
//! default 0): transfers, plus reservations not released. A spirit learns
//! the accounts it deals with from its input.
//!
//! A [`Reservation`] holds credits until it is consumed (the held amount
//! goes to the spirit's author) or released; one dropped without either is
//! released, and the host releases what a run still holds when it ends.
//!
//! ```
//! use spirit_sdk::credit::{self, Account};
//!
//! let (payer, shop) = (Account([1; 32]), Account([2; 32]));
//! spirit_sdk::mock::set_balance(payer, 1_000);
//! spirit_sdk::mock::set_payer(payer, 300);
//!
//! credit::transfer(&payer, &shop, 100)?;
//! let hold = credit::reserve(&payer, 200)?;
//! assert_eq!(credit::available(&payer)?, 700);
//! drop(hold); // released
//! assert_eq!(credit::available(&payer)?, 900);
//! assert_eq!(credit::balance(&shop)?, 100);
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;

/// An account: the 32 bytes of an ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account(pub [u8; 32]);

/// `value` when the host's answer is not `-1` (or another negative).
fn credits(value: i64) -> Result<u64, HostError> {
    u64::try_from(value).map_err(|_| HostError::Credit)
}

/// `amount` as the ABI's `i64`.
fn amount(amount: u64) -> Result<i64, HostError> {
    i64::try_from(amount).map_err(|_| HostError::Credit)
}

/// The balance of any account (0 for one the ledger has never seen).
///
/// # Errors
///
/// [`HostError::Credit`] when `actuator_credit` is not granted or the
/// ledger cannot be read.
pub fn balance(account: &Account) -> Result<u64, HostError> {
    credits(crate::sys::credit_balance(&account.0))
}

/// The balance of any account minus its active reservations.
///
/// # Errors
///
/// [`HostError::Credit`] when `actuator_credit` is not granted or the
/// ledger cannot be read.
pub fn available(account: &Account) -> Result<u64, HostError> {
    credits(crate::sys::credit_available(&account.0))
}

/// Moves `amount` credits (1 to 10^12) from `from`, which must be the
/// run's payer, to `to`.
///
/// # Errors
///
/// [`HostError::Credit`] when the host refuses: `from` is not the payer,
/// the accounts are the same, the amount is out of range, not available or
/// past the spend limit.
pub fn transfer(from: &Account, to: &Account, amount: u64) -> Result<(), HostError> {
    match crate::sys::credit_transfer(&from.0, &to.0, self::amount(amount)?) {
        0 => Ok(()),
        _ => Err(HostError::Credit),
    }
}

/// Holds `amount` credits (1 to 10^11) of `account`, the run's payer.
///
/// # Errors
///
/// [`HostError::Credit`] when the host refuses, as for [`transfer`].
pub fn reserve(account: &Account, amount: u64) -> Result<Reservation, HostError> {
    let id = crate::sys::credit_reserve(&account.0, self::amount(amount)?);
    if id > 0 {
        Ok(Reservation { id })
    } else {
        Err(HostError::Credit)
    }
}

/// Credits on hold; released when dropped unless [consumed](Reservation::consume).
///
/// ```
/// use spirit_sdk::credit::{self, Account};
/// let (payer, author) = (Account([1; 32]), Account([2; 32]));
/// spirit_sdk::mock::set_balance(payer, 100);
/// spirit_sdk::mock::set_payer(payer, 100);
/// spirit_sdk::mock::set_author(author);
///
/// let hold = credit::reserve(&payer, 60)?;
/// assert!(hold.id() > 0);
/// hold.consume()?; // the 60 go to the author
/// assert_eq!(credit::balance(&payer)?, 40);
/// assert_eq!(credit::balance(&author)?, 60);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation is released when dropped"]
pub struct Reservation {
    id: i64,
}

impl Reservation {
    /// The host's id for it (from 1).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Spends it: the held amount leaves the payer's balance for the
    /// spirit's author.
    ///
    /// # Errors
    ///
    /// [`HostError::Credit`] when the host refuses it.
    pub fn consume(self) -> Result<(), HostError> {
        let id = self.id;
        core::mem::forget(self);
        match crate::sys::credit_consume(id) {
            0 => Ok(()),
            _ => Err(HostError::Credit),
        }
    }

    /// Cancels it: the amount is available again.
    ///
    /// # Errors
    ///
    /// [`HostError::Credit`] when the host refuses it.
    pub fn release(self) -> Result<(), HostError> {
        let id = self.id;
        core::mem::forget(self);
        match crate::sys::credit_release(id) {
            0 => Ok(()),
            _ => Err(HostError::Credit),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // Nothing to do with a failure here: the host releases what the run
        // still holds when it ends.
        let _ = crate::sys::credit_release(self.id);
    }
}
