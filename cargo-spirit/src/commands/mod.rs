//! One module per command; each parses its flags, builds an options struct,
//! calls one `spirit_build` operation and prints what it returns.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod credit;
pub(crate) mod info;
pub(crate) mod init;
pub(crate) mod inspect;
pub(crate) mod install;
pub(crate) mod keygen;
pub(crate) mod list;
pub(crate) mod new;
pub(crate) mod pack;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod run;
pub(crate) mod seance;
pub(crate) mod search;
pub(crate) mod sign;
pub(crate) mod test;
pub(crate) mod trust;
pub(crate) mod uninstall;
pub(crate) mod upgrade;
pub(crate) mod verify;
pub(crate) mod verify_receipt;

use std::process::ExitCode;

use spirit_build::Shell;

use crate::cli::Command;

pub(crate) fn execute(command: Command, shell: &Shell) -> anyhow::Result<ExitCode> {
    match command {
        Command::New(args) => args.execute(shell),
        Command::Init(args) => args.execute(shell),
        Command::Build(args) => args.execute(shell),
        Command::Run(args) => (*args).execute(shell),
        Command::Test(args) => args.execute(shell),
        Command::Seance(args) => args.execute(shell),
        Command::Check(args) => args.execute(shell),
        Command::Inspect(args) => args.execute(shell),
        Command::Keygen(args) => args.execute(shell),
        Command::Sign(args) => args.execute(shell),
        Command::Verify(args) => args.execute(shell),
        Command::VerifyReceipt(args) => args.execute(shell),
        Command::Pack(args) => args.execute(shell),
        Command::Install(args) => args.execute(shell),
        Command::Push(args) => args.execute(shell),
        Command::Pull(args) => args.execute(shell),
        Command::Uninstall(args) => args.execute(shell),
        Command::List(args) => args.execute(shell),
        Command::Info(args) => args.execute(shell),
        Command::Search(args) => args.execute(shell),
        Command::Upgrade(args) => args.execute(shell),
        Command::Credit(args) => args.execute(shell),
        Command::Trust(args) => args.execute(shell, true),
        Command::Untrust(args) => args.execute(shell, false),
    }
}
