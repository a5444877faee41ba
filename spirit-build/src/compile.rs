//! Compiling spirits: running cargo for `wasm32-unknown-unknown` and taking
//! the `.wasm` paths from its JSON artifact messages.
//!
//! Cargo's own status lines and diagnostics reach the user exactly as cargo
//! prints them (`--message-format json-render-diagnostics` renders them on
//! its standard error, which we leave attached to ours). With
//! [`MessageFormat::Json`] cargo runs with `--message-format json` and its
//! JSON messages (`compiler-message`, `compiler-artifact`,
//! `build-finished`, …) are passed through to standard output, line by
//! line, as cargo printed them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::Message;

pub use crate::options::CompileOptions;
use crate::project::SpiritPackage;
use crate::sdk::{CargoConfig, Patch};
use crate::toolchain::{self, WASM_TARGET};
use crate::{ColorChoice, Shell};

/// `--message-format`, at its old path (it is every command's, not only
/// the compiler's).
pub use crate::message::MessageFormat;

/// A `.wasm` file cargo produced for a spirit.
#[derive(Clone, Debug)]
pub struct WasmArtifact {
    /// The spirit (package) name.
    pub package: String,
    /// The file cargo wrote.
    pub path: PathBuf,
    /// Whether cargo reported it fresh (nothing was recompiled).
    pub fresh: bool,
}

/// Why compiling failed.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The toolchain cannot build for wasm.
    #[error(transparent)]
    Toolchain(#[from] toolchain::ToolchainError),
    /// Cargo could not be started.
    #[error("could not run cargo: {0}")]
    Spawn(std::io::Error),
    /// Cargo's messages could not be passed on to standard output.
    #[error("could not write cargo's messages to standard output: {0}")]
    Forward(std::io::Error),
    /// Cargo failed; it has already printed why.
    #[error("could not compile {packages}")]
    Failed {
        /// The packages being built.
        packages: String,
        /// Cargo's exit code.
        code: Option<i32>,
    },
    /// Cargo succeeded but did not report a `.wasm` for a spirit.
    #[error(
        "cargo did not produce a `.wasm` file for `{0}`\n\
             help: make sure its `[lib]` has `crate-type = [\"cdylib\"]`"
    )]
    NoArtifact(String),
}

impl CompileError {
    /// The exit code cargo failed with, to pass on.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            CompileError::Failed { code, .. } => *code,
            _ => None,
        }
    }
}

/// A package to compile.
#[derive(Clone, Debug)]
pub struct CompileUnit {
    /// Its name.
    pub name: String,
    /// The `--package` spec to select it with; `None` lets cargo pick the
    /// package of `manifest_path` (cargo's own default).
    pub spec: Option<String>,
    /// Its `Cargo.toml`, as cargo reports it.
    pub manifest_path: PathBuf,
}

impl CompileUnit {
    /// The unit for a spirit found by [`crate::project`].
    pub fn of(spirit: &SpiritPackage) -> CompileUnit {
        CompileUnit {
            name: spirit.name.clone(),
            spec: Some(format!("{}@{}", spirit.name, spirit.version)),
            manifest_path: spirit.manifest_path.clone(),
        }
    }
}

/// Compiles `units` (all in one workspace) with one cargo invocation run in
/// `dir` and returns their `.wasm` files, in the same order.
///
/// # Errors
///
/// Fails when the wasm target cannot be installed, when cargo fails (its
/// diagnostics are already on the user's terminal), or when cargo reports
/// no `.wasm` for a unit.
pub fn compile(
    shell: &Shell,
    dir: &Path,
    units: &[CompileUnit],
    options: &CompileOptions,
) -> Result<Vec<WasmArtifact>, CompileError> {
    compile_with_env(shell, dir, units, options, &[])
}

