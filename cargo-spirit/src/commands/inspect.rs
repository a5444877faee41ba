//! `cargo spirit inspect`: show what a module or package holds (imports and
//! their capabilities, exports, section sizes, largest functions).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;

use crate::args::{CargoArgs, FormatArg, target};

/// Show a module's imports and their capabilities, exports, section sizes
/// and largest functions
#[derive(Debug, Args)]
#[command(after_help = "\
Function names come from the name section: build with --keep-debug to keep it.

Without FILE, the build output of the crate here (as sign, pack and verify
take it; build it first).

Examples:
  cargo spirit inspect --release
  cargo spirit inspect target/spirit/release/hello/hello.wasm
  cargo spirit inspect target/spirit/release/hello-0.1.0.spirit
  cargo spirit inspect target/wasm32-unknown-unknown/release/hello.wasm")]
pub(crate) struct InspectArgs {
    /// A .wasm file, .spirit package or build directory [default: this crate's build output]
    file: Option<PathBuf>,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl InspectArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let target = target(self.file.as_deref(), self.cargo.options())?;
        for (path, inspected) in spirit_build::ops::inspect_targets(&target)? {
            // A path given is shown as given.
            let path = self.file.clone().unwrap_or(path);
            self.format.print(
                shell,
                format_args!("{}\n{inspected}", path.display()),
                &serde_json::json!({ "reason": "module-inspected", "path": path, "module": inspected.module() }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
