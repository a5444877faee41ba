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
help: did you mean `capabilities`? accepted: `capabilities`, `entry`, `max-size`, `memory`, `pricing`, `run`

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
