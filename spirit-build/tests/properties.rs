//! Properties of stripping over arbitrary valid modules (issue 8, item 3).
//!
//! `wasm-smith` turns bytes into a valid module; the bytes come from BLAKE3's
//! extendable output keyed by the case number, so every run checks the same
//! modules and a failure names its seed. The modules use only what the
//! sandbox enables ([`SANDBOX_FEATURES`]: no threads, GC, exceptions,
//! memory64 or relaxed SIMD), and each case runs twice: once as generated
//! (small modules: the walrus path of [`strip`]) and once padded past 256 KiB
//! with a custom section (the copy and re-encode paths).
//!
//! 1. Stripping keeps the module valid and keeps its exports (names, kinds
//!    and types; less the linker exports it drops on purpose) and its
//!    imports, except that walrus's `gc` drops imports nothing uses (and
//!    groups them by kind): the imports after are the imports before with
//!    some left out, the rest unchanged. (Validation, which refuses unknown imports,
//!    runs on the module before stripping; see `ops/check.rs`.)
//! 2. For modules that can run (no imports, every function exported), each
//!    exported function without parameters gives the same result before and
//!    after stripping: the same values, or the same trap, or both out of fuel.
//!
//! The fuzz targets in `fuzz/` cover arbitrary inputs far longer; these cases
//! keep the properties in the normal test suite.

use std::time::Duration;

use arbitrary::Unstructured;
use spirit_build::sandbox::{
    Call, Limits, LoadedSpirit, Policy, RunError, RunRequest, Sandbox, SandboxConfig, Value,
};
use spirit_build::strip::{StripOptions, strip};
use spirit_build::validate::SANDBOX_FEATURES;
use wasmparser::types::{EntityType, Types};
use wasmparser::{CompositeInnerType, Validator};

/// Modules checked by the validity and interface property.
const SHAPE_CASES: u64 = 300;
/// Modules run before and after stripping (fewer: compiling each twice
/// with a debug build of Cranelift costs about 50 ms).
const RUN_CASES: u64 = 40;
/// Exports wasm-ld adds, which stripping drops by design (see `strip.rs`).
const LINKER_EXPORTS: &[&str] = &["__data_end", "__heap_base", "__dso_handle", "__global_base"];

/// `len` deterministic pseudo-random bytes for case `seed` of `property`.
fn entropy(property: &str, seed: u64, len: usize) -> Vec<u8> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(property.as_bytes());
    hasher.update(&seed.to_le_bytes());
    let mut bytes = vec![0; len];
    hasher.finalize_xof().fill(&mut bytes);
    bytes
}

/// wasm-smith limited to the sandbox's features.
fn sandbox_config() -> wasm_smith::Config {
    wasm_smith::Config {
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        memory64_enabled: false,
        relaxed_simd_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        custom_descriptors_enabled: false,
        max_memories: 1,
        // Small enough that the pooling allocator's slots hold every memory.
        max_memory32_bytes: 1 << 20,
        max_table_elements: 1_000,
        ..wasm_smith::Config::default()
    }
}

/// A module for case `seed` that the sandbox's validator accepts, or `None`
/// when wasm-smith ran out of entropy (rare; the tests count such cases).
///
/// With reference types, wasm-smith also uses `externref`, which the
/// sandbox refuses (it is a GC type there); such a module is made again from
/// the same bytes without reference types.
fn generate(property: &str, seed: u64, config: wasm_smith::Config) -> Option<Vec<u8>> {
    let bytes = entropy(property, seed, 4096);
    let without = wasm_smith::Config {
        reference_types_enabled: false,
        ..config.clone()
    };
    [config, without].into_iter().find_map(|config| {
        let module = wasm_smith::Module::new(config, &mut Unstructured::new(&bytes)).ok()?;
        let wasm = module.to_bytes();
        validate(&wasm).is_ok().then_some(wasm)
    })
}

