//! The 22 @vudo/runtime host functions, each called from raw WAT under the
//! import module `loa` (what the DOL compiler emits) or `vudo`, through
//! the sandbox's public API: one-shot runs, and live instances on one bus
//! for the messaging and effect functions.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use spirit_build::sandbox::{
    Bus, BusEvent, Call, CollectingIo, DETERMINISTIC_EPOCH_MS, Limits, LiveRequest, LiveSpirit,
    MAX_QUEUED_MESSAGES, Outcome, Policy, RunError, RunRequest, Sandbox, SandboxConfig, Value,
};
use spirit_sdk::abi::{Capability, LogLevel};

fn sandbox() -> Sandbox {
    Sandbox::with_config(SandboxConfig::in_memory()).unwrap()
}

fn run(
    wat: &str,
    function: &str,
    args: &[&str],
    policy: Policy,
    seed: Option<u64>,
    limits: Limits,
) -> Result<Outcome, RunError> {
    let sandbox = sandbox();
    let spirit = sandbox.load("rt", &wat::parse_str(wat).unwrap()).unwrap();
    let mut request = RunRequest::new(policy, limits);
    request.call = Call::Invoke {
        function: function.into(),
        args: args.iter().map(|a| a.parse().expect("a number")).collect(),
    };
    request.seed = seed;
    sandbox.run(&spirit, request)
}

fn invoke(wat: &str, function: &str, args: &[&str], policy: Policy, seed: Option<u64>) -> Outcome {
    run(wat, function, args, policy, seed, Limits::default())
        .unwrap_or_else(|e| panic!("{function}: {e}"))
}

fn io(outcome: Outcome) -> CollectingIo {
    *outcome.io.into_any().downcast::<CollectingIo>().unwrap()
}

/// A DOL-style module: imports under `loa`, no allocator export, its
/// greeting as data at 1024.
const GREETING: &str = r#"(module
    (import "loa" "vudo_print" (func $print (param i32 i32)))
    (import "loa" "vudo_println" (func $println (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 1024) "Hello, Séance!")
    (func (export "main") (call $print (i32.const 1024) (i32.const 6)) (call $println (i32.const 1030) (i32.const 9)))
    (func (export "outside") (call $print (i32.const 65530) (i32.const 10))))"#;

#[test]
fn print_and_println_write_the_output_and_a_bad_range_ends_the_call() {
    let out = io(invoke(GREETING, "main", &[], Policy::default(), None));
    assert_eq!(String::from_utf8(out.output).unwrap(), "Hello, Séance!\n");
    let error = run(
        GREETING,
        "outside",
        &[],
        Policy::default(),
        None,
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "trap: `vudo_print` was given 10 bytes at address 65530, outside the spirit's memory of 65536 bytes"
    );
}

