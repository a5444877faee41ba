//! Stripping a spirit with `walrus`: names, producers, DWARF and every other
//! custom section go, and so do functions nothing reaches.

/// Exports wasm-ld adds that no host uses.
const LINKER_EXPORTS: &[&str] = &["__data_end", "__heap_base", "__dso_handle", "__global_base"];

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
