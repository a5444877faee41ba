//! Finding spirits: which packages of a cargo workspace are spirits, and
//! what their `[package.metadata.spirit]` tables say.
//!
//! A spirit is a package with a `cdylib` library target and a
//! `[package.metadata.spirit]` table. The table is read from `Cargo.toml`
//! itself (not from `cargo metadata`'s JSON) so that every error can point
//! at the file and line of the offending key.

mod config;

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package};

pub use crate::options::Selection;
use crate::suggest::did_you_mean;

pub use config::{ConfigError, DependencyReq, SpiritConfig, parse_config};

/// A spirit package found in the workspace.
#[derive(Clone, Debug)]
pub struct SpiritPackage {
    /// The package name, which is also the spirit's name.
    pub name: String,
    /// The package version.
    pub version: cargo_metadata::semver::Version,
    /// `package.description`.
    pub description: Option<String>,
    /// `package.license`.
    pub license: Option<String>,
    /// `package.authors`.
    pub authors: Vec<String>,
    /// `package.repository`.
    pub repository: Option<String>,
    /// The package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The `cdylib` target's name (the `.wasm` file cargo writes is named after it).
    pub lib_name: String,
    /// The `[package.metadata.spirit]` table.
    pub config: SpiritConfig,
}

/// The workspace a build works in.
#[derive(Clone, Debug)]
pub struct Project {
    /// The workspace root directory.
    pub workspace_root: PathBuf,
    /// Cargo's target directory.
    pub target_directory: PathBuf,
    /// The selected spirit packages, in workspace order.
    pub spirits: Vec<SpiritPackage>,
}

/// Why the workspace or a spirit's configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// `cargo metadata` failed.
    #[error("could not read the cargo workspace: {0}")]
    Metadata(#[from] cargo_metadata::Error),
    /// No `Cargo.toml` in this directory or above it.
    #[error("could not find `Cargo.toml` in `{}` or any parent directory\n\
             help: run this inside a spirit crate, pass `--manifest-path`, or create one with `cargo spirit new NAME`", .0.display())]
    NoManifest(PathBuf),
    /// A selected package is not a spirit.
    #[error(
        "package `{name}` is not a spirit: {reason}\n\
             help: a spirit has `crate-type = [\"cdylib\"]` under `[lib]` and a `[package.metadata.spirit]` table \
             (see `cargo spirit new` for one)"
    )]
    NotASpirit {
        /// The package.
        name: String,
        /// What is missing.
        reason: &'static str,
    },
    /// `-p NAME` names no package of the workspace.
    #[error("package `{name}` is not in the workspace at `{}`\nhelp: {help}", root.display())]
    NoSuchPackage {
        /// The name given.
        name: String,
        /// The workspace root.
        root: PathBuf,
        /// The packages there are.
        help: String,
    },
    /// A workspace without any spirit in it.
    #[error("no spirit in the workspace at `{}`\n\
             help: a spirit has `crate-type = [\"cdylib\"]` under `[lib]` and a `[package.metadata.spirit]` table", .0.display())]
    NoSpirits(PathBuf),
    /// `Cargo.toml` could not be read.
    #[error(transparent)]
    Io(#[from] crate::fs::FsError),
    /// `[package.metadata.spirit]` has a bad key or value.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Reads the workspace and selects its spirits, as cargo selects packages:
/// `-p` names them; `--workspace` takes every spirit member but the
/// `--exclude`d ones; otherwise the package whose `Cargo.toml` was given or
/// found, or every spirit of a virtual workspace.
///
/// # Errors
///
/// Fails when there is no workspace, when a named package does not exist or
/// is not a spirit, or when a spirit's `[package.metadata.spirit]` is
/// invalid.
pub fn load(selection: &Selection) -> Result<Project, ProjectError> {
    load_at(selection, selection_manifest(selection)?)
}

/// The `Cargo.toml` a selection starts from: `--manifest-path`, else the
/// nearest one at or above the current directory.
///
/// # Errors
///
/// Fails when there is none.
pub fn selection_manifest(selection: &Selection) -> Result<PathBuf, ProjectError> {
    match &selection.manifest_path {
        Some(path) => Ok(path.clone()),
        None => find_manifest(&std::env::current_dir().map_err(|e| {
            crate::fs::FsError::new("read the current directory", Path::new("."), e)
        })?),
    }
}

/// The package name in `manifest_path` when, read on its own, it looks like
/// a spirit (a `[package]` with a `cdylib` `[lib]` and a valid
/// `[package.metadata.spirit]` table): the build may then start cargo on it
/// while `cargo metadata` confirms. `None` when it does not, or cannot tell.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("Cargo.toml");
/// let toml = "[package]\nname = \"hi\"\n[lib]\ncrate-type = [\"cdylib\"]\n[package.metadata.spirit]\n";
/// spirit_build::fs::write_atomic(&path, toml.as_bytes()).unwrap();
/// assert_eq!(spirit_build::project::spirit_name_hint(&path).as_deref(), Some("hi"));
/// ```
pub fn spirit_name_hint(manifest_path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest_path).ok()?;
    // An invalid table is reported before anything is compiled.
    parse_config(manifest_path, &text).ok()?;
    let doc = toml_edit::Document::parse(text).ok()?;
    let package = doc.get("package")?;
    package.get("metadata")?.get("spirit")?;
    let cdylib = doc
        .get("lib")?
        .get("crate-type")?
        .as_array()?
        .iter()
        .any(|t| t.as_str() == Some("cdylib"));
    cdylib.then(|| package.get("name")?.as_str().map(str::to_owned))?
}