const LOGS: &str = r#"(module
    (import "loa" "vudo_log" (func $log (param i32 i32 i32)))
    (import "vudo" "vudo_error" (func $error (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "careful")
    (func (export "logs") (call $log (i32.const 3) (i32.const 0) (i32.const 7)) (call $error (i32.const 0) (i32.const 4))
        (call $log (i32.const 9) (i32.const 0) (i32.const 7))))"#;

#[test]
fn log_and_error_log_like_host_log() {
    let out = io(invoke(
        LOGS,
        "logs",
        &[],
        Policy::allow([Capability::ActuatorLog]),
        None,
    ));
    let lines: Vec<String> = out.logs.iter().map(ToString::to_string).collect();
    assert_eq!(lines, ["[WARN rt] careful", "[ERROR rt] care"]);
    assert_eq!(
        out.warnings,
        [
            "`vudo_log` logged nothing: the level 9 is not 0 to 4, or the message is outside memory or not UTF-8"
        ]
    );
    // Without the capability the module is refused before it runs.
    let refused = run(
        LOGS,
        "logs",
        &[],
        Policy::default(),
        None,
        Limits::default(),
    );
    assert!(matches!(refused, Err(RunError::Refused(p)) if p.len() == 2));
}

/// A module with data at 1024 and a heap of its own that grows memory
/// itself, beside the host's allocator: the host never allocates in its
/// pages, never frees them, and keeps contents on realloc.
const MEMORY: &str = r#"(module
    (import "loa" "vudo_alloc" (func $alloc (param i32) (result i32)))
    (import "loa" "vudo_free" (func $free (param i32 i32)))
    (import "loa" "vudo_realloc" (func $realloc (param i32 i32 i32) (result i32)))
    (memory (export "memory") 2)
    (data (i32.const 1024) "MODULE-DATA")
    (global $mine (mut i32) (i32.const 0))
    ;; The module's own heap: the pages it grows itself.
    (func (export "own_grow") (result i32)
        (global.set $mine (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))
        (i32.store (global.get $mine) (i32.const 0x11223344))
        (global.get $mine))
    (func (export "own_intact") (result i32)
        (i32.eq (i32.load (global.get $mine)) (i32.const 0x11223344)))
    (func (export "data_intact") (result i64) (i64.load (i32.const 1024)))
    (func (export "alloc") (param i32) (result i32) (call $alloc (local.get 0)))
    ;; Allocates, fills with 0xAB, returns the address.
    (func (export "alloc_fill") (param $n i32) (result i32) (local $p i32)
        (local.set $p (call $alloc (local.get $n)))
        (memory.fill (local.get $p) (i32.const 0xAB) (local.get $n))
        (local.get $p))
    (func (export "free") (param i32) (call $free (local.get 0) (i32.const 0)))
    ;; Writes a word, grows the block, returns the word read at the new address.
    (func (export "realloc_keeps") (param $n i32) (result i32) (local $p i32)
        (local.set $p (call $alloc (i32.const 8)))
        (i32.store (local.get $p) (i32.const 0x5EA7CE))
        (local.set $p (call $realloc (local.get $p) (i32.const 8) (local.get $n)))
        (i32.load (local.get $p)))
    (func (export "realloc") (param i32 i32) (result i32) (call $realloc (local.get 0) (i32.const 0) (local.get 1))))"#;

fn live(sandbox: &Sandbox, name: &str, wat: &str, policy: Policy, bus: &Arc<Bus>) -> LiveSpirit {
    let spirit = sandbox.load(name, &wat::parse_str(wat).unwrap()).unwrap();
    let mut request = LiveRequest::new(policy, Limits::default());
    request.bus = bus.clone();
    request.seed = Some(3);
    sandbox.instantiate(&spirit, request).unwrap()
}

fn i32_of(spirit: &mut LiveSpirit, function: &str, args: &[Value]) -> i32 {
    match spirit.invoke(function, args).unwrap().results[..] {
        [Value::I32(v)] => v,
        ref other => panic!("{function} returned {other:?}"),
    }
}

fn warnings(spirit: &mut LiveSpirit) -> Vec<String> {
    let io = spirit.replace_io(Box::new(CollectingIo::default()));
    io.into_any().downcast::<CollectingIo>().unwrap().warnings
}

