//! Calls between spirits in one sandbox, with hand-written modules: what a
//! callee gets (its own instance, policy and storage), and every refusal.

use std::collections::HashMap;
use std::sync::Arc;

use spirit_sdk::abi::Capability;

use super::*;
use crate::sandbox::{Call, Outcome, RunRequest, SandboxConfig, Value};

/// A module named `name`: `run` echoes `name:` and its input; `call`
/// calls a dependency (name and export given as ranges of the strings
/// below) with the input `hello` and writes its output, or why it failed;
/// `store`/`read` write and read the key `k`; `spin` and `trap` fail;
/// `back` calls `top` and writes why that failed.
fn module(name: &str) -> Vec<u8> {
    let nl = name.len();
    wat::parse_str(format!(
        r#"(module
        (import "vudo" "host_spirit_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
        (import "vudo" "host_spirit_error" (func $error (param i32 i32) (result i32)))
        (import "vudo" "host_input_read" (func $input (param i32 i32 i32) (result i32)))
        (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
        (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "{name}:")
        (data (i32.const 100) "b")
        (data (i32.const 120) "top")
        (data (i32.const 130) "store")
        (data (i32.const 140) "read")
        (data (i32.const 150) "spin")
        (data (i32.const 160) "trap")
        (data (i32.const 170) "back")
        (data (i32.const 180) "sneaky")
        (data (i32.const 200) "k")
        (data (i32.const 512) "hello")
        (func (export "run") (result i32) (local $n i32)
            (local.set $n (call $input (i32.const 4096) (i32.const 1024) (i32.const 0)))
            (drop (call $output (i32.const 0) (i32.const {colon})))
            (drop (call $output (i32.const 4096) (local.get $n)))
            (i32.const 0))
        (func $call_dep (export "call") (param $np i32) (param $nl i32) (param $ep i32) (param $el i32) (result i32) (local $r i32)
            (local.set $r (call $call (local.get $np) (local.get $nl) (local.get $ep) (local.get $el)
                (i32.const 512) (i32.const 5) (i32.const 1024) (i32.const 1024)))
            (if (i32.ge_s (local.get $r) (i32.const 0))
                (then (drop (call $output (i32.const 1024) (local.get $r))))
                (else (drop (call $output (i32.const 2048) (call $error (i32.const 2048) (i32.const 2048))))))
            (local.get $r))
        (func (export "store") (result i32)
            (drop (call $write (i32.const 200) (i32.const 1) (i32.const 0) (i32.const {nl})))
            (i32.const 0))
        (func (export "read") (result i32)
            (drop (call $output (i32.const 8192)
                (call $read (i32.const 200) (i32.const 1) (i32.const 8192) (i32.const 64))))
            (i32.const 0))
        (func (export "store_call_read") (param $np i32) (param $nl i32) (param $ep i32) (param $el i32) (result i32) (local $r i32)
            (drop (call $write (i32.const 200) (i32.const 1) (i32.const 0) (i32.const {nl})))
            (local.set $r (call $call_dep (local.get $np) (local.get $nl) (local.get $ep) (local.get $el)))
            (drop (call $output (i32.const 8192)
                (call $read (i32.const 200) (i32.const 1) (i32.const 8192) (i32.const 64))))
            (local.get $r))
        (func (export "spin") (loop (br 0)))
        (func (export "trap") unreachable)
        (func (export "back") (result i32)
            (drop (call $call (i32.const 120) (i32.const 3) (i32.const 0) (i32.const 0)
                (i32.const 512) (i32.const 5) (i32.const 1024) (i32.const 1024)))
            (drop (call $output (i32.const 2048) (call $error (i32.const 2048) (i32.const 2048))))
            (i32.const 0)))"#,
        colon = nl + 1
    ))
    .unwrap()
}

/// A module whose entry reads the clock.
fn sneaky() -> Vec<u8> {
    wat::parse_str(
        r#"(module
        (import "vudo" "host_time_now" (func $now (result i64)))
        (memory (export "memory") 1)
        (func (export "run") (drop (call $now))))"#,
    )
    .unwrap()
}

fn pin(name: &str, wasm: &[u8]) -> Dependency {
    Dependency {
        name: name.into(),
        req: "*".into(),
        version: "1.0.0".parse().unwrap(),
        blake3: blake3::hash(wasm).to_hex().to_string(),
        author: None,
    }
}

