//! Hosting spirits from a Rust application, without the command line.
//!
//! This loads a small spirit (written in WebAssembly text here, so the
//! example is self-contained; an application would read a `.wasm` built by
//! `cargo spirit build` with `Sandbox::load_file`), grants it three
//! capabilities, runs it twice with limits and input, charging each run to a
//! payer in a credit ledger, and reads its logs, output, storage and usage
//! (`Outcome::output`, `Outcome::logs`: no downcasting). Then it shows a
//! typed call (serde values in and out, as JSON), a refused capability, a
//! limit whose failed run still hands back its output (`RunFailure`), a
//! sandbox whose storage is in memory (`MemoryStorage`, any
//! `StorageBackend`), a host function of the application's own (`acme.upper`,
//! gated by the application's capability `acme:text`), and the one call
//! that runs an installed spirit as `cargo spirit run NAME@REQ` does, from
//! the application's own VUDO_HOME.
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
use spirit_build::manifest::Manifest;
use spirit_build::ops::RunOptions;
use spirit_build::package::SpiritFiles;
use spirit_build::registry::{InstallOptions, Registry};
use spirit_build::sandbox::{
    Call, GuestMemory, HostFunctions, Limits, MemoryStorage, Policy, Pricing, RunError, RunRequest,
    Sandbox, SandboxConfig, StorageOwner,
};
use spirit_build::{Capability, Shell, Verbosity};

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
    (func (export "echo")
        (drop (call $output (i32.const 64) (call $input (i32.const 64) (i32.const 1000) (i32.const 0)))))
    (func (export "spin") (loop (br 0))))"#;

/// Shouts its input through the application's own host function
/// `acme.upper`, which upper-cases guest memory in place.
const SHOUTER: &str = r#"(module
    (import "acme" "upper" (func $upper (param i32 i32) (result i32)))
    (import "vudo" "host_input_read" (func $input (param i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (local $n i32)
        (local.set $n (call $input (i32.const 0) (i32.const 1000) (i32.const 0)))
        (drop (call $upper (i32.const 0) (local.get $n)))
        (drop (call $output (i32.const 0) (local.get $n)))
        (i32.const 0)))"#;

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
        let request = RunRequest::new(policy.clone(), limits).with_input(input);
        let outcome = sandbox.run(&spirit, request)?;
        let settled = charge.settle(pricing.cost(outcome.fuel_used))?;
        println!("output:  {}", String::from_utf8_lossy(outcome.output()));
        println!("log:     {}", outcome.logs()[0]);
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
    let request =
        RunRequest::new(policy.clone(), limits).with_call(Call::invoke("runs", [0i32; 0]));
    let outcome = sandbox.run(&spirit, request)?;
    println!("runs:    {}", outcome.results[0]);

    // A typed call: the input is a serde value as JSON, the output is read
    // back as one (`echo` writes its input back).
    let request = RunRequest::new(policy.clone(), limits).with_call(Call::Entry("echo".into()));
    let (word, n): (String, u32) = sandbox.call(&spirit, request, &("typed", 7))?;
    println!("typed:   ({word:?}, {n})");

    // Without `storage_write`, the spirit is refused before it runs.
    let refused = sandbox.run(
        &spirit,
        RunRequest::new(Policy::allow([Capability::ActuatorLog]), limits),
    );
    if let Err(RunError::Refused(problems)) = refused {
        println!("refused: {}", problems[0].message);
    }

    // A runaway loop ends with a limit, and the host goes on; `execute`
    // hands back what the failed run did.
    let request = RunRequest::new(policy.clone(), limits).with_call(Call::Entry("spin".into()));
    match sandbox.execute(&spirit, request) {
        Err(failure) if matches!(failure.error, RunError::OutOfFuel(_)) => {
            println!(
                "limit:   {failure} ({} units of fuel used)",
                failure.fuel_used
            )
        }
        other => println!("unexpected: {other:?}"),
    }

    // Storage is pluggable: here every store is in memory (an application
    // may implement `StorageBackend` over its own database).
    let storage = Arc::new(MemoryStorage::new());
    let in_memory = Sandbox::with_storage(SandboxConfig::in_memory(), storage.clone())?;
    let spirit = in_memory.load("greeter", &wasm)?;
    in_memory.run(
        &spirit,
        RunRequest::new(policy, limits).with_input("memory"),
    )?;
    let runs = storage.get(StorageOwner::Unsigned, "greeter", b"runs");
    println!("memory:  runs = {:?}", runs.map(|b| b[0]));

    // The application's own host function, under its own module and
    // capability: it sees the spirit's memory only through the
    // bounds-checked `GuestMemory`, and runs only for a policy that grants
    // `acme:text` (which only the application can grant).
    let mut functions = HostFunctions::new();
    functions.define(
        "acme",
        "upper",
        "acme:text",
        |memory: &mut GuestMemory<'_>, ptr: i32, len: i32| -> i32 {
            let Ok(text) = memory.read(ptr, len) else {
                return -1;
            };
            let upper = text.to_ascii_uppercase();
            match memory.write(ptr, &upper) {
                Ok(()) => len,
                Err(_) => -1,
            }
        },
    )?;
    let extended = Sandbox::with_host_functions(SandboxConfig::in_memory(), None, functions)?;
    let shouter = extended.load("shouter", &wat::parse_str(SHOUTER)?)?;
    let granted = Policy::default().grant_custom("acme:text");
    let outcome = extended.run(
        &shouter,
        RunRequest::new(granted, limits).with_input("quiet"),
    )?;
    println!("embedder: {}", String::from_utf8_lossy(outcome.output()));
    let refused = extended.run(
        &shouter,
        RunRequest::new(Policy::default(), limits).with_input("quiet"),
    );
    if let Err(RunError::Refused(problems)) = refused {
        println!("refused: {}", problems[0].message);
    }

    // One call runs an installed spirit as `cargo spirit run greeter@^1`
    // does (resolve, verify, grant what its trusted author's manifest
    // declares, apply its limits), reading the registry in this
    // application's home, not the environment's VUDO_HOME.
    let key = spirit_build::sign::Key::generate()?;
    let mut manifest = Manifest::for_module("greeter", "1.0.0".parse()?, &wasm);
    manifest.capabilities = vec![
        Capability::ActuatorLog,
        Capability::StorageRead,
        Capability::StorageWrite,
    ];
    spirit_build::trust::set_trusted(home.path(), key.author(), true)?;
    Registry::new(home.path()).install(
        &SpiritFiles::new(manifest, wasm, Some(&key)),
        InstallOptions::default(),
    )?;
    let quiet = Shell::from_writers(
        Verbosity::Quiet,
        Box::new(std::io::stderr()),
        Box::new(std::io::sink()),
    );
    let options = RunOptions::installed("greeter@^1", SandboxConfig::in_home(home.path()))
        .with_input("installed");
    let outcome = spirit_build::run(&quiet, options)?;
    println!("one call: {}", String::from_utf8_lossy(outcome.output()));
    Ok(())
}
