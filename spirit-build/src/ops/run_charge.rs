//! What `run` does with credits: finds the payer, holds the most a priced
//! run can cost before the spirit starts, settles the actual cost after,
//! and gives a spirit granted `actuator_credit` its access to the ledger.
//!
//! Who pays whom: the payer is the key given with `--payer` (else
//! `SPIRIT_SIGNING_KEY`, else the default key); the author is the key that
//! signed the spirit. A spirit with no valid signature (a crate built here,
//! a bare `.wasm`, an unsigned package) has no author to pay, so its pricing
//! is not charged; a run whose payer is its author costs nothing.

use std::path::PathBuf;
use std::sync::Arc;

use spirit_sdk::abi::Capability;

use crate::ledger::{
    Account, Charge, ChargeTerms, Ledger, LedgerError, Origin, RunCredits, Settlement, Spending,
};
use crate::limits::{Policy, Pricing};
use crate::sandbox::{Outcome, RunError};
use crate::sign::{Author, Key};
use crate::{Error, Shell};

/// Who pays for a run, how much the spirit may move, and where the ledger
/// is.
///
/// ```
/// let options = spirit_build::ops::CreditOptions::default();
/// assert_eq!(options.spend_limit, 0);
/// assert!(options.payer.is_none() && options.home.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreditOptions {
    /// The `VUDO_HOME` whose ledger is used; `None`: `$VUDO_HOME`, else
    /// `~/.vudo`.
    pub home: Option<PathBuf>,
    /// The payer's private key file (`--payer`); `None`:
    /// `SPIRIT_SIGNING_KEY`, else the default key.
    pub payer: Option<PathBuf>,
    /// Credits the spirit may move out of the payer's account through the
    /// host functions (`--spend-limit`).
    pub spend_limit: u64,
}

/// A run's charge and credits, from before it starts to after it ends.
#[derive(Debug, Default)]
pub(super) struct Billing {
    /// The hold on the payer, for a charged run.
    charge: Option<(Charge, Pricing)>,
    /// The spirit's access to the ledger, when it is granted
    /// `actuator_credit`.
    pub(super) credits: Option<RunCredits>,
}

/// Everything a run needs from the ledger before it starts.
pub(super) struct Prepare<'a> {
    pub(super) options: &'a CreditOptions,
    pub(super) spirit: &'a str,
    pub(super) wasm: &'a [u8],
    pub(super) author: Option<Author>,
    pub(super) pricing: Option<Pricing>,
    pub(super) fuel: u64,
    pub(super) policy: &'a Policy,
}

/// Holds the most the run can cost on its payer (refusing a payer who
/// cannot cover it) and opens the spirit's access to the ledger.
pub(super) fn prepare(shell: &Shell, run: Prepare<'_>) -> Result<Billing, Error> {
    let pricing = run
        .pricing
        .filter(|p| p.base_cost > 0 || p.per_fuel_cost > 0 || p.min_balance.is_some_and(|m| m > 0));
    let wants_credit = run.policy.grants(Capability::ActuatorCredit);
    if pricing.is_none() && !wants_credit {
        return Ok(Billing::default());
    }
    let origin = Origin::run(
        run.spirit,
        Some(blake3::hash(run.wasm).to_hex().to_string()),
    );
    let mut ledger: Option<Arc<Ledger>> = None;
    let open = |ledger: &mut Option<Arc<Ledger>>| -> Result<Arc<Ledger>, Error> {
        if let Some(ledger) = ledger {
            return Ok(ledger.clone());
        }
        let home = match &run.options.home {
            Some(home) => home.clone(),
            None => crate::home::vudo_home()?,
        };
        Ok(ledger.insert(Arc::new(Ledger::open(&home)?)).clone())
    };
    let payer = || Key::find(run.options.payer.as_deref()).map(|key| Account::from(key.author()));
    let mut billing = Billing::default();

    if let Some(pricing) = pricing {
        match run.author {
            None => shell.verbose(|s| {
                s.status(
                    "Free",
                    format_args!(
                        "spirit `{}` is unsigned: its pricing is not charged (there is no author to pay)",
                        run.spirit
                    ),
                )
            }),
            Some(author) => {
                let payer = payer().map_err(|error| Error::NoPayer {
                    spirit: run.spirit.to_owned(),
                    why: "is priced",
                    error,
                })?;
                let author = Account::from(author);
                if payer == author {
                    shell.verbose(|s| {
                        s.status(
                            "Free",
                            format_args!(
                                "spirit `{}`: the payer is its author, so the run costs nothing",
                                run.spirit
                            ),
                        )
                    });
                } else {
                    let max_cost = pricing.cost(run.fuel);
                    let terms = ChargeTerms {
                        payer,
                        payee: author,
                        max_cost,
                        min_balance: pricing.min_balance,
                    };
                    let charge = open(&mut ledger)?
                        .hold_charge(terms, origin.clone())
                        .map_err(|error| match error {
                            LedgerError::Insufficient { .. } => Error::NotCovered {
                                spirit: run.spirit.to_owned(),
                                max_cost,
                                pricing: explain(&pricing, run.fuel),
                                error,
                            },
                            other => Error::Ledger(other),
                        })?;
                    shell.verbose(|s| {
                        s.status(
                            "Reserved",
                            format_args!(
                                "{max_cost} credits of {payer}, the most this run can cost"
                            ),
                        )
                    });
                    billing.charge = Some((charge, pricing));
                }
            }
        }
    }

    if wants_credit {
        let spending = match payer() {
            Ok(payer) => Some(Spending {
                payer,
                limit: run.options.spend_limit,
            }),
            Err(error) if run.options.spend_limit > 0 => {
                return Err(Error::NoPayer {
                    spirit: run.spirit.to_owned(),
                    why: "may spend credits (`--spend-limit`)",
                    error,
                });
            }
            // Without a payer the spirit may still read balances.
            Err(_) => None,
        };
        billing.credits = Some(RunCredits::new(
            open(&mut ledger)?,
            spending,
            run.author.map(Account::from),
            origin,
        ));
    }
    Ok(billing)
}

/// After the run: pays the author what the run cost and releases the rest
/// of the hold. A run refused before instantiation (imports, entry,
/// arguments) costs nothing; one that ran out of fuel costs the maximum;
/// one that ended another way before returning costs the base cost (its
/// fuel is not known).
pub(super) fn settle(
    shell: &Shell,
    billing: &mut Billing,
    result: &Result<Outcome, RunError>,
) -> Result<Option<Settlement>, Error> {
    let Some((charge, pricing)) = billing.charge.take() else {
        return Ok(None);
    };
    let fuel = match result {
        Ok(outcome) => outcome.fuel_used,
        Err(RunError::Refused(_) | RunError::Entry(_) | RunError::Arguments(_)) => {
            // Dropping the charge releases its hold.
            return Ok(None);
        }
        Err(RunError::OutOfFuel(limit)) => *limit,
        Err(_) => 0,
    };
    let settled = charge.settle(pricing.cost(fuel))?;
    shell.status(
        "Charged",
        format_args!(
            "{} credits to {} (paid to the author, {})",
            settled.cost, settled.payer, settled.payee
        ),
    );
    Ok(Some(settled))
}

fn explain(pricing: &Pricing, fuel: u64) -> String {
    let cost = format!(
        "base_cost {} + fuel limit {fuel} × per_fuel_cost {} / 1000",
        pricing.base_cost, pricing.per_fuel_cost
    );
    match pricing.min_balance {
        Some(min) => format!("{cost}; its min-balance is {min}"),
        None => cost,
    }
}
