//! `cargo spirit build`: compile → validate → strip → hash → manifest.

use std::path::PathBuf;

use crate::compile::{self, CompileOptions};
use crate::manifest::{self, BuildInfo, Manifest, WasmInfo};
use crate::project::{self, Selection, SpiritPackage};
use crate::strip::{self, StripOptions};
use crate::units::Bytes;
use crate::validate::{self, Expectations, ValidationError};
use crate::{Error, Shell, toolchain};

/// What to build and how.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Which packages.
    pub selection: Selection,
    /// How to run cargo.
    pub compile: CompileOptions,
    /// What stripping keeps.
    pub strip: StripOptions,
}

/// A spirit the build produced.
#[derive(Clone, Debug)]
pub struct BuiltSpirit {
    /// Its manifest, as written.
    pub manifest: Manifest,
    /// The directory holding the stripped wasm and the manifest:
    /// `<target>/spirit/<profile>/<name>/`.
    pub dir: PathBuf,
    /// The stripped module.
    pub wasm_path: PathBuf,
    /// `manifest.toml`.
    pub manifest_path: PathBuf,
    /// The module cargo produced, before stripping.
    pub original_path: PathBuf,
    /// Its size before stripping.
    pub original_size: u64,
}

/// Builds the selected spirits and writes each one's stripped module and
/// manifest under `<target>/spirit/<profile>/<name>/`.
///
/// # Errors
///
/// Fails on the first spirit that does not compile or validate; every
/// validation problem of that spirit is in the error.
pub fn build(shell: &Shell, options: &BuildOptions) -> Result<Vec<BuiltSpirit>, Error> {
    let project = project::load(&options.selection)?;
    let artifacts = compile::compile(
        shell,
        &project.workspace_root,
        &project.spirits,
        &options.compile,
    )?;
    let target_dir = options
        .compile
        .target_dir
        .clone()
        .unwrap_or(project.target_directory.clone());
    let out_root = target_dir
        .join("spirit")
        .join(options.compile.profile_dir());
    let rustc = toolchain::rustc_version(&project.workspace_root);
    let mut built = Vec::new();
    for (spirit, artifact) in project.spirits.iter().zip(&artifacts) {
        let original = crate::fs::read(&artifact.path)?;
        let dir = out_root.join(&spirit.name);
        let build_info = BuildInfo {
            tool: crate::VERSION.to_owned(),
            rustc: rustc.clone(),
            target: toolchain::WASM_TARGET.to_owned(),
            profile: options.compile.profile_name().to_owned(),
        };
        let mut spirit = post_process(shell, spirit, &original, &dir, build_info, options.strip)?;
        spirit.original_path.clone_from(&artifact.path);
        built.push(spirit);
    }
    Ok(built)
}

/// Validates, strips, hashes and describes one compiled module, writing the
/// stripped wasm and its manifest into `dir`.
fn post_process(
    shell: &Shell,
    spirit: &SpiritPackage,
    original: &[u8],
    dir: &std::path::Path,
    build: BuildInfo,
    strip_options: StripOptions,
) -> Result<BuiltSpirit, Error> {
    let expected = Expectations {
        capabilities: &spirit.config.capabilities,
        entry: &spirit.config.entry,
    };
    let report = validate::validate(original, &expected);
    for warning in &report.warnings {
        shell.warn(format_args!("spirit `{}`: {warning}", spirit.name));
    }
    if !report.is_ok() {
        return Err(ValidationError {
            subject: format!("spirit `{}`", spirit.name),
            errors: report.errors,
        }
        .into());
    }
    let stripped = strip::strip(original, strip_options)?;
    let file = format!("{}.wasm", spirit.name);
    shell.status(
        "Stripped",
        format_args!(
            "{file} {} → {} (-{}%)",
            Bytes(original.len() as u64),
            Bytes(stripped.len() as u64),
            100 - (stripped.len() * 100).div_ceil(original.len().max(1))
        ),
    );
    let manifest = Manifest {
        name: spirit.name.clone(),
        version: spirit.version.clone(),
        description: spirit.description.clone(),
        authors: spirit.authors.clone(),
        license: spirit.license.clone(),
        repository: spirit.repository.clone(),
        entry: spirit.config.entry.clone(),
        capabilities: spirit.config.capabilities.clone(),
        wasm: WasmInfo {
            file: file.clone(),
            size: stripped.len() as u64,
            blake3: blake3::hash(&stripped).to_hex().to_string(),
        },
        build,
    };
    crate::fs::create_dir_all(dir)?;
    let wasm_path = dir.join(&file);
    let manifest_path = dir.join(manifest::FILE_NAME);
    // The wasm first: a manifest never names bytes that are not there yet.
    crate::fs::write_atomic(&wasm_path, &stripped)?;
    crate::fs::write_atomic(&manifest_path, manifest.to_toml().as_bytes())?;
    shell.status(
        "Built",
        format_args!(
            "spirit `{}` v{} in {}",
            spirit.name,
            spirit.version,
            dir.display()
        ),
    );
    Ok(BuiltSpirit {
        manifest,
        dir: dir.to_owned(),
        wasm_path,
        manifest_path,
        original_path: PathBuf::new(),
        original_size: original.len() as u64,
    })
}
