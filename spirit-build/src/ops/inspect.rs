//! `cargo spirit inspect FILE`: what a module (or a package's) contains.

use std::path::{Path, PathBuf};

use super::target::Target;
use crate::Error;
use crate::inspect::Inspection;
use crate::shell::escape;

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

/// A `.spirit` package, inspected: who and what it is, whether its
/// signature holds, and its module.
#[derive(Debug)]
pub struct PackageInspection {
    /// The package's manifest.
    pub manifest: crate::manifest::Manifest,
    /// The signer, or why the package does not verify (`unsigned` included).
    pub signature: Result<crate::sign::Author, crate::sign::VerifyError>,
    /// The module.
    pub module: Inspection,
}

impl std::fmt::Display for PackageInspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The name and description are the package's text: escaped, so
        // they cannot forge or hide the `caps` and `signed` lines.
        let m = &self.manifest;
        writeln!(f, "spirit  {} v{}", escape(&m.name), m.version)?;
        if let Some(d) = &m.description {
            writeln!(f, "about   {}", escape(d))?;
        }
        let caps: Vec<&str> = m.capabilities.iter().map(|c| c.as_str()).collect();
        writeln!(
            f,
            "caps    {}",
            if caps.is_empty() {
                "none".to_owned()
            } else {
                caps.join(", ")
            }
        )?;
        if !m.network.is_empty() {
            writeln!(f, "net     {}", m.network)?;
        }
        match &self.signature {
            Ok(author) => writeln!(f, "signed  by {author} (verified)")?,
            Err(e) => writeln!(f, "signed  NO: {e}")?,
        }
        write!(f, "\n{}", self.module)
    }
}

/// Reads a `.spirit` package, checks its signature and inspects its module.
/// A package that does not verify is still inspected: the failure is in
/// [`PackageInspection::signature`].
///
/// # Errors
///
/// Fails when the file is not a package cargo-spirit wrote, or its module
/// cannot be parsed.
pub fn inspect_package(path: &Path) -> Result<PackageInspection, Error> {
    let files = crate::package::SpiritFiles::read(path)?;
    let signature = crate::sign::verify(
        &files.manifest_bytes,
        &files.wasm,
        files.signature.as_ref(),
        &crate::sign::Requirements::default(),
    );
    let module = crate::inspect::inspect(&files.wasm)?;
    Ok(PackageInspection {
        manifest: files.manifest,
        signature,
        module,
    })
}

/// What `inspect` found: a module, or a package and its module.
#[derive(Debug)]
pub enum Inspected {
    /// A `.wasm` module.
    Module(Inspection),
    /// A `.spirit` package.
    Package(Box<PackageInspection>),
}

impl Inspected {
    /// The module, on its own or inside the package.
    pub fn module(&self) -> &Inspection {
        match self {
            Inspected::Module(module) => module,
            Inspected::Package(package) => &package.module,
        }
    }
}

impl std::fmt::Display for Inspected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inspected::Module(module) => module.fmt(f),
            Inspected::Package(package) => package.fmt(f),
        }
    }
}

/// Inspects a [`Target::Wasm`] module or a [`Target::Package`].
///
/// # Errors
///
/// Fails for any other target, or as [`inspect`] and [`inspect_package`] do.
pub fn inspect_target(target: &Target) -> Result<Inspected, Error> {
    match target {
        Target::Wasm(path) => inspect(path).map(Inspected::Module),
        Target::Package(path) => inspect_package(path).map(|p| Inspected::Package(Box::new(p))),
        other => Err(other.refuse("inspect", "a `.wasm` file or a `.spirit` package")),
    }
}

/// Inspects every spirit `target` names, each with its path: a module, a
/// package, a build directory (its manifest, signature and module, as a
/// package's), or the crate's build output (built or not, as `sign` and
/// `pack` take it).
///
/// # Errors
///
/// Fails for an installed spirit, for a crate not built yet, or as
/// [`inspect`] and [`inspect_package`] do.
pub fn inspect_targets(target: &Target) -> Result<Vec<(PathBuf, Inspected)>, Error> {
    match target {
        Target::Wasm(path) | Target::Package(path) => {
            Ok(vec![(path.clone(), inspect_target(target)?)])
        }
        Target::Crate(_) | Target::BuildDir(_) => target
            .spirit_paths("inspect")?
            .into_iter()
            .map(|path| {
                let inspected = Inspected::Package(Box::new(inspect_package(&path)?));
                Ok((path, inspected))
            })
            .collect(),
        other => Err(other.refuse(
            "inspect",
            "a `.wasm` file, a `.spirit` package, a build directory or a spirit crate",
        )),
    }
}
