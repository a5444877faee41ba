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
  cargo spirit inspect target/spirit/release/hello-0.1.0.spirit
  cargo spirit inspect target/wasm32-unknown-unknown/release/hello.wasm")]
pub(crate) struct InspectArgs {
    /// The .wasm file or .spirit package
    file: PathBuf,
    #[command(flatten)]
    format: super::MessageFormat,
}

impl InspectArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let is_package = self.file.extension().is_some_and(|e| e == "spirit");
        if self.format.is_json() {
            let module = if is_package {
                spirit_build::ops::inspect_package(&self.file)?.module
            } else {
                spirit_build::ops::inspect(&self.file)?
            };
            let json = serde_json::json!({ "reason": "module-inspected", "path": self.file, "module": module });
            shell.write_stdout(format!("{json}\n").as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        let text = if is_package {
            spirit_build::ops::inspect_package(&self.file)?.to_string()
        } else {
            spirit_build::ops::inspect(&self.file)?.to_string()
        };
        shell
            .write_stdout(format!("{}\n{text}", self.file.display()).as_bytes())
            .context("failed to write to standard output")?;
        Ok(ExitCode::SUCCESS)
    }
}
