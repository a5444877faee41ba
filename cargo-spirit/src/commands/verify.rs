use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::sign::{self, Author, Requirements};

use super::{MessageFormat, spirit_target};
use crate::commands::build::CargoArgs;

/// Check a spirit's hash and signature
#[derive(Debug, Args)]
#[command(after_help = "\
Checks that the wasm matches the manifest's blake3 and size, that the manifest
is unchanged, and that the signature verifies; optionally that the author is
the one expected (--author) or one of VUDO_HOME/trusted.toml (--trusted).

Examples:
  cargo spirit verify target/spirit/release/hello-0.1.0.spirit --author 3b6a…")]
pub(crate) struct VerifyArgs {
    /// A build directory or .spirit package [default: this crate's build output]
    target: Option<PathBuf>,
    /// Require this author (64 hex characters)
    #[arg(long, value_name = "HEX", value_parser = super::author)]
    author: Option<Author>,
    /// Require an author listed in VUDO_HOME/trusted.toml
    #[arg(long)]
    trusted: bool,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: MessageFormat,
}

impl VerifyArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let trusted = if self.trusted {
            Some(
                sign::trusted_authors(&spirit_build::home::vudo_home()?)
                    .map_err(spirit_build::Error::Sign)?,
            )
        } else {
            None
        };
        let requirements = Requirements {
            author: self.author,
            trusted,
        };
        let target = spirit_target(self.target, self.cargo);
        for v in spirit_build::ops::verify(shell, &target, &requirements)? {
            self.format.emit_json(
                shell,
                serde_json::json!({
                    "reason": "spirit-verified",
                    "path": v.path,
                    "name": v.name,
                    "version": v.version,
                    "author": v.author.to_string(),
                    "blake3": v.blake3,
                }),
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