#[test]
fn host_allocations_never_touch_the_modules_own_memory() {
    let sandbox = sandbox();
    let bus = Arc::new(Bus::new());
    let mut m = live(&sandbox, "heap", MEMORY, Policy::default(), &bus);
    let data = m.invoke("data_intact", &[]).unwrap().results;
    // The module had 2 pages; the host's first region is the third.
    let a = i32_of(&mut m, "alloc_fill", &[Value::I32(100)]);
    assert_eq!(a, 2 * 65536);
    // The module grows a page of its own: the fourth.
    let own = i32_of(&mut m, "own_grow", &[]);
    assert_eq!(own, 3 * 65536);
    // Host allocations fill the host's page, then the host grows a fifth,
    // never the module's.
    let mut blocks = vec![a];
    for _ in 0..20 {
        let p = i32_of(&mut m, "alloc_fill", &[Value::I32(8000)]);
        assert!(p != 0);
        assert!(
            !(own..own + 65536).contains(&p) && !(0..2 * 65536).contains(&p),
            "{p} is in the module's memory"
        );
        blocks.push(p);
    }
    assert!(blocks.iter().any(|p| *p >= 4 * 65536));
    assert_eq!(i32_of(&mut m, "own_intact", &[]), 1);
    assert_eq!(m.invoke("data_intact", &[]).unwrap().results, data);

    // Freeing the module's own data is refused and changes nothing; the
    // host never hands it out.
    m.invoke("free", &[Value::I32(1024)]).unwrap();
    m.invoke("free", &[Value::I32(own)]).unwrap();
    assert_eq!(
        warnings(&mut m),
        [
            "`vudo_free` ignored address 1024: it is not a live allocation of the host",
            &format!("`vudo_free` ignored address {own}: it is not a live allocation of the host")
        ]
    );
    for _ in 0..8 {
        let p = i32_of(&mut m, "alloc_fill", &[Value::I32(16)]);
        assert!(p >= 2 * 65536 && !(own..own + 65536).contains(&p));
    }
    assert_eq!(m.invoke("data_intact", &[]).unwrap().results, data);

    // A freed block is reused; realloc keeps the contents.
    m.invoke("free", &[Value::I32(a)]).unwrap();
    assert_eq!(i32_of(&mut m, "alloc", &[Value::I32(64)]), a);
    assert_eq!(
        i32_of(&mut m, "realloc_keeps", &[Value::I32(100_000)]),
        0x5EA7CE
    );
    assert_eq!(
        i32_of(&mut m, "realloc", &[Value::I32(1024), Value::I32(8)]),
        0
    );

    // Bounded by the memory limit: 0, and the instance lives on.
    assert_eq!(i32_of(&mut m, "alloc", &[Value::I32(i32::MAX)]), 0);
    assert_eq!(i32_of(&mut m, "alloc", &[Value::I32(0)]), 0);
    assert_eq!(i32_of(&mut m, "alloc", &[Value::I32(8)]) % 8, 0);
    assert_eq!(i32_of(&mut m, "own_intact", &[]), 1);
}

const TIME: &str = r#"(module
    (import "loa" "vudo_now" (func $now (result i64)))
    (import "loa" "vudo_monotonic_now" (func $mono (result i64)))
    (import "loa" "vudo_sleep" (func $sleep (param i32)))
    (memory (export "memory") 1)
    (func (export "now") (result i64) (call $now))
    (func (export "slept") (param i32) (result i64) (local $t i64)
        (local.set $t (call $now)) (call $sleep (local.get 0)) (i64.sub (call $now) (local.get $t)))
    (func (export "mono") (result i64 i64) (call $mono) (call $sleep (i32.const 5)) (call $mono))
    (func (export "sleep") (param i32) (call $sleep (local.get 0))))"#;

#[test]
fn the_clocks_read_milliseconds_and_nanoseconds_and_sleep_is_bounded() {
    let time = Policy::allow([Capability::SensorTime]);
    let now = invoke(TIME, "now", &[], time.clone(), Some(0)).results;
    assert_eq!(now, [Value::I64(DETERMINISTIC_EPOCH_MS)]);
    // In deterministic mode sleeping advances the clock (plus the clock's
    // own step of 1 ms per reading) instead of waiting.
    let slept = invoke(TIME, "slept", &["3600000"], time.clone(), Some(0)).results;
    assert_eq!(slept, [Value::I64(3_600_001)]);
    let mono = invoke(TIME, "mono", &[], time.clone(), None).results;
    let [Value::I64(a), Value::I64(b)] = mono[..] else {
        panic!("{mono:?}")
    };
    assert!(b >= a + 5_000_000, "{a} then {b}");
    let real = invoke(TIME, "now", &[], time.clone(), None).results;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(matches!(real[..], [Value::I64(ms)] if (wall - 60_000..=wall).contains(&ms)));
    // A sleep past the deadline ends at it: the call times out.
    let limits = Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let result = run(TIME, "sleep", &["600000"], time, None, limits);
    assert!(matches!(result, Err(RunError::Timeout(_))), "{result:?}");
}

const RANDOM: &str = r#"(module
    (import "loa" "vudo_random" (func $random (result f64)))
    (import "loa" "vudo_random_bytes" (func $bytes (param i32 i32)))
    (memory (export "memory") 1)
    (func (export "random") (result f64 f64) (call $random) (call $random))
    (func (export "bytes") (result i64) (call $bytes (i32.const 8) (i32.const 8)) (i64.load (i32.const 8)))
    (func (export "outside") (call $bytes (i32.const 65535) (i32.const 2))))"#;

