//! Looking inside a module, as twiggy and cargo-bloat do: its imports and
//! the capability each needs, its exports, the size of each section and the
//! largest functions (named from the name section when there is one).

use std::fmt;

use spirit_sdk::abi::{self, Capability};
use wasmparser::{ExternalKind, KnownCustom, Name, Parser, Payload, TypeRef};

use crate::shell::escape;
use crate::units::Bytes;

/// A capability in JSON: its manifest name.
fn capability_name<S: serde::Serializer>(c: &Option<Capability>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_some(&c.map(Capability::as_str))
}

/// How many functions [`Inspection::largest_functions`] keeps.
pub const LARGEST: usize = 10;

/// What a module contains.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    /// The module's size in bytes.
    pub size: u64,
    /// Its blake3 hash, in hex.
    pub blake3: String,
    /// Its imports, in order.
    pub imports: Vec<ImportInfo>,
    /// Its exports, in order.
    pub exports: Vec<ExportInfo>,
    /// Its memory, in pages: initial and declared maximum.
    pub memory_pages: Option<(u64, Option<u64>)>,
    /// Every section, in order, with the size of its contents.
    pub sections: Vec<SectionSize>,
    /// The number of functions the module defines.
    pub function_count: usize,
    /// The [`LARGEST`] largest function bodies, largest first.
    pub largest_functions: Vec<FunctionSize>,
}

/// One import.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportInfo {
    /// The import module, such as `vudo`.
    pub module: String,
    /// The imported name.
    pub name: String,
    /// `function`, `memory`, `table`, `global` or `tag`.
    pub kind: &'static str,
    /// The capability a host function needs (`None` for one that needs
    /// none, or for an import the host does not define).
    #[serde(serialize_with = "capability_name")]
    pub capability: Option<Capability>,
    /// Whether the host defines a function by that name.
    pub known: bool,
}

/// One export.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExportInfo {
    /// The exported name.
    pub name: String,
    /// `function`, `memory`, `table`, `global` or `tag`.
    pub kind: &'static str,
}

/// The contents of one section.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SectionSize {
    /// `type`, `import`, `code`, …; a custom section is `custom "NAME"`.
    pub name: String,
    /// Bytes of content (the id and length header not counted).
    pub size: u64,
}

/// One function body.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FunctionSize {
    /// Its index in the function index space (imports first).
    pub index: u32,
    /// Its name from the name section, else its export name, else `func[N]`.
    pub name: String,
    /// The size of its body in bytes.
    pub size: u64,
}

/// Why a module could not be inspected.
#[derive(Debug, thiserror::Error)]
#[error(
    "not a WebAssembly module: {0}\nhelp: inspect a `.wasm` file, such as one `cargo spirit build` wrote"
)]
pub struct InspectError(String);