/// [`compile`], with these variables set for cargo (what `cargo spirit
/// test` uses to build the sandbox tests).
///
/// # Errors
///
/// As [`compile`].
pub fn compile_with_env(
    shell: &Shell,
    dir: &Path,
    units: &[CompileUnit],
    options: &CompileOptions,
    env: &[(&str, &str)],
) -> Result<Vec<WasmArtifact>, CompileError> {
    toolchain::ensure_wasm_target(shell, dir)?;
    let mut cmd = Command::new(toolchain::cargo());
    cmd.envs(env.iter().copied());
    cmd.arg("build")
        .arg("--lib")
        .args(["--target", WASM_TARGET])
        .args(["--message-format", cargo_format(options.message_format)])
        .args(["--profile", options.profile_name()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(first) = units.first() {
        cmd.arg("--manifest-path").arg(&first.manifest_path);
    }
    if let Some(patch) = Patch::for_manifests(units.iter().map(|u| u.manifest_path.as_path())) {
        cmd.arg("--config").arg(patch.config_arg());
        refresh_cargo_config(shell, &patch);
    }
    for spec in units.iter().filter_map(|u| u.spec.as_deref()) {
        cmd.args(["--package", spec]);
    }
    if let Some(dir) = options.absolute_target_dir() {
        cmd.arg("--target-dir").arg(dir);
    }
    for features in &options.features {
        cmd.args(["--features", features]);
    }
    for (on, flag) in [
        (options.all_features, "--all-features"),
        (options.no_default_features, "--no-default-features"),
        (options.locked, "--locked"),
        (options.offline, "--offline"),
        (options.frozen, "--frozen"),
    ] {
        if on {
            cmd.arg(flag);
        }
    }
    // Cargo shares our standard error, so with `auto` it decides as we do
    // (a terminal, and `NO_COLOR`/`CARGO_TERM_COLOR` honoured).
    match shell.color_choice() {
        ColorChoice::Auto => {}
        choice => {
            cmd.args(["--color", choice.as_str()]);
        }
    }
    match shell.verbosity() {
        crate::Verbosity::Quiet => {
            cmd.arg("--quiet");
        }
        crate::Verbosity::Verbose => {
            cmd.arg("--verbose");
        }
        crate::Verbosity::Normal => {}
    }
    shell.verbose(|s| s.status("Running", format_args!("`{}`", display_command(&cmd))));

    let mut child = cmd.spawn().map_err(CompileError::Spawn)?;
    let stdout = child.stdout.take().ok_or_else(|| {
        CompileError::Spawn(std::io::Error::other(
            "cargo's standard output was not captured",
        ))
    })?;
    let forward = options.message_format == MessageFormat::Json;
    let mut artifacts = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(CompileError::Spawn)?;
        if forward {
            shell
                .write_stdout(format!("{line}\n").as_bytes())
                .map_err(CompileError::Forward)?;
        }
        let Ok(Message::CompilerArtifact(artifact)) = serde_json::from_str::<Message>(&line) else {
            continue;
        };
        let Some(spirit) = units
            .iter()
            .find(|s| s.manifest_path.as_path() == artifact.manifest_path.as_std_path())
        else {
            continue;
        };
        if let Some(wasm) = artifact
            .filenames
            .iter()
            .find(|f| f.extension() == Some("wasm"))
        {
            artifacts.push(WasmArtifact {
                package: spirit.name.clone(),
                path: wasm.clone().into_std_path_buf(),
                fresh: artifact.fresh,
            });
        }
    }
    let status = child.wait().map_err(CompileError::Spawn)?;
    if !status.success() {
        return Err(CompileError::Failed {
            packages: units
                .iter()
                .map(|s| format!("`{}`", s.name))
                .collect::<Vec<_>>()
                .join(", "),
            code: status.code(),
        });
    }
    units
        .iter()
        .map(|spirit| {
            artifacts
                .iter()
                .find(|a| a.package == spirit.name)
                .cloned()
                .ok_or_else(|| CompileError::NoArtifact(spirit.name.clone()))
        })
        .collect()
}

/// Keeps `.cargo/config.toml` giving plain `cargo` commands the SDK this
/// build uses (see [`crate::sdk`]); the build itself does not need it, so a
/// failure is a warning.
pub fn refresh_cargo_config(shell: &Shell, patch: &Patch) {
    match patch.write_cargo_config() {
        Ok(CargoConfig::Written(path)) => shell.status(
            "Patching",
            format_args!(
                "spirit-sdk → {} in {} (for plain `cargo test`)",
                patch.sdk.display(),
                path.display()
            ),
        ),
        Ok(CargoConfig::UpToDate) => {}
        Ok(CargoConfig::Foreign(path)) => shell.verbose(|s| {
            s.note(format_args!(
                "{} is not cargo-spirit's: for plain `cargo test`, add `[patch.crates-io] spirit-sdk = {{ path = \"{}\" }}` to it",
                path.display(),
                patch.sdk.display()
            ));
        }),
        Err(e) => shell.warn(format_args!(
            "could not write the SDK's patch for plain `cargo test`: {e}"
        )),
    }
}

/// Cargo's `--message-format`: for people, cargo renders its diagnostics
/// on standard error and we read only its artifacts; with
/// [`MessageFormat::Json`], its diagnostics are `compiler-message` lines,
/// passed through to standard output as `cargo build --message-format json`
/// prints them.
fn cargo_format(format: MessageFormat) -> &'static str {
    match format {
        MessageFormat::Human => "json-render-diagnostics",
        MessageFormat::Json => "json",
    }
}

fn display_command(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
