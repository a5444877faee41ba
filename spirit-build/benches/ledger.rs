//! Credit ledger benchmarks: what charging adds to a run. A plain harness
//! (`harness = false`) printing one line per measurement; figures are in
//! `BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p spirit-build --bench ledger
//! ```
//!
//! Each measurement is the median of several batches. Every change is an
//! fsync'ed redb commit, so the figures depend on the disk as much as on
//! the code.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::report;

use spirit_build::ledger::{Account, ChargeTerms, Ledger, Origin};
use spirit_build::manifest::Manifest;
use spirit_build::ops::{CreditOptions, LimitOverrides, RunOptions, RunTarget};
use spirit_build::package::SpiritFiles;
use spirit_build::sandbox::{
    CollectingIo, Limits, Policy, Pricing, RunRequest, Sandbox, SandboxConfig,
};
use spirit_build::sign::Key;
use spirit_build::{Shell, Verbosity};

/// [`support::per_iteration`] with this harness's warm-up.
fn measure(iters: u32, f: impl FnMut()) -> Duration {
    support::per_iteration(iters, iters.min(10), f)
}

fn main() {
    let home = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(home.path()).unwrap());
    let (payer, author) = (Account([1; 32]), Account([2; 32]));
    ledger.mint(&payer, 1 << 50, &Origin::operator()).unwrap();
    let terms = ChargeTerms {
        payer,
        payee: author,
        max_cost: 1_000,
        min_balance: Some(1_000),
    };

    report(
        "open the ledger (and look for abandoned holds)",
        measure(20, || drop(Ledger::open(home.path()).unwrap())),
    );
    report(
        "read a balance",
        measure(50, || {
            ledger.holdings(&payer).unwrap();
        }),
    );
    report(
        "transfer (one commit)",
        measure(20, || {
            ledger
                .transfer(&payer, &author, 1, &Origin::operator())
                .unwrap();
        }),
    );
    report(
        "charge a run: reserve + settle (two commits)",
        measure(20, || {
            let charge = ledger
                .hold_charge(terms, Origin::run("bench", None))
                .unwrap();
            charge.settle(600).unwrap();
        }),
    );

    // An embedding host that keeps the database open between operations.
    drop(ledger);
    let ledger = Arc::new(Ledger::open(home.path()).unwrap().keep_open(true));
    report(
        "kept open: read a balance",
        measure(50, || {
            ledger.holdings(&payer).unwrap();
        }),
    );
    report(
        "kept open: transfer (one commit)",
        measure(20, || {
            ledger
                .transfer(&payer, &author, 1, &Origin::operator())
                .unwrap();
        }),
    );
    report(
        "kept open: charge a run: reserve (unflushed) + settle",
        measure(20, || {
            let charge = ledger
                .hold_charge(terms, Origin::run("bench", None))
                .unwrap();
            charge.settle(600).unwrap();
        }),
    );

    // A trivial spirit run unpriced, then priced (hold before, settle
    // after), with the ledger opened per change as `cargo spirit run` does
    // and kept open as an embedding host may.
    drop(ledger);
    let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    let wasm =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#).unwrap();
    let spirit = sandbox.load("trivial", &wasm).unwrap();
    let run = || {
        sandbox
            .run(
                &spirit,
                RunRequest::new(Policy::default(), Limits::default()),
            )
            .unwrap()
    };
    let unpriced = measure(200, || {
        run();
    });
    report("run a trivial spirit, unpriced", unpriced);
    for (name, keep_open) in [
        ("run a trivial spirit, priced (ledger per change)", false),
        ("run a trivial spirit, priced (ledger kept open)", true),
    ] {
        let ledger = Arc::new(Ledger::open(home.path()).unwrap().keep_open(keep_open));
        let priced = measure(20, || {
            let charge = ledger
                .hold_charge(terms, Origin::run("bench", None))
                .unwrap();
            let outcome = run();
            charge.settle(100 + outcome.fuel_used / 1000).unwrap();
        });
        println!(
            "{name:<58} {:>12.2?}  {:.0}x unpriced, +{:.2?}",
            priced,
            priced.as_secs_f64() / unpriced.as_secs_f64(),
            priced.saturating_sub(unpriced)
        );
    }

    // `cargo spirit run` of a signed package in process (no process start):
    // the same package unpriced and priced, the ledger opened per change.
    let author = Key::generate().unwrap();
    let payer = Key::generate().unwrap();
    let payer_key = home.path().join("payer.key");
    spirit_build::fs::write_atomic(&payer_key, payer.to_hex().as_bytes()).unwrap();
    Ledger::open(home.path())
        .unwrap()
        .mint(&Account::from(payer.author()), 1 << 50, &Origin::operator())
        .unwrap();
    let package = |name: &str, pricing: Option<Pricing>| {
        let mut manifest = Manifest::for_module(name, "1.0.0".parse().unwrap(), &wasm);
        manifest.pricing = pricing;
        let files = SpiritFiles::new(manifest, wasm.clone(), Some(&author));
        let path = home.path().join(format!("{name}.spirit"));
        spirit_build::fs::write_atomic(&path, &files.to_package()).unwrap();
        path
    };
    let shell = Shell::from_writers(
        Verbosity::Quiet,
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
    );
    let run_package = |path: &std::path::Path| {
        spirit_build::run(
            &shell,
            RunOptions {
                target: RunTarget::Package(path.to_owned()),
                allow: vec![],
                deny: vec![],
                limits: LimitOverrides::default(),
                input: spirit_build::ops::RunInput::default(),
                io: Box::new(CollectingIo::default()),
                invoke: None,
                seed: None,
                pricing: None,
                sandbox: SandboxConfig::in_home(home.path()),
                receipt: None,
                credits: CreditOptions {
                    home: Some(home.path().to_owned()),
                    payer: Some(payer_key.clone()),
                    spend_limit: 0,
                },
                network: Default::default(),
                deadline_guard: None,
            },
        )
        .unwrap();
    };
    let free = package("free", None);
    let priced = package(
        "priced",
        Some(Pricing {
            base_cost: 100,
            per_fuel_cost: 1,
            min_balance: None,
        }),
    );
    let unpriced = measure(20, || run_package(&free));
    report("`run` of a signed package, unpriced", unpriced);
    let charged = measure(20, || run_package(&priced));
    println!(
        "{:<58} {:>12.2?}  {:.1}x unpriced, +{:.2?}",
        "`run` of the same package, priced",
        charged,
        charged.as_secs_f64() / unpriced.as_secs_f64(),
        charged.saturating_sub(unpriced)
    );
}
