//! Stripping a spirit with `walrus`: names, producers, DWARF and every other
//! custom section go, and so do functions nothing reaches.
//!
//! Walrus builds a whole IR of the module, which costs 40–60 ms per MiB of
//! code. For a large module a cheap reachability pass (`wasmparser`) comes
//! first: when nothing is dead (the usual case: `wasm-ld --gc-sections` has
//! removed it), the sections are copied as they are, less the custom
//! sections and the linker's exports; when functions are dead, `wasm-encoder`'s
//! re-encoder writes the module without them, renumbering calls. Walrus
//! runs on small modules, where it is fast and also drops what the other
//! two keep (a table or global nothing uses: tens of bytes), and with
//! `keep_names` when there is something to remove (names must follow the
//! renumbering).

pub use crate::options::StripOptions;
use wasm_encoder::reencode::Reencode;
use wasmparser::{ElementItems, ExternalKind, Operator, Parser, Payload};

/// Exports wasm-ld adds that no host uses.
const LINKER_EXPORTS: &[&str] = &["__data_end", "__heap_base", "__dso_handle", "__global_base"];

/// From this size on, a module with nothing dead is copied rather than
/// re-encoded.
const COPY_FROM: usize = 256 << 10;

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
        Ok(Copy::Done(stripped)) => Ok(stripped),
        Ok(Copy::Dead(live)) if !options.keep_names => {
            // Anything the re-encoder cannot handle goes to walrus.
            remove_dead(wasm, &live).or_else(|_| strip_with_walrus(wasm, options))
        }
        Ok(_) | Err(_) => strip_with_walrus(wasm, options),
    }
}

/// What [`copy_if_nothing_is_dead`] found.
enum Copy {
    /// Nothing was dead: the copy.
    Done(Vec<u8>),
    /// Some functions are dead: which are live, by function index.
    Dead(Vec<bool>),
    /// Something the copy does not handle.
    Unsupported,
}

/// Re-encodes `wasm` without the functions `live` says are dead, its custom
/// sections and the linker's exports.
fn remove_dead(wasm: &[u8], live: &[bool]) -> Result<Vec<u8>, StripError> {
    let mut next = 0;
    let map = live
        .iter()
        .map(|&l| {
            l.then(|| {
                next += 1;
                next - 1
            })
        })
        .collect();
    let mut reencoder = DropDead { map };
    let mut module = wasm_encoder::Module::new();
    reencoder
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| StripError(format!("{e}")))?;
    Ok(module.finish())
}

/// The re-encoder: function indices renumbered, dead functions, custom
/// sections and linker exports left out.
struct DropDead {
    /// The new index of each live function (imports included, in order).
    map: Vec<Option<u32>>,
}

/// A live part of the module refers to a function found dead.
#[derive(Debug)]
struct DeadReference(u32);

impl std::fmt::Display for DeadReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "function {} was found dead but is referenced", self.0)
    }
}

impl std::error::Error for DeadReference {}

type ReencodeError = wasm_encoder::reencode::Error<DeadReference>;

impl DropDead {
    fn live(&self, index: usize) -> bool {
        self.map.get(index).is_some_and(Option::is_some)
    }
}

impl Reencode for DropDead {
    type Error = DeadReference;

    fn function_index(&mut self, func: u32) -> Result<u32, ReencodeError> {
        self.map
            .get(func as usize)
            .copied()
            .flatten()
            .ok_or(ReencodeError::UserError(DeadReference(func)))
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        let imported = self.map.len() - section.count() as usize;
        for (i, ty) in section.into_iter().enumerate() {
            let ty = ty?;
            if self.live(imported + i) {
                functions.function(self.type_index(ty)?);
            }
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        let imported = self.map.len() - section.count() as usize;
        for (i, body) in section.into_iter().enumerate() {
            let body = body?;
            if self.live(imported + i) {
                self.parse_function_body(code, body)?;
            }
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        for export in section {
            let export = export?;
            if !LINKER_EXPORTS.contains(&export.name) {
                self.parse_export(exports, export)?;
            }
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        _module: &mut wasm_encoder::Module,
        _section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        Ok(())
    }
}

/// The module with its custom sections (but `name`, with `keep_names`)
/// and linker exports left out, when every function it defines is
/// reachable from the exports, the start function, table elements and
/// global initialisers; else which functions are live.
fn copy_if_nothing_is_dead(
    wasm: &[u8],
    options: StripOptions,
) -> Result<Copy, wasmparser::BinaryReaderError> {
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
                        _ => return Ok(Copy::Unsupported),
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
    // Imports stay whether used or not: their indices come first.
    live.iter_mut()
        .take(imported as usize)
        .for_each(|l| *l = true);
    Ok(if live.iter().all(|l| *l) {
        Copy::Done(out)
    } else {
        Copy::Dead(live)
    })
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
        let Copy::Done(copied) = copy_if_nothing_is_dead(&wasm, StripOptions::default()).unwrap()
        else {
            panic!("every function is reachable");
        };
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
    }

    #[test]
    fn dead_functions_are_removed_by_re_encoding() {
        let wasm = wat::parse_str(
            r#"(module
                (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
                (import "vudo" "host_time_now" (func $unused (result i64)))
                (memory (export "memory") 1)
                (table 1 funcref)
                (elem (i32.const 0) $by_table)
                (global (export "__heap_base") i32 (i32.const 8))
                (func $dead (result i32) (call $dead_too))
                (func $dead_too (result i32) (i32.const 7))
                (func $by_table (result i32) (i32.const 2))
                (func $kept (result i32)
                    (drop (call $log (i32.const 0) (i32.const 0) (i32.const 0)))
                    (call_indirect (result i32) (i32.const 0)))
                (func (export "run") (result i32) (call $kept)))"#,
        )
        .unwrap();
        let Copy::Dead(live) = copy_if_nothing_is_dead(&wasm, StripOptions::default()).unwrap()
        else {
            panic!("two functions are dead");
        };
        assert_eq!(live, [true, true, false, false, true, true, true]);
        let stripped = remove_dead(&wasm, &live).unwrap();
        wasmparser::Validator::new()
            .validate_all(&stripped)
            .unwrap();
        let (bodies, customs, exports) = parse(&stripped);
        assert_eq!(bodies, 3);
        assert!(customs.is_empty());
        assert_eq!(exports, ["memory", "run"]);
        // Renumbered: log 0, unused 1, by_table 2, kept 3, run 4.
        let mut calls = Vec::new();
        let mut table = Vec::new();
        for payload in Parser::new(0).parse_all(&stripped) {
            match payload.unwrap() {
                Payload::CodeSectionEntry(body) => {
                    let mut ops = body.get_operators_reader().unwrap();
                    let mut callees = Vec::new();
                    while !ops.eof() {
                        if let Operator::Call { function_index } = ops.read().unwrap() {
                            callees.push(function_index);
                        }
                    }
                    calls.push(callees);
                }
                Payload::ElementSection(reader) => {
                    for element in reader {
                        if let ElementItems::Functions(f) = element.unwrap().items {
                            table.extend(f.into_iter().map(Result::unwrap));
                        }
                    }
                }
                _ => {}
            }
        }
        assert_eq!(calls, [vec![], vec![0], vec![3]]);
        assert_eq!(table, [2]);
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
