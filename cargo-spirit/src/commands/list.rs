//! `cargo spirit list`: the installed spirits, as a table or JSON.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;

use crate::args::FormatArg;

/// List the installed spirits
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    format: FormatArg,
}

impl ListArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let list = spirit_build::ops::list(&registry)?;
        self.format.or_json(self.json).print(shell, &list, &list)?;
        Ok(ExitCode::SUCCESS)
    }
}
