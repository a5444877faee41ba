//! Validating a spirit's module with `wasmparser` before it leaves the
//! build or enters the sandbox: well-formed, only the features the sandbox
//! enables, only host-ABI imports with their exact signatures and declared
//! capabilities, and the `memory` and entry exports.
//!
//! Every problem is reported, not only the first, so one build shows the
//! author everything to fix. [`check_limits`] adds the build-time limits
//! (size after stripping, memory pages) to a [`Report`].
//!
//! The import check ([`check_imports`]) and the entry rule
//! ([`entry_problem`]) are the only ones: the sandbox runs the same two on
//! the module it compiled, with the run's granted capabilities, so a
//! problem reads the same whether `build`, `check` or `run` finds it.

use std::fmt;

use spirit_sdk::abi::{self, Capability};
use wasmparser::types::{EntityType, Types};
use wasmparser::{FuncType, Validator, WasmFeatures};

use crate::manifest::{ModuleLimits, PAGE_SIZE};
use crate::units::Bytes;

mod imports;
mod problem;

use imports::missing_capability;
pub use imports::{FunctionType, Grant, ImportCheck, ImportKind, ModuleImport, check_imports};
pub use problem::{Import, Problem};

/// The WebAssembly features the sandbox enables: WebAssembly 2.0 (what
/// current rustc emits by default: bulk memory, reference types, sign
/// extension, non-trapping float-to-int, multi-value, SIMD) plus extended
/// constant expressions and tail calls. Threads, shared memory, memory64,
/// GC types (`externref`; `funcref` stays) and exceptions are refused: the
/// engine is built without a garbage collector.
pub const SANDBOX_FEATURES: WasmFeatures = WasmFeatures::WASM2
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::TAIL_CALL)
    .difference(WasmFeatures::GC_TYPES);

/// What the validator checks a module against.
#[derive(Clone, Debug)]
pub struct Expectations<'a> {
    /// The capabilities the spirit declares (or the policy grants).
    pub capabilities: &'a [Capability],
    /// The entry export's name.
    pub entry: &'a str,
}

/// The result of validating a module.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Problems that make the module unusable.
    pub errors: Vec<Problem>,
    /// Problems worth knowing about (a capability declared but never used).
    pub warnings: Vec<Problem>,
    /// The module's imports, in order.
    pub imports: Vec<Import>,
    /// The capabilities the module's imports actually need, sorted.
    pub used_capabilities: Vec<Capability>,
    /// The pages of the module's memory: its initial size and its declared
    /// maximum (when it declares one). `None` when it has no memory.
    pub memory_pages: Option<(u64, Option<u64>)>,
    /// Each import whose capability was not declared (`module.name`), with
    /// that capability; each also has its error in `errors`.
    pub undeclared: Vec<(String, Capability)>,
}

impl Report {
    /// For a bare module, which has no Cargo.toml: the help of each
    /// undeclared-capability error says to `--allow` it instead.
    pub fn suggest_allow(&mut self, command: &str) {
        for (qualified, cap) in &self.undeclared {
            let message = missing_capability(qualified, *cap, Grant::Declared);
            for problem in self.errors.iter_mut().filter(|p| p.message == message) {
                problem.help = Some(format!("grant it: `{command} --allow {cap}`"));
            }
        }
    }
}

impl Report {
    /// Whether the module passed.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The module failed validation; every problem is listed.
#[derive(Debug, thiserror::Error)]
pub struct ValidationError {
    /// The spirit or file that was checked.
    pub subject: String,
    /// Everything wrong with it.
    pub errors: Vec<Problem>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{} failed validation ({n} problem{})",
            self.subject,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.errors {
            write!(f, "\n\n{problem}")?;
        }
        Ok(())
    }
}

