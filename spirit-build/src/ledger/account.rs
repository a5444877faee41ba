//! Accounts and what they hold.

use std::fmt;

use crate::sign::{decode_hex, encode_hex};

/// The largest balance an account may have: `i64::MAX`, so the host
/// functions (which return `i64`) can always report it.
pub const MAX_BALANCE: u64 = i64::MAX as u64;

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

/// Text that is not an account.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not an account\nhelp: an account is an ed25519 public key in 64 hex characters, or the name of a key under VUDO_HOME/keys"
)]
pub struct AccountError(pub String);

impl std::str::FromStr for Account {
    type Err = AccountError;

    fn from_str(s: &str) -> Result<Account, AccountError> {
        decode_hex::<32>(s.trim())
            .map(Account)
            .ok_or_else(|| AccountError(s.trim().chars().take(80).collect()))
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
