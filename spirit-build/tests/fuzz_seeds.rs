//! The seed inputs of the fuzz targets (`fuzz/seeds/TARGET/`), kept equal to
//! what the library writes today.
//!
//! A fuzzer mutating random bytes would almost never produce a package whose
//! tar checksums and byte-for-byte re-packing hold, or a manifest with every
//! required key; the seeds start it from real inputs. This test fails when a
//! format change makes a seed stale; `FUZZ_SEEDS=overwrite cargo test -p
//! spirit-build --test fuzz_seeds` rewrites them.

use std::path::{Path, PathBuf};

use spirit_build::manifest::{Manifest, Pricing};
use spirit_build::package::{SpiritFiles, parse_package};
use spirit_build::sign::Key;

/// A fixed key, so the signed seed is the same on every run. Not a secret:
/// it signs nothing but this seed.
const SEED_KEY: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// A module that imports a host function, so validation has imports to
/// check.
const MODULE: &str = r#"(module
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello")
    (func $unused (result i32) i32.const 7)
    (func (export "run") (result i32)
        (drop (call $log (i32.const 2) (i32.const 16) (i32.const 5)))
        i32.const 0))"#;

const CARGO_TOML: &str = r#"[package]
name = "hello"
version = "0.1.0"
edition = "2024"

[package.metadata.spirit]
capabilities = ["actuator_log", "storage_read", "storage_write"]
entry = "run"
max-size = "64KiB"
memory = { initial = 1, maximum = 16 }
run = { fuel = 1000000, max-memory = "4MiB", timeout = "2s" }
pricing = { base_cost = 10, per_fuel_cost = 1 }
"#;

/// `json_path` inputs: a path, a newline, a document.
const JSON_USER: &str = r#"$.user.langs[1]
{"user": {"name": "Ada", "age": 36, "admin": true, "langs": ["en", "fr"], "address": null}}
"#;
const JSON_ESCAPES: &str = r#"$["k\u00e9y"]["a\"b"]
{"k\u00e9y": {"a\"b": "\ud83d\ude00 \/ \\ \n", "a\"b": [{}, [], ""]}, "k\u00e9y": {"a\"b": "last"}}
"#;
const JSON_NUMBERS: &str = r#"$[2][0]
[-0, 1.5e-7, [9223372036854775808, -1E+400], 0.000, 123456789012345678901234567890]
"#;

fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let wasm = wat::parse_str(MODULE).expect("the module parses");
    let manifest = Manifest::for_module("hello", "0.1.0".parse().expect("a version"), &wasm);
    let mut priced = manifest.clone();
    priced.description = Some("Says hello".to_owned());
    priced.authors = vec!["A. Author <a@example.com>".to_owned()];
    priced.pricing = Some(Pricing {
        base_cost: 10,
        per_fuel_cost: 1,
        min_balance: None,
    });
    let key = Key::from_hex(SEED_KEY, "the seed key").expect("a key");
    let unsigned = SpiritFiles::new(manifest.clone(), wasm.clone(), None);
    let signed = SpiritFiles::new(priced.clone(), wasm.clone(), Some(&key));
    vec![
        ("validate", "module.wasm", wasm),
        ("manifest", "manifest.toml", manifest.to_toml().into_bytes()),
        ("manifest", "priced.toml", priced.to_toml().into_bytes()),
        ("manifest", "Cargo.toml", CARGO_TOML.as_bytes().to_vec()),
        ("package", "unsigned.spirit", unsigned.to_package()),
        ("package", "signed.spirit", signed.to_package()),
        ("json_path", "user.txt", JSON_USER.as_bytes().to_vec()),
        ("json_path", "escapes.txt", JSON_ESCAPES.as_bytes().to_vec()),
        ("json_path", "numbers.txt", JSON_NUMBERS.as_bytes().to_vec()),
    ]
}

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

#[test]
fn the_fuzz_seeds_are_what_the_library_writes() {
    let overwrite = std::env::var("FUZZ_SEEDS").is_ok_and(|v| v == "overwrite");
    for (target, name, bytes) in seeds() {
        let path = seeds_dir().join(target).join(name);
        if overwrite {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            spirit_build::fs::write_atomic(&path, &bytes).expect("writes the seed");
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\nhelp: run `FUZZ_SEEDS=overwrite cargo test -p spirit-build --test fuzz_seeds`",
                path.display()
            )
        });
        assert!(
            committed == bytes,
            "{} is stale\nhelp: run `FUZZ_SEEDS=overwrite cargo test -p spirit-build --test fuzz_seeds`",
            path.display()
        );
    }
}

#[test]
fn the_seeds_are_accepted_by_what_they_seed() {
    for (target, name, bytes) in seeds() {
        match target {
            "validate" => assert!(
                spirit_build::validate::validate(
                    &bytes,
                    &spirit_build::validate::Expectations {
                        capabilities: &[spirit_sdk::abi::Capability::ActuatorLog],
                        entry: "run",
                    },
                )
                .is_ok(),
                "{name}"
            ),
            "manifest" if name == "Cargo.toml" => {
                let text = std::str::from_utf8(&bytes).expect("UTF-8");
                let config = spirit_build::project::parse_config(Path::new(name), text)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(config.capabilities.len(), 3);
            }
            "manifest" => {
                let text = std::str::from_utf8(&bytes).expect("UTF-8");
                Manifest::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "package" => {
                parse_package(Path::new(name), &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "json_path" => {
                let text = std::str::from_utf8(&bytes).expect("UTF-8");
                let (path, doc) = text.split_once('\n').expect("a path line");
                let output = spirit_primitives::json::Output::Json;
                spirit_primitives::json::query(doc.as_bytes(), path.as_bytes(), output, &mut [])
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            other => panic!("no target `{other}`"),
        }
    }
}
