//! Storage benchmarks (issue 21): what a run that writes costs, and whether
//! runs of one spirit on several threads lose updates. A plain harness
//! (`harness = false`) printing one line per measurement; figures are in
//! `BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p spirit-build --bench storage
//! # the figures in BENCHMARKS.md: a debug build of the harness
//! cargo bench -p spirit-build --bench storage --profile dev
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Instant;

use spirit_build::sandbox::{
    Call, Limits, LoadedSpirit, Policy, RunRequest, Sandbox, SandboxConfig, StorageDurability,
    Value,
};
use spirit_sdk::abi::Capability;

/// `two_writes` stores two values (the run the issue timed); `bump` reads
/// the counter, adds one and writes it back; `count` reads it.
const SPIRIT: &str = r#"(module
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "count")
    (data (i32.const 8) "first")
    (data (i32.const 24) "second")
    (func (export "two_writes") (result i32)
        (drop (call $write (i32.const 8) (i32.const 5) (i32.const 0) (i32.const 5)))
        (call $write (i32.const 24) (i32.const 6) (i32.const 0) (i32.const 5)))
    (func $count (export "count") (result i32)
        (if (result i32) (i32.eq (call $read (i32.const 0) (i32.const 5) (i32.const 64) (i32.const 4)) (i32.const 4))
            (then (i32.load (i32.const 64)))
            (else (i32.const 0))))
    (func (export "bump") (result i32)
        (i32.store (i32.const 64) (i32.add (call $count) (i32.const 1)))
        (call $write (i32.const 0) (i32.const 5) (i32.const 64) (i32.const 4)))
)"#;

const THREADS: usize = 4;
const RUNS_PER_THREAD: usize = 1_000;

fn invoke(sandbox: &Sandbox, spirit: &LoadedSpirit, function: &str) -> i32 {
    let mut request = RunRequest::new(
        Policy::allow([Capability::StorageRead, Capability::StorageWrite]),
        Limits::default(),
    );
    request.call = Call::Invoke {
        function: function.into(),
        args: vec![],
    };
    match sandbox.run(spirit, request).unwrap().results[..] {
        [Value::I32(n)] => n,
        ref other => panic!("{other:?}"),
    }
}

fn sandbox(home: &Path, durability: StorageDurability) -> (Sandbox, LoadedSpirit) {
    let sandbox = Sandbox::with_config(SandboxConfig {
        storage_durability: durability,
        ..SandboxConfig::in_home(home)
    })
    .unwrap();
    let spirit = sandbox
        .load("bench", &wat::parse_str(SPIRIT).unwrap())
        .unwrap();
    (sandbox, spirit)
}

fn main() {
    for durability in [StorageDurability::Immediate, StorageDurability::Eventual] {
        let home = tempfile::tempdir().unwrap();
        let (sandbox, spirit) = sandbox(home.path(), durability);
        let two_writes = support::median_of(50, || {
            invoke(&sandbox, &spirit, "two_writes");
        });
        println!("{durability:?}: run with two writes, median of 50: {two_writes:.2?}");

        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..RUNS_PER_THREAD {
                        invoke(&sandbox, &spirit, "bump");
                    }
                });
            }
        });
        let elapsed = started.elapsed();
        let count = invoke(&sandbox, &spirit, "count");
        let runs = THREADS * RUNS_PER_THREAD;
        println!(
            "{durability:?}: {THREADS} threads x {RUNS_PER_THREAD} read-increment-write runs: final count {count} of {runs}, {elapsed:.2?} ({:.2?} per run)",
            elapsed / u32::try_from(runs).unwrap()
        );
    }
}
