//! One module per command; each parses its flags and calls one operation.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod info;
pub(crate) mod init;
pub(crate) mod inspect;
pub(crate) mod install;
pub(crate) mod keygen;
pub(crate) mod list;
pub(crate) mod new;
pub(crate) mod pack;
pub(crate) mod run;
pub(crate) mod search;
pub(crate) mod sign;
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
        Command::Run(args) => args.execute(shell),
        Command::Check(args) => args.execute(shell),
        Command::Inspect(args) => args.execute(shell),
        Command::Keygen(args) => args.execute(shell),
        Command::Sign(args) => args.execute(shell),
        Command::Verify(args) => args.execute(shell),
        Command::VerifyReceipt(args) => args.execute(shell),
        Command::Pack(args) => args.execute(shell),
        Command::Install(args) => args.execute(shell),
        Command::Uninstall(args) => args.execute(shell),
        Command::List(args) => args.execute(shell),
        Command::Info(args) => args.execute(shell),
        Command::Search(args) => args.execute(shell),
        Command::Upgrade(args) => args.execute(shell),
        Command::Trust(args) => args.execute(shell, true),
        Command::Untrust(args) => args.execute(shell, false),
    }
}

/// Parses a capability name for `--allow` and `--deny`.
pub(crate) fn capability(name: &str) -> Result<spirit_sdk::abi::Capability, String> {
    use spirit_sdk::abi::Capability;
    Capability::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "unknown capability `{name}`; accepted: {}",
            names.join(", ")
        )
    })
}

/// Parses an author or node key (64 hex characters) for `--author`, `--node`
/// and `trust`.
pub(crate) fn author(hex: &str) -> Result<spirit_build::sign::Author, String> {
    spirit_build::sign::Author::from_hex(hex).map_err(|e| e.to_string())
}

/// `--message-format`: what goes to standard output.
#[derive(Clone, Copy, Debug, clap::Args)]
pub(crate) struct MessageFormat {
    /// The output format: human, or json (one object per line, for CI)
    #[arg(long = "message-format", value_name = "FMT", default_value = "human")]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
}

impl MessageFormat {
    /// Prints `human` or, with `--message-format json`, `json` as one line.
    pub(crate) fn emit(
        self,
        shell: &Shell,
        human: &str,
        json: serde_json::Value,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Human => shell.write_stdout(human.as_bytes())?,
            Format::Json => self.emit_json(shell, json)?,
        }
        Ok(())
    }

    /// Whether `--message-format json` was given.
    pub(crate) fn is_json(self) -> bool {
        self.format == Format::Json
    }

    /// The same choice, for the library's build and check operations.
    pub(crate) fn compile(self) -> spirit_build::compile::MessageFormat {
        match self.format {
            Format::Human => spirit_build::compile::MessageFormat::Human,
            Format::Json => spirit_build::compile::MessageFormat::Json,
        }
    }

    /// Prints `json` as one line, only with `--message-format json`.
    pub(crate) fn emit_json(self, shell: &Shell, json: serde_json::Value) -> anyhow::Result<()> {
        if self.format == Format::Json {
            shell.write_stdout(format!("{json}\n").as_bytes())?;
        }
        Ok(())
    }
}

/// A spirit named on the command line, or the build output of the crate
/// the cargo flags select.
pub(crate) fn spirit_target(
    path: Option<std::path::PathBuf>,
    cargo: build::CargoArgs,
) -> spirit_build::ops::SpiritTarget {
    match path {
        Some(path) => spirit_build::ops::SpiritTarget::Path(path),
        None => {
            let options = cargo.options();
            spirit_build::ops::SpiritTarget::Built {
                selection: options.selection,
                compile: options.compile,
            }
        }
    }
}
