//! One module per command; each parses its flags and calls one operation.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod inspect;
pub(crate) mod new;
pub(crate) mod run;

use std::process::ExitCode;

use spirit_build::Shell;

use crate::cli::Command;

pub(crate) fn execute(command: Command, shell: &Shell) -> anyhow::Result<ExitCode> {
    match command {
        Command::New(args) => args.execute(shell),
        Command::Build(args) => args.execute(shell),
        Command::Run(args) => args.execute(shell),
        Command::Check(args) => args.execute(shell),
        Command::Inspect(args) => args.execute(shell),
    }
}
