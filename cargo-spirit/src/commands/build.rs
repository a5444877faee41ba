//! `cargo spirit build`: compile, validate and strip spirits and write their
//! manifests (and sign them with `--sign`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::sign::Key;

use crate::args::{CargoArgs, FormatArg};

/// Compile, validate and strip spirits, and write their manifests
#[derive(Debug, Args)]
#[command(after_help = "\
The stripped module and manifest.toml go to <target-dir>/spirit/<profile>/<name>/.

Examples:
  cargo spirit build                   Build the spirit here (every spirit, at a virtual root)
  cargo spirit build --workspace -r    Build every spirit of the workspace for release
  cargo spirit build -p hello --message-format json")]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    cargo: CargoArgs,
    /// `json`: cargo's messages and one `spirit-artifact` object per spirit
    /// on standard output
    #[command(flatten)]
    format: FormatArg,
    /// Sign what was built (see `cargo spirit sign`)
    #[arg(long)]
    sign: bool,
    /// The private key to sign with [default: SPIRIT_SIGNING_KEY, else
    /// VUDO_HOME/keys/default.key]
    #[arg(long, value_name = "PATH", requires = "sign")]
    key: Option<PathBuf>,
}

impl BuildArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let mut options = self.cargo.options();
        options.compile.message_format = self.format.format;
        if self.sign {
            let key = Key::find(self.key.as_deref()).map_err(spirit_build::Error::Sign)?;
            spirit_build::ops::build_and_sign(shell, &options, &key)?;
        } else {
            spirit_build::build(shell, &options)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
