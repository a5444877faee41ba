//! `cargo spirit inspect`: show what a module or package holds (imports and
//! their capabilities, exports, section sizes, largest functions).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::BuildOptions;

use crate::args::{FormatArg, target};

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
    format: FormatArg,
}

impl InspectArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let target = target(Some(&self.file), BuildOptions::default())?;
        let inspected = spirit_build::ops::inspect_target(&target)?;
        self.format.print(
            shell,
            format_args!("{}\n{inspected}", self.file.display()),
            &serde_json::json!({ "reason": "module-inspected", "path": self.file, "module": inspected.module() }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
