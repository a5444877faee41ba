//! Times the build's post-processing of one module: validate (with the
//! limits), strip, hash, and write the stripped module and its manifest,
//! as `cargo spirit build` does after cargo.
//!
//! ```sh
//! cargo run --release -p spirit-build --example postprocess -- FILE.wasm [RUNS]
//! cargo run --release -p spirit-build --example postprocess -- --synthetic MIB [RUNS]
//! cargo run --release -p spirit-build --example postprocess -- --synthetic-dead MIB [RUNS]
//! ```
//!
//! `--synthetic 2` generates a module with about 2 MiB of code (and no
//! debug information), every function reachable, as the linker leaves it:
//! the worst case for validation, which walks every function.
//! `--synthetic-dead 2` makes one function in eight unreachable, so that
//! stripping has functions to remove (and re-encodes the module). `benches/build/run.sh` runs both it and the ~2 MB
//! module cargo builds from `benches/build/json-spirit` (mostly DWARF, which
//! stripping drops); the figures are in BENCHMARKS.md.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use spirit_build::manifest::{BuildInfo, Manifest, ModuleLimits, RunDefaults, WasmInfo};
use spirit_build::validate::{self, Expectations};
use spirit_sdk::abi::Capability;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: postprocess (FILE.wasm | --synthetic MIB | --synthetic-dead MIB) [RUNS]";
    let path = args.next().expect(usage);
    let wasm = match path.as_str() {
        "--synthetic" => synthetic(args.next().expect(usage).parse().unwrap(), false),
        "--synthetic-dead" => synthetic(args.next().expect(usage).parse().unwrap(), true),
        _ => std::fs::read(&path).unwrap(),
    };
    let runs: usize = args.next().map_or(50, |n| n.parse().unwrap());
    let out = tempfile::tempdir().unwrap();
    let capabilities = [Capability::ActuatorLog];
    let limits = ModuleLimits {
        max_size: 16 << 20,
        ..ModuleLimits::default()
    };

    let mut stages: [Vec<Duration>; 5] = Default::default();
    let mut stripped_size = 0;
    let mut last = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let mut report = validate::validate(
            &wasm,
            &Expectations {
                capabilities: &capabilities,
                entry: "run",
            },
        );
        let validated = Instant::now();
        let stripped = spirit_build::strip::strip(&wasm, Default::default()).unwrap();
        validate::check_limits(&mut report, &limits, Some(stripped.len() as u64));
        assert!(report.is_ok(), "{:?}", report.errors);
        let stripped_at = Instant::now();
        let blake3 = blake3::hash(&stripped).to_hex().to_string();
        let hashed = Instant::now();
        let manifest = Manifest {
            name: "json-spirit".into(),
            version: "0.1.0".parse().unwrap(),
            description: None,
            authors: Vec::new(),
            license: None,
            repository: None,
            entry: "run".into(),
            capabilities: capabilities.to_vec(),
            limits,
            run: RunDefaults::default(),
            pricing: None,
            network: Default::default(),
            dependencies: Vec::new(),
            wasm: WasmInfo {
                file: "json-spirit.wasm".into(),
                size: stripped.len() as u64,
                blake3,
            },
            build: BuildInfo {
                tool: spirit_build::VERSION.into(),
                rustc: None,
                target: "wasm32-unknown-unknown".into(),
                profile: "dev".into(),
                cargo_lock: None,
            },
        };
        spirit_build::fs::write_atomic(&out.path().join("json-spirit.wasm"), &stripped).unwrap();
        spirit_build::fs::write_atomic(
            &out.path().join("manifest.toml"),
            manifest.to_toml().as_bytes(),
        )
        .unwrap();
        let written = Instant::now();
        stripped_size = stripped.len();
        last = stripped;
        for (stage, (from, to)) in stages.iter_mut().zip([
            (start, validated),
            (validated, stripped_at),
            (stripped_at, hashed),
            (hashed, written),
            (start, written),
        ]) {
            stage.push(to - from);
        }
    }
    // The output is a valid module for the sandbox (checked outside the timing).
    wasmparser::Validator::new_with_features(validate::SANDBOX_FEATURES)
        .validate_all(&last)
        .unwrap();
    println!(
        "{path}: {} bytes in, {stripped_size} bytes out, {runs} runs",
        wasm.len()
    );
    println!("{:<22} {:>10} {:>10}", "stage", "median", "min");
    for (name, mut times) in [
        "validate",
        "strip (+ limits)",
        "blake3",
        "manifest + writes",
        "total",
    ]
    .into_iter()
    .zip(stages)
    {
        times.sort();
        println!(
            "{name:<22} {:>8.2}ms {:>8.2}ms",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3
        );
    }
}

/// A spirit-shaped module with about `mib` MiB of code: chains of eight
/// functions of arithmetic and locals, each calling the next, and a
/// `host_log` import; `run` calls the first of each chain, or, with
/// `dead`, of seven chains in eight, leaving one in eight dead.
fn synthetic(mib: usize, dead: bool) -> Vec<u8> {
    let functions = mib * 1400;
    let mut wat = String::from(
        "(module (import \"vudo\" \"host_log\" (func $log (param i32 i32 i32) (result i32)))\n\
         (memory (export \"memory\") 17)\n",
    );
    for i in 0..functions {
        wat.push_str(&format!(
            "(func $f{i} (param i32) (result i32) (local i32)\n"
        ));
        for j in 0..60 {
            wat.push_str(&format!(
                "(local.set 1 (i32.add (local.get 0) (i32.mul (local.get 1) (i32.const {}))))\n",
                i * 61 + j
            ));
        }
        if i + 1 < functions && (i + 1) % 8 != 0 {
            wat.push_str(&format!("(drop (call $f{} (local.get 1)))\n", i + 1));
        }
        wat.push_str(
            "(drop (call $log (i32.const 2) (i32.const 0) (i32.const 0)))\n(local.get 1))\n",
        );
    }
    let roots: String = (0..functions)
        .step_by(8)
        .filter(|i| !dead || (i / 8) % 8 != 7)
        .map(|i| format!("(drop (call $f{i} (i32.const {i})))"))
        .collect();
    wat.push_str(&format!(
        "(func (export \"run\") (result i32) {roots} (i32.const 0)))"
    ));
    wat::parse_str(&wat).unwrap()
}
