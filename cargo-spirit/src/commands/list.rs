//! `cargo spirit list`: the installed spirits, as a table or JSON.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;

use crate::args::FormatArg;

const AFTER_HELP: &str = "\
Examples:
  cargo spirit list                          every installed version
  cargo spirit list --limit 50               the first page of 50
  cargo spirit list --limit 50 --offset 50   the second page
";

/// List the installed spirits
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
    /// List at most N spirit versions (one page)
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Skip the first N spirit versions (by name, then version)
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: usize,
    #[command(flatten)]
    format: FormatArg,
}

impl ListArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let list =
            spirit_build::ops::list_page(&registry, self.offset, self.limit.unwrap_or(usize::MAX))?;
        self.format.or_json(self.json).print(shell, &list, &list)?;
        Ok(ExitCode::SUCCESS)
    }
}
