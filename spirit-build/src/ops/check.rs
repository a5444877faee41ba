//! `cargo spirit check`: the build's validation, without writing anything.
//!
//! On a crate it compiles the spirits with cargo (cargo's own target
//! directory is written, as `cargo check` writes it) and checks each module
//! as `cargo spirit build` would, size after stripping and memory included,
//! but writes no stripped module and no manifest. On a `.wasm` file it
//! checks any module: the capabilities are the `--allow`ed ones plus those
//! of a `manifest.toml` beside the file that describes it.

use std::path::Path;

use spirit_sdk::abi::Capability;

use super::examine::examine;
use super::plan::load_and_compile;
use super::target::Target;
use crate::compile::{self, MessageFormat};
use crate::manifest::{self, Manifest, ModuleLimits};
use crate::options::BuildOptions;
use crate::strip::StripOptions;
use crate::units::Bytes;
use crate::validate::{Expectations, Problem, Report, ValidationError};
use crate::{Error, Shell};

/// What to check, and how to report it.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// A [`Target::Crate`] (compiled first) or a [`Target::Wasm`] file;
    /// `check` takes no other.
    pub target: Target,
    /// Capabilities to allow a `.wasm` file on top of a manifest beside it.
    pub allow: Vec<Capability>,
    /// With [`MessageFormat::Json`], cargo's messages and a `spirit-check`
    /// line per module on stdout.
    pub message_format: MessageFormat,
}

/// The line `--message-format json` prints for each module that passed.
///
/// ```
/// use spirit_build::ops::CheckMessage;
/// let line = r#"{"reason":"spirit-check","name":"hello","capabilities":["actuator_log"],"used_capabilities":["actuator_log"],"size":14540,"stripped_size":812,"max_size":1048576,"warnings":[]}"#;
/// let message: CheckMessage = serde_json::from_str(line).unwrap();
/// assert_eq!(message.stripped_size, 812);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckMessage {
    /// Always `spirit-check`.
    pub reason: String,
    /// The spirit's name, or the file's.
    pub name: String,
    /// The capabilities it was checked against.
    pub capabilities: Vec<String>,
    /// The capabilities its imports need.
    pub used_capabilities: Vec<String>,
    /// Its size as given.
    pub size: u64,
    /// Its size after stripping.
    pub stripped_size: u64,
    /// The `max-size` it was checked against.
    pub max_size: u64,
    /// Validation warnings, rendered.
    pub warnings: Vec<String>,
}

