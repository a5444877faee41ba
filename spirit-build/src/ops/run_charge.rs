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
use crate::sandbox::{Outcome, RunError, RunFailure};
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
    /// The blake3 of the spirit's wasm, which the ledger records.
    pub(super) wasm_hash: &'a blake3::Hash,
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
    let origin = Origin::run(run.spirit, Some(run.wasm_hash.to_hex().to_string()));
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
    result: &Result<Outcome, Box<RunFailure>>,
) -> Result<Option<Settlement>, Error> {
    let Some((charge, pricing)) = billing.charge.take() else {
        return Ok(None);
    };
    let fuel = match result.as_ref().map_err(|failure| &failure.error) {
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::Verbosity;
    use crate::ledger::EntryKind;
    use crate::manifest::Manifest;
    use crate::ops::{LimitOverrides, ReceiptRequest, RunOptions, RunTarget, run};
    use crate::package::SpiritFiles;
    use crate::sandbox::{CollectingIo, SandboxConfig};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A spirit that counts to 100, priced at 100 + 1 credit per unit of
    /// fuel, with at most 1,000 units: it costs 100 + its fuel, at most
    /// 1,100.
    const COUNTER: &str = r#"(module (memory (export "memory") 1)
        (func (export "run") (local $i i32)
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))))"#;

    const PRICING: Pricing = Pricing {
        base_cost: 100,
        per_fuel_cost: 1_000,
        min_balance: None,
    };

    struct World {
        home: tempfile::TempDir,
        author: Key,
        payer: Account,
        payer_key: PathBuf,
    }

    fn world() -> World {
        let home = tempfile::tempdir().unwrap();
        let payer = Key::generate().unwrap();
        let payer_key = home.path().join("payer.key");
        crate::fs::write_atomic(&payer_key, payer.to_hex().as_bytes()).unwrap();
        World {
            author: Key::generate().unwrap(),
            payer: Account::from(payer.author()),
            payer_key,
            home,
        }
    }

    impl World {
        fn ledger(&self) -> Ledger {
            Ledger::open(self.home.path()).unwrap()
        }

        fn author(&self) -> Account {
            Account::from(self.author.author())
        }

        /// A package of `COUNTER` with `pricing`, signed by the author (or
        /// by no one).
        fn package(&self, pricing: Pricing, signed: bool) -> PathBuf {
            let wasm = wat::parse_str(COUNTER).unwrap();
            let mut manifest = Manifest::for_module("counter", "1.0.0".parse().unwrap(), &wasm);
            manifest.pricing = Some(pricing);
            let files = SpiritFiles::new(manifest, wasm, signed.then_some(&self.author));
            let path = self.home.path().join(format!("counter-{signed}.spirit"));
            crate::fs::write_atomic(&path, &files.to_package()).unwrap();
            path
        }

        fn run(
            &self,
            package: &Path,
            payer_key: &Path,
            receipt: Option<ReceiptRequest>,
        ) -> (Result<Outcome, Error>, String) {
            let err = Captured::default();
            let shell = Shell::from_writers(
                Verbosity::Verbose,
                Box::new(err.clone()),
                Box::new(std::io::sink()),
            );
            let result = run(
                &shell,
                RunOptions {
                    target: RunTarget::Package(package.to_owned()),
                    allow: vec![],
                    deny: vec![],
                    limits: LimitOverrides {
                        fuel: Some(1_000),
                        ..LimitOverrides::default()
                    },
                    input: crate::ops::RunInput::default(),
                    io: Box::new(CollectingIo::default()),
                    invoke: None,
                    seed: None,
                    pricing: None,
                    sandbox: SandboxConfig::in_home(self.home.path()),
                    receipt,
                    credits: CreditOptions {
                        home: Some(self.home.path().to_owned()),
                        payer: Some(payer_key.to_owned()),
                        spend_limit: 0,
                    },
                    network: Default::default(),
                    deadline_guard: None,
                },
            );
            let text = String::from_utf8(err.0.lock().unwrap().clone()).unwrap();
            (result, text)
        }
    }

    #[test]
    fn a_priced_run_pays_the_author_exactly_its_cost() {
        let w = world();
        w.ledger()
            .mint(&w.payer, 10_000, &Origin::operator())
            .unwrap();
        let package = w.package(PRICING, true);
        let receipt_path = w.home.path().join("receipt.json");
        let receipt = ReceiptRequest {
            path: receipt_path.clone(),
            key: Key::generate().unwrap(),
        };
        let (outcome, text) = w.run(&package, &w.payer_key, Some(receipt));
        let fuel = outcome.unwrap().fuel_used;
        let cost = 100 + fuel;
        assert!(fuel > 100 && cost < 1_100, "{fuel}");
        let ledger = w.ledger();
        assert_eq!(ledger.balance(&w.payer).unwrap(), 10_000 - cost);
        assert_eq!(ledger.balance(&w.author()).unwrap(), cost);
        assert_eq!(ledger.holdings(&w.payer).unwrap().held, 0);
        assert!(
            text.contains("Reserved 1100 credits of"),
            "the hold is the pricing at the fuel limit: {text}"
        );
        assert!(
            text.contains(&format!(
                "Charged {cost} credits to {} (paid to the author, {})",
                w.payer,
                w.author()
            )),
            "{text}"
        );
        let kinds: Vec<_> = ledger
            .history(Some(&w.payer))
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                EntryKind::Mint,
                EntryKind::Reserve,
                EntryKind::Charge,
                EntryKind::Release
            ]
        );
        let charge = &ledger.history(Some(&w.author())).unwrap()[0];
        assert_eq!(charge.spirit.as_deref(), Some("counter"));
        assert_eq!(
            charge.wasm.as_deref(),
            Some(&*blake3::hash(&wat::parse_str(COUNTER).unwrap()).to_hex())
        );
        // The receipt records the charge, signed with the rest.
        let text = std::fs::read_to_string(&receipt_path).unwrap();
        let receipt = crate::receipt::Receipt::from_json(&text).unwrap();
        receipt.verify().unwrap();
        let settled = receipt.charge().unwrap();
        assert_eq!((settled.cost, settled.held), (cost, 1_100));
        assert_eq!((settled.payer, settled.payee), (w.payer, w.author()));
        assert_eq!(settled.run, charge.run);
    }

    #[test]
    fn a_payer_who_cannot_cover_the_maximum_is_refused_before_the_run() {
        let w = world();
        w.ledger()
            .mint(&w.payer, 1_099, &Origin::operator())
            .unwrap();
        let package = w.package(PRICING, true);
        let (result, text) = w.run(&package, &w.payer_key, None);
        let error = result.unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "spirit `counter` was not run: its payer cannot cover it: account {} has 1099 credits available (balance 1099, 0 reserved), not the 1100 needed\nhelp: the run may cost up to 1100 credits (base_cost 100 + fuel limit 1000 × per_fuel_cost 1000 / 1000); lower `--fuel`, or move credits to the payer with `cargo spirit credit transfer`",
                w.payer
            )
        );
        assert!(!text.contains("Running"), "{text}");
        // Nothing was held or charged.
        assert_eq!(w.ledger().history(None).unwrap().len(), 1);
        // A min-balance above the maximum cost is refused the same way.
        let strict = w.package(
            Pricing {
                min_balance: Some(5_000),
                ..PRICING
            },
            true,
        );
        w.ledger()
            .mint(&w.payer, 3_000, &Origin::operator())
            .unwrap();
        let (result, _) = w.run(&strict, &w.payer_key, None);
        let error = result.unwrap_err().to_string();
        assert!(error.contains("4099 credits available"), "{error}");
        assert!(error.contains("not the 5000 needed"), "{error}");
        assert!(error.contains("its min-balance is 5000"), "{error}");
    }

    #[test]
    fn unsigned_spirits_and_authors_run_free() {
        let w = world();
        w.ledger().mint(&w.payer, 10, &Origin::operator()).unwrap();
        // Unsigned: there is no author to pay, so nothing is charged (and
        // the payer needs no credits).
        let (outcome, text) = w.run(&w.package(PRICING, false), &w.payer_key, None);
        outcome.unwrap();
        assert!(text.contains("Free spirit `counter` is unsigned"), "{text}");
        // The author running their own spirit pays nothing.
        let author_key = w.home.path().join("author.key");
        crate::fs::write_atomic(&author_key, w.author.to_hex().as_bytes()).unwrap();
        let (outcome, text) = w.run(&w.package(PRICING, true), &author_key, None);
        outcome.unwrap();
        assert!(text.contains("the payer is its author"), "{text}");
        assert_eq!(w.ledger().history(None).unwrap().len(), 1);
        assert_eq!(w.ledger().balance(&w.payer).unwrap(), 10);
    }

    #[test]
    fn a_run_out_of_fuel_costs_the_maximum() {
        let w = world();
        w.ledger()
            .mint(&w.payer, 2_000, &Origin::operator())
            .unwrap();
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "run") (loop $l (br $l))))"#,
        )
        .unwrap();
        let mut manifest = Manifest::for_module("spin", "1.0.0".parse().unwrap(), &wasm);
        manifest.pricing = Some(PRICING);
        let files = SpiritFiles::new(manifest, wasm, Some(&w.author));
        let package = w.home.path().join("spin.spirit");
        crate::fs::write_atomic(&package, &files.to_package()).unwrap();
        let (result, _) = w.run(&package, &w.payer_key, None);
        assert!(matches!(
            result,
            Err(Error::Run { failure, .. }) if matches!(failure.error, RunError::OutOfFuel(1_000))
        ));
        assert_eq!(w.ledger().balance(&w.payer).unwrap(), 900);
        assert_eq!(w.ledger().balance(&w.author()).unwrap(), 1_100);
    }
}