/// Reads what `wasm` contains.
///
/// ```
/// let wasm = wat::parse_str(r#"(module
///     (import "vudo" "host_time_now" (func (result i64)))
///     (memory (export "memory") 1)
///     (func $big (export "run") (drop (call 0)) (drop (call 0)))
///     (func $small))"#).unwrap();
/// let inspection = spirit_build::inspect::inspect(&wasm).unwrap();
/// assert_eq!(inspection.imports[0].capability.unwrap().as_str(), "sensor_time");
/// assert_eq!(inspection.largest_functions[0].name, "big");
/// assert_eq!(inspection.function_count, 2);
/// ```
///
/// # Errors
///
/// Fails when `wasm` is not a module wasmparser can read.
pub fn inspect(wasm: &[u8]) -> Result<Inspection, InspectError> {
    let error = |e: wasmparser::BinaryReaderError| InspectError(e.to_string());
    if !wasm.starts_with(b"\0asm") {
        return Err(InspectError(format!(
            "it starts with `{}` (expected the WebAssembly magic bytes `\\0asm`)",
            crate::shell::escape_bytes(wasm, 4)
        )));
    }
    let mut inspection = Inspection {
        size: wasm.len() as u64,
        blake3: blake3::hash(wasm).to_hex().to_string(),
        imports: Vec::new(),
        exports: Vec::new(),
        memory_pages: None,
        sections: Vec::new(),
        function_count: 0,
        largest_functions: Vec::new(),
    };
    let mut imported_functions = 0u32;
    let mut bodies: Vec<FunctionSize> = Vec::new();
    let mut names: Vec<(u32, String)> = Vec::new();
    let mut export_names: Vec<(u32, String)> = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(error)?;
        if let Some((id, range)) = payload.as_section() {
            let name = match &payload {
                Payload::CustomSection(reader) => format!("custom \"{}\"", reader.name()),
                _ => section_name(id).to_owned(),
            };
            inspection.sections.push(SectionSize {
                name,
                size: range.len() as u64,
            });
        }
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(error)?;
                    let is_function = matches!(import.ty, TypeRef::Func(_));
                    if is_function {
                        imported_functions += 1;
                    }
                    let host = is_function
                        .then(|| abi::host_import(import.module, import.name))
                        .flatten();
                    inspection.imports.push(ImportInfo {
                        module: import.module.to_owned(),
                        name: import.name.to_owned(),
                        kind: type_kind(&import.ty),
                        capability: host.and_then(|f| f.capability),
                        known: host.is_some(),
                    });
                    if let TypeRef::Memory(memory) = import.ty {
                        inspection.memory_pages = Some((memory.initial, memory.maximum));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                if let Some(memory) = reader.into_iter().next() {
                    let memory = memory.map_err(error)?;
                    inspection
                        .memory_pages
                        .get_or_insert((memory.initial, memory.maximum));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(error)?;
                    if matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        export_names.push((export.index, export.name.to_owned()));
                    }
                    inspection.exports.push(ExportInfo {
                        name: export.name.to_owned(),
                        kind: export_kind(export.kind),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = imported_functions + bodies.len() as u32;
                bodies.push(FunctionSize {
                    index,
                    name: String::new(),
                    size: body.range().len() as u64,
                });
            }
            Payload::CustomSection(reader) => {
                // A malformed name section only costs us the names.
                if let KnownCustom::Name(reader) = reader.as_known() {
                    for name in reader.into_iter().flatten() {
                        if let Name::Function(map) = name {
                            // rustc-demangle: wasm-ld leaves Rust's symbol
                            // names mangled in the name section.
                            names.extend(map.into_iter().flatten().map(|n| {
                                (n.index, format!("{:#}", rustc_demangle::demangle(n.name)))
                            }));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    inspection.function_count = bodies.len();
    bodies.sort_by(|a, b| b.size.cmp(&a.size).then(a.index.cmp(&b.index)));
    bodies.truncate(LARGEST);
    for body in &mut bodies {
        let find = |list: &[(u32, String)]| {
            list.iter()
                .find(|(i, _)| *i == body.index)
                .map(|(_, n)| n.clone())
        };
        body.name = find(&names)
            .or_else(|| find(&export_names))
            .unwrap_or_else(|| format!("func[{}]", body.index));
    }
    inspection.largest_functions = bodies;
    Ok(inspection)
}

fn section_name(id: u8) -> &'static str {
    match id {
        0 => "custom",
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "data count",
        13 => "tag",
        _ => "unknown",
    }
}

fn type_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) => "function",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        _ => "tag",
    }
}

fn export_kind(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "function",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

/// The width of the longest bar in the chart.
const BAR_WIDTH: u64 = 30;

impl fmt::Display for Inspection {
    /// The text report `cargo spirit inspect` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = |n: u64| n as f64 * 100.0 / self.size.max(1) as f64;
        writeln!(f, "size    {} ({} bytes)", Bytes(self.size), self.size)?;
        writeln!(f, "blake3  {}", self.blake3)?;
        match self.memory_pages {
            Some((initial, Some(max))) => {
                writeln!(f, "memory  {initial} pages initial, {max} maximum")?
            }
            Some((initial, None)) => writeln!(f, "memory  {initial} pages initial, no maximum")?,
            None => writeln!(f, "memory  none")?,
        }

        // Every name below comes from the module, which a hostile author
        // fills with escape sequences: each is escaped, and the columns are
        // measured on what is printed.
        let width_of = |s: &str| s.chars().count();
        writeln!(f, "\nimports ({})", self.imports.len())?;
        let imports: Vec<String> = self
            .imports
            .iter()
            .map(|i| format!("{}.{}", escape(&i.module), escape(&i.name)))
            .collect();
        let width = imports.iter().map(|q| width_of(q)).max().unwrap_or(0);
        for (import, qualified) in self.imports.iter().zip(&imports) {
            let needs = match (import.kind, import.known, import.capability) {
                (_, true, Some(cap)) => format!("needs `{cap}`"),
                (_, true, None) => "needs no capability".to_owned(),
                ("function", false, _) => "not a host function".to_owned(),
                (kind, false, _) => format!("{kind} import (refused)"),
            };
            writeln!(f, "  {qualified:<width$}  {needs}")?;
        }

        writeln!(f, "\nexports ({})", self.exports.len())?;
        let exports: Vec<String> = self
            .exports
            .iter()
            .map(|e| escape(&e.name).to_string())
            .collect();
        let width = exports.iter().map(|e| width_of(e)).max().unwrap_or(0);
        for (export, name) in self.exports.iter().zip(&exports) {
            writeln!(f, "  {name:<width$}  {}", export.kind)?;
        }

        writeln!(f, "\nsections")?;
        let sections: Vec<String> = self
            .sections
            .iter()
            .map(|s| escape(&s.name).to_string())
            .collect();
        let width = sections.iter().map(|s| width_of(s)).max().unwrap_or(0);
        for (section, name) in self.sections.iter().zip(&sections) {
            writeln!(
                f,
                "  {name:<width$}  {:>10}  {:>5.1}%",
                Bytes(section.size).to_string(),
                percent(section.size)
            )?;
        }

        writeln!(
            f,
            "\nlargest functions ({} of {})",
            self.largest_functions.len(),
            self.function_count
        )?;
        let largest = self.largest_functions.first().map_or(1, |b| b.size.max(1));
        for function in &self.largest_functions {
            let bar = (function.size * BAR_WIDTH).div_ceil(largest) as usize;
            writeln!(
                f,
                "  {:>10}  {:>5.1}%  {:<30}  {}",
                Bytes(function.size).to_string(),
                percent(function.size),
                "█".repeat(bar),
                escape(&function.name)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_shows_capabilities_sections_and_a_chart() {
        let wasm = wat::parse_str(
            r#"(module
                (import "vudo" "host_log" (func (param i32 i32 i32) (result i32)))
                (import "env" "mem" (memory 2))
                (func $spin (export "run") (result i32)
                    (drop (i32.add (i32.const 1) (i32.const 2)))
                    (drop (i32.add (i32.const 1) (i32.const 2)))
                    i32.const 0)
                (func $tiny))"#,
        )
        .unwrap();
        let text = inspect(&wasm).unwrap().to_string();
        assert!(
            text.contains("  vudo.host_log  needs `actuator_log`\n"),
            "{text}"
        );
        assert!(
            text.contains("  env.mem        memory import (refused)\n"),
            "{text}"
        );
        assert!(
            text.contains("memory  2 pages initial, no maximum\n"),
            "{text}"
        );
        assert!(text.contains("  code "), "{text}");
        assert!(text.contains("custom \"name\""), "{text}");
        let chart: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("largest functions"))
            .collect();
        assert_eq!(chart[0], "largest functions (2 of 2)");
        assert!(chart[1].ends_with(" spin"), "{text}");
        assert!(chart[1].contains(&"█".repeat(30)), "{text}");
        assert!(chart[2].ends_with(" tiny"), "{text}");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(inspect(b"not wasm").is_err());
    }
}
