//! `cargo spirit info`: show an installed spirit (the highest version that
//! matches NAME[@REQ]).

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;

use crate::args::FormatArg;

/// Show an installed spirit: NAME or NAME@REQ (highest match)
#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// NAME or NAME@REQ, such as hello@^1.2
    spec: String,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    format: FormatArg,
}

impl InfoArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let info = spirit_build::ops::info(&registry, &self.spec)?;
        self.format.or_json(self.json).print(shell, &info, &info)?;
        Ok(ExitCode::SUCCESS)
    }
}
