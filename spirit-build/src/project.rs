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
use toml_edit::{Item, TableLike};

use crate::manifest::{MemoryLimits, ModuleLimits, Pricing, RunDefaults};

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
    /// `max-size` and `memory`: what the module is checked against.
    pub limits: ModuleLimits,
    /// `run`: the limits a run uses by default.
    pub run: RunDefaults,
    /// `pricing`, when set.
    pub pricing: Option<Pricing>,
}

impl Default for SpiritConfig {
    fn default() -> SpiritConfig {
        SpiritConfig {
            capabilities: Vec::new(),
            entry: spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
            limits: ModuleLimits::default(),
            run: RunDefaults::default(),
            pricing: None,
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

/// Which packages to build, as cargo's package-selection flags say.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--manifest-path`: the `Cargo.toml` to start from (default: found
    /// from the current directory upwards).
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package`: these packages (by name, or `name@version`), each
    /// of which must be a spirit.
    pub packages: Vec<String>,
    /// `--workspace`: every spirit of the workspace (other members are
    /// skipped).
    pub workspace: bool,
    /// `--exclude`: with `workspace`, leave these out.
    pub exclude: Vec<String>,
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

const TABLE: &str = "package.metadata.spirit";
const KEYS: &[&str] = &[
    "capabilities",
    "entry",
    "max-size",
    "memory",
    "pricing",
    "run",
];
const MEMORY_KEYS: &[&str] = &["initial", "maximum"];
const RUN_KEYS: &[&str] = &["fuel", "max-memory", "timeout"];
const PRICING_KEYS: &[&str] = &["base_cost", "per_fuel_cost"];
/// The most pages a 32-bit memory can have (4 GiB).
const MAX_PAGES: u64 = 65536;

/// Parses `[package.metadata.spirit]` out of a `Cargo.toml`'s text.
///
/// ```
/// use spirit_build::project::parse_config;
/// use spirit_sdk::abi::Capability;
///
/// let toml = "[package]\nname = \"hello\"\n\n[package.metadata.spirit]\ncapabilities = [\"actuator_log\"]\nmax-size = \"64KiB\"\n";
/// let config = parse_config("Cargo.toml".as_ref(), toml).unwrap();
/// assert_eq!(config.capabilities, [Capability::ActuatorLog]);
/// assert_eq!(config.limits.max_size, 65536);
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
    let parser = ConfigParser { path, text };
    let mut config = SpiritConfig::default();
    let Some(item) = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("spirit"))
    else {
        return Ok(config);
    };
    let table = parser.table(TABLE, item)?;
    for (key, item) in table.iter() {
        let at = Located {
            key: format!("{TABLE}.{key}"),
            span: table
                .key(key)
                .and_then(|k| k.span())
                .or_else(|| item.span()),
        };
        match key {
            "capabilities" => {
                let Some(array) = item.as_array() else {
                    return Err(parser.error(
                        &at,
                        "must be an array of capability names",
                        Some("for example `capabilities = [\"actuator_log\"]`".to_owned()),
                    ));
                };
                for value in array.iter() {
                    let at = Located {
                        key: at.key.clone(),
                        span: value.span().or(at.span.clone()),
                    };
                    let name = value
                        .as_str()
                        .ok_or_else(|| parser.error(&at, "must contain only strings", None))?;
                    let capability = Capability::from_name(name).ok_or_else(|| {
                        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                        parser.error(
                            &at,
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
                    parser.error(
                        &at,
                        "must be the name of an exported function",
                        Some("for example `entry = \"run\"`".to_owned()),
                    )
                })?;
                config.entry = name.to_owned();
            }
            "max-size" => config.limits.max_size = parser.size(&at, item)?,
            "memory" => config.limits.memory = parser.memory(&at, item)?,
            "run" => config.run = parser.run(&at, item)?,
            "pricing" => config.pricing = Some(parser.pricing(&at, item)?),
            _ => {
                return Err(parser.error(&at, "unknown key", Some(did_you_mean(key, KEYS))));
            }
        }
    }
    Ok(config)
}

/// A key and where it is in the file.
struct Located {
    key: String,
    span: Option<std::ops::Range<usize>>,
}

struct ConfigParser<'a> {
    path: &'a Path,
    text: &'a str,
}

impl ConfigParser<'_> {
    fn error(&self, at: &Located, message: impl Into<String>, help: Option<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            line: at.span.clone().map(|s| line_of(self.text, s.start)),
            key: at.key.clone(),
            message: message.into(),
            help,
        }
    }

