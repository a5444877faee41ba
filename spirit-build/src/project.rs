//! Finding spirits: which packages of a cargo workspace are spirits, and
//! what their `[package.metadata.spirit]` tables say.
//!
//! A spirit is a package with a `cdylib` library target and a
//! `[package.metadata.spirit]` table. The table is read from `Cargo.toml`
//! itself (not from `cargo metadata`'s JSON) so that every error can point
//! at the file and line of the offending key.

use std::fmt;
use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package};
use spirit_sdk::abi::Capability;

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

/// What `[package.metadata.spirit]` declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiritConfig {
    /// The capabilities the spirit asks for, sorted and without duplicates.
    pub capabilities: Vec<Capability>,
    /// The exported function the host calls (default `run`).
    pub entry: String,
}

impl Default for SpiritConfig {
    fn default() -> SpiritConfig {
        SpiritConfig {
            capabilities: Vec::new(),
            entry: spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
        }
    }
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

/// A bad key or value in `[package.metadata.spirit]`, with where it is.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The `Cargo.toml` it is in.
    pub path: PathBuf,
    /// 1-based line of the key, when known.
    pub line: Option<usize>,
    /// The full key, such as `package.metadata.spirit.capabilities`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` in {}", self.key, self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

/// Which packages to build.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--manifest-path`: the `Cargo.toml` to start from (default: found
    /// from the current directory upwards).
    pub manifest_path: Option<PathBuf>,
}

/// Reads the workspace and selects its spirits: the package whose
/// `Cargo.toml` was given or found, or every spirit of a virtual workspace.
///
/// # Errors
///
/// Fails when there is no workspace, when the selected package is not a
/// spirit, or when a spirit's `[package.metadata.spirit]` is invalid.
pub fn load(selection: &Selection) -> Result<Project, ProjectError> {
    let manifest_path = match &selection.manifest_path {
        Some(path) => path.clone(),
        None => find_manifest(&std::env::current_dir().map_err(|e| {
            crate::fs::FsError::new("read the current directory", Path::new("."), e)
        })?)?,
    };
    let metadata = MetadataCommand::new()
        .cargo_path(crate::toolchain::cargo())
        .manifest_path(&manifest_path)
        .no_deps()
        .exec()?;
    let manifest_path = manifest_path.canonicalize().unwrap_or(manifest_path);
    let spirits = select(&metadata, &manifest_path)?;
    Ok(Project {
        workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
        target_directory: metadata.target_directory.clone().into_std_path_buf(),
        spirits,
    })
}