/// Validates `wasm` against the host ABI and `expected`.
///
/// ```
/// use spirit_build::validate::{validate, Expectations};
/// use spirit_sdk::abi::Capability;
///
/// let wasm = wat::parse_str(r#"(module
///     (import "vudo" "host_time_now" (func (result i64)))
///     (memory (export "memory") 1)
///     (func (export "run") (result i32) i32.const 0))"#).unwrap();
/// let report = validate(&wasm, &Expectations { capabilities: &[], entry: "run" });
/// assert_eq!(report.errors.len(), 1);
/// assert!(report.errors[0].message.contains("needs the capability `sensor_time`"));
///
/// let report = validate(&wasm, &Expectations { capabilities: &[Capability::SensorTime], entry: "run" });
/// assert!(report.is_ok());
/// ```
pub fn validate(wasm: &[u8], expected: &Expectations<'_>) -> Report {
    let mut report = Report::default();
    report.errors.extend(structure_problems(wasm));
    if !report.errors.is_empty() {
        return report;
    }
    let types = match Validator::new_with_features(SANDBOX_FEATURES).validate_all(wasm) {
        Ok(types) => types,
        Err(e) => {
            report.errors.push(invalid_module(wasm, &e));
            return report;
        }
    };
    let types_ref = types.as_ref();
    if types_ref.memory_count() > 0 {
        let memory = types_ref.memory_at(0);
        report.memory_pages = Some((memory.initial, memory.maximum));
    }
    let Some(imports) = module_imports(&types) else {
        report.errors.push(
            Problem::new("the file is a component, not a core module")
                .help("spirits are core WebAssembly modules built for wasm32-unknown-unknown"),
        );
        check_exports(&types, expected, &mut report);
        return report;
    };
    let check = check_imports(&imports, expected.capabilities, Grant::Declared);
    report.errors.extend(check.link);
    report.errors.extend(check.refused);
    report.warnings.extend(check.warnings);
    report.imports = check.imports;
    report.used_capabilities = check.used_capabilities;
    report.undeclared = check.undeclared;
    check_exports(&types, expected, &mut report);
    report
}

/// The most functions a spirit may define. Generous for real spirits (a
/// debug build that pulls in serde_json defines about 3,000), and small
/// enough that compiling a hostile module stays quick: compilation happens
/// before fuel or the timeout can apply.
pub const MAX_FUNCTIONS: u32 = 20_000;

/// The most imports a spirit may declare (the host ABI has a dozen
/// functions; each may be imported under several names).
pub const MAX_IMPORTS: u32 = 1_000;

/// The most bytes a module may have before anything else is checked
/// (64 MiB, the largest wasm a package may hold).
pub const MAX_MODULE_BYTES: usize = 64 << 20;

/// The limits checked before a module is validated or compiled: its size and
/// how many functions and imports it declares, read from the section
/// headers without decoding the code. `validate` reports them, and the
/// sandbox refuses a module that exceeds them before compiling it.
///
/// ```
/// let many = format!("(module {})", "(func)".repeat(20_001));
/// let wasm = wat::parse_str(&many).unwrap();
/// let problems = spirit_build::validate::structure_problems(&wasm);
/// assert_eq!(problems[0].message, "the module defines 20001 functions, more than the 20000 a spirit may have");
/// ```
pub fn structure_problems(wasm: &[u8]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if wasm.len() > MAX_MODULE_BYTES {
        problems.push(Problem::new(format!(
            "the module is {} bytes, more than the {MAX_MODULE_BYTES} a spirit may have",
            wasm.len()
        )));
        return problems;
    }
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        // Malformed modules are reported by full validation, with offsets.
        let Ok(payload) = payload else { break };
        match payload {
            wasmparser::Payload::ImportSection(reader) if reader.count() > MAX_IMPORTS => {
                problems.push(
                    Problem::new(format!(
                        "the module declares {} imports, more than the {MAX_IMPORTS} a spirit may have",
                        reader.count()
                    ))
                    .help("a spirit imports only host functions; import each once"),
                );
            }
            wasmparser::Payload::FunctionSection(reader) if reader.count() > MAX_FUNCTIONS => {
                problems.push(Problem::new(format!(
                    "the module defines {} functions, more than the {MAX_FUNCTIONS} a spirit may have",
                    reader.count()
                )));
            }
            wasmparser::Payload::CodeSectionStart { .. } => break,
            _ => {}
        }
    }
    problems
}

