//! Séance benchmarks (`harness = false`): one invocation on a live
//! instance against raw wasmtime calling the same export through a
//! `TypedFunc` on the sandbox's own engine (same configuration: fuel,
//! epochs, pool), and one message round trip between two spirits. Each
//! baseline is measured in the same run; figures are in `BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p spirit-build --bench seance
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use spirit_build::sandbox::{Bus, Limits, LiveRequest, Policy, Sandbox, SandboxConfig, Value};
use spirit_build::seance::{Seance, Summons};
use spirit_sdk::abi::Capability;
use support::report;
use wasmtime::{Instance, Module, Store};

fn measure(iters: u32, f: impl FnMut()) -> Duration {
    support::per_iteration(iters, iters.min(1000), f)
}

const ADD: &str = r#"(module (memory (export "memory") 1)
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

/// As in the CLI's ping/pong test: `send_to 1` sends "hi" to pong,
/// `answer` receives one message and replies to its sender, `take`
/// receives one and frees it.
const PEER: &str = r#"(module
    (import "loa" "vudo_send" (func $send (param i32 i32 i32 i32) (result i32)))
    (import "loa" "vudo_recv" (func $recv (result i32)))
    (import "loa" "vudo_free_message" (func $free_message (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "pingpong")
    (data (i32.const 32) "hi")
    (func (export "send_to") (param i32) (result i32)
        (call $send (i32.mul (local.get 0) (i32.const 4)) (i32.const 4) (i32.const 32) (i32.const 2)))
    (func (export "answer") (result i32) (local $r i32)
        (local.set $r (call $recv))
        (if (i32.eqz (local.get $r)) (then (return (i32.const 0))))
        (drop (call $send (i32.add (local.get $r) (i32.const 4)) (i32.load (local.get $r)) (i32.const 32) (i32.const 2)))
        (call $free_message (local.get $r))
        (i32.const 1))
    (func (export "take") (result i32) (local $r i32)
        (local.set $r (call $recv))
        (if (i32.eqz (local.get $r)) (then (return (i32.const 0))))
        (call $free_message (local.get $r))
        (i32.const 1)))"#;

fn main() {
    let iters = 20_000;
    let wasm = wat::parse_str(ADD).unwrap();

    // Baseline: raw wasmtime on the sandbox's engine, a TypedFunc, fuel and
    // deadline set once.
    let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    let module = Module::new(sandbox.engine(), &wasm).unwrap();
    let mut store = Store::new(sandbox.engine(), ());
    store.set_fuel(u64::MAX / 2).unwrap();
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    let raw = measure(iters, || {
        black_box(add.call(&mut store, black_box((2, 3))).unwrap());
    });
    report("raw wasmtime TypedFunc call (same engine)", raw);

    // The live instance alone, without the séance's lookup by name.
    let spirit = sandbox.load("calc", &wasm).unwrap();
    let mut live = sandbox
        .instantiate(
            &spirit,
            LiveRequest::new(Policy::default(), Limits::default()),
        )
        .unwrap();
    let live_add = live.typed::<(i32, i32), i32>("add").unwrap();
    let live_only = measure(iters, || {
        black_box(live.call(&live_add, black_box((2, 3))).unwrap());
    });
    report("live instance typed call (LiveSpirit::call)", live_only);
    drop(live);

    let mut seance = Seance::new(sandbox);
    seance
        .summon(
            "calc",
            &wasm,
            Summons::new(Policy::default(), Limits::default()),
        )
        .unwrap();
    let typed = seance.typed::<(i32, i32), i32>("calc", "add").unwrap();
    let live_typed = measure(iters, || {
        black_box(seance.call(&typed, black_box((2, 3))).unwrap());
    });
    report("séance typed call (Seance::call)", live_typed);
    let args = [Value::I32(2), Value::I32(3)];
    let live_invoke = measure(iters, || {
        black_box(seance.invoke("calc", "add", black_box(&args)).unwrap());
    });
    report("séance invoke (Seance::invoke, values)", live_invoke);

    // One message round trip: ping sends, pong receives and replies, ping
    // receives: three invocations and two messages.
    let peer = wat::parse_str(PEER).unwrap();
    let talk = || {
        Summons::new(
            Policy::allow([Capability::NetworkBroadcast]),
            Limits::default(),
        )
    };
    seance.summon("ping", &peer, talk()).unwrap();
    seance.summon("pong", &peer, talk()).unwrap();
    let send_to = seance.typed::<i32, i32>("ping", "send_to").unwrap();
    let answer = seance.typed::<(), i32>("pong", "answer").unwrap();
    let take = seance.typed::<(), i32>("ping", "take").unwrap();
    let round_trip = measure(iters / 4, || {
        assert_eq!(seance.call(&send_to, 1).unwrap(), 1);
        assert_eq!(seance.call(&answer, ()).unwrap(), 1);
        assert_eq!(seance.call(&take, ()).unwrap(), 1);
        // The host's record of the bus is read as a séance's host does.
        black_box(seance.take_events());
    });
    report(
        "message round trip ping -> pong -> ping (3 calls)",
        round_trip,
    );

    // The bus alone, without the spirits: send and receive twice.
    let bus = Bus::new();
    bus.join("a").unwrap();
    bus.join("b").unwrap();
    let bus_only = measure(iters, || {
        bus.send("a", "b", b"hi").unwrap();
        black_box(bus.recv("b"));
        bus.send("b", "a", b"hi").unwrap();
        black_box(bus.recv("a"));
        black_box(bus.take_events());
    });
    report("bus alone: the same two messages", bus_only);

    println!(
        "\nratios: live call {:.2}x raw, séance typed call {:.2}x raw, invoke {:.2}x raw; round trip {:.2}x three typed calls",
        live_only.as_secs_f64() / raw.as_secs_f64(),
        live_typed.as_secs_f64() / raw.as_secs_f64(),
        live_invoke.as_secs_f64() / raw.as_secs_f64(),
        round_trip.as_secs_f64() / (3.0 * live_typed.as_secs_f64()),
    );
}
