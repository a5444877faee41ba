//! `cargo spirit seance`: DOL-style modules run unchanged, spirits keep
//! their state between invocations and talk over the bus, a failure ends
//! one spirit and fails the séance after the rest.

use std::path::Path;

use snapbox::str;

use crate::support::{cargo_spirit, wasm_file};

/// What the DOL compiler emits: imports under `loa`, no allocator export,
/// data at 1024.
const DOL_HELLO: &str = r#"(module
    (import "loa" "vudo_println" (func $println (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 1024) "Hello from DOL!")
    (func (export "main") (call $println (i32.const 1024) (i32.const 15))))"#;

/// One module for both peers: `send_to 0|1` sends "hi" to ping or pong;
/// `answer` receives one message and replies "hi" to its sender, counting
/// the answers in a global that lives as long as the séance.
const PEER: &str = r#"(module
    (import "loa" "vudo_send" (func $send (param i32 i32 i32 i32) (result i32)))
    (import "loa" "vudo_recv" (func $recv (result i32)))
    (import "loa" "vudo_pending" (func $pending (result i32)))
    (import "loa" "vudo_broadcast" (func $broadcast (param i32 i32) (result i32)))
    (import "loa" "vudo_free_message" (func $free_message (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "pingpong")
    (data (i32.const 32) "hi")
    (global $answered (mut i32) (i32.const 0))
    (func (export "send_to") (param i32) (result i32)
        (call $send (i32.mul (local.get 0) (i32.const 4)) (i32.const 4) (i32.const 32) (i32.const 2)))
    (func (export "pending") (result i32) (call $pending))
    (func (export "shout") (result i32) (call $broadcast (i32.const 32) (i32.const 2)))
    (func (export "answer") (result i32) (local $r i32)
        (local.set $r (call $recv))
        (if (i32.eqz (local.get $r)) (then (return (i32.const 0))))
        (drop (call $send (i32.add (local.get $r) (i32.const 4)) (i32.load (local.get $r)) (i32.const 32) (i32.const 2)))
        (call $free_message (local.get $r))
        (global.set $answered (i32.add (global.get $answered) (i32.const 1)))
        (i32.const 1))
    (func (export "answered") (result i32) (global.get $answered))
    (func (export "crash") unreachable))"#;

fn peers(dir: &Path) {
    wasm_file(dir, "peer.wasm", PEER);
}

#[test]
fn a_dol_style_module_prints_its_greeting_in_a_seance_and_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    wasm_file(tmp.path(), "hello.wasm", DOL_HELLO);
    cargo_spirit(tmp.path())
        .args(["seance", "greeter=hello.wasm", "--invoke", "greeter.main"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
Hello from DOL!

"#]])
        .stderr_eq(str![[r#"
    Summoned `greeter` (spirit `hello`)

"#]]);
    cargo_spirit(tmp.path())
        .args(["run", "hello.wasm", "--invoke", "main"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
Hello from DOL!

"#]]);
}

#[test]
fn two_spirits_ping_pong_over_the_bus_and_keep_their_state() {
    let tmp = tempfile::tempdir().unwrap();
    peers(tmp.path());
    cargo_spirit(tmp.path())
        .args(["seance", "ping=peer.wasm", "pong=peer.wasm", "-v"])
        .args(["--allow", "network_broadcast"])
        .args(["--invoke", "ping.send_to 1", "--invoke", "pong.pending"])
        .args(["--invoke", "pong.answer", "--invoke", "ping.pending"])
        .args(["--invoke", "ping.answer", "--invoke", "pong.shout"])
        .args(["--invoke", "ping.pending", "--invoke", "pong.answer"])
        .args(["--invoke", "pong.answered", "--invoke", "ping.answered"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
1
1
1
1
1
1
1
1
2
1

"#]])
        .stderr_eq(str![[r#"
    Summoned `ping` (spirit `peer`)
    Summoned `pong` (spirit `peer`)
    Invoking ping.send_to(1)
    Finished in [..]: 8 units of fuel
         Bus message ping -> pong (2 bytes)
    Invoking pong.pending()
    Finished in [..]: 2 units of fuel
    Invoking pong.answer()
    Finished in [..]: 21 units of fuel
         Bus message pong -> ping (2 bytes)
    Invoking ping.pending()
    Finished in [..]: 2 units of fuel
    Invoking ping.answer()
    Finished in [..]: 21 units of fuel
         Bus message ping -> pong (2 bytes)
    Invoking pong.shout()
    Finished in [..]: 4 units of fuel
         Bus broadcast from pong to 1 spirit (2 bytes)
    Invoking ping.pending()
    Finished in [..]: 2 units of fuel
    Invoking pong.answer()
    Finished in [..]: 21 units of fuel
         Bus message pong -> ping (2 bytes)
    Invoking pong.answered()
    Finished in [..]: 2 units of fuel
    Invoking ping.answered()
    Finished in [..]: 2 units of fuel
   Dismissed 2 spirits

"#]]);
}

#[test]
fn messaging_needs_its_capability() {
    let tmp = tempfile::tempdir().unwrap();
    peers(tmp.path());
    cargo_spirit(tmp.path())
        .args(["seance", "ping=peer.wasm", "--invoke", "ping.pending"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `ping`: refused before running (2 problems)

imports `loa.vudo_send`, which needs the capability `network_broadcast`, but it is not granted
help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow network_broadcast`

imports `loa.vudo_broadcast`, which needs the capability `network_broadcast`, but it is not granted
help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow network_broadcast`

"#]]);
}

#[test]
fn a_trap_ends_one_spirit_and_the_seance_fails_after_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    peers(tmp.path());
    let invocations = [
        "--invoke",
        "pong.crash",
        "--invoke",
        "ping.send_to 1",
        "--invoke",
        "pong.pending",
        "--invoke",
        "ping.answered",
    ];
    cargo_spirit(tmp.path())
        .args(["seance", "ping=peer.wasm", "pong=peer.wasm"])
        .args(["--allow", "network_broadcast"])
        .args(invocations)
        .assert()
        .code(1)
        .stdout_eq(str![[r#"
0
0

"#]])
        .stderr_eq(str![[r#"
    Summoned `ping` (spirit `peer`)
    Summoned `pong` (spirit `peer`)
error: invocation `pong.crash` failed: `pong`: trap: unreachable in function #10
error: invocation `pong.pending` failed: `pong` ended in an earlier invocation (trap: unreachable in function #10) and cannot be invoked again
help: summon it again for a fresh instance

"#]]);
    cargo_spirit(tmp.path())
        .args(["seance", "ping=peer.wasm", "pong=peer.wasm", "--fail-fast"])
        .args(["--allow", "network_broadcast"])
        .args(invocations)
        .assert()
        .code(1)
        .stdout_eq(str![""]);
}

#[test]
fn bad_specs_are_refused_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    peers(tmp.path());
    cargo_spirit(tmp.path())
        .args(["seance", "peer.wasm"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `peer.wasm` is not a spirit to summon, `NAME=TARGET`
help: give a name and a target, such as `ping=ping.wasm` or `greeter=hello@^1`

"#]]);
    cargo_spirit(tmp.path())
        .args(["seance", "p=peer.wasm", "--invoke", "p"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `p` is not an invocation `NAME.FUNC [ARGS…]`
help: name a summoned spirit and one of its exports, such as `--invoke 'calc.add 2 3'`

"#]]);
    cargo_spirit(tmp.path())
        .args(["seance", "p=peer.wasm", "--allow", "network_broadcast"])
        .args([
            "--invoke",
            "q.answer",
            "--invoke",
            "p.send_to x",
            "--invoke",
            "p.nothing",
        ])
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
    Summoned `p` (spirit `peer`)
error: invocation `q.answer` failed: no spirit named `q` is summoned
help: summoned: `p`
error: invocation `p.send_to` failed: `p`: argument 1 of `send_to`: `x` is not a valid i32
error: invocation `p.nothing` failed: `p`: the spirit does not export a function `nothing`
help: it exports `send_to`, `pending`, `shout`, `answer`, `answered`, `crash`

"#]]);
}

/// `--allow-net` gives every spirit of a séance a place to connect, added
/// to its manifest's allowlist; without it a granted `network_connect`
/// reaches nothing.
#[test]
fn allow_net_lets_summoned_spirits_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    wasm_file(
        tmp.path(),
        "net.wasm",
        &format!(
            r#"(module
            (import "vudo" "host_network_connect" (func $connect (param i32 i32) (result i64)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{address}")
            (func (export "connect") (result i32)
                (i64.ge_s (call $connect (i32.const 0) (i32.const {len})) (i64.const 0))))"#,
            len = address.len()
        ),
    );
    let seance = || {
        cargo_spirit(tmp.path())
            .args(["seance", "a=net.wasm", "b=net.wasm", "-q"])
            .args(["--allow", "network_connect"])
            .args(["--invoke", "a.connect", "--invoke", "b.connect"])
    };
    seance()
        .args(["--allow-net", &address])
        .assert()
        .success()
        .stdout_eq("1\n1\n");
    seance().assert().success().stdout_eq("0\n0\n");
}