/// Adds to `report` an error for each build-time limit the module exceeds:
/// its size after stripping (`stripped_size`, when known) against
/// `max-size`, and its memory pages against `memory`. The messages give the
/// exact numbers.
///
/// ```
/// use spirit_build::manifest::{MemoryLimits, ModuleLimits};
/// use spirit_build::validate::{check_limits, validate, Expectations};
///
/// let wasm = wat::parse_str(r#"(module (memory (export "memory") 40) (func (export "run")))"#).unwrap();
/// let mut report = validate(&wasm, &Expectations { capabilities: &[], entry: "run" });
/// let limits = ModuleLimits { max_size: 16, memory: MemoryLimits { initial_pages: 32, maximum_pages: 64 } };
/// check_limits(&mut report, &limits, Some(wasm.len() as u64));
/// assert_eq!(report.errors.len(), 2);
/// assert!(report.errors[0].message.starts_with("the stripped module is"));
/// assert!(report.errors[1].message.contains("starts at 40 pages"));
/// ```
pub fn check_limits(report: &mut Report, limits: &ModuleLimits, stripped_size: Option<u64>) {
    if let Some(size) = stripped_size.filter(|s| *s > limits.max_size) {
        report.errors.push(
            Problem::new(format!(
                "the stripped module is {} ({size} bytes), over its `max-size` of {} ({} bytes) by {} bytes",
                Bytes(size),
                Bytes(limits.max_size),
                limits.max_size,
                size - limits.max_size
            ))
            .help(
                "build with `--release` (the template's release profile optimises for size), drop \
                 heavy dependencies (`cargo spirit inspect` shows the largest functions), or raise \
                 `max-size` under [package.metadata.spirit]",
            ),
        );
    }
    let Some((initial, maximum)) = report.memory_pages else {
        return;
    };
    let memory = limits.memory;
    if initial > memory.initial_pages {
        report.errors.push(
            Problem::new(format!(
                "the module's memory starts at {initial} pages ({}), but `memory.initial` allows {} pages ({})",
                Bytes(initial * PAGE_SIZE),
                memory.initial_pages,
                Bytes(memory.initial_pages * PAGE_SIZE)
            ))
            .help(format!(
                "raise it under [package.metadata.spirit]: `memory = {{ initial = {initial}, maximum = {} }}`, \
                 or shrink the stack (rustc gives 1 MiB; `-C link-arg=-zstack-size=65536` in RUSTFLAGS gives 64 KiB)",
                memory.maximum_pages.max(initial)
            )),
        );
    }
    if let Some(maximum) = maximum.filter(|m| *m > memory.maximum_pages) {
        report.errors.push(
            Problem::new(format!(
                "the module declares a maximum memory of {maximum} pages ({}), but `memory.maximum` allows {} pages ({})",
                Bytes(maximum * PAGE_SIZE),
                memory.maximum_pages,
                Bytes(memory.maximum_pages * PAGE_SIZE)
            ))
            .help(format!(
                "raise it under [package.metadata.spirit]: `memory = {{ initial = {}, maximum = {maximum} }}`, \
                 or lower the module's maximum (`-C link-arg=--max-memory=BYTES`)",
                memory.initial_pages
            )),
        );
    }
}

fn invalid_module(wasm: &[u8], e: &wasmparser::BinaryReaderError) -> Problem {
    // Not a module at all: say what it starts with, safely (wasmparser's
    // message prints the bytes as a Rust debug array).
    if wasm.is_empty() {
        return Problem::new("not a WebAssembly module: the file is empty")
            .help("check that the file is a `.wasm` module built for wasm32-unknown-unknown");
    }
    if !wasm.starts_with(b"\0asm") {
        return Problem::new(format!(
            "not a WebAssembly module: it starts with `{}` (expected `\\0asm`)",
            crate::shell::escape_bytes(wasm, 4)
        ))
        .help("check that the file is a `.wasm` module built for wasm32-unknown-unknown");
    }
    // A module the sandbox's feature set rejects may still be valid with
    // every feature on: say which case it is.
    let all = WasmFeatures::all();
    if Validator::new_with_features(all).validate_all(wasm).is_ok() {
        return Problem::new(format!(
            "the module uses a WebAssembly feature the sandbox does not enable: {} (at byte offset {:#x})",
            e.message(),
            e.offset()
        ))
        .help(
            "spirits may use WebAssembly 2.0 (bulk memory, reference types, sign extension, \
             multi-value, SIMD), extended constants and tail calls; threads, shared memory, \
             memory64, GC types such as externref, and exceptions are refused",
        );
    }
    Problem::new(format!(
        "not a valid WebAssembly module: {} (at byte offset {:#x})",
        e.message(),
        e.offset()
    ))
    .help("check that the file is a `.wasm` module built for wasm32-unknown-unknown")
}

fn func_type(types: &Types, ty: EntityType) -> Option<&FuncType> {
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => match &types[id].composite_type.inner {
            wasmparser::CompositeInnerType::Func(f) => Some(f),
            _ => None,
        },
        _ => None,
    }
}

impl FunctionType {
    fn from_wasmparser(ty: &FuncType) -> FunctionType {
        let names = |v: &[wasmparser::ValType]| v.iter().map(ToString::to_string).collect();
        FunctionType {
            params: names(ty.params()),
            results: names(ty.results()),
        }
    }
}

