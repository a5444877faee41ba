//! The embedder's own host functions, attacked: a call without the
//! embedder's capability never reaches the closure, a guest pointer outside
//! memory is refused by the memory view, an import the embedder did not
//! define (or with another signature) is refused at load, even from the
//! code cache, and reserved namespaces and malformed capabilities are
//! refused when defining.

// Test helpers fail the test on an unexpected error.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use spirit_build::limits::{Limits, Policy};
use spirit_build::sandbox::{
    Call, CodeSource, GuestMemory, GuestMemoryError, HostFunctionError, HostFunctions, RunError,
    RunRequest, Sandbox, SandboxConfig, SandboxError, Value,
};

/// `acme.sum(ptr, len) -> i64`: the sum of the bytes at `ptr`, `-1` when the
/// range is outside memory; and `acme.stamp(ptr)`, writing `OK` there.
/// `calls` counts the closures' runs; `refusals` the memory view's.
fn functions(calls: &Arc<AtomicUsize>, refusals: &Arc<AtomicUsize>) -> HostFunctions {
    let mut functions = HostFunctions::new();
    let (c, r) = (calls.clone(), refusals.clone());
    functions
        .define(
            "acme",
            "sum",
            "acme:math",
            move |memory: &mut GuestMemory<'_>, ptr: i32, len: i32| {
                c.fetch_add(1, Ordering::SeqCst);
                match memory.read(ptr, len) {
                    Ok(bytes) => bytes.iter().map(|b| i64::from(*b)).sum(),
                    Err(GuestMemoryError { .. }) => {
                        r.fetch_add(1, Ordering::SeqCst);
                        -1
                    }
                }
            },
        )
        .unwrap();
    let (c, r) = (calls.clone(), refusals.clone());
    functions
        .define(
            "acme",
            "stamp",
            "acme:write",
            move |memory: &mut GuestMemory<'_>, ptr: i32| -> i32 {
                c.fetch_add(1, Ordering::SeqCst);
                match memory.write(ptr, b"OK") {
                    Ok(()) => 0,
                    Err(_) => {
                        r.fetch_add(1, Ordering::SeqCst);
                        -1
                    }
                }
            },
        )
        .unwrap();
    functions
}

const SPIRIT: &str = r#"(module
    (import "acme" "sum" (func $sum (param i32 i32) (result i64)))
    (import "acme" "stamp" (func $stamp (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "\01\02\03")
    (func (export "sum") (param i32 i32) (result i64) (call $sum (local.get 0) (local.get 1)))
    (func (export "stamp") (param i32) (result i32) (call $stamp (local.get 0)))
    (func (export "stamp_then_peek") (param i32) (result i32)
        (drop (call $stamp (local.get 0)))
        (i32.load8_u (local.get 0))))"#;

fn sandbox(config: SandboxConfig) -> (Sandbox, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let refusals = Arc::new(AtomicUsize::new(0));
    let sandbox = Sandbox::with_host_functions(config, None, functions(&calls, &refusals)).unwrap();
    (sandbox, calls, refusals)
}

fn call(policy: Policy, function: &str, args: &[i32]) -> RunRequest {
    RunRequest::new(policy, Limits::default())
        .with_call(Call::invoke(function, args.iter().copied()))
}

fn both() -> Policy {
    Policy::default()
        .grant_custom("acme:math")
        .grant_custom("acme:write")
}

#[test]
fn a_granted_call_reaches_the_closure_with_the_guest_memory() {
    let (sandbox, calls, _) = sandbox(SandboxConfig::in_memory());
    let spirit = sandbox
        .load("acme", &wat::parse_str(SPIRIT).unwrap())
        .unwrap();
    let outcome = sandbox.run(&spirit, call(both(), "sum", &[16, 3])).unwrap();
    assert_eq!(outcome.results, [Value::I64(6)]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn an_ungranted_call_is_refused_before_the_closure() {
    let (sandbox, calls, _) = sandbox(SandboxConfig::in_memory());
    let spirit = sandbox
        .load("acme", &wat::parse_str(SPIRIT).unwrap())
        .unwrap();
    // Every built-in capability, and one of the two embedder's: not enough.
    let policy = Policy::allow(spirit_build::sandbox::Capability::ALL.iter().copied())
        .grant_custom("acme:math");
    let refused = sandbox.run(&spirit, call(policy, "sum", &[16, 3]));
    let Err(RunError::Refused(problems)) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        "imports `acme.stamp`, which needs the embedder's capability `acme:write`, but it is not granted"
    );
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap()
            .contains("Policy::grant_custom(\"acme:write\")")
    );
    // A capability of the same name as a string is not a built-in one, nor
    // the other way round.
    let refused = sandbox.run(&spirit, call(Policy::default(), "sum", &[16, 3]));
    assert!(matches!(refused, Err(RunError::Refused(p)) if p.len() == 2));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a closure ran");
}

#[test]
fn guest_pointers_outside_memory_are_refused_by_the_view() {
    let (sandbox, calls, refusals) = sandbox(SandboxConfig::in_memory());
    let spirit = sandbox
        .load("acme", &wat::parse_str(SPIRIT).unwrap())
        .unwrap();
    let page = 65_536;
    for (ptr, len) in [
        (page - 1, 2),
        (page, 1),
        (-1, 1),
        (0, -1),
        (i32::MAX, i32::MAX),
    ] {
        let outcome = sandbox
            .run(&spirit, call(both(), "sum", &[ptr, len]))
            .unwrap();
        assert_eq!(outcome.results, [Value::I64(-1)], "sum({ptr}, {len})");
    }
    // The last byte of memory reads; a write straddling the end writes
    // nothing at all.
    let outcome = sandbox
        .run(&spirit, call(both(), "sum", &[page - 1, 1]))
        .unwrap();
    assert_eq!(outcome.results, [Value::I64(0)]);
    let outcome = sandbox
        .run(&spirit, call(both(), "stamp", &[page - 1]))
        .unwrap();
    assert_eq!(outcome.results, [Value::I32(-1)]);
    let outcome = sandbox.run(&spirit, call(both(), "stamp", &[32])).unwrap();
    assert_eq!(outcome.results, [Value::I32(0)]);
    // What the view wrote is in the guest's memory; what it refused is not.
    let outcome = sandbox
        .run(&spirit, call(both(), "stamp_then_peek", &[32]))
        .unwrap();
    assert_eq!(outcome.results, [Value::I32(i32::from(b'O'))]);
    let outcome = sandbox
        .run(&spirit, call(both(), "stamp_then_peek", &[page - 1]))
        .unwrap();
    assert_eq!(outcome.results, [Value::I32(0)]);
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    assert_eq!(refusals.load(Ordering::SeqCst), 7);
}

#[test]
fn the_view_refuses_every_access_of_a_spirit_without_memory() {
    let (sandbox, _, refusals) = sandbox(SandboxConfig::in_memory());
    let wasm = wat::parse_str(
        r#"(module
            (import "acme" "sum" (func $sum (param i32 i32) (result i64)))
            (func (export "run") (result i64) (call $sum (i32.const 0) (i32.const 0))))"#,
    )
    .unwrap();
    let spirit = sandbox.load("amnesiac", &wasm).unwrap();
    let outcome = sandbox.run(&spirit, call(both(), "run", &[])).unwrap();
    // An empty range at 0 of an empty memory is inside it: the sum is 0.
    assert_eq!(outcome.results, [Value::I64(0)]);
    assert_eq!(refusals.load(Ordering::SeqCst), 0);
}