/// [`load`], from a `Cargo.toml` already found with [`selection_manifest`].
///
/// # Errors
///
/// As [`load`].
pub fn load_at(selection: &Selection, manifest_path: PathBuf) -> Result<Project, ProjectError> {
    let metadata = MetadataCommand::new()
        .cargo_path(crate::toolchain::cargo())
        .manifest_path(&manifest_path)
        .no_deps()
        .exec()?;
    let manifest_path = manifest_path.canonicalize().unwrap_or(manifest_path);
    let spirits = select(&metadata, &manifest_path, selection)?;
    Ok(Project {
        workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
        target_directory: metadata.target_directory.clone().into_std_path_buf(),
        spirits,
    })
}

fn matches_spec(package: &Package, spec: &str) -> bool {
    match spec.split_once('@') {
        Some((name, version)) => {
            package.name.as_str() == name && package.version.to_string() == version
        }
        None => package.name.as_str() == spec,
    }
}

fn is_spirit(package: &Package) -> bool {
    package.metadata.get("spirit").is_some() && cdylib_name(package).is_some()
}

fn select(
    metadata: &Metadata,
    manifest_path: &Path,
    selection: &Selection,
) -> Result<Vec<SpiritPackage>, ProjectError> {
    let members = metadata.workspace_packages();
    let root = || metadata.workspace_root.clone().into_std_path_buf();
    if !selection.packages.is_empty() {
        let mut spirits: Vec<SpiritPackage> = Vec::new();
        for spec in &selection.packages {
            let package = members
                .iter()
                .find(|p| matches_spec(p, spec))
                .ok_or_else(|| {
                    let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                    ProjectError::NoSuchPackage {
                        name: spec.clone(),
                        root: root(),
                        help: did_you_mean(spec, &names),
                    }
                })?;
            if !spirits.iter().any(|s| s.name == package.name.as_str()) {
                spirits.push(spirit_package(package)?);
            }
        }
        return Ok(spirits);
    }
    if selection.workspace {
        for spec in &selection.exclude {
            if !members.iter().any(|p| matches_spec(p, spec)) {
                let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                return Err(ProjectError::NoSuchPackage {
                    name: spec.clone(),
                    root: root(),
                    help: format!(
                        "`--exclude` names workspace members; {}",
                        did_you_mean(spec, &names)
                    ),
                });
            }
        }
        let spirits = members
            .iter()
            .filter(|p| is_spirit(p))
            .filter(|p| !selection.exclude.iter().any(|spec| matches_spec(p, spec)))
            .map(|p| spirit_package(p))
            .collect::<Result<Vec<_>, _>>()?;
        if spirits.is_empty() {
            return Err(ProjectError::NoSpirits(root()));
        }
        return Ok(spirits);
    }
    if let Some(package) = members
        .iter()
        .find(|p| p.manifest_path.as_std_path() == manifest_path)
    {
        return Ok(vec![spirit_package(package)?]);
    }
    // A virtual manifest: every member that is a spirit.
    let mut spirits = Vec::new();
    for package in members {
        if is_spirit(package) {
            spirits.push(spirit_package(package)?);
        }
    }
    if spirits.is_empty() {
        return Err(ProjectError::NoSpirits(
            metadata.workspace_root.clone().into_std_path_buf(),
        ));
    }
    Ok(spirits)
}

fn cdylib_name(package: &Package) -> Option<String> {
    package
        .targets
        .iter()
        .find(|t| t.crate_types.contains(&cargo_metadata::CrateType::CDyLib))
        .map(|t| t.name.replace('-', "_"))
}

fn spirit_package(package: &Package) -> Result<SpiritPackage, ProjectError> {
    let lib_name = cdylib_name(package).ok_or_else(|| ProjectError::NotASpirit {
        name: package.name.to_string(),
        reason: "it has no `cdylib` library target",
    })?;
    if package.metadata.get("spirit").is_none() {
        return Err(ProjectError::NotASpirit {
            name: package.name.to_string(),
            reason: "it has no `[package.metadata.spirit]` table",
        });
    }
    let manifest_path = package.manifest_path.clone().into_std_path_buf();
    let text = String::from_utf8_lossy(&crate::fs::read(&manifest_path)?).into_owned();
    let config = parse_config(&manifest_path, &text)?;
    Ok(SpiritPackage {
        name: package.name.to_string(),
        version: package.version.clone(),
        description: package.description.clone(),
        license: package.license.clone(),
        authors: package.authors.clone(),
        repository: package.repository.clone(),
        manifest_path,
        lib_name,
        config,
    })
}

/// The nearest `Cargo.toml` at or above `dir`.
fn find_manifest(dir: &Path) -> Result<PathBuf, ProjectError> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
        .ok_or_else(|| ProjectError::NoManifest(dir.to_owned()))
}