fn entity_kind(ty: EntityType) -> &'static str {
    match ty {
        EntityType::Func(_) | EntityType::FuncExact(_) => "function",
        EntityType::Table(_) => "table",
        EntityType::Memory(_) => "memory",
        EntityType::Global(_) => "global",
        EntityType::Tag(_) => "tag",
    }
}

/// The module's imports in the checker's terms.
fn module_imports(types: &Types) -> Option<Vec<ModuleImport>> {
    let imports = types.as_ref().core_imports()?;
    Some(
        imports
            .map(|(module, name, ty)| ModuleImport {
                module: module.to_owned(),
                name: name.to_owned(),
                kind: match ty {
                    EntityType::Func(_) | EntityType::FuncExact(_) => match func_type(types, ty) {
                        Some(f) => ImportKind::Function(FunctionType::from_wasmparser(f)),
                        None => ImportKind::Other("function"),
                    },
                    other => ImportKind::Other(entity_kind(other)),
                },
            })
            .collect(),
    )
}

/// The one entry rule: an entry takes no arguments and returns nothing or
/// an `i32` status. `None` when `ty` follows it; otherwise the problem, whose
/// help says to export the entry with `#[spirit_sdk::main]` (a caller with
/// better advice replaces it).
///
/// ```
/// use spirit_build::validate::{entry_problem, FunctionType};
/// assert!(entry_problem("run", &FunctionType { params: vec![], results: vec!["i32".into()] }).is_none());
/// let two = FunctionType { params: vec!["i32".into(), "i32".into()], results: vec!["i32".into()] };
/// assert_eq!(entry_problem("add", &two).unwrap().message,
///     "the entry `add` has the signature (i32, i32) -> i32, but an entry takes no arguments and returns nothing or an i32 status");
/// ```
pub fn entry_problem(entry: &str, ty: &FunctionType) -> Option<Problem> {
    let status = matches!(ty.results.as_slice(), [] | [_]) && ty.results.iter().all(|r| r == "i32");
    if ty.params.is_empty() && status {
        return None;
    }
    Some(
        Problem::new(format!(
            "the entry `{entry}` has the signature {ty}, but an entry takes no arguments and returns nothing or an i32 status"
        ))
        .help("export it with `#[spirit_sdk::main]`"),
    )
}

