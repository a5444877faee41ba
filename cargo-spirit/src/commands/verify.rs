//! `cargo spirit verify`: check a spirit's hash and signature, and
//! optionally who signed it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::sign::Author;

use crate::args::{CargoArgs, FormatArg, author, target};

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
    #[arg(long, value_name = "HEX", value_parser = author)]
    author: Option<Author>,
    /// Require an author listed in VUDO_HOME/trusted.toml
    #[arg(long)]
    trusted: bool,
    #[command(flatten)]
    cargo: CargoArgs,
    #[command(flatten)]
    format: FormatArg,
}

impl VerifyArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let requirements = spirit_build::ops::verify_requirements(self.author, self.trusted)?;
        let target = target(self.target.as_deref(), self.cargo.options())?;
        for verified in spirit_build::ops::verify(shell, &target, &requirements)? {
            self.format
                .emit_event(shell, "spirit-verified", &verified)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
