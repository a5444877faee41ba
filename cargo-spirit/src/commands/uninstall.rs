//! `cargo spirit uninstall`: remove every version of a spirit, or one
//! (NAME@VERSION), from the local registry.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;

use crate::args::FormatArg;

/// Remove a spirit (every version, or NAME@VERSION) from the registry
#[derive(Debug, Args)]
pub(crate) struct UninstallArgs {
    /// NAME or NAME@VERSION
    spec: String,
    /// Remove it even when installed spirits depend on it (their calls to
    /// it then fail)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    format: FormatArg,
}

impl UninstallArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        for entry in spirit_build::ops::uninstall(shell, &registry, &self.spec, self.force)? {
            self.format.emit(
                shell,
                &serde_json::json!({ "reason": "spirit-uninstalled", "spirit": entry }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
