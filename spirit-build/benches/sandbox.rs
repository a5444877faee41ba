//! Sandbox benchmarks: a plain harness (`harness = false`) printing one line
//! per measurement, with each comparison's baseline measured in the same
//! run. Figures and the machine they came from are in `BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p spirit-build --bench sandbox
//! ```
//!
//! Each measurement runs a batch of iterations several times and reports
//! the median time per iteration, which is steadier than the mean on a
//! shared machine.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::hint::black_box;
use std::time::Duration;
use support::report;

use spirit_build::sandbox::{
    Call, Limits, MAX_WASM_STACK, Metering, Policy, RunRequest, Sandbox, SandboxConfig,
};
use spirit_sdk::abi::Capability;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store,
};

/// [`support::per_iteration`] with this harness's warm-up.
fn measure(iters: u32, f: impl FnMut()) -> Duration {
    support::per_iteration(iters, iters.min(100), f)
}

const TRIVIAL: &str = r#"(module (memory (export "memory") 1) (func (export "run")))"#;

/// A raw wasmtime engine configured as the sandbox's is (fuel, epochs,
/// stack, NaN canonicalisation, the same pool), with or without fuel.
fn raw_engine(fuel: bool) -> Engine {
    raw_engine_metered(fuel, true)
}

/// [`raw_engine`], with or without epoch interruption too: neither is no
/// metering at all, epochs alone is the time-only mode.
fn raw_engine_metered(fuel: bool, epochs: bool) -> Engine {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(32)
        .total_memories(32)
        .total_tables(32)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(4 << 30)
        .max_unused_warm_slots(8)
        .linear_memory_keep_resident(1 << 20);
    let mut config = Config::new();
    config
        .consume_fuel(fuel)
        .epoch_interruption(epochs)
        .max_wasm_stack(MAX_WASM_STACK)
        .cranelift_nan_canonicalization(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

fn instantiate_and_call() {
    let wasm = wat::parse_str(TRIVIAL).unwrap();

    let engine = raw_engine(true);
    let module = Module::new(&engine, &wasm).unwrap();
    let pre = Linker::<()>::new(&engine).instantiate_pre(&module).unwrap();
    let raw = measure(20_000, || {
        let mut store = Store::new(&engine, ());
        store.set_fuel(1_000_000_000).unwrap();
        store.set_epoch_deadline(1 << 20);
        let instance = pre.instantiate(&mut store).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        run.call(&mut store, ()).unwrap();
    });

    let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    let spirit = sandbox.load("trivial", &wasm).unwrap();
    let ours = measure(20_000, || {
        let request = RunRequest::new(Policy::default(), Limits::default());
        black_box(sandbox.run(&spirit, request).unwrap());
    });
    report("instantiate + call, raw wasmtime (InstancePre + pool)", raw);
    report("instantiate + call, Sandbox::run", ours);
    println!(
        "{:<58} {:>11.2}x",
        "  ratio Sandbox::run / raw",
        ours.as_secs_f64() / raw.as_secs_f64()
    );
}

const CALLS: &str = r#"(module
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "key")
    (data (i32.const 16) "a log message of some length")
    (func (export "log") (param $n i32)
        (loop $again
            (drop (call $log (i32.const 2) (i32.const 16) (i32.const 28)))
            (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $again)))
    (func (export "storage") (param $n i32)
        (loop $again
            (drop (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 28)))
            (drop (call $read (i32.const 0) (i32.const 3) (i32.const 64) (i32.const 64)))
            (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $again))))"#;

fn host_calls() {
    let home = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap();
    let spirit = sandbox
        .load("calls", &wat::parse_str(CALLS).unwrap())
        .unwrap();
    let policy = Policy::allow([
        Capability::ActuatorLog,
        Capability::StorageRead,
        Capability::StorageWrite,
    ]);
    let run = |function: &str, n: u32| {
        let mut request = RunRequest::new(policy.clone(), Limits::default());
        request.call = Call::Invoke {
            function: function.into(),
            args: vec![n.to_string().parse().unwrap()],
        };
        sandbox.run(&spirit, request).unwrap();
    };
    // Per call: (n calls - 1 call) / (n - 1), so instantiation cancels out.
    let per_call = |function: &str, n: u32, iters: u32| {
        let many = measure(iters, || run(function, n));
        let one = measure(iters, || run(function, 1));
        many.saturating_sub(one) / (n - 1)
    };
    report(
        "host_log, per call (collected in memory)",
        per_call("log", 1001, 20),
    );
    report(
        "storage write + read, per call (one transaction a run)",
        per_call("storage", 51, 3),
    );
}

