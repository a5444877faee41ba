//! A run's storage is one transaction, as an embedding host sees it: runs
//! of one spirit on several threads lose no update, a run that traps applies
//! nothing, and a run reads its own writes.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use spirit_build::sandbox::{
    Call, Limits, LoadedSpirit, Policy, RunError, RunRequest, Sandbox, SandboxConfig,
    StorageDurability, Value,
};
use spirit_sdk::abi::Capability;

/// `bump` adds one to the 4-byte counter under `count` (a read, then a
/// write) and returns the new count; `bump_then_trap` does the same and
/// traps; `count` returns the counter; `write_then_read` writes 7 and
/// returns what it reads back.
const COUNTER: &str = r#"(module
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "count")
    (func $count (export "count") (result i32)
        (if (result i32) (i32.eq (call $read (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)) (i32.const 4))
            (then (i32.load (i32.const 16)))
            (else (i32.const 0))))
    (func $bump (export "bump") (result i32)
        (i32.store (i32.const 16) (i32.add (call $count) (i32.const 1)))
        (if (i32.ne (call $write (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)) (i32.const 0))
            (then unreachable))
        (i32.load (i32.const 16)))
    (func (export "bump_then_trap") (result i32)
        (drop (call $bump))
        unreachable)
    (func (export "write_then_read") (result i32)
        (i32.store (i32.const 16) (i32.const 7))
        (drop (call $write (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)))
        (i32.store (i32.const 16) (i32.const 0))
        (call $count))
)"#;

fn sandbox(home: &Path) -> (Sandbox, LoadedSpirit) {
    let sandbox = Sandbox::with_config(SandboxConfig::in_home(home)).unwrap();
    let spirit = sandbox
        .load("counter", &wat::parse_str(COUNTER).unwrap())
        .unwrap();
    (sandbox, spirit)
}

fn invoke(sandbox: &Sandbox, spirit: &LoadedSpirit, function: &str) -> Result<i32, RunError> {
    let mut request = RunRequest::new(
        Policy::allow([Capability::StorageRead, Capability::StorageWrite]),
        Limits::default(),
    );
    request.call = Call::Invoke {
        function: function.into(),
        args: vec![],
    };
    let outcome = sandbox.run(spirit, request)?;
    match outcome.results[..] {
        [Value::I32(n)] => Ok(n),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn four_threads_of_read_increment_write_lose_no_update() {
    const THREADS: i32 = 4;
    const RUNS: i32 = 50;
    let home = tempfile::tempdir().unwrap();
    let (sandbox, spirit) = sandbox(home.path());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..RUNS {
                    invoke(&sandbox, &spirit, "bump").unwrap();
                }
            });
        }
    });
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), THREADS * RUNS);
    // And it is on disk: a new sandbox (a new process) reads the same.
    drop(sandbox);
    let (sandbox, spirit) = self::sandbox(home.path());
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), THREADS * RUNS);
}

#[test]
fn a_run_that_traps_applies_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, spirit) = sandbox(home.path());
    assert_eq!(invoke(&sandbox, &spirit, "bump").unwrap(), 1);
    let error = invoke(&sandbox, &spirit, "bump_then_trap").unwrap_err();
    assert!(matches!(error, RunError::Trap(_)), "{error}");
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), 1);
    assert_eq!(invoke(&sandbox, &spirit, "bump").unwrap(), 2);
}

#[test]
fn a_run_that_runs_out_of_fuel_applies_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, spirit) = sandbox(home.path());
    let wasm = wat::parse_str(
        r#"(module
            (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "count")
            (func (export "run")
                (i32.store (i32.const 16) (i32.const 99))
                (drop (call $write (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)))
                (loop (br 0))))"#,
    )
    .unwrap();
    let spinner = sandbox.load("counter", &wasm).unwrap();
    let limits = Limits {
        fuel: 100_000,
        ..Limits::default()
    };
    let result = sandbox.run(
        &spinner,
        RunRequest::new(Policy::allow([Capability::StorageWrite]), limits),
    );
    assert!(matches!(result, Err(RunError::OutOfFuel(_))), "{result:?}");
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), 0);
}