fn select(metadata: &Metadata, manifest_path: &Path) -> Result<Vec<SpiritPackage>, ProjectError> {
    let members = metadata.workspace_packages();
    if let Some(package) = members
        .iter()
        .find(|p| p.manifest_path.as_std_path() == manifest_path)
    {
        return Ok(vec![spirit_package(package)?]);
    }
    // A virtual manifest: every member that is a spirit.
    let mut spirits = Vec::new();
    for package in members {
        if package.metadata.get("spirit").is_some() && cdylib_name(package).is_some() {
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

const TABLE: &str = "package.metadata.spirit";
const KEYS: &[&str] = &["capabilities", "entry"];

/// Parses `[package.metadata.spirit]` out of a `Cargo.toml`'s text.
///
/// ```
/// use spirit_build::project::parse_config;
/// use spirit_sdk::abi::Capability;
///
/// let toml = "[package]\nname = \"hello\"\n\n[package.metadata.spirit]\ncapabilities = [\"actuator_log\"]\n";
/// let config = parse_config("Cargo.toml".as_ref(), toml).unwrap();
/// assert_eq!(config.capabilities, [Capability::ActuatorLog]);
///
/// let bad = "[package.metadata.spirit]\ncapabilites = []\n";
/// let error = parse_config("Cargo.toml".as_ref(), bad).unwrap_err();
/// assert_eq!(error.line, Some(2));
/// assert!(error.help.unwrap().contains("did you mean `capabilities`"));
/// ```
///
/// # Errors
///
/// Names the key, the file and line, and the accepted values.
pub fn parse_config(path: &Path, text: &str) -> Result<SpiritConfig, ConfigError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| ConfigError {
        path: path.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        key: TABLE.to_owned(),
        message: format!("invalid TOML: {}", e.message()),
        help: None,
    })?;
    let error =
        |key: &str, span: Option<std::ops::Range<usize>>, message: String, help: Option<String>| {
            ConfigError {
                path: path.to_owned(),
                line: span.map(|s| line_of(text, s.start)),
                key: format!("{TABLE}.{key}"),
                message,
                help,
            }
        };
    let mut config = SpiritConfig::default();
    let Some(table) = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("spirit"))
    else {
        return Ok(config);
    };
    let Some(table) = table.as_table_like() else {
        return Err(error(
            "",
            table.span(),
            "must be a table".to_owned(),
            Some(format!("write it as `[{TABLE}]`")),
        ));
    };
    for (key, item) in table.iter() {
        let span = table
            .key(key)
            .and_then(|k| k.span())
            .or_else(|| item.span());
        match key {
            "capabilities" => {
                let Some(array) = item.as_array() else {
                    return Err(error(
                        key,
                        span,
                        "must be an array of capability names".to_owned(),
                        Some("for example `capabilities = [\"actuator_log\"]`".to_owned()),
                    ));
                };
                for value in array.iter() {
                    let name = value.as_str().ok_or_else(|| {
                        error(
                            key,
                            value.span().or(span.clone()),
                            "must contain only strings".to_owned(),
                            None,
                        )
                    })?;
                    let capability = Capability::from_name(name).ok_or_else(|| {
                        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                        error(
                            key,
                            value.span().or(span.clone()),
                            format!("unknown capability `{name}`"),
                            Some(did_you_mean(name, &names)),
                        )
                    })?;
                    config.capabilities.push(capability);
                }
                config.capabilities.sort();
                config.capabilities.dedup();
            }
            "entry" => {
                let name = item.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
                    error(
                        key,
                        span.clone(),
                        "must be the name of an exported function".to_owned(),
                        Some("for example `entry = \"run\"`".to_owned()),
                    )
                })?;
                config.entry = name.to_owned();
            }
            _ => {
                return Err(error(
                    key,
                    span,
                    "unknown key".to_owned(),
                    Some(did_you_mean(key, KEYS)),
                ));
            }
        }
    }
    Ok(config)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// "did you mean `x`?" when one of `accepted` is close, then the full list.
pub(crate) fn did_you_mean(given: &str, accepted: &[&str]) -> String {
    let closest = accepted
        .iter()
        .map(|a| (edit_distance(given, a), a))
        .filter(|(d, a)| *d <= 3.max(a.len() / 3))
        .min();
    let list = accepted
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest {
        Some((_, a)) => format!("did you mean `{a}`? accepted: {list}"),
        None => format!("accepted: {list}"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(table: &str) -> Result<SpiritConfig, ConfigError> {
        let text = format!("[package]\nname = \"x\"\n\n[package.metadata.spirit]\n{table}");
        parse_config(Path::new("Cargo.toml"), &text)
    }

    #[test]
    fn defaults_when_empty() {
        assert_eq!(parse("").unwrap(), SpiritConfig::default());
    }

    #[test]
    fn unknown_capability_suggests_the_closest() {
        let e = parse("capabilities = [\"actuator_logs\"]\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.message, "unknown capability `actuator_logs`");
        assert!(e.help.unwrap().starts_with("did you mean `actuator_log`?"));
    }

    #[test]
    fn entry_must_be_a_string() {
        let e = parse("entry = 3\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.entry");
    }

    #[test]
    fn capabilities_are_sorted_and_deduplicated() {
        let c = parse("capabilities = [\"storage_read\", \"actuator_log\", \"storage_read\"]\n")
            .unwrap();
        assert_eq!(
            c.capabilities,
            [Capability::ActuatorLog, Capability::StorageRead]
        );
    }
}
