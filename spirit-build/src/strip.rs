//! Stripping a spirit with `walrus`: names, producers, DWARF and every other
//! custom section go, and so do functions nothing reaches.
//!
//! Re-encoding a module with walrus costs 40–60 ms per MiB of code. The
//! linker (`wasm-ld --gc-sections`) has usually removed every dead function
//! already, so for a large module a cheap reachability pass (`wasmparser`)
//! comes first: when nothing is dead, the sections are copied as they are,
//! less the custom sections and the linker's exports. Walrus runs when
//! there are functions to remove, and on small modules, where it is fast
//! and also drops what the copy keeps (a table or global nothing uses:
//! tens of bytes).

use wasmparser::{ElementItems, ExternalKind, Operator, Parser, Payload};

/// Exports wasm-ld adds that no host uses.
const LINKER_EXPORTS: &[&str] = &["__data_end", "__heap_base", "__dso_handle", "__global_base"];

/// From this size on, a module with nothing dead is copied rather than
/// re-encoded.
const COPY_FROM: usize = 256 << 10;

/// What to keep.
#[derive(Clone, Copy, Debug, Default)]
pub struct StripOptions {
    /// Keep the name section, for profiling and readable traps.
    pub keep_names: bool,
}

/// Why a module could not be stripped.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not strip the module: {0}\nhelp: `cargo spirit check FILE` shows what is wrong with it"
)]
pub struct StripError(String);

/// Returns the stripped module.
///
/// ```
/// let wasm = wat::parse_str(r#"(module $named
///     (memory (export "memory") 1)
///     (func $unused)
///     (func (export "run")))"#).unwrap();
/// let stripped = spirit_build::strip::strip(&wasm, Default::default()).unwrap();
/// assert!(stripped.len() < wasm.len());
/// ```
///
/// # Errors
///
/// Fails when walrus cannot parse the module.
pub fn strip(wasm: &[u8], options: StripOptions) -> Result<Vec<u8>, StripError> {
    if wasm.len() < COPY_FROM {
        return strip_with_walrus(wasm, options);
    }
    match copy_if_nothing_is_dead(wasm, options) {
        Ok(Some(stripped)) => Ok(stripped),
        // Dead functions, or something the copy does not handle: walrus.
        Ok(None) | Err(_) => strip_with_walrus(wasm, options),
    }
}

/// The module with its custom sections (but `name`, with `keep_names`)
/// and linker exports left out, when every function it defines is
/// reachable from the exports, the start function, table elements and
/// global initialisers; `None` when some are not.
fn copy_if_nothing_is_dead(
    wasm: &[u8],
    options: StripOptions,
) -> Result<Option<Vec<u8>>, wasmparser::BinaryReaderError> {
    let mut imported = 0u32;
    let mut defined = 0u32;
    let mut roots: Vec<u32> = Vec::new();
    let mut calls: Vec<Vec<u32>> = Vec::new();
    let mut out = Vec::with_capacity(wasm.len());
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        let section = payload.as_section();
        match &payload {
            Payload::Version { .. } => out.extend_from_slice(&wasm[..8]),
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => defined = reader.count(),
            Payload::StartSection { func, .. } => roots.push(*func),
            Payload::GlobalSection(reader) => {
                for global in reader.clone() {
                    ref_funcs(global?.init_expr.get_operators_reader(), &mut roots)?;
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader.clone() {
                    match element?.items {
                        ElementItems::Functions(functions) => {
                            for f in functions {
                                roots.push(f?);
                            }
                        }
                        ElementItems::Expressions(_, exprs) => {
                            for expr in exprs {
                                ref_funcs(expr?.get_operators_reader(), &mut roots)?;
                            }
                        }
                    }
                }
            }
            Payload::ExportSection(reader) => {
                let mut kept: Vec<u8> = Vec::new();
                let mut count = 0u32;
                for export in reader.clone() {
                    let export = export?;
                    let kind = match export.kind {
                        ExternalKind::Func => 0,
                        ExternalKind::Table => 1,
                        ExternalKind::Memory => 2,
                        ExternalKind::Global => 3,
                        // Not in modules rustc emits: let walrus handle it.
                        _ => return Ok(None),
                    };
                    if kind == 0 {
                        roots.push(export.index);
                    }
                    if LINKER_EXPORTS.contains(&export.name) {
                        continue;
                    }
                    count += 1;
                    leb128(&mut kept, export.name.len() as u32);
                    kept.extend_from_slice(export.name.as_bytes());
                    kept.push(kind);
                    leb128(&mut kept, export.index);
                }
                let mut contents = Vec::new();
                leb128(&mut contents, count);
                contents.extend_from_slice(&kept);
                out.push(7);
                leb128(&mut out, contents.len() as u32);
                out.extend_from_slice(&contents);
                continue;
            }
            Payload::CodeSectionEntry(body) => {
                let mut callees = Vec::new();
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    match ops.read()? {
                        Operator::Call { function_index }
                        | Operator::ReturnCall { function_index }
                        | Operator::RefFunc { function_index } => callees.push(function_index),
                        _ => {}
                    }
                }
                calls.push(callees);
            }
            Payload::CustomSection(reader) if !(options.keep_names && reader.name() == "name") => {
                continue;
            }
            _ => {}
        }
        if let Some((id, range)) = section {
            out.push(id);
            leb128(&mut out, range.len() as u32);
            out.extend_from_slice(&wasm[range]);
        }
    }
    // Every function reachable from the roots through calls and `ref.func`?
    let mut live = vec![false; (imported + defined) as usize];
    while let Some(f) = roots.pop() {
        let Some(seen) = live.get_mut(f as usize) else {
            continue;
        };
        if std::mem::replace(seen, true) {
            continue;
        }
        if let Some(callees) = f.checked_sub(imported).and_then(|i| calls.get(i as usize)) {
            roots.extend_from_slice(callees);
        }
    }
    Ok(live.iter().all(|l| *l).then_some(out))
}

