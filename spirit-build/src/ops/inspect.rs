//! `cargo spirit inspect FILE`: what a module contains.

use std::path::Path;

use crate::Error;
use crate::inspect::Inspection;

/// Reads and inspects the module at `path`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("m.wasm");
/// spirit_build::fs::write_atomic(&path, &wat::parse_str("(module (func (export \"run\")))").unwrap()).unwrap();
/// let inspection = spirit_build::ops::inspect(&path).unwrap();
/// assert_eq!(inspection.exports[0].name, "run");
/// ```
///
/// # Errors
///
/// Fails when the file cannot be read or is not a WebAssembly module.
pub fn inspect(path: &Path) -> Result<Inspection, Error> {
    let wasm = crate::fs::read(path)?;
    Ok(crate::inspect::inspect(&wasm)?)
}
