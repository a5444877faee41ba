//! What a call of another spirit costs: a plain harness (`harness = false`)
//! with its baselines measured in the same run. Figures are in
//! `BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p spirit-build --bench compose
//! ```
//!
//! The work is the same everywhere: sum 64 input bytes into a 4-byte
//! output. Measured per call, from runs of 1,000 calls less a run of none:
//!
//! - `local`: the caller does the work itself, in a function of its own;
//! - `call`: the caller calls the dependency `b` with `host_spirit_call`;
//! - `run b`: a whole sandbox run of `b` (instantiate + call), the cost
//!   the issue bounds a call by (plus 2 µs).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use spirit_build::manifest::Dependency;
use spirit_build::sandbox::{
    Call, Callee, Composition, DependencySource, Limits, LoadedSpirit, Policy, RunRequest, Sandbox,
    SandboxConfig,
};
use spirit_sdk::abi::Capability;
use support::report;

/// `b`: sums its input (up to 64 bytes) into a 4-byte output.
const B: &str = r#"(module
    (import "vudo" "host_input_read" (func $input (param i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32) (local $n i32) (local $i i32) (local $sum i32)
        (local.set $n (call $input (i32.const 0) (i32.const 64) (i32.const 0)))
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.store (i32.const 128) (local.get $sum))
        (drop (call $output (i32.const 128) (i32.const 4)))
        (i32.const 0)))"#;

/// `a`: `call n` calls `b` n times with 64 bytes; `local n` does the same
/// work n times itself.
const A: &str = r#"(module
    (import "vudo" "host_spirit_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "b")
    (func $work (param $at i32) (param $n i32) (result i32) (local $i i32) (local $sum i32)
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $at) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.store (i32.const 256) (local.get $sum))
        (i32.const 4))
    (func (export "call") (param $n i32) (result i32) (local $r i32)
        (block $done (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $r (i32.add (local.get $r) (call $call (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0)
                (i32.const 64) (i32.const 64) (i32.const 256) (i32.const 64))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $r))
    (func (export "local") (param $n i32) (result i32) (local $r i32)
        (block $done (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $r (i32.add (local.get $r) (call $work (i32.const 64) (i32.const 64))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $r)))"#;

struct One(Vec<u8>);

impl DependencySource for One {
    fn fetch(&self, _: &Dependency) -> Result<Callee, String> {
        Ok(Callee {
            wasm: self.0.clone(),
            entry: "run".into(),
            policy: Policy::default(),
            owner: Default::default(),
            dependencies: Vec::new(),
            network: Default::default(),
        })
    }
}

const CALLS: u32 = 1000;

fn main() {
    let b = wat::parse_str(B).unwrap();
    let a = wat::parse_str(A).unwrap();
    let sandbox = Arc::new(Sandbox::with_config(SandboxConfig::in_memory()).unwrap());
    let spirit_a = sandbox.load("a", &a).unwrap();
    let spirit_b = sandbox.load("b", &b).unwrap();
    let pin = Dependency {
        name: "b".into(),
        req: "*".into(),
        version: "1.0.0".parse().unwrap(),
        blake3: blake3::hash(&b).to_hex().to_string(),
        author: None,
    };
    let source: Arc<dyn DependencySource> = Arc::new(One(b.clone()));
    // One composition for all runs, as in a long-lived embedder: `b` is
    // loaded once (the first run's call), then pre-linked.
    let composition = Composition::new(sandbox.clone(), source, vec![pin]);
    let run_a = |function: &str, n: u32| {
        let mut request = RunRequest::new(
            Policy::allow([Capability::CrossSandboxCall]),
            Limits::default(),
        );
        request.call = Call::Invoke {
            function: function.into(),
            args: vec![spirit_build::sandbox::Arg::from(n.cast_signed())],
        };
        request.composition = Some(composition.clone());
        black_box(sandbox.run(&spirit_a, request).unwrap());
    };
    let per_call = |function: &str| {
        let many = support::per_iteration(20, 3, || run_a(function, CALLS));
        let none = support::per_iteration(200, 20, || run_a(function, 0));
        many.saturating_sub(none) / CALLS
    };
    let local = per_call("local");
    let call = per_call("call");
    let run_b = run_b(&sandbox, &spirit_b);
    report("local function call (same work, per call)", local);
    report("cross-spirit call of b (per call)", call);
    report("a sandbox run of b (instantiate + call)", run_b);
    println!(
        "call / run b: {:.2}   call - run b: {:.2?}   call / local: {:.0}",
        call.as_secs_f64() / run_b.as_secs_f64(),
        call.saturating_sub(run_b),
        call.as_secs_f64() / local.as_secs_f64().max(1e-12),
    );
}

fn run_b(sandbox: &Sandbox, spirit: &LoadedSpirit) -> Duration {
    support::per_iteration(5000, 100, || {
        let mut request = RunRequest::new(Policy::default(), Limits::default());
        request.input = vec![7u8; 64];
        black_box(sandbox.run(spirit, request).unwrap());
    })
}
