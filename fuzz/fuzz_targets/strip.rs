//! Stripping arbitrary valid modules (the fuzzing form of
//! `spirit-build/tests/properties.rs`): wasm-smith makes a module within the
//! sandbox's features; `strip` must keep it valid, keep its exports (less
//! the linker's) and keep its imports less some that nothing uses. Each
//! module is also padded past 256 KiB so the copy and re-encode paths run.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use spirit_build::strip::{StripOptions, strip};
use spirit_build::validate::SANDBOX_FEATURES;
use wasmparser::types::{EntityType, Types};
use wasmparser::{CompositeInnerType, Validator};

const LINKER_EXPORTS: &[&str] = &["__data_end", "__heap_base", "__dso_handle", "__global_base"];

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

/// Sorted imports and in-order exports (less the linker's).
fn interface(types: &Types) -> (Vec<String>, Vec<String>) {
    let t = types.as_ref();
    let mut imports: Vec<String> = t
        .core_imports()
        .expect("a core module")
        .map(|(m, n, ty)| format!("{m:?}.{n:?}: {}", describe(types, ty)))
        .collect();
    imports.sort();
    let exports = t
        .core_exports()
        .expect("a core module")
        .filter(|(name, _)| !LINKER_EXPORTS.contains(name))
        .map(|(n, ty)| format!("{n:?}: {}", describe(types, ty)))
        .collect();
    (imports, exports)
}

fn config(reference_types: bool) -> wasm_smith::Config {
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
        reference_types_enabled: reference_types,
        max_memories: 1,
        ..wasm_smith::Config::default()
    }
}

fn padded(wasm: &[u8]) -> Vec<u8> {
    let mut section = wasm_encoder::Module::new();
    section.section(&wasm_encoder::CustomSection {
        name: "padding".into(),
        data: vec![0xa5; 300 << 10].into(),
    });
    let mut out = wasm.to_vec();
    out.extend_from_slice(&section.finish()[8..]);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((wasm, types)) = [true, false].into_iter().find_map(|reference_types| {
        let module =
            wasm_smith::Module::new(config(reference_types), &mut Unstructured::new(data)).ok()?;
        let wasm = module.to_bytes();
        // `externref` (reference types) is a GC type the sandbox refuses.
        let types = Validator::new_with_features(SANDBOX_FEATURES)
            .validate_all(&wasm)
            .ok()?;
        Some((wasm, types))
    }) else {
        return;
    };
    let (imports, exports) = interface(&types);
    for input in [wasm.clone(), padded(&wasm)] {
        for keep_names in [false, true] {
            let stripped = strip(&input, StripOptions { keep_names })
                .unwrap_or_else(|e| panic!("a valid module does not strip: {e}"));
            let types = Validator::new_with_features(SANDBOX_FEATURES)
                .validate_all(&stripped)
                .unwrap_or_else(|e| panic!("the stripped module is invalid: {e}"));
            let (after_imports, after_exports) = interface(&types);
            assert_eq!(after_exports, exports);
            let mut rest = imports.iter();
            assert!(
                after_imports.iter().all(|i| rest.any(|r| r == i)),
                "imports changed:\n{imports:?}\n{after_imports:?}"
            );
        }
    }
});