impl CheckedModule {
    /// The `--message-format json` line for this module.
    pub fn message(&self) -> CheckMessage {
        let names = |caps: &[Capability]| caps.iter().map(|c| c.as_str().to_owned()).collect();
        CheckMessage {
            reason: "spirit-check".to_owned(),
            name: self.name.clone(),
            capabilities: names(&self.capabilities),
            used_capabilities: names(&self.report.used_capabilities),
            size: self.size,
            stripped_size: self.stripped_size,
            max_size: self.limits.max_size,
            warnings: self
                .report
                .warnings
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

fn emit(shell: &Shell, format: MessageFormat, module: &CheckedModule) -> Result<(), Error> {
    format
        .emit(shell, &module.message())
        .map_err(|e| compile::CompileError::Forward(e).into())
}

/// One module that passed.
#[derive(Clone, Debug)]
pub struct CheckedModule {
    /// The spirit's name, or the file's.
    pub name: String,
    /// What validation found (no errors; maybe warnings).
    pub report: Report,
    /// The capabilities it was checked against.
    pub capabilities: Vec<Capability>,
    /// Its size as given.
    pub size: u64,
    /// Its size after stripping.
    pub stripped_size: u64,
    /// The limits it was checked against.
    pub limits: ModuleLimits,
}

/// Checks the target and returns what passed.
///
/// ```
/// use spirit_build::MessageFormat;
/// use spirit_build::ops::{check, CheckOptions, Target};
/// use spirit_build::{ColorChoice, Shell, Verbosity};
/// use spirit_sdk::abi::Capability;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("clock.wasm");
/// let wasm = wat::parse_str(r#"(module
///     (import "vudo" "host_time_now" (func (result i64)))
///     (memory (export "memory") 1)
///     (func (export "run")))"#).unwrap();
/// spirit_build::fs::write_atomic(&path, &wasm).unwrap();
///
/// let shell = Shell::new(Verbosity::Quiet, ColorChoice::Never);
/// let target = |allow: Vec<Capability>| CheckOptions {
///     target: Target::Wasm(path.clone()),
///     allow,
///     message_format: MessageFormat::Human,
/// };
/// assert!(check(&shell, &target(vec![])).is_err());
/// let checked = check(&shell, &target(vec![Capability::SensorTime])).unwrap();
/// assert_eq!(checked[0].report.used_capabilities, [Capability::SensorTime]);
/// ```
///
/// # Errors
///
/// Fails when the target is neither a crate nor a `.wasm` file, when a
/// spirit does not compile, when a module fails validation
/// (every problem is in the error), or when a file or its manifest cannot
/// be read.
pub fn check(shell: &Shell, options: &CheckOptions) -> Result<Vec<CheckedModule>, Error> {
    match &options.target {
        Target::Crate(build) => {
            let mut build = build.clone();
            build.compile.message_format = options.message_format;
            check_crate(shell, &build)
        }
        Target::Wasm(path) => {
            let module = check_file(shell, path, &options.allow)?;
            emit(shell, options.message_format, &module)?;
            Ok(vec![module])
        }
        other => Err(other.refuse("check", "a spirit crate directory or a `.wasm` file")),
    }
}

fn check_crate(shell: &Shell, options: &BuildOptions) -> Result<Vec<CheckedModule>, Error> {
    let (project, artifacts) = load_and_compile(shell, options)?;
    let mut checked = Vec::new();
    for (spirit, artifact) in project.spirits.iter().zip(&artifacts) {
        let wasm = crate::fs::read(&artifact.path)?;
        let subject = format!("spirit `{}`", spirit.name);
        let expected = Expectations {
            capabilities: &spirit.config.capabilities,
            entry: &spirit.config.entry,
        };
        let module = checked_module(
            shell,
            &subject,
            &spirit.name,
            &wasm,
            &expected,
            &spirit.config.limits,
            options.strip,
            None,
        )?;
        shell.status(
            "Checked",
            format_args!(
                "spirit `{}` v{}: {}",
                spirit.name,
                spirit.version,
                summary(&module)
            ),
        );
        emit(shell, options.compile.message_format, &module)?;
        checked.push(module);
    }
    Ok(checked)
}

fn check_file(shell: &Shell, path: &Path, allow: &[Capability]) -> Result<CheckedModule, Error> {
    let wasm = crate::fs::read(path)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest_path = path.with_file_name(manifest::FILE_NAME);
    let manifest = if manifest_path.is_file() {
        let manifest = Manifest::read(&manifest_path)?;
        (manifest.wasm.file == file_name).then_some(manifest)
    } else {
        None
    };
    let mut capabilities: Vec<Capability> = allow.to_vec();
    let mut entry = spirit_sdk::abi::DEFAULT_ENTRY.to_owned();
    let mut limits = ModuleLimits::default();
    let mut stale = None;
    if let Some(manifest) = &manifest {
        shell.verbose(|s| {
            s.note(format_args!(
                "checking against {} (capabilities, entry and limits)",
                manifest_path.display()
            ))
        });
        capabilities.extend(manifest.capabilities.iter().copied());
        entry.clone_from(&manifest.entry);
        limits = manifest.limits;
        let hash = blake3::hash(&wasm).to_hex().to_string();
        if hash != manifest.wasm.blake3 {
            stale = Some(Problem {
                message: format!(
                    "the file's blake3 is {hash}, but {} says {}",
                    manifest_path.display(),
                    manifest.wasm.blake3
                ),
                help: Some(
                    "the module changed after it was built; rebuild it with `cargo spirit build`"
                        .to_owned(),
                ),
            });
        }
    }
    capabilities.sort();
    capabilities.dedup();
    let expected = Expectations {
        capabilities: &capabilities,
        entry: &entry,
    };
    let subject = format!("`{}`", path.display());
    let name = manifest.as_ref().map_or(file_name, |m| m.name.clone());
    let command = format!("cargo spirit check {}", path.display());
    let mut module = checked_module(
        shell,
        &subject,
        &name,
        &wasm,
        &expected,
        &limits,
        StripOptions::default(),
        manifest.is_none().then_some(command.as_str()),
    );
    if let Some(problem) = stale {
        module = Err(match module {
            Ok(_) => ValidationError {
                subject,
                errors: vec![problem],
            }
            .into(),
            Err(Error::Validation(mut e)) => {
                e.errors.push(problem);
                Error::Validation(e)
            }
            Err(e) => e,
        });
    }
    let module = module?;
    shell.status(
        "Checked",
        format_args!("{}: {}", path.display(), summary(&module)),
    );
    Ok(module)
}

fn summary(module: &CheckedModule) -> String {
    let caps = if module.report.used_capabilities.is_empty() {
        "no capability".to_owned()
    } else {
        module
            .report
            .used_capabilities
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} import{} ({caps}), {} stripped (max-size {})",
        module.report.imports.len(),
        if module.report.imports.len() == 1 {
            ""
        } else {
            "s"
        },
        Bytes(module.stripped_size),
        Bytes(module.limits.max_size)
    )
}

#[allow(clippy::too_many_arguments)]
fn checked_module(
    shell: &Shell,
    subject: &str,
    name: &str,
    wasm: &[u8],
    expected: &Expectations<'_>,
    limits: &ModuleLimits,
    strip: StripOptions,
    allow_command: Option<&str>,
) -> Result<CheckedModule, Error> {
    let (report, stripped) = examine(shell, subject, wasm, expected, limits, strip, allow_command)?;
    Ok(CheckedModule {
        name: name.to_owned(),
        report,
        capabilities: expected.capabilities.to_vec(),
        size: wasm.len() as u64,
        stripped_size: stripped.len() as u64,
        limits: *limits,
    })
}
