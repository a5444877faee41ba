//! The journal: one [`Entry`] per change, appended in the same transaction
//! as the change, never rewritten.

use serde::{Deserialize, Serialize};

use super::account::Account;
use super::holder;

/// What a journal entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// The operator issued credits to `to`.
    Mint,
    /// `amount` moved from `from` to `to`.
    Transfer,
    /// `amount` of `from`'s balance was put on hold (`reservation`).
    Reserve,
    /// A hold was cancelled; the amount is available again.
    Release,
    /// A hold was spent: `amount` left `from` for `to` (burned when `to` is
    /// empty).
    Consume,
    /// A priced run was charged: `amount` left `from` (the payer) for `to`
    /// (the spirit's author).
    Charge,
    /// A hold whose ledger handle died (a killed process) was released when
    /// the ledger was next opened.
    Abandon,
}

impl EntryKind {
    /// The kind's name, as in JSON and in `cargo spirit credit history`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Mint => "mint",
            EntryKind::Transfer => "transfer",
            EntryKind::Reserve => "reserve",
            EntryKind::Release => "release",
            EntryKind::Consume => "consume",
            EntryKind::Charge => "charge",
            EntryKind::Abandon => "abandon",
        }
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change to the ledger.
///
/// ```
/// use spirit_build::ledger::{Account, Entry, EntryKind};
///
/// let entry = Entry {
///     seq: 1,
///     time_ns: 0,
///     kind: EntryKind::Mint,
///     from: None,
///     to: Some(Account([7; 32])),
///     amount: 500,
///     reservation: None,
///     spirit: None,
///     wasm: None,
///     run: None,
/// };
/// assert!(entry.touches(&Account([7; 32])));
/// assert!(entry.to_json().starts_with(r#"{"seq":1,"time_ns":0,"kind":"mint","#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its position in the journal, from 1.
    pub seq: u64,
    /// When it was committed, in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// What happened.
    pub kind: EntryKind,
    /// The account debited or held, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Account>,
    /// The account credited, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Account>,
    /// The credits moved, held or released.
    pub amount: u64,
    /// The reservation concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<u64>,
    /// The spirit whose run made the change, if a run did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spirit: Option<String>,
    /// The blake3 of that spirit's wasm, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm: Option<String>,
    /// The run's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
}

impl Entry {
    /// Whether the entry debits, holds or credits `account`.
    pub fn touches(&self, account: &Account) -> bool {
        self.from.as_ref() == Some(account) || self.to.as_ref() == Some(account)
    }

    /// The entry as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<Entry> {
        serde_json::from_slice(bytes).ok()
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
