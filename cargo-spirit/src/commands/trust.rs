//! `cargo spirit trust` and `untrust`: add or remove an author's key in
//! `VUDO_HOME/trusted.toml`, which `install` checks.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::Registry;
use spirit_build::sign::Author;

use crate::args::{FormatArg, author};

/// Trust an author's key (VUDO_HOME/trusted.toml): `install` requires it
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// The author's public key, 64 hex characters
    #[arg(value_parser = author)]
    author: Author,
    #[command(flatten)]
    format: FormatArg,
}

impl TrustArgs {
    pub(crate) fn execute(self, shell: &Shell, trust: bool) -> anyhow::Result<ExitCode> {
        spirit_build::ops::trust(
            shell,
            &Registry::open_default().map_err(spirit_build::Error::from)?,
            self.author,
            trust,
        )?;
        let reason = if trust {
            "author-trusted"
        } else {
            "author-untrusted"
        };
        self.format.emit(
            shell,
            &serde_json::json!({ "reason": reason, "author": self.author.to_string() }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