fn link_problems(sandbox: &Sandbox, wat: &str) -> Vec<String> {
    match sandbox.load("linked", &wat::parse_str(wat).unwrap()) {
        Err(SandboxError::Imports { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("not refused at link: {other:?}"),
    }
}

#[test]
fn an_undefined_import_or_another_signature_is_refused_at_load() {
    let (sandbox, _, _) = sandbox(SandboxConfig::in_memory());
    let problems = link_problems(
        &sandbox,
        r#"(module (import "acme" "summ" (func (param i32 i32) (result i64))))"#,
    );
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("imports `acme.summ`, which the embedder does not define"),
        "{}",
        problems[0]
    );
    assert!(problems[0].contains("`sum`"), "{}", problems[0]);
    let problems = link_problems(
        &sandbox,
        r#"(module (import "acme" "sum" (func (param i32) (result i64))))"#,
    );
    assert!(
        problems[0].starts_with(
            "imports `acme.sum` with the signature (i32) -> i64, but the embedder defines (i32, i32) -> i64"
        ),
        "{}",
        problems[0]
    );
    // A sandbox without the embedder's functions does not link them.
    let plain = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    let problems = link_problems(&plain, SPIRIT);
    assert_eq!(problems.len(), 2);
    assert!(
        problems[0].contains("which is not a host function"),
        "{}",
        problems[0]
    );
}

#[test]
fn cached_code_is_linked_against_the_loading_sandbox() {
    let home = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(SPIRIT).unwrap();
    let (with, _, _) = sandbox(SandboxConfig::in_home(home.path()));
    let first = with.load("acme", &wasm).unwrap();
    assert!(matches!(
        first.source(),
        CodeSource::Compiled {
            cached: Ok(Some(_)),
            ..
        }
    ));
    let without = Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap();
    let problems = link_problems(&without, SPIRIT);
    assert_eq!(problems.len(), 2, "{problems:?}");
    // The same cache entry serves a sandbox that defines them.
    let (again, _, _) = sandbox(SandboxConfig::in_home(home.path()));
    assert!(matches!(
        again.load("acme", &wasm).unwrap().source(),
        CodeSource::Cached(_)
    ));
}

#[test]
fn reserved_namespaces_and_malformed_names_are_refused() {
    let mut functions = HostFunctions::new();
    for module in [
        "vudo",
        "VUDO",
        "vudo_ext",
        "loa",
        "env",
        "wasi_snapshot_preview1",
        "wasi",
        "__wbindgen_placeholder__",
    ] {
        let error = functions
            .define(module, "f", "acme:x", |_: &mut GuestMemory<'_>| ())
            .unwrap_err();
        assert_eq!(error, HostFunctionError::ReservedModule(module.to_owned()));
        assert!(error.to_string().contains("is reserved"), "{error}");
    }
    for capability in [
        "sensor_time",
        "acme",
        "acme:",
        ":db",
        "Acme:DB",
        "acme:db:x",
        "",
    ] {
        assert_eq!(
            functions
                .define("acme", "f", capability, |_: &mut GuestMemory<'_>| ())
                .unwrap_err(),
            HostFunctionError::InvalidCapability(capability.to_owned()),
        );
    }
    for name in ["", "with space", "ünï", &"x".repeat(65)] {
        assert_eq!(
            functions
                .define(name, "f", "acme:x", |_: &mut GuestMemory<'_>| ())
                .unwrap_err(),
            HostFunctionError::InvalidName(name.to_owned()),
        );
    }
    assert!(functions.is_empty());
    functions
        .define("acme", "f", "acme:x", |_: &mut GuestMemory<'_>| ())
        .unwrap();
    assert_eq!(
        functions
            .define("acme", "f", "acme:y", |_: &mut GuestMemory<'_>, _: f64| {
                0.5_f32
            })
            .unwrap_err(),
        HostFunctionError::Duplicate("acme.f".to_owned())
    );
}