fn check_exports(types: &Types, expected: &Expectations<'_>, report: &mut Report) {
    let Some(exports) = types.as_ref().core_exports() else {
        return;
    };
    let exports: Vec<(&str, EntityType)> = exports.collect();
    match exports.iter().find(|(n, _)| *n == abi::MEMORY_EXPORT) {
        Some((_, EntityType::Memory(_))) => {}
        Some((_, ty)) => report.errors.push(Problem::new(format!(
            "the export `memory` is a {}, not a memory",
            entity_kind(*ty)
        ))),
        None => report.errors.push(
            Problem::new("the module does not export its memory as `memory`")
                .help("rustc exports it for cdylib crates; check that the crate is a `cdylib`"),
        ),
    }
    match exports.iter().find(|(n, _)| *n == expected.entry) {
        Some((_, ty)) => match func_type(types, *ty) {
            Some(f) => report.errors.extend(entry_problem(
                expected.entry,
                &FunctionType::from_wasmparser(f),
            )),
            None => report.errors.push(Problem::new(format!(
                "the export `{}` is a {}, not a function",
                expected.entry,
                entity_kind(*ty)
            ))),
        },
        None => report.errors.push(
            Problem::new(format!(
                "the module does not export the entry function `{}`",
                expected.entry
            ))
            .help(format!(
                "put `#[spirit_sdk::main]` on the spirit's entry function{}",
                if expected.entry == abi::DEFAULT_ENTRY {
                    String::new()
                } else {
                    format!(" with `export = \"{}\"`", expected.entry)
                }
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(wat: &str, caps: &[Capability]) -> Report {
        let wasm = wat::parse_str(wat).unwrap();
        validate(
            &wasm,
            &Expectations {
                capabilities: caps,
                entry: "run",
            },
        )
    }

    const EXPORTS: &str = r#"(memory (export "memory") 1) (func (export "run"))"#;

    #[test]
    fn a_minimal_spirit_passes() {
        let r = check(&format!("(module {EXPORTS})"), &[]);
        assert!(r.is_ok(), "{:?}", r.errors);
    }

    #[test]
    fn reports_every_problem() {
        let r = check(
            r#"(module
                (import "env" "foo" (func))
                (import "vudo" "host_log" (func (param i32) (result i32)))
                (import "vudo" "host_nope" (func))
                (import "vudo" "mem" (memory 1)))"#,
            &[],
        );
        let messages: Vec<&str> = r.errors.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "imports `env.foo`, which is not a host function: spirits may import only from the `vudo` module",
                "imports `vudo.host_log` with the signature (i32) -> i32, but the host defines (i32, i32, i32) -> i32",
                "imports `vudo.host_nope`, which the host does not define",
                "imports memory `vudo.mem`: spirits may import only host functions",
                "the module does not export its memory as `memory`",
                "the module does not export the entry function `run`",
            ]
        );
    }

    #[test]
    fn undeclared_capability_names_the_line_to_add() {
        let r = check(
            &format!(
                r#"(module (import "vudo" "host_storage_write" (func (param i32 i32 i32 i32) (result i32))) {EXPORTS})"#
            ),
            &[Capability::ActuatorLog],
        );
        assert_eq!(r.errors.len(), 1);
        assert_eq!(
            r.errors[0].to_string(),
            "imports `vudo.host_storage_write`, which needs the capability `storage_write`, but the spirit does not declare it\n\
             help: declare it in Cargo.toml, under [package.metadata.spirit]:\n    capabilities = [\"actuator_log\", \"storage_write\"]"
        );
        assert_eq!(
            r.warnings[0].message,
            "capability `actuator_log` is declared but no import uses it"
        );
    }

    #[test]
    fn threads_are_refused_as_a_feature() {
        let r = check(
            r#"(module (memory (export "memory") 1 1 shared) (func (export "run")))"#,
            &[],
        );
        assert!(
            r.errors[0]
                .message
                .starts_with("the module uses a WebAssembly feature the sandbox does not enable"),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn limits_give_exact_numbers() {
        let wasm =
            wat::parse_str(r#"(module (memory (export "memory") 17 2048) (func (export "run")))"#)
                .unwrap();
        let mut r = validate(
            &wasm,
            &Expectations {
                capabilities: &[],
                entry: "run",
            },
        );
        assert_eq!(r.memory_pages, Some((17, Some(2048))));
        let limits = ModuleLimits {
            max_size: 1 << 20,
            memory: crate::manifest::MemoryLimits {
                initial_pages: 16,
                maximum_pages: 1024,
            },
        };
        check_limits(&mut r, &limits, Some((1 << 20) + 5000));
        let messages: Vec<&str> = r.errors.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the stripped module is 1.0 MiB (1053576 bytes), over its `max-size` of 1 MiB (1048576 bytes) by 5000 bytes",
                "the module's memory starts at 17 pages (1.1 MiB), but `memory.initial` allows 16 pages (1 MiB)",
                "the module declares a maximum memory of 2048 pages (128 MiB), but `memory.maximum` allows 1024 pages (64 MiB)",
            ]
        );
    }

    #[test]
    fn what_rustc_emits_by_default_passes() {
        // Bulk memory, reference types, sign extension, non-trapping
        // float-to-int, multi-value and mutable globals: on by default in
        // current rustc's wasm32 target.
        let r = check(
            r#"(module
                (memory (export "memory") 1)
                (table 1 funcref)
                (global $g (mut i32) (i32.const 0))
                (data $d "abc")
                (elem declare func $pair)
                (func $pair (result i32 i32) (i32.const 1) (i32.const 2))
                (func (export "run") (result i32)
                    (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
                    (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))
                    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3))
                    (data.drop $d)
                    (drop (ref.func $pair))
                    (drop (table.size 0))
                    (global.set $g (i32.extend8_s (i32.const 255)))
                    (drop (i32.trunc_sat_f32_s (f32.const 1.5)))
                    (call $pair)
                    i32.add))"#,
            &[],
        );
        assert!(r.is_ok(), "{:?}", r.errors);
    }

    #[test]
    fn garbage_is_not_a_module() {
        let r = validate(
            b"\0asm\x01\0\0\0\x01",
            &Expectations {
                capabilities: &[],
                entry: "run",
            },
        );
        assert!(
            r.errors[0]
                .message
                .starts_with("not a valid WebAssembly module")
        );
    }

    #[test]
    fn wasm_bindgen_gets_its_own_message() {
        let r = check(
            &format!(
                r#"(module (import "__wbindgen_placeholder__" "__wbindgen_describe" (func (param i32))) {EXPORTS})"#
            ),
            &[],
        );
        assert_eq!(r.errors.len(), 1);
        assert!(
            r.errors[0]
                .to_string()
                .contains("wasm-bindgen targets JavaScript hosts")
        );
    }
}