fn validate(wasm: &[u8]) -> Result<Types, wasmparser::BinaryReaderError> {
    Validator::new_with_features(SANDBOX_FEATURES).validate_all(wasm)
}

/// An entity's kind and type in words, without type indices (which
/// stripping may renumber).
fn describe(types: &Types, ty: EntityType) -> String {
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => match &types[id].composite_type.inner {
            CompositeInnerType::Func(f) => format!("func {f}"),
            other => format!("func {other:?}"),
        },
        EntityType::Table(t) => format!("table {t:?}"),
        EntityType::Memory(m) => format!("memory {m:?}"),
        EntityType::Global(g) => format!("global {g:?}"),
        EntityType::Tag(t) => format!("tag {t:?}"),
    }
}

/// Imports `(module, name, type)` and exports `(name, type)`, in order.
type Interface = (Vec<(String, String, String)>, Vec<(String, String)>);

fn interface(types: &Types) -> Interface {
    let types_ref = types.as_ref();
    let imports = types_ref
        .core_imports()
        .expect("a core module")
        .map(|(module, name, ty)| (module.to_owned(), name.to_owned(), describe(types, ty)))
        .collect();
    let exports = types_ref
        .core_exports()
        .expect("a core module")
        .filter(|(name, _)| !LINKER_EXPORTS.contains(name))
        .map(|(name, ty)| (name.to_owned(), describe(types, ty)))
        .collect();
    (imports, exports)
}

/// `wasm` with a custom section appended that takes it past the size from
/// which `strip` copies or re-encodes instead of running walrus.
fn padded(wasm: &[u8]) -> Vec<u8> {
    let mut section = wasm_encoder::Module::new();
    section.section(&wasm_encoder::CustomSection {
        name: "padding".into(),
        data: vec![0xa5; 300 << 10].into(),
    });
    let mut out = wasm.to_vec();
    // Skip the new module's own 8-byte header.
    out.extend_from_slice(&section.finish()[8..]);
    out
}

/// Whether `short` is `long` with some items left out, the rest unchanged
/// (in any order: walrus groups imports by kind, and indices are per kind).
fn is_sub_multiset<T: Ord + Clone>(short: &[T], long: &[T]) -> bool {
    let (mut short, mut long) = (short.to_vec(), long.to_vec());
    short.sort();
    long.sort();
    let mut long = long.iter();
    short.iter().all(|item| long.any(|l| l == item))
}

#[test]
fn stripping_keeps_arbitrary_modules_valid_with_the_same_imports_and_exports() {
    let mut checked = 0;
    for seed in 0..SHAPE_CASES {
        let Some(wasm) = generate("shape", seed, sandbox_config()) else {
            continue;
        };
        let types = validate(&wasm).expect("generate validates");
        let before = interface(&types);
        for (path, input) in [("walrus", wasm.clone()), ("large", padded(&wasm))] {
            let stripped = strip(&input, StripOptions::default())
                .unwrap_or_else(|e| panic!("seed {seed} ({path}): {e}"));
            let types = validate(&stripped)
                .unwrap_or_else(|e| panic!("seed {seed} ({path}): stripped module invalid: {e}"));
            let after = interface(&types);
            assert_eq!(after.1, before.1, "seed {seed} ({path}): exports");
            assert!(
                is_sub_multiset(&after.0, &before.0),
                "seed {seed} ({path}): imports changed\nbefore: {:?}\nafter: {:?}",
                before.0,
                after.0
            );
        }
        checked += 1;
    }
    assert!(
        checked >= SHAPE_CASES * 9 / 10,
        "only {checked} modules generated"
    );
}