/// The functions a constant expression takes references to.
fn ref_funcs(
    mut ops: wasmparser::OperatorsReader<'_>,
    roots: &mut Vec<u32>,
) -> Result<(), wasmparser::BinaryReaderError> {
    while !ops.eof() {
        if let Operator::RefFunc { function_index } = ops.read()? {
            roots.push(function_index);
        }
    }
    Ok(())
}

fn leb128(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn strip_with_walrus(wasm: &[u8], options: StripOptions) -> Result<Vec<u8>, StripError> {
    let mut config = walrus::ModuleConfig::new();
    config
        .generate_name_section(options.keep_names)
        .generate_producers_section(false)
        .generate_dwarf(false);
    let mut module = config
        .parse(wasm)
        .map_err(|e| StripError(format!("{e:#}")))?;
    let ids: Vec<_> = module.customs.iter().map(|(id, _)| id).collect();
    for id in ids {
        module.customs.delete(id);
    }
    if !options.keep_names {
        module.name = None;
    }
    // rustc's linker exports these globals for tooling; the host never reads
    // them, and dropping them lets `gc` drop what only they kept alive.
    let linker_exports: Vec<_> = module
        .exports
        .iter()
        .filter(|e| LINKER_EXPORTS.contains(&e.name.as_str()))
        .map(|e| e.id())
        .collect();
    for id in linker_exports {
        module.exports.delete(id);
    }
    walrus::passes::gc::run(&mut module);
    Ok(module.emit_wasm())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = r#"(module $named
        (memory (export "memory") 1)
        (global (export "__heap_base") i32 (i32.const 1024))
        (func $dead (result i32) (i32.const 7))
        (func $kept (result i32) (i32.const 1))
        (func $run (export "run") (result i32) (call $kept)))"#;

    fn parse(wasm: &[u8]) -> (usize, Vec<String>, Vec<String>) {
        let mut bodies = 0;
        let mut customs = Vec::new();
        let mut exports = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                wasmparser::Payload::CodeSectionEntry(_) => bodies += 1,
                wasmparser::Payload::CustomSection(c) => customs.push(c.name().to_owned()),
                wasmparser::Payload::ExportSection(r) => {
                    exports.extend(r.into_iter().map(|e| e.unwrap().name.to_owned()));
                }
                _ => {}
            }
        }
        (bodies, customs, exports)
    }

    #[test]
    fn dead_functions_names_and_linker_exports_go() {
        let wasm = wat::parse_str(MODULE).unwrap();
        assert_eq!(parse(&wasm).0, 3);
        let (bodies, customs, exports) = parse(&strip(&wasm, StripOptions::default()).unwrap());
        assert_eq!(bodies, 2, "the dead function is removed");
        assert!(customs.is_empty(), "{customs:?}");
        assert_eq!(exports, ["memory", "run"]);
    }

    /// Appends a custom section (id 0; sizes under 128 fit one LEB128 byte).
    fn custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
        let size = 1 + name.len() + data.len();
        assert!(size < 128 && name.len() < 128);
        wasm.extend_from_slice(&[0, size as u8, name.len() as u8]);
        wasm.extend_from_slice(name.as_bytes());
        wasm.extend_from_slice(data);
    }

    #[test]
    fn without_dead_functions_the_sections_are_copied() {
        let wasm = wat::parse_str(
            r#"(module
                (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (table 2 funcref)
                (global (export "__data_end") i32 (i32.const 8))
                (global $f (mut funcref) (ref.func $by_global))
                (elem (i32.const 0) $by_table)
                (func $by_table)
                (func $by_global)
                (func $called (result i32) (i32.const 1))
                (func $run (export "run") (result i32)
                    (drop (call $log (i32.const 0) (i32.const 0) (i32.const 0)))
                    (call $called)))"#,
        )
        .unwrap();
        let copied = copy_if_nothing_is_dead(&wasm, StripOptions::default())
            .unwrap()
            .expect("every function is reachable");
        wasmparser::Validator::new().validate_all(&copied).unwrap();
        let (bodies, customs, exports) = parse(&copied);
        assert_eq!(bodies, 4);
        assert!(customs.is_empty());
        assert_eq!(exports, ["memory", "run"]);
        // Walrus goes further (a table that no `call_indirect` uses, a
        // global nothing reads): the copy keeps what it cannot prove dead.
        let walrus = strip_with_walrus(&wasm, StripOptions::default()).unwrap();
        assert_eq!(parse(&walrus), (2, customs, exports));
        // Small modules always go through walrus.
        assert_eq!(strip(&wasm, StripOptions::default()).unwrap(), walrus);
        // One dead function: the copy declines, and walrus removes it.
        assert!(
            copy_if_nothing_is_dead(&wat::parse_str(MODULE).unwrap(), StripOptions::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn leb128_matches_the_spec() {
        let mut out = Vec::new();
        for n in [0, 127, 128, 624_485] {
            leb128(&mut out, n);
        }
        assert_eq!(out, [0, 0x7f, 0x80, 0x01, 0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn keep_names_keeps_the_name_section_only() {
        let mut wasm = wat::parse_str(MODULE).unwrap();
        // A producers section and a foreign custom section, as rustc and
        // other tools leave them.
        custom_section(&mut wasm, "producers", b"\0");
        custom_section(&mut wasm, ".debug_info", b"dwarf");
        let stripped = strip(&wasm, StripOptions { keep_names: true }).unwrap();
        let (bodies, customs, _) = parse(&stripped);
        assert_eq!(bodies, 2);
        assert_eq!(customs, ["name"]);
    }
}
