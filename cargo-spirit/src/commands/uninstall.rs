use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::{Registry, split_spec};

/// Remove a spirit (every version, or NAME@VERSION) from the registry
#[derive(Debug, Args)]
pub(crate) struct UninstallArgs {
    /// NAME or NAME@VERSION
    spec: String,
    #[command(flatten)]
    format: super::MessageFormat,
}

impl UninstallArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let (name, version) = split_spec(&self.spec);
        let version = version
            .map(|v| v.parse::<semver::Version>().with_context(|| format!("`{v}` is not a version: uninstall takes NAME or NAME@VERSION, such as `hello@1.2.0`")))
            .transpose()?;
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        for entry in registry
            .uninstall(name, version.as_ref())
            .map_err(spirit_build::Error::from)?
        {
            shell.status("Removed", format_args!("{} v{}", entry.name, entry.version));
            self.format.emit_json(
                shell,
                serde_json::json!({ "reason": "spirit-uninstalled", "spirit": entry }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
