//! `cargo spirit check`: validate spirits (or any `.wasm` file) as `build`
//! does, writing no module and no manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::CheckOptions;
use spirit_sdk::abi::Capability;

use crate::args::{CargoArgs, FormatArg, capability, target};

/// Validate spirits as `build` does, without writing a module or manifest
#[derive(Debug, Args)]
#[command(after_help = "\
With FILE.wasm, any module is checked: its capabilities are the --allow'ed ones,
plus those of a manifest.toml beside it that describes it.

Examples:
  cargo spirit check                       Compile and check the spirit here
  cargo spirit check --workspace           Check every spirit of the workspace
  cargo spirit check plugin.wasm --allow actuator_log --allow sensor_time")]
pub(crate) struct CheckArgs {
    /// A .wasm file to check [default: the spirit crate(s) selected]
    file: Option<PathBuf>,
    /// Allow a capability when checking FILE (repeatable)
    #[arg(long, value_name = "CAP", value_parser = capability, requires = "file")]
    allow: Vec<Capability>,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl CheckArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let options = CheckOptions {
            target: target(self.file.as_deref(), self.cargo.options())?,
            allow: self.allow,
            message_format: self.format.format,
        };
        spirit_build::ops::check(shell, &options)?;
        Ok(ExitCode::SUCCESS)
    }
}
