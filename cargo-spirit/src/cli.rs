//! The command line: global flags and the list of commands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use spirit_build::{ColorChoice, Shell, Verbosity};

use crate::commands;

const AFTER_HELP: &str = "\
Examples:
  cargo spirit new hello      Create a spirit crate in ./hello
  cargo spirit init           Make the current directory a spirit crate
  cargo spirit build          Compile, validate and strip the spirit here
  cargo spirit run            Build it if needed and run it in the sandbox
  cargo spirit test           Run its #[spirit_sdk::test]s in the sandbox
  cargo spirit check          Validate it as build does, writing nothing
  cargo spirit inspect F.wasm Show imports, capabilities, sections, largest functions

See 'cargo spirit help <command>' for more on a command.";

/// Build, check and run spirits: sandboxed WebAssembly plugins written in Rust.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-spirit",
    bin_name = "cargo spirit",
    version,
    after_help = AFTER_HELP,
    propagate_version = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Use verbose output
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Do not print status messages
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Coloring
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: Color,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    pub(crate) fn shell(&self) -> Shell {
        let verbosity = if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let color = match self.color {
            Color::Auto => ColorChoice::Auto,
            Color::Always => ColorChoice::Always,
            Color::Never => ColorChoice::Never,
        };
        Shell::new(verbosity, color)
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    New(commands::new::NewArgs),
    Init(commands::init::InitArgs),
    Build(commands::build::BuildArgs),
    Run(Box<commands::run::RunArgs>),
    Test(commands::test::TestArgs),
    Seance(commands::seance::SeanceArgs),
    Check(commands::check::CheckArgs),
    Inspect(commands::inspect::InspectArgs),
    Keygen(commands::keygen::KeygenArgs),
    Sign(commands::sign::SignArgs),
    Verify(commands::verify::VerifyArgs),
    VerifyReceipt(commands::verify_receipt::VerifyReceiptArgs),
    Pack(commands::pack::PackArgs),
    Install(commands::install::InstallArgs),
    Push(commands::push::PushArgs),
    Pull(commands::pull::PullArgs),
    Uninstall(commands::uninstall::UninstallArgs),
    List(commands::list::ListArgs),
    Info(commands::info::InfoArgs),
    Search(commands::search::SearchArgs),
    Upgrade(commands::upgrade::UpgradeArgs),
    Credit(commands::credit::CreditArgs),
    Trust(commands::trust::TrustArgs),
    /// Stop trusting an author's key
    Untrust(commands::trust::TrustArgs),
}
