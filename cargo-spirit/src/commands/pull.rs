//! `cargo spirit pull`: a spirit from an OCI registry, verified and
//! installed into the local registry.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::oci::Reference;
use spirit_build::ops::PullOptions;
use spirit_build::registry::{InstallOptions, Registry};

use crate::args::{FormatArg, RegistryArgs};
use crate::commands::push::reference;

/// Pull a spirit from an OCI registry and install it
#[derive(Debug, Args)]
#[command(after_help = "\
REFERENCE is REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST.
Every byte is checked against the digest that names it; the spirit is then
installed as `cargo spirit install` installs a package: the wasm's hash, the
signature and a trusted author are verified, or nothing is installed.
Pulling what is installed already changes nothing.

Examples:
  cargo spirit pull ghcr.io/team/hello:0.1.0
  cargo spirit pull ghcr.io/team/hello@sha256:…
  cargo spirit run hello")]
pub(crate) struct PullArgs {
    /// What to pull: REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST
    #[arg(value_parser = reference)]
    reference: Reference,
    /// Install an unsigned spirit (recorded in the index)
    #[arg(long)]
    allow_unsigned: bool,
    /// Replace the same name and version with different content
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl PullArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let install = InstallOptions {
            allow_unsigned: self.allow_unsigned,
            force: self.force,
        };
        pull(shell, &self.registry, self.reference, install, self.format)
    }
}

/// Pulls and installs `reference`: `pull`, and `install` given a reference.
pub(crate) fn pull(
    shell: &Shell,
    registry_args: &RegistryArgs,
    reference: Reference,
    install: InstallOptions,
    format: FormatArg,
) -> anyhow::Result<ExitCode> {
    let options = PullOptions {
        client: registry_args.client_options(&reference)?,
        reference,
        install,
    };
    let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
    let pulled = spirit_build::ops::pull(shell, &registry, &options)?;
    format.emit(
        shell,
        &serde_json::json!({ "reason": "spirit-installed", "spirit": pulled.spirit, "pulled": pulled }),
    )?;
    Ok(ExitCode::SUCCESS)
}