#[test]
fn a_run_reads_its_own_writes() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, spirit) = sandbox(home.path());
    assert_eq!(invoke(&sandbox, &spirit, "write_then_read").unwrap(), 7);
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), 7);
}

/// `add N` calls `host_storage_increment` on `hits` and returns the sum it
/// wrote (or `-1000` when the call failed); `cas OLD NEW` swaps the 4-byte
/// value under `flag` (`OLD` 0: expect it missing) and returns the call's
/// result.
const ATOMICS: &str = r#"(module
    (import "vudo" "host_storage_increment" (func $inc (param i32 i32 i64 i32) (result i32)))
    (import "vudo" "host_storage_compare_and_swap" (func $cas (param i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "hits")
    (data (i32.const 8) "flag")
    (func (export "add") (param $n i64) (result i64)
        (if (result i64) (i32.eqz (call $inc (i32.const 0) (i32.const 4) (local.get $n) (i32.const 32)))
            (then (i64.load (i32.const 32)))
            (else (i64.const -1000))))
    (func (export "cas") (param $old i32) (param $new i32) (result i32)
        (i32.store (i32.const 16) (local.get $old))
        (i32.store (i32.const 20) (local.get $new))
        (call $cas (i32.const 8) (i32.const 4)
            (i32.const 16) (select (i32.const 0) (i32.const 4) (i32.eqz (local.get $old)))
            (i32.const 20) (i32.const 4)))
)"#;

fn call_atomics(sandbox: &Sandbox, spirit: &LoadedSpirit, function: &str, args: &[&str]) -> Value {
    let mut request = RunRequest::new(Policy::allow([Capability::StorageWrite]), Limits::default());
    request.call = Call::Invoke {
        function: function.into(),
        args: args.iter().map(|a| a.parse().unwrap()).collect(),
    };
    sandbox.run(spirit, request).unwrap().results[0]
}

#[test]
fn increment_from_four_threads_is_exact() {
    let home = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap();
    let spirit = sandbox
        .load("atomics", &wat::parse_str(ATOMICS).unwrap())
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    let Value::I64(n) = call_atomics(&sandbox, &spirit, "add", &["2"]) else {
                        panic!("not an i64");
                    };
                    assert!(n > 0 && n % 2 == 0, "{n}");
                }
            });
        }
    });
    assert_eq!(
        call_atomics(&sandbox, &spirit, "add", &["0"]),
        Value::I64(200)
    );
    assert_eq!(
        call_atomics(&sandbox, &spirit, "add", &["-201"]),
        Value::I64(-1)
    );
    assert_eq!(
        call_atomics(&sandbox, &spirit, "add", &["-9223372036854775808"]),
        Value::I64(-1000),
        "an overflow is refused"
    );
}

#[test]
fn compare_and_swap_swaps_only_over_the_expected_value() {
    let home = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap();
    let spirit = sandbox
        .load("atomics", &wat::parse_str(ATOMICS).unwrap())
        .unwrap();
    let cas = |old: &str, new: &str| call_atomics(&sandbox, &spirit, "cas", &[old, new]);
    assert_eq!(cas("0", "7"), Value::I32(1), "missing, as expected");
    assert_eq!(cas("0", "8"), Value::I32(0), "no longer missing");
    assert_eq!(cas("9", "8"), Value::I32(0), "not 9");
    assert_eq!(cas("7", "8"), Value::I32(1));
    assert_eq!(cas("8", "9"), Value::I32(1));
}

/// Eventual durability: the same exact count, visible at once, and on disk
/// once the sandbox (and so the database) is closed.
#[test]
fn eventual_durability_loses_no_update_and_reaches_the_disk_on_close() {
    let home = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_config(SandboxConfig {
        storage_durability: StorageDurability::Eventual,
        ..SandboxConfig::in_home(home.path())
    })
    .unwrap();
    let spirit = sandbox
        .load("counter", &wat::parse_str(COUNTER).unwrap())
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    invoke(&sandbox, &spirit, "bump").unwrap();
                }
            });
        }
    });
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), 100);
    drop((spirit, sandbox));
    let (sandbox, spirit) = self::sandbox(home.path());
    assert_eq!(invoke(&sandbox, &spirit, "count").unwrap(), 100);
}
