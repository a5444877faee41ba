//! `cargo spirit upgrade`: install a newer version of an installed spirit
//! and remove the older ones.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::{InstallOptions, Registry};

use crate::args::{CargoArgs, FormatArg, target};

/// Install a newer version of an installed spirit and remove the older ones
/// (keeping those that installed spirits pin)
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  cargo spirit upgrade hello hello-0.2.0.spirit
  cargo spirit upgrade hello            (from the crate here)")]
pub(crate) struct UpgradeArgs {
    /// The installed spirit
    name: String,
    /// The newer .spirit package, build directory or crate [default: the crate here]
    target: Option<PathBuf>,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl UpgradeArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let source = target(self.target.as_deref(), self.cargo.release_options())?;
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let entry = spirit_build::ops::upgrade(
            shell,
            &registry,
            &self.name,
            &source,
            InstallOptions::default(),
        )?;
        self.format.emit(
            shell,
            &serde_json::json!({ "reason": "spirit-upgraded", "spirit": entry }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