/// Callees by name; each may be fetched with other bytes than pinned.
#[derive(Clone, Default)]
struct Source(HashMap<String, Callee>);

impl DependencySource for Source {
    fn fetch(&self, dependency: &Dependency) -> Result<Callee, String> {
        self.0
            .get(&dependency.name)
            .cloned()
            .ok_or_else(|| format!("`{}` is not installed", dependency.name))
    }
}

fn callee(wasm: Vec<u8>, dependencies: Vec<Dependency>) -> Callee {
    Callee {
        network: Default::default(),
        wasm,
        entry: "run".into(),
        policy: Policy::allow([
            Capability::CrossSandboxCall,
            Capability::StorageRead,
            Capability::StorageWrite,
        ]),
        owner: StorageOwner::Unsigned,
        dependencies,
    }
}

struct World {
    _home: tempfile::TempDir,
    sandbox: Arc<Sandbox>,
    top: Vec<u8>,
    source: Source,
    pins: Vec<Dependency>,
}

/// `top` declares `b`, `sneaky` and itself; `b` declares `top`.
fn world() -> World {
    let home = tempfile::tempdir().unwrap();
    let sandbox = Arc::new(Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap());
    let top = module("top");
    let b = module("b");
    let mut source = Source::default();
    source
        .0
        .insert("b".into(), callee(b.clone(), vec![pin("top", &top)]));
    source.0.insert("top".into(), callee(top.clone(), vec![]));
    source.0.insert("sneaky".into(), callee(sneaky(), vec![]));
    let pins = vec![pin("b", &b), pin("sneaky", &sneaky()), pin("top", &top)];
    World {
        _home: home,
        sandbox,
        top,
        source,
        pins,
    }
}

impl World {
    /// Runs `top`'s `function` with (name, export) as offsets and lengths.
    fn run(
        &self,
        function: &str,
        name: (u32, u32),
        export: (u32, u32),
        fuel: u64,
    ) -> (Result<Outcome, RunError>, Arc<Composition>) {
        let composition = Composition::new(
            self.sandbox.clone(),
            Arc::new(self.source.clone()),
            self.pins.clone(),
        );
        let mut request = RunRequest::new(
            Policy::allow([
                Capability::CrossSandboxCall,
                Capability::StorageRead,
                Capability::StorageWrite,
                Capability::SensorTime,
            ]),
            Limits {
                fuel,
                ..Limits::default()
            },
        );
        request.call = Call::Invoke {
            function: function.into(),
            args: [name.0, name.1, export.0, export.1]
                .into_iter()
                .map(|n| crate::sandbox::Arg::from(n.cast_signed()))
                .collect(),
        };
        request.composition = Some(composition.clone());
        let spirit = self.sandbox.load("top", &self.top).unwrap();
        (self.sandbox.run(&spirit, request), composition)
    }
}

fn output(outcome: Outcome) -> (i32, String) {
    let status = match outcome.results.first() {
        Some(Value::I32(v)) => *v,
        other => panic!("{other:?}"),
    };
    let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
    (status, String::from_utf8(io.output).unwrap())
}

const B: (u32, u32) = (100, 1);
const TOP: (u32, u32) = (120, 3);
const SNEAKY: (u32, u32) = (180, 6);
const ENTRY: (u32, u32) = (0, 0);

#[test]
fn a_call_runs_the_dependency_and_returns_its_output() {
    let (result, composition) = world().run("call", B, ENTRY, 10_000_000);
    let outcome = result.unwrap();
    let fuel = outcome.fuel_used;
    assert_eq!(output(outcome), (7, "b:hello".to_owned()));
    let calls = composition.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            calls[0].depth,
            calls[0].name.as_str(),
            calls[0].export.as_str()
        ),
        (1, "b", "run")
    );
    // The callee's fuel is the caller's.
    assert!(
        calls[0].fuel_used > 0 && calls[0].fuel_used < fuel,
        "{calls:?} {fuel}"
    );
}