/// How a call ended, comparable across two loads of a module: values by
/// their bits (so NaNs compare equal), errors by their message.
fn ending(sandbox: &Sandbox, spirit: &LoadedSpirit, function: &str) -> Option<String> {
    let limits = Limits {
        fuel: 20_000,
        timeout: Duration::from_secs(20),
        max_memory: 16 << 20,
        ..Limits::default()
    };
    let mut request = RunRequest::new(Policy::default(), limits);
    request.call = Call::Invoke {
        function: function.to_owned(),
        args: Vec::new(),
    };
    request.seed = Some(0);
    Some(match sandbox.run(spirit, request) {
        Ok(outcome) => format!(
            "returned {:?}",
            outcome
                .results
                .iter()
                .map(|v| match *v {
                    Value::I32(v) => format!("i32 {v}"),
                    Value::I64(v) => format!("i64 {v}"),
                    Value::F32(v) => format!("f32 {:#x}", v.to_bits()),
                    Value::F64(v) => format!("f64 {:#x}", v.to_bits()),
                })
                .collect::<Vec<_>>()
        ),
        // Wall-clock time is not a property of the module.
        Err(RunError::Timeout(_)) => return None,
        // Less the function a trap names: stripping renumbers functions.
        Err(e) => format!(
            "failed: {}",
            e.to_string()
                .split(" in function ")
                .next()
                .unwrap_or_default()
        ),
    })
}

#[test]
fn stripping_does_not_change_what_arbitrary_modules_compute() {
    let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).expect("a sandbox");
    // Every module exports a function without parameters of each result
    // type; wasm-smith writes their bodies (and whatever else it likes).
    let exports = wat::parse_str(
        r#"(module
            (func (export "none"))
            (func (export "i32") (result i32) unreachable)
            (func (export "i64") (result i64) unreachable)
            (func (export "f32") (result f32) unreachable)
            (func (export "f64") (result f64) unreachable)
            (func (export "pair") (result i32 i64) unreachable))"#,
    )
    .expect("the exports parse");
    let config = wasm_smith::Config {
        max_imports: 0,
        exports: Some(exports),
        canonicalize_nans: true,
        min_funcs: 1,
        max_funcs: 4,
        max_instructions: 50,
        ..sandbox_config()
    };
    let (mut modules, mut calls) = (0, 0);
    let mut kinds = std::collections::BTreeMap::new();
    for seed in 0..RUN_CASES {
        let Some(wasm) = generate("run", seed, config.clone()) else {
            continue;
        };
        let types = validate(&wasm).expect("generate validates");
        let callable: Vec<String> = interface(&types)
            .1
            .into_iter()
            .filter(|(_, ty)| ty.starts_with("func (func") && !ty.contains("(param"))
            .map(|(name, _)| name)
            .collect();
        if callable.is_empty() {
            continue;
        }
        let stripped = strip(&wasm, StripOptions::default()).expect("strips");
        let before = sandbox.load("before", &wasm).expect("loads");
        let after = sandbox.load("after", &stripped).expect("stripped loads");
        for function in &callable {
            let (Some(a), Some(b)) = (
                ending(&sandbox, &before, function),
                ending(&sandbox, &after, function),
            ) else {
                continue;
            };
            assert_eq!(a, b, "seed {seed}: `{function}` before and after stripping");
            calls += 1;
            let kind = match a.as_str() {
                a if a.starts_with("returned") => "returned",
                a if a.starts_with("failed: trap") => "trapped",
                a if a.starts_with("failed: out of fuel") => "out of fuel",
                _ => "other",
            };
            *kinds.entry(kind).or_insert(0u64) += 1;
        }
        modules += 1;
    }
    // Not vacuous: most seeds give a module, and calls return values, trap
    // and run out of fuel (rather than all ending one way).
    let summary = format!("{modules} modules, {calls} calls: {kinds:?}");
    assert!(modules >= RUN_CASES * 9 / 10, "{summary}");
    assert!(calls >= modules * 4, "{summary}");
    for kind in ["returned", "trapped", "out of fuel"] {
        assert!(kinds.get(kind).is_some_and(|n| *n > 0), "{summary}");
    }
}
