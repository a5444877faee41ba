//! `cargo spirit keygen`: make an ed25519 signing key pair under
//! `VUDO_HOME/keys/` and print its public key.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::sign::DEFAULT_KEY_NAME;

use crate::args::FormatArg;

/// Make an ed25519 signing key pair under VUDO_HOME/keys/
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the public key (64 hex characters, the `author` of what you sign) on
standard output. The private key file is readable only by you; cargo-spirit
never overwrites a key and never prints a private key.

Example:
  cargo spirit keygen --name ci")]
pub(crate) struct KeygenArgs {
    /// The key's name: VUDO_HOME/keys/NAME.key and NAME.pub
    #[arg(long, default_value = DEFAULT_KEY_NAME)]
    name: String,
    #[command(flatten)]
    format: FormatArg,
}

impl KeygenArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let author = spirit_build::ops::keygen(shell, &self.name)?;
        self.format.print(
            shell,
            format_args!("{author}\n"),
            &serde_json::json!({ "reason": "key-created", "name": self.name, "author": author.to_string() }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