#[test]
fn storage_is_separate_per_spirit() {
    let w = world();
    let (result, _) = w.run("store_call_read", B, (130, 5), 10_000_000);
    // `b` wrote `k` = "b" in its store; `top` reads its own "top".
    assert_eq!(output(result.unwrap()), (0, "top".to_owned()));
    let (read, _) = w.run("call", B, (140, 4), 10_000_000);
    assert_eq!(output(read.unwrap()), (1, "b".to_owned()));
}

#[test]
fn a_callee_gets_its_own_capabilities_never_its_callers() {
    let (result, _) = world().run("call", SNEAKY, ENTRY, 10_000_000);
    let (status, message) = output(result.unwrap());
    assert_eq!(status, spirit_sdk::abi::SPIRIT_FAILED);
    assert!(
        message.starts_with(
            "`sneaky@1.0.0` was refused: it is granted only what its own manifest declares"
        ) && message.contains("host_time_now")
            && message.contains("sensor_time"),
        "{message}"
    );
}

#[test]
fn cycles_are_refused() {
    let (result, _) = world().run("call", TOP, ENTRY, 10_000_000);
    let (status, message) = output(result.unwrap());
    assert_eq!(status, spirit_sdk::abi::SPIRIT_FAILED);
    assert_eq!(
        message,
        "calling `top` from `top` would be a cycle (`top` → `top`): a spirit cannot call itself, directly or through others"
    );
    let (result, composition) = world().run("call", B, (170, 4), 10_000_000);
    let (status, message) = output(result.unwrap());
    assert_eq!(status as usize, message.len());
    assert_eq!(
        message,
        "calling `top` from `b` would be a cycle (`top` → `b` → `top`): a spirit cannot call itself, directly or through others"
    );
    assert_eq!(composition.calls().len(), 1);
}

#[test]
fn undeclared_names_are_not_found() {
    let w = world();
    let pins = vec![w.pins[1].clone()];
    let (result, _) = World { pins, ..w }.run("call", B, ENTRY, 10_000_000);
    let (status, message) = output(result.unwrap());
    assert_eq!(status, spirit_sdk::abi::NOT_FOUND);
    assert!(
        message.starts_with("`b` is not a dependency of `top`\n"),
        "{message}"
    );
}

#[test]
fn a_trap_in_the_callee_is_an_error_code_for_the_caller() {
    let (result, composition) = world().run("call", B, (160, 4), 10_000_000);
    let (status, message) = output(result.unwrap());
    assert_eq!(status, spirit_sdk::abi::SPIRIT_FAILED);
    assert!(
        message.starts_with("`b@1.0.0` failed: trap: unreachable"),
        "{message}"
    );
    assert!(composition.calls()[0].error.is_some());
}

#[test]
fn running_out_of_fuel_in_the_callee_ends_the_run_naming_it() {
    let (result, _) = world().run("call", B, (150, 4), 1_000_000);
    let error = result.unwrap_err().to_string();
    assert!(
        error.starts_with("out of fuel in `b@1.0.0`, called by `top`, after it used "),
        "{error}"
    );
}

#[test]
fn a_changed_or_missing_callee_is_refused_naming_it() {
    let mut w = world();
    w.source.0.get_mut("b").unwrap().wasm = module("b2");
    let (result, _) = w.run("call", B, ENTRY, 10_000_000);
    let (status, message) = output(result.unwrap());
    assert_eq!(status, spirit_sdk::abi::SPIRIT_FAILED);
    assert!(
        message.starts_with(
            "`b@1.0.0` is not the spirit its caller was built against: its wasm has blake3 "
        ),
        "{message}"
    );
    let mut w = world();
    w.source.0.remove("b");
    let (result, _) = w.run("call", B, ENTRY, 10_000_000);
    assert_eq!(output(result.unwrap()).1, "`b` is not installed");
}

