//! `cargo spirit pack`: write a reproducible `.spirit` package (manifest,
//! wasm, signature) of built spirits.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;

use crate::args::{CargoArgs, FormatArg, target};

/// Write a reproducible .spirit package (manifest, wasm, signature)
#[derive(Debug, Args)]
#[command(after_help = "\
The package goes beside the build directory, as
<target-dir>/spirit/<profile>/<name>-<version>.spirit, and its path is printed
on standard output. The same inputs always give byte-identical packages.

Example:
  cargo spirit build --release && cargo spirit sign --release && cargo spirit pack --release")]
pub(crate) struct PackArgs {
    /// A build directory [default: this crate's build output]
    target: Option<PathBuf>,
    /// Write the package into this directory instead
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl PackArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let target = target(self.target.as_deref(), self.cargo.options())?;
        for path in spirit_build::ops::pack(shell, &target, self.out_dir.as_deref())? {
            self.format.print(
                shell,
                format_args!("{}\n", path.display()),
                &serde_json::json!({ "reason": "spirit-packaged", "path": path }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
