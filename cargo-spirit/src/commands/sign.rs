//! `cargo spirit sign`: sign built spirits or a `.spirit` package with an
//! ed25519 key.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::sign::Key;

use crate::args::{CargoArgs, FormatArg, target};

/// Sign built spirits (or a .spirit package) with an ed25519 key
#[derive(Debug, Args)]
#[command(after_help = "\
The key comes from --key, else the SPIRIT_SIGNING_KEY environment variable
(64 hex characters, for CI secrets), else VUDO_HOME/keys/default.key.
The signature covers the wasm's blake3 and every byte of manifest.toml.

Examples:
  cargo spirit build --release && cargo spirit sign --release
  SPIRIT_SIGNING_KEY=... cargo spirit sign target/spirit/release/hello-0.1.0.spirit")]
pub(crate) struct SignArgs {
    /// A build directory or .spirit package [default: this crate's build output]
    target: Option<PathBuf>,
    /// The private key file
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl SignArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let key = Key::find(self.key.as_deref()).map_err(spirit_build::Error::Sign)?;
        let target = target(self.target.as_deref(), self.cargo.options())?;
        for path in spirit_build::ops::sign(shell, &target, &key)? {
            self.format.emit(
                shell,
                &serde_json::json!({ "reason": "spirit-signed", "path": path, "author": key.author().to_string() }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
