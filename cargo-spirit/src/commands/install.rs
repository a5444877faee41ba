//! `cargo spirit install`: verify a spirit and add it to the local registry
//! (building and signing a crate first).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::{InstallOptions, Registry};

use spirit_build::ops::Target;

use crate::args::{CargoArgs, FormatArg, RegistryArgs, target};

/// Install a spirit into the local registry (VUDO_HOME/registry)
#[derive(Debug, Args)]
#[command(after_help = "\
TARGET is a .spirit package, a build directory, or a spirit crate (default:
the crate here), which is built with --release and signed with your default
key first; or a spirit in an OCI registry, REGISTRY/REPOSITORY:TAG (as `cargo
spirit pull`). A TARGET that is nothing on disk and starts with a registry
host (a name with a `.` or `:`, or `localhost`) and a `/` is a reference.
Install verifies the wasm's hash and the signature and requires a trusted
author (`cargo spirit trust HEX`; `keygen` trusts your own key).

Examples:
  cargo spirit install
  cargo spirit install hello-0.1.0.spirit
  cargo spirit install ghcr.io/team/hello:0.1.0")]
pub(crate) struct InstallArgs {
    /// A .spirit package, a build directory, a crate directory, or REGISTRY/REPOSITORY:TAG
    target: Option<PathBuf>,
    /// Install an unsigned spirit (recorded in the index)
    #[arg(long)]
    allow_unsigned: bool,
    /// Replace the same name and version with different content
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl InstallArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let source = target(self.target.as_deref(), self.cargo.release_options())?;
        let options = InstallOptions {
            allow_unsigned: self.allow_unsigned,
            force: self.force,
        };
        if let Target::Oci(reference) = source {
            return super::pull::pull(shell, &self.registry, reference, options, self.format);
        }
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        for result in spirit_build::ops::install(shell, &registry, &source, options)? {
            self.format.emit(
                shell,
                &serde_json::json!({ "reason": "spirit-installed", "spirit": result.entry() }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
