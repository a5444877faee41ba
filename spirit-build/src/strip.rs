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
