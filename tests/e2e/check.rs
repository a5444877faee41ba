//! `cargo spirit check` and `cargo spirit inspect`.

use snapbox::str;

use crate::build::edit;
use crate::support::{artifact_dir, cargo_spirit, new_spirit, shared_target, wasm_file};

#[test]
fn check_validates_a_crate_without_writing_anything() {
    let (_tmp, dir) = new_spirit("check-crate", "hello");
    cargo_spirit(&dir)
        .arg("check")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
     Checked spirit `check-crate` v0.1.0: 1 import (actuator_log), [..] B stripped (max-size 1 MiB)

"#]]);
    assert!(!artifact_dir("debug", "check-crate").exists());

    edit(
        &dir.join("Cargo.toml"),
        "capabilities = [\"actuator_log\"]",
        "capabilities = []",
    );
    cargo_spirit(&dir).arg("check").assert().failure().stderr_eq(str![[r#"
...
error: spirit `check-crate` failed validation (1 problem)

imports `vudo.host_log`, which needs the capability `actuator_log`, but the spirit does not declare it
help: declare it in Cargo.toml, under [package.metadata.spirit]:
    capabilities = ["actuator_log"]

"#]]);
}

const TIME_WAT: &str = r#"(module
    (import "vudo" "host_time_now" (func $now (result i64)))
    (memory (export "memory") 1)
    (func (export "run") (result i32) (drop (call $now)) (i32.const 0)))"#;

#[test]
fn check_takes_any_module_with_allow() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "clock.wasm", TIME_WAT);
    cargo_spirit(tmp.path())
        .arg("check")
        .arg(&wasm)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `[..]/clock.wasm` failed validation (1 problem)

imports `vudo.host_time_now`, which needs the capability `sensor_time`, but the spirit does not declare it
help: grant it: `cargo spirit check [..]/clock.wasm --allow sensor_time`

"#]]);
    cargo_spirit(tmp.path())
        .arg("check")
        .arg(&wasm)
        .args(["--allow", "sensor_time"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Checked [..]/clock.wasm: 1 import (sensor_time), [..] B stripped (max-size 1 MiB)

"#]]);
}

#[test]
fn check_reads_the_manifest_beside_a_built_module() {
    let (_tmp, dir) = new_spirit("check-built", "hello");
    cargo_spirit(&dir).arg("build").assert().success();
    let out = artifact_dir("debug", "check-built");
    let wasm = out.join("check-built.wasm");
    cargo_spirit(&dir)
        .arg("check")
        .arg(&wasm)
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Checked [..]/check-built.wasm: 1 import (actuator_log), [..] B stripped (max-size 1 MiB)

"#]]);

    // Bytes the manifest does not describe are caught.
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.extend_from_slice(b"\0\x05\x04junk");
    std::fs::write(&wasm, bytes).unwrap();
    cargo_spirit(&dir)
        .arg("check")
        .arg(&wasm)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `[..]/check-built.wasm` failed validation (1 problem)

the file's blake3 is [..], but [..]/manifest.toml says [..]
help: the module changed after it was built; rebuild it with `cargo spirit build`

"#]]);
}

#[test]
fn inspect_shows_imports_sections_and_the_largest_functions() {
    let (_tmp, dir) = new_spirit("inspect-me", "hello");
    cargo_spirit(&dir)
        .args(["build", "--keep-debug"])
        .assert()
        .success();
    let wasm = artifact_dir("debug", "inspect-me").join("inspect-me.wasm");
    cargo_spirit(&dir)
        .arg("inspect")
        .arg(&wasm)
        .assert()
        .success()
        .stdout_eq(str![[r#"
[..]/inspect-me.wasm
size    [..] ([..] bytes)
blake3  [..]
memory  17 pages initial, no maximum

imports (1)
  vudo.host_log  needs `actuator_log`

exports (2)
  memory  memory
  run     function

sections
  type   [..]
  import [..]
  function[..]
...
  memory [..]
  global [..]
  export [..]
...
  code   [..]
  data   [..]
  custom "name"[..]

largest functions ([..] of [..])
[..] B [..]%  ██████████████████████████████  spirit_sdk::[..]
...
"#]]);
    let cargo_wasm = shared_target().join("wasm32-unknown-unknown/debug/inspect_me.wasm");
    cargo_spirit(&dir)
        .arg("inspect")
        .arg(&cargo_wasm)
        .assert()
        .success();
    cargo_spirit(&dir)
        .arg("inspect")
        .arg(dir.join("Cargo.toml"))
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: not a WebAssembly module: it starts with `[pac` (expected the WebAssembly magic bytes `[..]0asm`)
help: inspect a `.wasm` file, such as one `cargo spirit build` wrote

"#]]);
}

#[test]
fn check_prints_json_for_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "clock-json.wasm", TIME_WAT);
    let output = cargo_spirit(tmp.path())
        .arg("check")
        .arg(&wasm)
        .args(["--allow", "sensor_time", "--allow", "actuator_log"])
        .args(["--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let message: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(message["reason"], "spirit-check");
    assert_eq!(message["name"], "clock-json.wasm");
    assert_eq!(
        message["capabilities"],
        serde_json::json!(["sensor_time", "actuator_log"])
    );
    assert_eq!(
        message["used_capabilities"],
        serde_json::json!(["sensor_time"])
    );
    assert_eq!(message["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn every_data_command_speaks_json() {
    let (tmp, dir) = new_spirit("json-all", "hello");
    let home = tmp.path().join("home");
    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = cargo_spirit(&dir)
            .env("VUDO_HOME", &home)
            .args(args)
            .args(["--message-format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("`{l}` is not JSON: {e}")))
            .collect()
    };
    let reason = |v: &[serde_json::Value]| v.last().unwrap()["reason"].as_str().unwrap().to_owned();
    assert_eq!(reason(&json(&["keygen"])), "key-created");
    assert_eq!(
        reason(&json(&["build", "--release", "--sign"])),
        "spirit-artifact"
    );
    assert_eq!(reason(&json(&["check"])), "spirit-check");
    assert_eq!(reason(&json(&["verify", "--release"])), "spirit-verified");
    let packed = json(&["pack", "--release"]);
    let package = packed[0]["path"].as_str().unwrap().to_owned();
    assert_eq!(reason(&json(&["inspect", &package])), "module-inspected");
    assert_eq!(reason(&json(&["install", &package])), "spirit-installed");
    assert_eq!(json(&["list"])[0][0]["name"], "json-all");
    assert_eq!(json(&["info", "json-all"])[0]["name"], "json-all");
    assert_eq!(json(&["search", "json"])[0][0]["name"], "json-all");
    assert_eq!(
        reason(&json(&["uninstall", "json-all"])),
        "spirit-uninstalled"
    );
    assert_eq!(
        reason(&json(&["trust", &"ab".repeat(32)])),
        "author-trusted"
    );
    assert_eq!(
        reason(&json(&["untrust", &"ab".repeat(32)])),
        "author-untrusted"
    );
}