#[test]
fn random_numbers_are_in_range_and_seeded_in_deterministic_mode() {
    let random = Policy::allow([Capability::SensorRandom]);
    for seed in [Some(1), None] {
        for value in invoke(RANDOM, "random", &[], random.clone(), seed).results {
            assert!(matches!(value, Value::F64(v) if (0.0..1.0).contains(&v)));
        }
    }
    let a = invoke(RANDOM, "random", &[], random.clone(), Some(9)).results;
    assert_eq!(
        a,
        invoke(RANDOM, "random", &[], random.clone(), Some(9)).results
    );
    assert_ne!(a[0], a[1]);
    let bytes = invoke(RANDOM, "bytes", &[], random.clone(), Some(9)).results;
    assert_eq!(
        bytes,
        invoke(RANDOM, "bytes", &[], random.clone(), Some(9)).results
    );
    assert_ne!(bytes, [Value::I64(0)]);
    let outside = run(RANDOM, "outside", &[], random, None, Limits::default());
    assert!(matches!(outside, Err(RunError::Trap(m)) if m.contains("vudo_random_bytes")));
}

/// Ping sends, pong replies: every messaging function from WAT, with the
/// record layout read by the guest.
const PING: &str = r#"(module
    (import "loa" "vudo_send" (func $send (param i32 i32 i32 i32) (result i32)))
    (import "loa" "vudo_recv" (func $recv (result i32)))
    (import "loa" "vudo_pending" (func $pending (result i32)))
    (import "loa" "vudo_broadcast" (func $broadcast (param i32 i32) (result i32)))
    (import "loa" "vudo_free_message" (func $free_message (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "pongping")
    (data (i32.const 16) "nobody")
    (func (export "ping") (result i32) (call $send (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 4)))
    (func (export "to_nobody") (result i32) (call $send (i32.const 16) (i32.const 6) (i32.const 4) (i32.const 4)))
    (func (export "pending") (result i32) (call $pending))
    (func (export "broadcast") (result i32) (call $broadcast (i32.const 4) (i32.const 4)))
    ;; Receives one message; returns sender_len, the sender's first byte,
    ;; payload_len and the payload's first byte; frees the record.
    (func (export "recv") (result i32 i32 i32 i32) (local $r i32) (local $s i32)
        (local.set $r (call $recv))
        (if (i32.eqz (local.get $r)) (then (return (i32.const -1) (i32.const 0) (i32.const 0) (i32.const 0))))
        (local.set $s (i32.load (local.get $r)))
        (local.get $s)
        (i32.load8_u (i32.add (local.get $r) (i32.const 4)))
        (i32.load (i32.add (i32.add (local.get $r) (i32.const 4)) (local.get $s)))
        (i32.load8_u (i32.add (i32.add (local.get $r) (i32.const 8)) (local.get $s)))
        (call $free_message (local.get $r))))"#;

fn ints(invocation: &[Value]) -> Vec<i32> {
    invocation
        .iter()
        .map(|v| match v {
            Value::I32(v) => *v,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn two_spirits_exchange_messages_on_one_bus() {
    let sandbox = sandbox();
    let bus = Arc::new(Bus::new());
    let talk = Policy::allow([Capability::NetworkBroadcast]);
    let mut ping = live(&sandbox, "ping", PING, talk.clone(), &bus);
    let mut pong = live(&sandbox, "pong", PING, talk, &bus);
    assert_eq!(i32_of(&mut ping, "ping", &[]), 1);
    assert_eq!(i32_of(&mut ping, "to_nobody", &[]), 0);
    assert_eq!(i32_of(&mut pong, "pending", &[]), 1);
    let got = ints(&pong.invoke("recv", &[]).unwrap().results);
    assert_eq!(got, [4, i32::from(b'p'), 4, i32::from(b'p')]);
    assert_eq!(ints(&pong.invoke("recv", &[]).unwrap().results)[0], -1);
    // The host injects a message; a broadcast reaches the other spirit.
    assert_eq!(bus.send("@host", "ping", b"x"), Ok(true));
    assert_eq!(i32_of(&mut pong, "broadcast", &[]), 1);
    assert_eq!(i32_of(&mut ping, "pending", &[]), 2);
    assert_eq!(
        ints(&ping.invoke("recv", &[]).unwrap().results)[..2],
        [5, i32::from(b'@')]
    );
    assert_eq!(
        ints(&ping.invoke("recv", &[]).unwrap().results)[..2],
        [4, i32::from(b'p')]
    );
    let events = bus.take_events();
    assert_eq!(events.len(), 3, "{events:?}");
    // A flood stops at the queue's cap with -1, and the host lives on.
    for _ in 0..MAX_QUEUED_MESSAGES {
        assert_eq!(i32_of(&mut ping, "ping", &[]), 1);
    }
    assert_eq!(i32_of(&mut ping, "ping", &[]), -1);
    assert_eq!(
        warnings(&mut ping),
        [
            "`vudo_send` returned -1: the queue of `pong` is full (256 messages or 1048576 bytes); it must receive first"
        ]
    );
    // Released, pong is no one: sending to it finds nobody.
    drop(pong);
    assert_eq!(i32_of(&mut ping, "ping", &[]), 0);
}

const EFFECTS: &str = r#"(module
    (import "loa" "vudo_emit_effect" (func $emit (param i32 i32 i32) (result i32)))
    (import "loa" "vudo_subscribe" (func $subscribe (param i32 i32) (result i32)))
    (import "loa" "vudo_recv" (func $recv (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "10*read")
    (func (export "subscribe") (result i32) (call $subscribe (i32.const 0) (i32.const 2)))
    (func (export "bad_subscribe") (result i32) (call $subscribe (i32.const 0) (i32.const 0)))
    (func (export "emit") (param i32) (result i32) (call $emit (local.get 0) (i32.const 3) (i32.const 4)))
    (func (export "recv_sender_len") (result i32) (i32.load (call $recv))))"#;

#[test]
fn effects_reach_the_host_and_the_subscribers() {
    let sandbox = sandbox();
    let bus = Arc::new(Bus::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    bus.on_effect(Box::new(move |e| {
        sink.lock().unwrap().push((e.id, e.payload.clone()))
    }));
    let notify = Policy::allow([Capability::ActuatorNotify]);
    let mut a = live(&sandbox, "a", EFFECTS, notify.clone(), &bus);
    let mut b = live(&sandbox, "b", EFFECTS, notify, &bus);
    assert_eq!(i32_of(&mut b, "subscribe", &[]), 0);
    assert_eq!(i32_of(&mut b, "bad_subscribe", &[]), -1);
    assert_eq!(i32_of(&mut a, "emit", &[Value::I32(10)]), 1);
    assert_eq!(i32_of(&mut a, "emit", &[Value::I32(11)]), 0);
    // b receives effect 10 from a, as a message from `effect:10:a`.
    assert_eq!(
        i32_of(&mut b, "recv_sender_len", &[]),
        "effect:10:a".len() as i32
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [(10, b"read".to_vec()), (11, b"read".to_vec())]
    );
    assert!(
        matches!(&bus.take_events()[..], [BusEvent::Effect(e), BusEvent::Effect(_)] if e.spirit == "a")
    );
}

const DEBUG: &str = r#"(module
    (import "loa" "vudo_breakpoint" (func $breakpoint))
    (import "loa" "vudo_assert" (func $assert (param i32 i32 i32)))
    (import "loa" "vudo_panic" (func $panic (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "x must be positive")
    (func (export "check") (param i32) (call $breakpoint) (call $assert (local.get 0) (i32.const 0) (i32.const 18)))
    (func (export "panic") (call $panic (i32.const 0) (i32.const 1))))"#;

#[test]
fn breakpoint_logs_and_assert_and_panic_end_the_call() {
    let out = io(invoke(DEBUG, "check", &["1"], Policy::default(), None));
    assert_eq!(out.logs[0].level, LogLevel::Debug);
    assert_eq!(out.logs[0].to_string(), "[DEBUG rt] breakpoint");
    let failed = run(
        DEBUG,
        "check",
        &["0"],
        Policy::default(),
        None,
        Limits::default(),
    );
    assert_eq!(
        failed.unwrap_err().to_string(),
        "assertion failed: x must be positive"
    );
    let panicked = run(
        DEBUG,
        "panic",
        &[],
        Policy::default(),
        None,
        Limits::default(),
    );
    assert_eq!(panicked.unwrap_err().to_string(), "x");
}

#[test]
fn a_trap_ends_only_that_instance_and_state_persists_in_the_others() {
    let sandbox = sandbox();
    let bus = Arc::new(Bus::new());
    let counter = r#"(module (memory (export "memory") 1) (global $n (mut i32) (i32.const 0))
        (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
        (func (export "crash") unreachable))"#;
    let mut a = live(&sandbox, "a", counter, Policy::default(), &bus);
    let mut b = live(&sandbox, "b", counter, Policy::default(), &bus);
    for expected in 1..=3 {
        assert_eq!(i32_of(&mut a, "next", &[]), expected);
    }
    assert!(matches!(b.invoke("crash", &[]), Err(RunError::Trap(_))));
    assert_eq!(
        b.invoke("next", &[]).unwrap_err().to_string(),
        "the instance of `b` ended when an earlier invocation failed (trap: unreachable in function #1); it cannot be called again\nhelp: summon it again for a fresh instance"
    );
    assert_eq!(i32_of(&mut a, "next", &[]), 4);
    // Fuel is per invocation: many invocations, each within a small limit.
    let next = a.typed::<(), i32>("next").unwrap();
    assert_eq!(a.call(&next, ()).unwrap(), 5);
    // A handle of an ended instance cannot be called; nor one of another.
    let ended = b.typed::<(), i32>("next").unwrap();
    assert!(b.call(&ended, ()).is_err());
    assert!(b.call(&next, ()).is_err());
    assert!(a.typed::<i32, i32>("next").is_err());
}

#[test]
fn dol_imports_under_loa_are_accepted_and_host_functions_are_not() {
    use spirit_build::validate::{FunctionType, Grant, ImportKind, ModuleImport, check_imports};
    let import = |module: &str, name: &str, params: usize| ModuleImport {
        module: module.into(),
        name: name.into(),
        kind: ImportKind::Function(FunctionType {
            params: vec!["i32".into(); params],
            results: vec![],
        }),
    };
    assert!(
        check_imports(&[import("loa", "vudo_print", 2)], &[], Grant::Run)
            .link
            .is_empty()
    );
    let wrong = check_imports(&[import("loa", "host_abort", 2)], &[], Grant::Run);
    assert_eq!(
        wrong.link[0].to_string(),
        "imports `loa.host_abort`, but the host defines `host_abort` only in the `vudo` module\nhelp: import it as `vudo.host_abort`"
    );
}

#[test]
fn a_seance_runs_ping_pong_and_keeps_state_between_invocations() {
    use spirit_build::seance::{Seance, SeanceError, Summons};
    let mut seance = Seance::new(sandbox());
    let talk = || {
        Summons::new(
            Policy::allow([Capability::NetworkBroadcast]),
            Limits::default(),
        )
    };
    let wasm = wat::parse_str(PING).unwrap();
    seance.summon("ping", &wasm, talk()).unwrap();
    seance.summon("pong", &wasm, talk()).unwrap();
    let pending =
        |s: &mut Seance, name: &str| ints(&s.invoke(name, "pending", &[]).unwrap().results)[0];
    assert_eq!(
        ints(&seance.invoke("ping", "ping", &[]).unwrap().results),
        [1]
    );
    assert_eq!(pending(&mut seance, "pong"), 1);
    assert_eq!(
        ints(&seance.invoke("pong", "broadcast", &[]).unwrap().results),
        [1]
    );
    assert!(seance.send("ping", b"from the host").unwrap());
    assert_eq!(pending(&mut seance, "ping"), 2);
    // Typed: the record's sender and payload lengths, as the guest reads them.
    let recv = seance
        .typed::<(), (i32, i32, i32, i32)>("pong", "recv")
        .unwrap();
    assert_eq!(
        seance.call(&recv, ()).unwrap(),
        (4, i32::from(b'p'), 4, i32::from(b'p'))
    );
    assert_eq!(seance.call(&recv, ()).unwrap().0, -1);
    assert_eq!(seance.take_events().len(), 3);
    // Released, pong is no one; its handle is refused in words.
    seance.release("pong").unwrap();
    assert_eq!(
        ints(&seance.invoke("ping", "ping", &[]).unwrap().results),
        [0]
    );
    assert!(matches!(
        seance.call(&recv, ()),
        Err(SeanceError::Unknown { .. })
    ));
    seance.dismiss();
}
