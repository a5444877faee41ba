use snapbox::str;

use crate::support::{cargo_spirit, new_spirit, wasm_file};

#[test]
fn run_builds_and_shows_the_greeting() {
    let (_tmp, dir) = new_spirit("run-hello", "hello");
    cargo_spirit(&dir)
        .arg("run")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Built spirit `run-hello` v0.1.0 in [..]
     Running spirit `run-hello`
[INFO run-hello] Hello from run-hello!

"#]]);
}

#[test]
fn run_takes_a_crate_directory() {
    let (tmp, _dir) = new_spirit("run-dir", "hello");
    cargo_spirit(tmp.path())
        .args(["run", "run-dir", "-q"])
        .assert()
        .success()
        .stderr_eq(str![""]);
}

const LOG_WAT: &str = r#"(module
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "from a bare module")
    (func (export "run") (result i32)
        (drop (call $log (i32.const 2) (i32.const 16) (i32.const 18)))
        (i32.const 0)))"#;

#[test]
fn a_bare_module_gets_only_what_allow_grants() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "bare.wasm", LOG_WAT);
    cargo_spirit(tmp.path()).arg("run").arg(&wasm).assert().failure().stderr_eq(str![[r#"
     Running spirit `bare`
error: spirit `bare` failed: refused before running (1 problem)

imports `vudo.host_log`, which needs the capability `actuator_log`, but it is not granted
help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow actuator_log`

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--allow", "actuator_log"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Running spirit `bare`
[INFO bare] from a bare module

"#]]);
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "spin.wasm",
        r#"(module (memory (export "memory") 1) (func (export "run") (loop (br 0))))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--fuel", "100000", "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `spin` failed: out of fuel after 100000 units
help: raise the limit with `--fuel UNITS`

"#]]);
}

#[test]
fn an_infinite_loop_times_out_when_fuel_is_plenty() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "spin.wasm",
        r#"(module (memory (export "memory") 1) (func (export "run") (loop (br 0))))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--fuel", "18446744073709551615", "--timeout", "200ms", "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `spin` failed: timed out after 200ms
help: raise the limit with `--timeout DURATION`

"#]]);
}

#[test]
fn growing_memory_past_the_limit_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "bomb.wasm",
        r#"(module (memory (export "memory") 1)
            (func (export "run")
                (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
                unreachable))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--max-memory", "4MiB", "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `bomb` failed: memory limit of 4 MiB reached
help: raise the limit with `--max-memory SIZE`

"#]]);
}

#[test]
fn a_nonzero_status_is_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "three.wasm",
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 3))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .assert()
        .code(3)
        .stderr_eq(str![[r#"
error: the spirit returned status 3

"#]]);
}

#[test]
fn deny_withholds_a_declared_capability() {
    let (_tmp, dir) = new_spirit("run-deny", "hello");
    cargo_spirit(&dir)
        .args(["run", "-q", "--deny", "actuator_log"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `run-deny` failed: refused before running (1 problem)

imports `vudo.host_log`, which needs the capability `actuator_log`, but it is not granted
help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow actuator_log`

"#]]);
}

#[test]
fn the_manifests_run_defaults_and_price_apply_unless_overridden() {
    let (_tmp, dir) = new_spirit("priced", "hello");
    let cargo_toml = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&cargo_toml).unwrap();
    text.push_str("\n[package.metadata.spirit.run]\nfuel = 5\n\n[package.metadata.spirit.pricing]\nbase_cost = 100\nper_fuel_cost = 2\n");
    std::fs::write(&cargo_toml, text).unwrap();
    cargo_spirit(&dir)
        .args(["run", "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `priced` failed: out of fuel after 5 units
help: raise the limit with `--fuel UNITS`

"#]]);
    let out = cargo_spirit(&dir)
        .args(["run", "-v", "--fuel", "1000000"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let out = String::from_utf8(out).unwrap();
    let finished = out
        .lines()
        .find(|l| l.trim_start().starts_with("Finished in"))
        .expect(&out);
    let fuel: u64 = finished
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        finished.ends_with(&format!(", cost {} credits", 100 + 2 * fuel / 1000)),
        "{finished}"
    );
}
