//! `cargo spirit credit`: the local ledger's balances, the operator's
//! minting, transfers between accounts, and the journal. Each returns data
//! that prints for people ([`Display`]) and serializes for tools.
//!
//! An account is written as 64 hex characters (an ed25519 public key) or
//! as the name of a key under `VUDO_HOME/keys` (its `.pub` file).

use std::fmt::{self, Display};
use std::path::Path;

use serde::Serialize;

use crate::Error;
use crate::ledger::{Account, AccountError, Entry, Holdings, Ledger, Origin};
use crate::sign::Key;

/// An account's balance, what of it is reserved, and what is available.
///
/// ```
/// use spirit_build::ledger::{Account, Holdings};
/// use spirit_build::ops::Balance;
///
/// let balance = Balance::new(Account([0xab; 32]), Holdings { balance: 1_000, held: 150 });
/// assert_eq!(
///     balance.to_string(),
///     format!("{}: 1000 credits (850 available, 150 reserved)\n", "ab".repeat(32)),
/// );
/// assert!(serde_json::to_string(&balance).unwrap().ends_with(r#""balance":1000,"held":150,"available":850}"#));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// The account.
    pub account: Account,
    /// Its balance.
    pub balance: u64,
    /// Its reserved credits.
    pub held: u64,
    /// Its balance minus what is reserved.
    pub available: u64,
}

impl Balance {
    /// The figures of `holdings`.
    pub fn new(account: Account, holdings: Holdings) -> Balance {
        Balance {
            account,
            balance: holdings.balance,
            held: holdings.held,
            available: holdings.available(),
        }
    }
}

impl Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} credits ({} available, {} reserved)",
            self.account, self.balance, self.available, self.held
        )
    }
}

/// Journal entries, oldest first: a table, or JSON (one entry per line
/// through [`History::entries`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct History(pub Vec<Entry>);

impl History {
    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.0
    }
}

impl Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |a: &Option<Account>| {
            a.map_or_else(|| "-".to_owned(), |a| a.to_string()[..16].to_owned())
        };
        let header = ["SEQ", "KIND", "AMOUNT", "FROM", "TO", "SPIRIT"].map(str::to_owned);
        let rows: Vec<[String; 6]> = self
            .0
            .iter()
            .map(|e| {
                [
                    e.seq.to_string(),
                    e.kind.to_string(),
                    e.amount.to_string(),
                    short(&e.from),
                    short(&e.to),
                    e.spirit.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            writeln!(f, "{}", line.join("  ").trim_end())?;
        }
        Ok(())
    }
}

/// Reads an account: 64 hex characters, or the name of a key under
/// `home/keys` (its public key).
///
/// ```
/// let home = tempfile::tempdir().unwrap();
/// let (author, _) = spirit_build::sign::keygen(home.path(), "ci").unwrap();
/// let by_name = spirit_build::ops::account(home.path(), "ci").unwrap();
/// assert_eq!(by_name.to_string(), author.to_string());
/// assert_eq!(spirit_build::ops::account(home.path(), &author.to_string()).unwrap(), by_name);
/// assert!(spirit_build::ops::account(home.path(), "nobody").is_err());
/// ```
///
/// # Errors
///
/// Fails when the text is neither.
pub fn account(home: &Path, text: &str) -> Result<Account, Error> {
    if let Ok(account) = text.parse::<Account>() {
        return Ok(account);
    }
    let is_name = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let file = crate::home::public_key_file(home, text);
    if is_name && file.is_file() {
        let hex = crate::fs::read(&file)?;
        return String::from_utf8_lossy(&hex)
            .parse::<Account>()
            .map_err(|_| Error::Account(AccountError(format!("{text} ({})", file.display()))));
    }
    Err(Error::Account(AccountError(text.to_owned())))
}

/// The account of the key at `key` (else `SPIRIT_SIGNING_KEY`, else the
/// default key).
fn key_account(key: Option<&Path>) -> Result<Account, Error> {
    Ok(Account::from(Key::find(key).map_err(Error::Sign)?.author()))
}

/// `cargo spirit credit balance [ACCOUNT]`: an account's balance (the
/// default key's when none is named).
///
/// # Errors
///
/// Fails when the account cannot be read or the ledger cannot be opened.
pub fn credit_balance(home: &Path, account: Option<&str>) -> Result<Balance, Error> {
    let account = match account {
        Some(text) => self::account(home, text)?,
        None => key_account(None)?,
    };
    let ledger = Ledger::open(home)?;
    Ok(Balance::new(account, ledger.holdings(&account)?))
}

/// `cargo spirit credit mint ACCOUNT AMOUNT`: the local node's operator
/// issues `amount` new credits to an account. Whoever can write this
/// `VUDO_HOME` operates its ledger; minting is recorded in the journal.
///
/// # Errors
///
/// Fails for an amount of 0, a balance past the maximum, or a ledger
/// failure.
pub fn credit_mint(home: &Path, account: &str, amount: u64) -> Result<Balance, Error> {
    let account = self::account(home, account)?;
    let ledger = Ledger::open(home)?;
    ledger.mint(&account, amount, &Origin::operator())?;
    Ok(Balance::new(account, ledger.holdings(&account)?))
}

/// `cargo spirit credit transfer TO AMOUNT [--key PATH]`: moves credits
/// from the key's account (the holder of the private key) to another.
/// Returns the sender's balance after.
///
/// # Errors
///
/// Fails when the key or account cannot be read, the sender lacks the
/// credits, or the ledger fails.
pub fn credit_transfer(
    home: &Path,
    to: &str,
    amount: u64,
    key: Option<&Path>,
) -> Result<Balance, Error> {
    let to = account(home, to)?;
    let from = key_account(key)?;
    let ledger = Ledger::open(home)?;
    ledger.transfer(&from, &to, amount, &Origin::operator())?;
    Ok(Balance::new(from, ledger.holdings(&from)?))
}

/// `cargo spirit credit history [ACCOUNT]`: the journal, or the entries
/// that touch one account.
///
/// # Errors
///
/// Fails when the account cannot be read or the ledger cannot be opened.
pub fn credit_history(home: &Path, account: Option<&str>) -> Result<History, Error> {
    let account = account.map(|text| self::account(home, text)).transpose()?;
    let ledger = Ledger::open(home)?;
    Ok(History(ledger.history(account.as_ref())?))
}
