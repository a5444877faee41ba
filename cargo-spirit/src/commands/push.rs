//! `cargo spirit push`: share a signed spirit through an OCI registry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::oci::Reference;
use spirit_build::ops::PushOptions;
use spirit_build::registry::Registry;

use crate::args::{CargoArgs, FormatArg, RegistryArgs, target};

/// Push a signed spirit to an OCI registry
#[derive(Debug, Args)]
#[command(after_help = "\
REFERENCE is REGISTRY/REPOSITORY[:TAG]; the tag defaults to the spirit's
version. TARGET is a spirit crate (default: the crate here, built with
--release and signed with your key), a build directory, a .spirit package, or
an installed NAME[@REQ]. The spirit goes as a standard Wasm OCI artifact (one
application/wasm layer) with its manifest and signature as annotations; the
manifest digest is printed on standard output.

Credentials come from Docker's configuration (`docker login`), or from
--username with --password-stdin.

Examples:
  cargo spirit push ghcr.io/team/hello
  echo \"$TOKEN\" | cargo spirit push ghcr.io/team/hello:stable --username ci --password-stdin
  cargo spirit push --plain-http 127.0.0.1:5000/hello hello-0.1.0.spirit")]
pub(crate) struct PushArgs {
    /// Where to push: REGISTRY/REPOSITORY[:TAG]
    #[arg(value_parser = reference)]
    reference: Reference,
    /// A crate directory, build directory, .spirit package or installed NAME[@REQ]
    target: Option<PathBuf>,
    /// Push a spirit that has no signature
    #[arg(long)]
    allow_unsigned: bool,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// Parses a REFERENCE argument.
pub(crate) fn reference(text: &str) -> Result<Reference, String> {
    text.parse()
        .map_err(|e: spirit_build::oci::OciError| e.to_string())
}

impl PushArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let source = target(self.target.as_deref(), self.cargo.release_options())?;
        let options = PushOptions {
            client: self.registry.client_options(&self.reference)?,
            reference: self.reference,
            allow_unsigned: self.allow_unsigned,
        };
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let pushed = spirit_build::ops::push(shell, &registry, &source, &options)?;
        self.format.print(
            shell,
            format_args!("{pushed}\n"),
            &serde_json::json!({ "reason": "spirit-pushed", "pushed": pushed }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
