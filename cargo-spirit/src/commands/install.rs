use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::InstallSource;
use spirit_build::registry::{InstallOptions, Registry};

use super::MessageFormat;
use crate::commands::build::CargoArgs;

/// Install a spirit into the local registry (VUDO_HOME/registry)
#[derive(Debug, Args)]
#[command(after_help = "\
TARGET is a .spirit package, a build directory, or a spirit crate (default:
the crate here), which is built with --release and signed with your default
key first. Install verifies the wasm's hash and the signature and requires a
trusted author (`cargo spirit trust HEX`; `keygen` trusts your own key).

Examples:
  cargo spirit install
  cargo spirit install hello-0.1.0.spirit")]
pub(crate) struct InstallArgs {
    /// A .spirit package, a build directory, or a crate directory
    target: Option<PathBuf>,
    /// Install an unsigned spirit (recorded in the index)
    #[arg(long)]
    allow_unsigned: bool,
    /// Replace the same name and version with different content
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: MessageFormat,
}

/// The install source a TARGET argument names.
pub(crate) fn source(target: Option<PathBuf>, mut cargo: CargoArgs) -> InstallSource {
    match target {
        Some(path) if path.join("Cargo.toml").is_file() => {
            cargo.set_manifest_dir(&path);
            InstallSource::Crate(cargo.release_options())
        }
        Some(path) => InstallSource::Path(path),
        None => InstallSource::Crate(cargo.release_options()),
    }
}

impl InstallArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let options = InstallOptions {
            allow_unsigned: self.allow_unsigned,
            force: self.force,
        };
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let installed = spirit_build::ops::install(
            shell,
            &registry,
            &source(self.target, self.cargo),
            options,
        )?;
        for result in installed {
            self.format.emit_json(
                shell,
                serde_json::json!({ "reason": "spirit-installed", "spirit": result.entry() }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
