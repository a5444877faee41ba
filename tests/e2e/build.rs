use snapbox::str;
use spirit_build::manifest::Manifest;

use crate::support::{artifact_dir, cargo_spirit, new_spirit};

#[test]
fn build_validates_strips_and_writes_a_manifest() {
    let (_tmp, dir) = new_spirit("build-hello", "hello");
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
    Stripped build-hello.wasm [..] → [..] B (-[..]%)
       Built spirit `build-hello` v0.1.0 in [..]/spirit/debug/build-hello

"#]]);
    let out = artifact_dir("debug", "build-hello");
    let wasm = std::fs::read(out.join("build-hello.wasm")).unwrap();
    let manifest =
        Manifest::from_toml(&std::fs::read_to_string(out.join("manifest.toml")).unwrap()).unwrap();

    // The manifest describes exactly these bytes.
    assert_eq!(manifest.name, "build-hello");
    assert_eq!(manifest.version.to_string(), "0.1.0");
    assert_eq!(manifest.entry, "run");
    assert_eq!(manifest.wasm.file, "build-hello.wasm");
    assert_eq!(manifest.wasm.size, wasm.len() as u64);
    assert_eq!(
        manifest.wasm.blake3,
        blake3::hash(&wasm).to_hex().to_string()
    );
    assert_eq!(manifest.build.target, "wasm32-unknown-unknown");
    assert_eq!(manifest.build.profile, "dev");

    // The stripped module is valid, imports only the host ABI, exports
    // memory and run, and has no custom section left.
    wasmparser::Validator::new().validate_all(&wasm).unwrap();
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        match payload.unwrap() {
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    imports.push(format!("{}.{}", import.module, import.name));
                }
            }
            wasmparser::Payload::ExportSection(reader) => {
                for export in reader {
                    exports.push(export.unwrap().name.to_owned());
                }
            }
            wasmparser::Payload::CustomSection(section) => {
                panic!("custom section `{}` survived stripping", section.name())
            }
            _ => {}
        }
    }
    assert_eq!(imports, ["vudo.host_log"]);
    exports.sort();
    assert_eq!(exports, ["memory", "run"]);
}