    fn table<'i>(&self, key: &str, item: &'i Item) -> Result<&'i dyn TableLike, ConfigError> {
        item.as_table_like().ok_or_else(|| {
            self.error(
                &Located {
                    key: key.to_owned(),
                    span: item.span(),
                },
                "must be a table",
                Some(format!("write it as `[{key}]`")),
            )
        })
    }

    /// Each key of a sub-table such as `memory`, checked against `accepted`.
    fn entries<'i>(
        &self,
        at: &Located,
        item: &'i Item,
        accepted: &[&str],
        example: &str,
    ) -> Result<Vec<(Located, &'i Item)>, ConfigError> {
        let table = item.as_table_like().ok_or_else(|| {
            self.error(
                at,
                "must be a table",
                Some(format!("for example `{example}`")),
            )
        })?;
        table
            .iter()
            .map(|(key, value)| {
                let located = Located {
                    key: format!("{}.{key}", at.key),
                    span: table
                        .key(key)
                        .and_then(|k| k.span())
                        .or_else(|| value.span())
                        .or(at.span.clone()),
                };
                if accepted.contains(&key) {
                    Ok((located, value))
                } else {
                    Err(self.error(&located, "unknown key", Some(did_you_mean(key, accepted))))
                }
            })
            .collect()
    }

    fn integer(&self, at: &Located, item: &Item, example: &str) -> Result<u64, ConfigError> {
        item.as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                self.error(
                    at,
                    "must be a non-negative integer",
                    Some(format!("for example `{example}`")),
                )
            })
    }

    /// A size: bytes as an integer, or a string with a unit (`"512KiB"`).
    fn size(&self, at: &Located, item: &Item) -> Result<u64, ConfigError> {
        let help = || {
            Some("write bytes or a size with a unit, such as `1048576` or `\"1MiB\"`".to_owned())
        };
        let size = match (item.as_integer(), item.as_str()) {
            (Some(n), _) => u64::try_from(n)
                .map_err(|_| self.error(at, format!("must not be negative, not {n}"), help()))?,
            (_, Some(text)) => {
                crate::units::parse_size(text).map_err(|message| self.error(at, message, help()))?
            }
            _ => return Err(self.error(at, "must be a size", help())),
        };
        if size == 0 {
            return Err(self.error(at, "must be larger than zero", help()));
        }
        Ok(size)
    }

    fn memory(&self, at: &Located, item: &Item) -> Result<MemoryLimits, ConfigError> {
        const EXAMPLE: &str = "memory = { initial = 17, maximum = 256 }";
        let mut memory = MemoryLimits::default();
        let mut initial_at = None;
        for (key, value) in self.entries(at, item, MEMORY_KEYS, EXAMPLE)? {
            let pages = self.integer(&key, value, EXAMPLE)?;
            if pages == 0 || pages > MAX_PAGES {
                return Err(self.error(
                    &key,
                    format!("must be between 1 and {MAX_PAGES} pages of 64 KiB, not {pages}"),
                    Some(format!("for example `{EXAMPLE}`")),
                ));
            }
            if key.key.ends_with(".initial") {
                memory.initial_pages = pages;
                initial_at = Some(key);
            } else {
                memory.maximum_pages = pages;
            }
        }
        if memory.initial_pages > memory.maximum_pages {
            return Err(self.error(
                initial_at.as_ref().unwrap_or(at),
                format!(
                    "the initial memory ({} pages) is larger than the maximum ({} pages)",
                    memory.initial_pages, memory.maximum_pages
                ),
                Some("raise `maximum` or lower `initial`".to_owned()),
            ));
        }
        Ok(memory)
    }

    fn run(&self, at: &Located, item: &Item) -> Result<RunDefaults, ConfigError> {
        const EXAMPLE: &str = "run = { fuel = 10000000, timeout = \"5s\", max-memory = \"16MiB\" }";
        let mut run = RunDefaults::default();
        for (key, value) in self.entries(at, item, RUN_KEYS, EXAMPLE)? {
            match key.key.rsplit('.').next() {
                Some("fuel") => {
                    run.fuel = self.integer(&key, value, "fuel = 10000000")?;
                    if run.fuel == 0 {
                        return Err(self.error(&key, "must be larger than zero", None));
                    }
                }
                Some("timeout") => {
                    let help = || Some("for example `timeout = \"500ms\"` or `\"5s\"`".to_owned());
                    let text = value
                        .as_str()
                        .ok_or_else(|| self.error(&key, "must be a duration string", help()))?;
                    run.timeout = crate::units::parse_duration(text)
                        .map_err(|message| self.error(&key, message, help()))?;
                }
                _ => run.max_memory = self.size(&key, value)?,
            }
        }
        Ok(run)
    }

    fn pricing(&self, at: &Located, item: &Item) -> Result<Pricing, ConfigError> {
        const EXAMPLE: &str = "pricing = { base_cost = 100, per_fuel_cost = 1 }";
        let mut pricing = Pricing::default();
        for (key, value) in self.entries(at, item, PRICING_KEYS, EXAMPLE)? {
            let n = self.integer(&key, value, EXAMPLE)?;
            if key.key.ends_with(".base_cost") {
                pricing.base_cost = n;
            } else {
                pricing.per_fuel_cost = n;
            }
        }
        Ok(pricing)
    }
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
    fn the_full_schema_parses() {
        let c = parse(
            "max-size = \"64KiB\"\n\
             memory = { initial = 17, maximum = 64 }\n\
             run = { fuel = 5000, timeout = \"250ms\", max-memory = 2097152 }\n\
             \n[package.metadata.spirit.pricing]\nbase_cost = 100\nper_fuel_cost = 2\n",
        )
        .unwrap();
        assert_eq!(c.limits.max_size, 65536);
        assert_eq!(
            c.limits.memory,
            MemoryLimits {
                initial_pages: 17,
                maximum_pages: 64
            }
        );
        assert_eq!(c.run.fuel, 5000);
        assert_eq!(c.run.timeout, std::time::Duration::from_millis(250));
        assert_eq!(c.run.max_memory, 2 << 20);
        assert_eq!(
            c.pricing,
            Some(Pricing {
                base_cost: 100,
                per_fuel_cost: 2
            })
        );
    }

    #[test]
    fn nested_keys_are_named_with_their_line() {
        let e = parse("\n[package.metadata.spirit.run]\nfuel = 1\ntimout = \"5s\"\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.run.timout");
        assert_eq!(e.line, Some(8));
        assert!(e.help.unwrap().starts_with("did you mean `timeout`?"));

        let e = parse("memory = { initial = 64, maximum = 32 }\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.memory.initial");
        assert_eq!(
            e.message,
            "the initial memory (64 pages) is larger than the maximum (32 pages)"
        );

        let e = parse("max-size = \"big\"\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert!(e.message.starts_with("invalid size `big`"), "{}", e.message);

        let e = parse("pricing = { base_cost = -1 }\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.pricing.base_cost");
        assert_eq!(e.message, "must be a non-negative integer");
    }

    #[test]
    fn the_readme_example_is_the_defaults_plus_a_price() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("```toml\n[package.metadata.spirit]")
            .expect("README documents the table")
            + "```toml\n".len();
        let end = start + readme[start..].find("```").unwrap();
        let text = format!("[package]\nname = \"x\"\n{}", &readme[start..end]);
        let config = parse_config(Path::new("README.md"), &text).unwrap();
        assert_eq!(
            config,
            SpiritConfig {
                capabilities: vec![Capability::ActuatorLog],
                pricing: Some(Pricing {
                    base_cost: 100,
                    per_fuel_cost: 1
                }),
                ..SpiritConfig::default()
            }
        );
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
