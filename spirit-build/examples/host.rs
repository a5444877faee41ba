//! Hosting spirits from a Rust application, without the command line.
//!
//! This loads a small spirit (written in WebAssembly text here, so the
//! example is self-contained; an application would read a `.wasm` built by
//! `cargo spirit build` with `Sandbox::load_file`), grants it two
//! capabilities, runs it twice with limits and input, charging each run to a
//! payer in a credit ledger, and reads its logs, output, storage and usage.
//! Then it shows a refused capability and a limit.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p spirit-build --example host
//! ```

// An example application prints its results.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use spirit_build::ledger::{Account, ChargeTerms, Ledger, Origin};
use spirit_build::sandbox::{
    Call, CollectingIo, Limits, Policy, Pricing, RunError, RunRequest, Sandbox, SandboxConfig,
};
use spirit_sdk::abi::Capability;

/// Greets its input, and counts its runs in storage.
const GREETER: &str = r#"(module
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (import "vudo" "host_input_read" (func $input (param i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "runs")
    (data (i32.const 16) "greeting")
    (data (i32.const 32) "Hello, ")
    (func (export "run") (result i32)
        (local $n i32)
        (drop (call $log (i32.const 2) (i32.const 16) (i32.const 8)))
        ;; "Hello, " followed by the input.
        (local.set $n (call $input (i32.const 39) (i32.const 1000) (i32.const 0)))
        (drop (call $output (i32.const 32) (i32.add (i32.const 7) (local.get $n))))
        ;; runs += 1
        (if (i32.ne (call $read (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 4)) (i32.const 4))
            (then (i32.store (i32.const 8) (i32.const 0))))
        (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
        (drop (call $write (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 4)))
        (i32.const 0))
    (func (export "runs") (result i32)
        (drop (call $read (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 4)))
        (i32.load (i32.const 8)))
    (func (export "spin") (loop (br 0))))"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Storage and the compiled-code cache go under this directory; an
    // application would use its own data directory (or
    // `SandboxConfig::from_env()` for `VUDO_HOME`, as the CLI does).
    let home = tempfile::tempdir()?;
    let sandbox = Sandbox::with_config(SandboxConfig::in_home(home.path()))?;
    let wasm = wat::parse_str(GREETER)?;
    let spirit = sandbox.load("greeter", &wasm)?;

    let policy = Policy::allow([
        Capability::ActuatorLog,
        Capability::StorageRead,
        Capability::StorageWrite,
    ]);
    let limits = Limits {
        fuel: 1_000_000,
        timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let pricing = Pricing {
        base_cost: 10,
        per_fuel_cost: 1,
        min_balance: None,
    };

    // The credit ledger (under the same directory): the payer has 10,000
    // credits; each run is charged to it and paid to the spirit's author.
    // This process is the ledger's only user, so it keeps it open.
    let ledger = Arc::new(Ledger::open(home.path())?.keep_open(true));
    let (payer, author) = (Account([1; 32]), Account([2; 32]));
    ledger.mint(&payer, 10_000, &Origin::operator())?;

    for input in ["world", "spirits"] {
        // Hold the most the run can cost, run it, pay what it cost.
        let terms = ChargeTerms {
            payer,
            payee: author,
            max_cost: pricing.cost(limits.fuel),
            min_balance: pricing.min_balance,
        };
        let charge = ledger.hold_charge(terms, Origin::run("greeter", None))?;
        let mut request = RunRequest::new(policy.clone(), limits);
        request.input = input.as_bytes().to_vec();
        let outcome = sandbox.run(&spirit, request)?;
        let settled = charge.settle(pricing.cost(outcome.fuel_used))?;
        let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
        println!("output:  {}", String::from_utf8_lossy(&io.output));
        println!("log:     {}", io.logs[0]);
        println!(
            "usage:   status {}, {} units of fuel, {} bytes of memory, {:?}, charged {} credits (the payer has {} left)",
            outcome.status,
            outcome.fuel_used,
            outcome.peak_memory,
            outcome.duration,
            settled.cost,
            ledger.balance(&payer)?
        );
    }

    // Any export can be called with arguments; its results come back.
    let mut request = RunRequest::new(policy.clone(), limits);
    request.call = Call::Invoke {
        function: "runs".into(),
        args: vec![],
    };
    let outcome = sandbox.run(&spirit, request)?;
    println!("runs:    {}", outcome.results[0]);

    // Without `storage_write`, the spirit is refused before it runs.
    let refused = sandbox.run(
        &spirit,
        RunRequest::new(Policy::allow([Capability::ActuatorLog]), limits),
    );
    if let Err(RunError::Refused(problems)) = refused {
        println!("refused: {}", problems[0].message);
    }

    // A runaway loop ends with a limit, and the host goes on.
    let mut request = RunRequest::new(policy, limits);
    request.call = Call::Entry("spin".into());
    match sandbox.run(&spirit, request) {
        Err(e @ RunError::OutOfFuel(_)) => {
            println!("limit:   {}", e.to_string().lines().next().unwrap())
        }
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