#[test]
fn undeclared_capability_fails_the_build_with_the_line_to_add() {
    let (_tmp, dir) = new_spirit("undeclared", "hello");
    let cargo_toml = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo_toml).unwrap();
    std::fs::write(
        &cargo_toml,
        text.replace("capabilities = [\"actuator_log\"]", "capabilities = []"),
    )
    .unwrap();
    cargo_spirit(&dir).arg("build").assert().failure().stderr_eq(str![[r#"
...
error: spirit `undeclared` failed validation (1 problem)

imports `vudo.host_log`, which needs the capability `actuator_log`, but the spirit does not declare it
help: declare it in Cargo.toml, under [package.metadata.spirit]:
    capabilities = ["actuator_log"]

"#]]);
}

#[test]
fn a_bad_metadata_key_names_the_file_and_line() {
    let (_tmp, dir) = new_spirit("badkey", "hello");
    let cargo_toml = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo_toml).unwrap();
    std::fs::write(
        &cargo_toml,
        text.replace("capabilities = ", "capabilites = "),
    )
    .unwrap();
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `package.metadata.spirit.capabilites` in [..]/badkey/Cargo.toml:19: unknown key
help: did you mean `capabilities`? accepted: `capabilities`, `dependencies`, `entry`, `max-size`, `memory`, `network`, `pricing`, `run`

"#]]);
}

#[test]
fn a_compile_error_is_cargos_and_exits_with_its_status() {
    let (_tmp, dir) = new_spirit("broken", "hello");
    std::fs::write(
        dir.join("src/lib.rs"),
        "#![no_std]\nfn oops() -> u32 { \"no\" }\n",
    )
    .unwrap();
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .code(101)
        .stderr_eq(str![[r#"
...
error[E0308]: mismatched types
...
error: could not compile `broken` [..]
...
"#]]);
}

/// Replaces `from` with `to` in the file, which must contain it.
pub(crate) fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "`{from}` not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_capability_nothing_uses_is_a_warning() {
    let (_tmp, dir) = new_spirit("unused-cap", "hello");
    edit(
        &dir.join("Cargo.toml"),
        "capabilities = [\"actuator_log\"]",
        "capabilities = [\"actuator_log\", \"sensor_time\"]",
    );
    cargo_spirit(&dir).arg("build").assert().success().stderr_eq(str![[r#"
...
warning: spirit `unused-cap`: capability `sensor_time` is declared but no import uses it
help: remove it from [package.metadata.spirit] capabilities: a spirit should ask only for what it uses
    Stripped unused-cap.wasm [..]
       Built spirit `unused-cap` v0.1.0 in [..]

"#]]);
}

#[test]
fn an_oversized_spirit_and_a_missing_entry_are_both_reported() {
    let (_tmp, dir) = new_spirit("oversize", "hello");
    edit(
        &dir.join("Cargo.toml"),
        "capabilities = [\"actuator_log\"]",
        "capabilities = [\"actuator_log\"]\nmax-size = 64\nentry = \"start\"",
    );
    cargo_spirit(&dir).arg("build").assert().failure().stderr_eq(str![[r#"
...
error: spirit `oversize` failed validation (2 problems)

the module does not export the entry function `start`
help: put `#[spirit_sdk::main]` on the spirit's entry function with `export = "start"`

the stripped module is [..] B ([..] bytes), over its `max-size` of 64 B (64 bytes) by [..] bytes
help: build with `--release` (the template's release profile optimises for size), drop heavy dependencies (`cargo spirit inspect` shows the largest functions), or raise `max-size` under [package.metadata.spirit]

"#]]);
    // Nothing was written for it.
    assert!(!artifact_dir("debug", "oversize").exists());
}

#[test]
fn memory_pages_are_checked_against_the_limits() {
    let (_tmp, dir) = new_spirit("bigmem", "hello");
    edit(
        &dir.join("Cargo.toml"),
        "capabilities = [\"actuator_log\"]",
        "capabilities = [\"actuator_log\"]\nmemory = { initial = 16, maximum = 64 }",
    );
    // rustc gives a cdylib 1 MiB of stack, so its memory starts at 17 pages.
    cargo_spirit(&dir).arg("build").assert().failure().stderr_eq(str![[r#"
...
error: spirit `bigmem` failed validation (1 problem)

the module's memory starts at 17 pages (1.1 MiB), but `memory.initial` allows 16 pages (1 MiB)
help: raise it under [package.metadata.spirit]: `memory = { initial = 17, maximum = 64 }`, or shrink the stack (rustc gives 1 MiB; `-C link-arg=-zstack-size=65536` in RUSTFLAGS gives 64 KiB)

"#]]);
}

#[test]
fn an_imported_memory_is_refused() {
    let (_tmp, dir) = new_spirit("memimport", "hello");
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(
        dir.join(".cargo/config.toml"),
        "[target.wasm32-unknown-unknown]\nrustflags = [\"-C\", \"link-arg=--import-memory\"]\n",
    )
    .unwrap();
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
...
error: spirit `memimport` failed validation (2 problems)

imports memory `env.memory`: spirits may import only host functions
help: a spirit defines and exports its own memory; tables and globals stay inside the module

the module does not export its memory as `memory`
help: rustc exports it for cdylib crates; check that the crate is a `cdylib`

"#]]);
}

#[test]
fn a_wasm_bindgen_module_is_refused_with_its_own_message() {
    let (_tmp, dir) = new_spirit("bindgen", "hello");
    // What `#[wasm_bindgen]` expands to: imports from wasm-bindgen's
    // placeholder module, which only its JavaScript glue fills in.
    std::fs::write(
        dir.join("src/lib.rs"),
        r#"#![no_std]
#[link(wasm_import_module = "__wbindgen_placeholder__")]
unsafe extern "C" {
    fn __wbindgen_describe(v: u32);
}

#[spirit_sdk::main]
fn run() {
    unsafe { __wbindgen_describe(1) };
    spirit_sdk::log::info("hi");
}
"#,
    )
    .unwrap();
    cargo_spirit(&dir).arg("build").assert().failure().stderr_eq(str![[r#"
...
error: spirit `bindgen` failed validation (1 problem)

the module was built with wasm-bindgen (it imports from `__wbindgen_placeholder__`)
help: wasm-bindgen targets JavaScript hosts; a spirit runs in cargo-spirit's sandbox and calls its host through spirit-sdk: remove the wasm-bindgen dependency (and crates that enable it, such as getrandom's `js` feature) and use `spirit_sdk` instead

"#]]);
}

#[test]
fn a_rebuild_with_nothing_changed_is_fresh() {
    let (_tmp, dir) = new_spirit("fresh", "hello");
    cargo_spirit(&dir).arg("build").assert().success();
    let manifest = artifact_dir("debug", "fresh").join("manifest.toml");
    let written = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
    Finished `dev` profile [..]
       Fresh spirit `fresh` v0.1.0

"#]]);
    assert_eq!(
        std::fs::metadata(&manifest).unwrap().modified().unwrap(),
        written
    );

    // A module changed behind the build's back is written again.
    let wasm = artifact_dir("debug", "fresh").join("fresh.wasm");
    let good = std::fs::read(&wasm).unwrap();
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    std::fs::write(&wasm, bad).unwrap();
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Built spirit `fresh` v0.1.0 in [..]

"#]]);
    assert_eq!(std::fs::read(&wasm).unwrap(), good);

    // A change to the configuration alone post-processes again.
    edit(
        &dir.join("Cargo.toml"),
        "capabilities = [\"actuator_log\"]",
        "capabilities = [\"actuator_log\"]\nrun = { fuel = 5000 }",
    );
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
    Stripped fresh.wasm [..]
       Built spirit `fresh` v0.1.0 in [..]

"#]]);
    assert_eq!(Manifest::read(&manifest).unwrap().run.fuel, 5000);

    // A comment changes the stamp but not the inputs: fresh, and the stamp
    // is brought up to date so that the next build is quick again.
    let cargo_toml = dir.join("Cargo.toml");
    let fingerprint = artifact_dir("debug", "fresh").join(".fingerprint.json");
    edit(&cargo_toml, "[lib]", "# A comment.\n[lib]");
    cargo_spirit(&dir)
        .env("CARGO", env!("CARGO"))
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Fresh spirit `fresh` v0.1.0

"#]]);
    let stamped: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fingerprint).unwrap()).unwrap();
    assert_eq!(
        stamped["stamp"]["files"][0][1],
        blake3::hash(&std::fs::read(&cargo_toml).unwrap())
            .to_hex()
            .as_str()
    );

    // What only Cargo.toml says (the description) is never missed.
    edit(
        &cargo_toml,
        "description = \"A spirit that logs a greeting\"",
        "description = \"Greets\"",
    );
    cargo_spirit(&dir)
        .env("CARGO", env!("CARGO"))
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Built spirit `fresh` v0.1.0 in [..]

"#]]);
    assert_eq!(
        Manifest::read(&manifest).unwrap().description.as_deref(),
        Some("Greets")
    );
}

#[test]
fn locked_is_passed_to_cargo() {
    let (_tmp, dir) = new_spirit("locked", "hello");
    // A new crate has no Cargo.lock yet: `--locked` forbids writing one.
    cargo_spirit(&dir)
        .args(["build", "--locked"])
        .assert()
        .code(101)
        .stderr_eq(str![[r#"
...
error: [..]the lock file [..]/locked/Cargo.lock [..] --locked was passed to prevent this
...
"#]]);
    assert!(!dir.join("Cargo.lock").exists());
    cargo_spirit(&dir).arg("build").assert().success();
    cargo_spirit(&dir)
        .args(["build", "--locked", "-q"])
        .assert()
        .success()
        .stderr_eq(str![""]);
}

#[test]
fn json_messages_describe_each_artifact() {
    let (_tmp, dir) = new_spirit("json-out", "hello");
    edit(
        &dir.join("Cargo.toml"),
        "capabilities = [\"actuator_log\"]",
        "capabilities = [\"actuator_log\"]\npricing = { base_cost = 100, per_fuel_cost = 1 }",
    );
    let output = cargo_spirit(&dir)
        .args(["build", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Cargo's own messages come through, then ours.
    assert!(lines.iter().any(|m| m["reason"] == "compiler-artifact"));
    assert_eq!(lines[lines.len() - 2]["reason"], "build-finished");
    let spirit = &lines[lines.len() - 1];
    assert_eq!(spirit["reason"], "spirit-artifact");
    assert_eq!(spirit["name"], "json-out");
    assert_eq!(spirit["version"], "0.1.0");
    assert_eq!(spirit["capabilities"], serde_json::json!(["actuator_log"]));
    assert_eq!(spirit["fresh"], false);
    assert_eq!(spirit["warnings"], serde_json::json!([]));
    let wasm = std::fs::read(spirit["wasm"].as_str().unwrap()).unwrap();
    assert_eq!(spirit["size_after"], wasm.len());
    assert!(spirit["size_before"].as_u64().unwrap() > wasm.len() as u64);
    assert_eq!(spirit["blake3"], blake3::hash(&wasm).to_hex().as_str());
    let manifest = Manifest::read(spirit["manifest"].as_str().unwrap().as_ref()).unwrap();
    assert_eq!(manifest.pricing.unwrap().base_cost, 100);
    assert!(manifest.build.cargo_lock.is_some());
}

#[test]
fn features_are_passed_to_cargo() {
    let (_tmp, dir) = new_spirit("featured", "hello");
    edit(
        &dir.join("Cargo.toml"),
        "[dependencies]",
        "[features]\nclock = []\n\n[dependencies]",
    );
    std::fs::write(
        dir.join("src/lib.rs"),
        r#"#![no_std]
#[cfg(feature = "clock")]
#[link(wasm_import_module = "vudo")]
unsafe extern "C" {
    fn host_time_now() -> i64;
}

#[spirit_sdk::main]
fn run() {
    #[cfg(feature = "clock")]
    let _ = unsafe { host_time_now() };
    spirit_sdk::log::info("hi");
}
"#,
    )
    .unwrap();
    cargo_spirit(&dir).args(["build", "-q"]).assert().success();
    cargo_spirit(&dir)
        .args(["build", "--features", "clock"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
...
imports `vudo.host_time_now`, which needs the capability `sensor_time`, but the spirit does not declare it
...
"#]]);
    cargo_spirit(&dir)
        .args(["build", "--all-features", "--no-default-features"])
        .assert()
        .failure();
}
