//! `cargo spirit search`: installed spirits by name, description or
//! capability, as a table or JSON.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;

use crate::args::FormatArg;

/// Search installed spirits by name, description or capability
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Text in a name or description, or a capability such as storage_read
    query: String,
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    format: FormatArg,
}

impl SearchArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let found = spirit_build::ops::search(&registry, &self.query)?;
        self.format
            .or_json(self.json)
            .print(shell, &found, &found)?;
        Ok(ExitCode::SUCCESS)
    }
}
