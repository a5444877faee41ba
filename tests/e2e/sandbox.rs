//! The sandbox through the real binary: every host function's success and
//! error paths, capability refusals, limits, deterministic mode, storage,
//! `--invoke` and the code cache. Modules are written in WebAssembly text so
//! each test shows exactly what the guest does.

use std::path::Path;

use snapbox::str;
use spirit_sdk::abi::{HOST_FUNCTIONS, ValType};

use crate::support::{cargo_spirit, wasm_file};

/// Every host function imported, and one export per call worth checking,
/// returning what the host returned. Memory is one page (64 KiB).
const PROBE_WAT: &str = r#"(module
    (import "vudo" "host_time_now" (func $time (result i64)))
    (import "vudo" "host_random_bytes" (func $random (param i32 i32) (result i32)))
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_delete" (func $delete (param i32 i32) (result i32)))
    (import "vudo" "host_input_len" (func $input_len (result i32)))
    (import "vudo" "host_input_read" (func $input_read (param i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
    (import "vudo" "host_abort" (func $abort (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "key")
    (data (i32.const 16) "value")
    (data (i32.const 32) "hello from the probe")
    (data (i32.const 64) "\ff\fe")
    (data (i32.const 80) "the spirit gave up")

    (func (export "time") (result i64) (call $time))
    (func (export "random") (result i32 i64)
        (call $random (i32.const 256) (i32.const 8))
        (i64.load (i32.const 256)))
    (func (export "random_oob") (result i32) (call $random (i32.const 65535) (i32.const 2)))
    (func (export "log") (result i32) (call $log (i32.const 2) (i32.const 32) (i32.const 20)))
    (func (export "log_all_levels") (result i32 i32 i32 i32 i32)
        (call $log (i32.const 0) (i32.const 32) (i32.const 5))
        (call $log (i32.const 1) (i32.const 32) (i32.const 5))
        (call $log (i32.const 2) (i32.const 32) (i32.const 5))
        (call $log (i32.const 3) (i32.const 32) (i32.const 5))
        (call $log (i32.const 4) (i32.const 32) (i32.const 5)))
    (func (export "log_bad_level") (result i32) (call $log (i32.const 5) (i32.const 32) (i32.const 5)))
    (func (export "log_bad_utf8") (result i32) (call $log (i32.const 2) (i32.const 64) (i32.const 2)))
    (func (export "log_oob") (result i32) (call $log (i32.const 2) (i32.const -1) (i32.const 5)))
    (func (export "log_flood") (result i32)
        (local $i i32) (local $failed i32)
        (loop $again
            (if (i32.ne (call $log (i32.const 2) (i32.const 32) (i32.const 5)) (i32.const 0))
                (then (local.set $failed (i32.add (local.get $failed) (i32.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $again (i32.lt_u (local.get $i) (i32.const 1005))))
        (local.get $failed))

    (func (export "storage") (result i32 i32 i32 i32 i32 i32 i32)
        ;; missing, write, read back, buffer too small, delete, delete again, read again
        (call $read (i32.const 0) (i32.const 3) (i32.const 512) (i32.const 16))
        (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))
        (call $read (i32.const 0) (i32.const 3) (i32.const 512) (i32.const 16))
        (call $read (i32.const 0) (i32.const 3) (i32.const 512) (i32.const 4))
        (call $delete (i32.const 0) (i32.const 3))
        (call $delete (i32.const 0) (i32.const 3))
        (call $read (i32.const 0) (i32.const 3) (i32.const 512) (i32.const 16)))
    (func (export "storage_read_back") (result i32 i64)
        (call $read (i32.const 0) (i32.const 3) (i32.const 512) (i32.const 16))
        (i64.load (i32.const 512)))
    (func (export "storage_write") (result i32)
        (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5)))
    (func (export "storage_errors") (result i32 i32 i32 i32 i32 i32)
        ;; key out of bounds, value out of bounds, destination out of bounds,
        ;; empty key, key over the quota, value over the quota
        (call $write (i32.const 65534) (i32.const 3) (i32.const 16) (i32.const 5))
        (call $write (i32.const 0) (i32.const 3) (i32.const 65530) (i32.const 100))
        (call $read (i32.const 0) (i32.const 3) (i32.const -16) (i32.const 16))
        (call $write (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 5))
        (call $delete (i32.const 0) (i32.const 2000))
        (call $write (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 65536)))

    (func (export "input") (result i32 i32 i32 i32)
        (call $input_len)
        (call $input_read (i32.const 1024) (i32.const 3) (i32.const 0))
        (call $input_read (i32.const 1024) (i32.const 100) (i32.const 3))
        (call $input_read (i32.const 1024) (i32.const 100) (i32.const 1000)))
    (func (export "input_oob") (result i32)
        (call $input_read (i32.const 65535) (i32.const 100) (i32.const 0)))
    (func (export "echo") (result i32)
        (local $n i32)
        (local.set $n (call $input_read (i32.const 1024) (i32.const 4096) (i32.const 0)))
        (call $output (i32.const 1024) (local.get $n)))
    (func (export "output_oob") (result i32) (call $output (i32.const 65000) (i32.const 1000)))
    (func (export "abort") (call $abort (i32.const 80) (i32.const 18)))
    (func (export "abort_oob") (call $abort (i32.const 80) (i32.const 100000)))
)"#;

/// Every capability the probe needs.
const ALL: [&str; 12] = crate::support::ALLOW_ALL;

fn probe(dir: &Path) -> std::path::PathBuf {
    wasm_file(dir, "probe.wasm", PROBE_WAT)
}

fn invoke(dir: &Path, wasm: &Path, function: &str) -> snapbox::cmd::OutputAssert {
    cargo_spirit(dir)
        .arg("run")
        .arg(wasm)
        .args(ALL)
        .args(["-q", "--invoke", function])
        .assert()
}

#[test]
fn time_is_the_wall_clock_in_nanoseconds() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let out = invoke(tmp.path(), &wasm, "time")
        .success()
        .get_output()
        .clone();
    let now: i64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        now >= before && now < before + 60_000_000_000,
        "{now} vs {before}"
    );
}

#[test]
fn random_bytes_fill_the_buffer_and_refuse_a_range_outside_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    let first = invoke(tmp.path(), &wasm, "random")
        .success()
        .get_output()
        .clone();
    let second = invoke(tmp.path(), &wasm, "random")
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(first.stdout).unwrap();
    assert!(text.starts_with("0\n"), "{text}");
    assert_ne!(text, String::from_utf8(second.stdout).unwrap());
    invoke(tmp.path(), &wasm, "random_oob")
        .success()
        .stdout_eq(str![[r#"
-1

"#]]);
}

#[test]
fn log_prints_each_level_and_refuses_bad_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(ALL)
        .args(["--invoke", "log_all_levels"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
0
0
0
0
0

"#]])
        .stderr_eq(str![[r#"
     Running spirit `probe`
[TRACE probe] hello
[DEBUG probe] hello
[INFO probe] hello
[WARN probe] hello
[ERROR probe] hello

"#]]);
    for function in ["log_bad_level", "log_bad_utf8", "log_oob"] {
        invoke(tmp.path(), &wasm, function)
            .success()
            .stdout_eq(str![[r#"
-1

"#]])
            .stderr_eq(str![""]);
    }
}

#[test]
fn log_volume_is_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    let out = cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(ALL)
        .args(["--invoke", "log_flood"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
5

"#]])
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l == &"[INFO probe] hello")
            .count(),
        1000
    );
    assert!(
        stderr.contains(
            "[WARN probe] log limit of 1000 messages reached; further messages are dropped"
        )
    );
}

#[test]
fn storage_follows_the_vudo_return_conventions() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    // missing 0, write 0, read 5, too small -1, deleted 1, missing 0, gone 0
    invoke(tmp.path(), &wasm, "storage")
        .success()
        .stdout_eq(str![[r#"
0
0
5
-1
1
0
0

"#]]);
}

#[test]
fn storage_errors_return_minus_one_and_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(ALL)
        .args(["--invoke", "storage_errors"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
-1
-1
-1
-1
-1
0

"#]])
        .stderr_eq(str![[r#"
     Running spirit `probe`
warning: a storage call returned -1: a storage key must be 1 to 1024 bytes long, not 0
warning: a storage call returned -1: a storage key must be 1 to 1024 bytes long, not 2000

"#]]);
}

#[test]
fn storage_persists_across_runs_under_vudo_home() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    invoke(tmp.path(), &wasm, "storage_read_back")
        .success()
        .stdout_eq(str![[r#"
0
0

"#]]);
    invoke(tmp.path(), &wasm, "storage_write")
        .success()
        .stdout_eq(str![[r#"
0

"#]]);
    // "value" little-endian, read by a later process.
    invoke(tmp.path(), &wasm, "storage_read_back")
        .success()
        .stdout_eq(str![[r#"
5
435761734006

"#]]);
    assert!(
        tmp.path()
            .join(".vudo/storage/unsigned/probe.redb")
            .is_file()
    );
}

/// A counter: `bump_n N` adds one N times, each a read and a write.
const COUNTER_WAT: &str = r#"(module
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "count")
    (func $bump (result i32)
        (local $n i32)
        (if (i32.eq (call $read (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)) (i32.const 4))
            (then (local.set $n (i32.load (i32.const 16)))))
        (i32.store (i32.const 16) (i32.add (local.get $n) (i32.const 1)))
        (if (i32.ne (call $write (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)) (i32.const 0))
            (then unreachable))
        (i32.load (i32.const 16)))
    (func (export "bump_n") (param $times i32) (result i32)
        (local $last i32)
        (loop $again
            (local.set $last (call $bump))
            (local.set $times (i32.sub (local.get $times) (i32.const 1)))
            (br_if $again (i32.gt_s (local.get $times) (i32.const 0))))
        (local.get $last))
)"#;

#[test]
fn two_concurrent_writers_take_turns_and_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "counter.wasm", COUNTER_WAT);
    let spawn = || {
        std::process::Command::new(crate::support::bin())
            .current_dir(tmp.path())
            .env("VUDO_HOME", tmp.path().join(".vudo"))
            .arg("run")
            .arg(&wasm)
            .args(["--allow", "storage_read", "--allow", "storage_write", "-q"])
            .args(["--invoke", "bump_n", "40"])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut last: Vec<String> = [&a, &b]
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .collect();
    last.sort();
    // One ran after the other: it ended at 80, the first at 40.
    assert_eq!(last, ["40", "80"]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--allow", "storage_read", "--allow", "storage_write", "-q"])
        .args(["--invoke", "bump_n", "1"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
81

"#]]);
}

#[test]
fn a_run_that_cannot_get_the_storage_in_time_gets_minus_one() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "counter.wasm", COUNTER_WAT);
    let storage = tmp.path().join(".vudo/storage/unsigned");
    std::fs::create_dir_all(&storage).unwrap();
    // Another process holds the database for the whole of this run.
    let holder = std::process::Command::new(crate::support::bin())
        .env("VUDO_HOME", tmp.path().join(".vudo"))
        .arg("run")
        .arg(&wasm)
        .args(["--allow", "storage_read", "--allow", "storage_write", "-q"])
        .args(["--invoke", "bump_n", "100000000", "--timeout", "3s"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has opened the database (the file exists and is locked).
    let db = storage.join("counter.redb");
    for _ in 0..200 {
        if db.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--allow", "storage_read", "--allow", "storage_write"])
        .args(["--invoke", "bump_n", "1", "--timeout", "300ms"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
     Running spirit `counter`
warning: `host_storage_read` returned -1: the storage of spirit `counter` (`[..]counter.redb`) is in use by another run; gave up after [..]
warning: `host_storage_write` returned -1: the storage of spirit `counter` (`[..]counter.redb`) is in use by another run; gave up after [..]
error: spirit `counter` failed: trap: unreachable in function bump

"#]]);
    let mut holder = holder;
    let _ = holder.wait();
}

#[test]
fn input_and_output_pass_bytes_through() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    std::fs::write(tmp.path().join("in.txt"), "abcdef").unwrap();
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(ALL)
        .args(["-q", "--input", "in.txt", "--invoke", "input"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
6
3
3
0

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(ALL)
        .args(["-q", "--input", "-", "--invoke", "echo"])
        .stdin("piped bytes")
        .assert()
        .success()
        .stdout_eq(str![[r#"
piped bytes0

"#]]);
    for function in ["input_oob", "output_oob"] {
        invoke(tmp.path(), &wasm, function)
            .success()
            .stdout_eq(str![[r#"
-1

"#]]);
    }
}

#[test]
fn abort_ends_the_run_with_the_guests_message() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = probe(tmp.path());
    invoke(tmp.path(), &wasm, "abort")
        .failure()
        .stderr_eq(str![[r#"
error: spirit `probe` failed: the spirit gave up

"#]]);
    invoke(tmp.path(), &wasm, "abort_oob")
        .failure()
        .stderr_eq(str![[r#"
error: spirit `probe` failed: the spirit aborted (its message was outside its memory)

"#]]);
}

/// Every capability-gated host function, imported alone with nothing
/// granted, is refused before the run with the flag that grants it; with
/// the flag and a `--deny` of it, refused again.
#[test]
fn each_capability_is_refused_unless_granted() {
    let tmp = tempfile::tempdir().unwrap();
    for f in HOST_FUNCTIONS {
        let Some(cap) = f.capability else { continue };
        let types = |types: &[ValType]| {
            types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let wat = format!(
            r#"(module (import "vudo" "{}" (func (param {}) (result {})))
                (memory (export "memory") 1) (func (export "run")))"#,
            f.name,
            types(f.params),
            types(f.results)
        );
        let wasm = wasm_file(tmp.path(), &format!("{}.wasm", f.name), &wat);
        let expected = format!(
            "error: spirit `{name}` failed: refused before running (1 problem)\n\n\
             imports `vudo.{name}`, which needs the capability `{cap}`, but it is not granted\n\
             help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow {cap}`\n",
            name = f.name
        );
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .arg("-q")
            .assert()
            .failure()
            .stderr_eq(expected.clone());
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["-q", "--allow", cap.as_str(), "--deny", cap.as_str()])
            .assert()
            .failure()
            .stderr_eq(format!(
                "error: spirit `{name}` failed: refused before running (1 problem)\n\n\
                 imports `vudo.{name}`, which needs the capability `{cap}`, but it was denied with `--deny {cap}`\n\
                 help: run it without `--deny {cap}` to grant it\n",
                name = f.name
            ));
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["-q", "--allow", cap.as_str()])
            .assert()
            .success();
    }
}

#[test]
fn a_looping_start_function_is_bounded_by_fuel_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "start.wasm",
        r#"(module (memory (export "memory") 1)
            (func $spin (loop (br 0))) (start $spin)
            (func (export "run")))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--fuel", "50000"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `start` failed: out of fuel after 50000 units
help: raise the limit with `--fuel UNITS`

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--fuel", "18446744073709551615", "--timeout", "100ms"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `start` failed: timed out after 100ms
help: raise the limit with `--timeout DURATION`

"#]]);
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "deep.wasm",
        r#"(module (memory (export "memory") 1)
            (func $down (param i32) (result i32)
                (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
            (func (export "run") (drop (call $down (i32.const 0)))))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `deep` failed: stack overflow

"#]]);
}

#[test]
fn a_table_past_the_limit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "wide.wasm",
        r#"(module (memory (export "memory") 1) (table 20000 funcref) (func (export "run")))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `wide` failed: table limit of 10000 elements reached

"#]]);
}

#[test]
fn a_memory_larger_than_the_limit_at_start_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "big.wasm",
        r#"(module (memory (export "memory") 100) (func (export "run")))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--max-memory", "1MiB"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `big` failed: memory limit of 1 MiB reached
help: raise the limit with `--max-memory SIZE`

"#]]);
}

#[test]
fn a_trap_names_the_function() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "boom.wasm",
        r#"(module (memory (export "memory") 1)
            (func $explode unreachable)
            (func (export "run") (call $explode)))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `boom` failed: trap: unreachable in function explode

"#]]);
}

const MATH_WAT: &str = r#"(module (memory (export "memory") 1)
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "wide") (param i64 f32 f64) (result i64 f32 f64)
        (local.get 0) (local.get 1) (local.get 2))
    (func (export "nothing")))"#;

#[test]
fn invoke_prints_each_result_on_its_own_line() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "math.wasm", MATH_WAT);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--invoke", "add", "2", "-5"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
-3

"#]])
        .stderr_eq(str![[r#"
     Running spirit `math`

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--invoke", "wide", "0x10", "1.5", "-0.25"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
16
1.5
-0.25

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--invoke", "nothing"])
        .assert()
        .success()
        .stdout_eq(str![""]);
}

#[test]
fn invoke_explains_wrong_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "math.wasm", MATH_WAT);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--invoke", "add", "1"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `math` failed: `add` takes 2 arguments (i32, i32) but 1 was given

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--invoke", "add", "1", "two"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: argument 2 of `add`: `two` is not a number: give an integer (decimal, or hexadecimal after `0x`) or a decimal fraction such as 1.5

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--invoke", "add", "1", "1.5"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `math` failed: argument 2 of `add`: `1.5` is not a valid i32

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--invoke", "sub"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `math` failed: the spirit does not export a function `sub`
help: it exports `add`, `wide`, `nothing`

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "1", "2"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: unexpected argument `1`: arguments are passed to the function named by `--invoke`
help: call a function with `cargo spirit run [TARGET] --invoke FUNC 1 2`

"#]]);
}

/// Time, randomness and input to output.
const NOISY_WAT: &str = r#"(module
    (import "vudo" "host_time_now" (func $time (result i64)))
    (import "vudo" "host_random_bytes" (func $random (param i32 i32) (result i32)))
    (import "vudo" "host_input_read" (func $input_read (param i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run")
        (local $n i32)
        (i64.store (i32.const 0) (call $time))
        (i64.store (i32.const 8) (call $time))
        (drop (call $random (i32.const 16) (i32.const 32)))
        (local.set $n (call $input_read (i32.const 48) (i32.const 64) (i32.const 0)))
        (drop (call $output (i32.const 0) (i32.add (i32.const 48) (local.get $n))))))"#;

#[test]
fn deterministic_runs_give_byte_identical_output() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "noisy.wasm", NOISY_WAT);
    let run = |extra: &[&str]| {
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["-q", "--allow", "sensor_time", "--allow", "sensor_random"])
            .args(["--input", "-"])
            .args(extra)
            .stdin("same input")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let a = run(&["--deterministic"]);
    let b = run(&["--deterministic"]);
    assert_eq!(a, b);
    assert_eq!(a.len(), 48 + 10);
    // The seeded clock starts at 2024-01-01T00:00:00Z and moves 1 ms a
    // call, in nanoseconds (the unit of `host_time_now`).
    assert_eq!(
        i64::from_le_bytes(a[0..8].try_into().unwrap()),
        1_704_067_200_000_000_000
    );
    assert_eq!(
        i64::from_le_bytes(a[8..16].try_into().unwrap()),
        1_704_067_200_001_000_000
    );
    assert_eq!(&a[48..], b"same input");
    let seeded = run(&["--deterministic", "--seed", "7"]);
    assert_eq!(seeded, run(&["--deterministic", "--seed", "7"]));
    assert_ne!(a[16..48], seeded[16..48]);
    assert_ne!(run(&[]), run(&[]));
}

#[test]
fn the_second_run_uses_the_cached_code() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "math.wasm", MATH_WAT);
    let run = || {
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["-v", "--invoke", "add", "1", "2"])
            .assert()
            .success()
    };
    run().stderr_eq(str![[r#"
    Compiled spirit `math` in [..]
     Running spirit `math`
    Finished in [..]: 4 units of fuel, peak memory 64 KiB

"#]]);
    run().stderr_eq(str![[r#"
      Cached spirit `math` (compiled code from `[..]`)
     Running spirit `math`
    Finished in [..]: 4 units of fuel, peak memory 64 KiB

"#]]);
    // One entry (beside the cache's key).
    let entries = std::fs::read_dir(tmp.path().join(".vudo/cache"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("cwasm".as_ref()))
        .count();
    assert_eq!(entries, 1);
}

#[test]
fn imports_the_host_does_not_provide_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "foreign.wasm",
        r#"(module
            (import "env" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (import "vudo" "host_log" (func (param i32) (result i32)))
            (memory (export "memory") 1) (func (export "run")))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--allow", "actuator_log"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `foreign` cannot be linked (2 problems)

imports `env.fd_write`, which is not a host function: spirits may import only from the `vudo` module
help: an `env` import is usually a function declared in an `extern` block that nothing defines, or a C dependency; spirits cannot link against the host's libraries

imports `vudo.host_log` with the signature (i32) -> i32, but the host defines (i32, i32, i32) -> i32
help: call the host through spirit-sdk, whose declarations come from the host's own definition

"#]]);
}

#[test]
fn storage_survives_a_killed_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "counter.wasm", COUNTER_WAT);
    let bump = |times: &str| {
        let out = cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["--allow", "storage_read", "--allow", "storage_write", "-q"])
            .args(["--invoke", "bump_n", times])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap().trim().to_owned()
    };
    assert_eq!(bump("5"), "5");
    let mut writer = std::process::Command::new(crate::support::bin())
        .env("VUDO_HOME", tmp.path().join(".vudo"))
        .arg("run")
        .arg(&wasm)
        .args(["--allow", "storage_read", "--allow", "storage_write", "-q"])
        .args(["--invoke", "bump_n", "100000000", "--timeout", "20s"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it write for a while, then kill it (SIGKILL) in the middle of
    // whatever it was doing.
    std::thread::sleep(std::time::Duration::from_millis(700));
    writer.kill().unwrap();
    writer.wait().unwrap();
    // The database opens, and holds what the last finished run committed:
    // a run's writes are one transaction, and the killed run never
    // committed.
    assert_eq!(bump("1"), "6");
}

#[test]
fn an_unwritable_cache_is_a_warning_not_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "math.wasm", MATH_WAT);
    let not_a_dir = tmp.path().join("home-is-a-file");
    std::fs::write(&not_a_dir, "").unwrap();
    cargo_spirit(tmp.path())
        .env("VUDO_HOME", &not_a_dir)
        .arg("run")
        .arg(&wasm)
        .args(["--invoke", "add", "1", "2"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
3

"#]])
        .stderr_eq(str![[r#"
warning: could not cache the compiled code of spirit `math`: failed to create directory `[..]/home-is-a-file/cache`: Not a directory (os error 20)
help: make `VUDO_HOME` (default ~/.vudo) writable, or point it at a writable directory
     Running spirit `math`

"#]]);
}