#[test]
fn depth_is_bounded() {
    // A chain of nine distinct spirits, each calling the next's entry.
    let home = tempfile::tempdir().unwrap();
    let sandbox = Arc::new(Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap());
    let relay = |next: &str| {
        wat::parse_str(format!(
            r#"(module
            (import "vudo" "host_spirit_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
            (import "vudo" "host_spirit_error" (func $error (param i32 i32) (result i32)))
            (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{next}")
            (func (export "run") (result i32) (local $r i32)
                (local.set $r (call $call (i32.const 0) (i32.const {len}) (i32.const 0) (i32.const 0)
                    (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 1024)))
                (if (i32.ge_s (local.get $r) (i32.const 0))
                    (then (drop (call $output (i32.const 1024) (local.get $r))))
                    (else (drop (call $output (i32.const 2048) (call $error (i32.const 2048) (i32.const 2048))))))
                (i32.const 0)))"#,
            len = next.len()
        ))
        .unwrap()
    };
    let mut source = Source::default();
    let mut next_pin = Vec::new();
    for i in (1..=9).rev() {
        let wasm = relay(&format!("s{}", i + 1));
        let name = format!("s{i}");
        source
            .0
            .insert(name.clone(), callee(wasm.clone(), next_pin.clone()));
        next_pin = vec![pin(&name, &wasm)];
    }
    let top = relay("s1");
    let composition = Composition::new(sandbox.clone(), Arc::new(source), next_pin);
    let mut request = RunRequest::new(
        Policy::allow([Capability::CrossSandboxCall]),
        Limits::default(),
    );
    request.composition = Some(composition.clone());
    let outcome = sandbox
        .run(&sandbox.load("s0", &top).unwrap(), request)
        .unwrap();
    let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
    let message = String::from_utf8(io.output).unwrap();
    assert!(
        message.starts_with(&format!(
            "calling `s8` would nest calls 9 deep, more than {MAX_CALL_DEPTH} (`s0` → `s1` →"
        )),
        "{message}"
    );
    assert_eq!(composition.calls().len(), 7);
}

/// A callee reaches the network through its own allowlist, within the
/// run's limits, and never through its caller's: the same callee connects
/// to a loopback listener its allowlist names, and is refused when only the
/// caller's names it.
#[test]
fn a_callee_connects_through_its_own_allowlist_only() {
    use crate::net::{Allowlist, NetworkAccess};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let net = wat::parse_str(format!(
        r#"(module
        (import "vudo" "host_network_connect" (func $connect (param i32 i32) (result i64)))
        (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "{address}")
        (data (i32.const 100) "connected")
        (data (i32.const 120) "refused")
        (func (export "run") (result i32)
            (if (i64.ge_s (call $connect (i32.const 0) (i32.const {len})) (i64.const 0))
                (then (drop (call $output (i32.const 100) (i32.const 9))))
                (else (drop (call $output (i32.const 120) (i32.const 7)))))
            (i32.const 0)))"#,
        len = address.len()
    ))
    .unwrap();
    let caller = wat::parse_str(
        r#"(module
        (import "vudo" "host_spirit_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
        (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "net")
        (func (export "run") (result i32) (local $r i32)
            (local.set $r (call $call (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 0)
                (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 1024)))
            (if (i32.ge_s (local.get $r) (i32.const 0))
                (then (drop (call $output (i32.const 1024) (local.get $r)))))
            (i32.const 0)))"#,
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let sandbox = Arc::new(Sandbox::with_config(SandboxConfig::in_home(home.path())).unwrap());
    let spirit = sandbox.load("caller", &caller).unwrap();
    let names_it = Allowlist::parse(&[address.as_str()], &[]).unwrap();
    let run = |callee_net: Allowlist, caller_net: Allowlist| {
        let mut source = Source::default();
        let mut net_callee = callee(net.clone(), vec![]);
        net_callee.policy = Policy::allow([Capability::NetworkConnect]);
        net_callee.network = callee_net;
        source.0.insert("net".into(), net_callee);
        let network = NetworkAccess {
            allowlist: caller_net,
            ..NetworkAccess::default()
        };
        let composition = Composition::with_network(
            sandbox.clone(),
            Arc::new(source),
            vec![pin("net", &net)],
            network.clone(),
        );
        let mut request = RunRequest::new(
            Policy::allow([Capability::CrossSandboxCall, Capability::NetworkConnect]),
            Limits::default(),
        );
        request.network = network;
        request.composition = Some(composition);
        let outcome = sandbox.run(&spirit, request).unwrap();
        String::from_utf8(outcome.output().to_vec()).unwrap()
    };
    assert_eq!(run(names_it.clone(), Allowlist::default()), "connected");
    assert_eq!(run(Allowlist::default(), names_it), "refused");
}
