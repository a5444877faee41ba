use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use spirit_build::Shell;

/// Show a module's imports and their capabilities, exports, section sizes
/// and largest functions
#[derive(Debug, Args)]
#[command(after_help = "\
Function names come from the name section: build with --keep-debug to keep it.

Examples:
  cargo spirit inspect target/spirit/release/hello/hello.wasm
  cargo spirit inspect target/wasm32-unknown-unknown/release/hello.wasm")]
pub(crate) struct InspectArgs {
    /// The .wasm file
    file: PathBuf,
}

impl InspectArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let inspection = spirit_build::ops::inspect(&self.file)?;
        shell
            .write_stdout(format!("{}\n{inspection}", self.file.display()).as_bytes())
            .context("failed to write to standard output")?;
        Ok(ExitCode::SUCCESS)
    }
}