/// The worst case for any check compiled into the code: a tight `i64` loop
/// of one cycle or so per iteration, where one more load and compare per
/// back-edge doubles the time.
const COMPUTE: &str = r#"(module (memory (export "memory") 1)
    (func (export "sum") (param $n i64) (result i64)
        (local $acc i64)
        (loop $again
            (local.set $acc (i64.add (local.get $acc) (i64.mul (local.get $n) (local.get $n))))
            (local.tee $n (i64.sub (local.get $n) (i64.const 1)))
            (i64.const 0)
            (i64.ne)
            (br_if $again))
        (local.get $acc)))"#;

fn fuel_on_and_off() {
    // 50M iterations of each: 50M loop turns; 763 rounds of 65,536 bytes.
    for (name, wat, n) in [
        ("compute loop (50M iterations)", COMPUTE, 50_000_000),
        ("hashing loop (FNV-1a, 50M bytes)", support::HASHING, 763),
    ] {
        metering_of(name, &wat::parse_str(wat).unwrap(), n);
    }
}

/// No metering, time only, and fuel on one workload (its `sum(n)`), on raw
/// engines, and time only through `Sandbox::run`.
fn metering_of(name: &str, wasm: &[u8], n: i64) {
    let time = |fuel: bool| time_compute(wasm, n, fuel, true);
    let none = time_compute(wasm, n, false, false);
    let off = time(false);
    let on = time(true);
    // Fuel without epoch checks: what `cargo spirit run` compiles for an
    // unpriced run, whose deadline is its process alarm.
    let fuel_alone = time_compute(wasm, n, true, false);
    // The library's own time-only run, as `--metering time` makes it.
    let sandbox = Sandbox::with_config(SandboxConfig {
        metering: Metering::Time,
        ..SandboxConfig::in_memory()
    })
    .unwrap();
    let spirit = sandbox.load("compute", wasm).unwrap();
    let library = measure(5, || {
        let mut request = RunRequest::new(
            Policy::default(),
            Limits {
                metering: Metering::Time,
                ..Limits::default()
            },
        );
        request.call = Call::Invoke {
            function: "sum".into(),
            args: vec![n.to_string().parse().expect("a number")],
        };
        black_box(sandbox.run(&spirit, request).unwrap());
    });
    report(&format!("{name}, no metering (baseline)"), none);
    report(&format!("{name}, time only (epochs)"), off);
    report(&format!("{name}, fuel and epochs"), on);
    report(&format!("{name}, fuel, no epochs"), fuel_alone);
    report("  the same, time only, through Sandbox::run", library);
    let ratio = |what: &str, d: Duration| {
        println!("{what:<58} {:>11.2}x", d.as_secs_f64() / none.as_secs_f64());
    };
    ratio("  ratio time only / no metering", off);
    ratio("  ratio fuel / no metering", on);
    ratio("  ratio fuel, no epochs / no metering", fuel_alone);
    println!(
        "{:<58} {:>11.2}x",
        "  ratio fuel / time only",
        on.as_secs_f64() / off.as_secs_f64()
    );
}

/// The median time of `sum(n)` on a raw engine.
fn time_compute(wasm: &[u8], n: i64, fuel: bool, epochs: bool) -> Duration {
    let engine = raw_engine_metered(fuel, epochs);
    let module = Module::new(&engine, wasm).unwrap();
    let pre = Linker::<()>::new(&engine).instantiate_pre(&module).unwrap();
    measure(5, || {
        let mut store = Store::new(&engine, ());
        if fuel {
            store.set_fuel(u64::MAX).unwrap();
        }
        if epochs {
            store.set_epoch_deadline(1 << 40);
        }
        let instance = pre.instantiate(&mut store).unwrap();
        let sum = instance
            .get_typed_func::<i64, i64>(&mut store, "sum")
            .unwrap();
        black_box(sum.call(&mut store, n).unwrap());
    })
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks one group.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let groups: [(&str, fn()); 3] = [
        ("instantiate", instantiate_and_call),
        ("host_calls", host_calls),
        ("fuel", fuel_on_and_off),
    ];
    for (name, group) in groups {
        if filter.as_deref().is_none_or(|f| name.contains(f)) {
            group();
        }
    }
}
