use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;

use super::list::print_entries;

/// Search installed spirits by name, description or capability
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Text in a name or description, or a capability such as storage_read
    query: String,
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    format: super::MessageFormat,
}

impl SearchArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let entries = Registry::open_default()
            .map_err(spirit_build::Error::from)?
            .search(&self.query)
            .map_err(spirit_build::Error::from)?;
        print_entries(shell, &entries, self.json || self.format.is_json())?;
        Ok(ExitCode::SUCCESS)
    }
}
