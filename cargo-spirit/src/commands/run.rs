use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use spirit_build::ops::{RunOptions, RunTarget};
use spirit_build::sandbox::{Limits, LogRecord, SpiritIo};
use spirit_build::units::{parse_duration, parse_size};
use spirit_build::{Shell, Verbosity};
use spirit_sdk::abi::Capability;

use super::build::CargoArgs;

/// Run a spirit in the sandbox, building it first if needed
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  cargo spirit run                         Build and run the spirit in this crate
  cargo spirit run hello.wasm --allow actuator_log
  cargo spirit run --fuel 100000 --timeout 500ms")]
pub(crate) struct RunArgs {
    /// A spirit crate directory or a .wasm file [default: the crate here]
    target: Option<PathBuf>,
    /// Grant a capability (repeatable)
    #[arg(long, value_name = "CAP", value_parser = capability)]
    allow: Vec<Capability>,
    /// Withhold a capability, even a declared one (repeatable)
    #[arg(long, value_name = "CAP", value_parser = capability)]
    deny: Vec<Capability>,
    /// Fuel units the run may use
    #[arg(long, value_name = "UNITS", default_value_t = Limits::default().fuel)]
    fuel: u64,
    /// The most memory the spirit may use, such as 16MiB
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_memory: u64,
    /// The longest the run may take, such as 500ms or 5s
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// The input bytes: a file, or - for standard input
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    #[command(flatten)]
    cargo: CargoArgs,
}

fn capability(name: &str) -> Result<Capability, String> {
    Capability::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "unknown capability `{name}`; accepted: {}",
            names.join(", ")
        )
    })
}

/// Log lines to stderr and output to stdout, as they happen.
#[derive(Debug)]
struct ShellIo {
    quiet: bool,
}

impl SpiritIo for ShellIo {
    fn log(&mut self, record: LogRecord) {
        if !self.quiet {
            anstream_eprintln(&record);
        }
    }

    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

fn anstream_eprintln(record: &LogRecord) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{record}");
}

impl RunArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let target = match &self.target {
            Some(path) if path.extension().is_some_and(|e| e == "wasm") => {
                RunTarget::Wasm(path.clone())
            }
            Some(dir) => {
                let mut cargo = self.cargo.clone();
                cargo.set_manifest_dir(dir);
                RunTarget::Crate(cargo.options())
            }
            None => RunTarget::Crate(self.cargo.clone().options()),
        };
        let input = match &self.input {
            None => Vec::new(),
            Some(path) if path.as_os_str() == "-" => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .context("failed to read the input from standard input")?;
                bytes
            }
            Some(path) => std::fs::read(path)
                .with_context(|| format!("failed to read the input `{}`", path.display()))?,
        };
        let options = RunOptions {
            target,
            allow: self.allow,
            deny: self.deny,
            limits: Limits {
                fuel: self.fuel,
                max_memory: usize::try_from(self.max_memory).unwrap_or(usize::MAX),
                timeout: self.timeout,
            },
            input,
            io: Box::new(ShellIo {
                quiet: shell.verbosity() == Verbosity::Quiet,
            }),
        };
        let outcome = spirit_build::run(shell, options)?;
        shell.verbose(|s| {
            s.status(
                "Finished",
                format_args!(
                    "in {:.2?}: {} units of fuel, peak memory {}",
                    outcome.duration,
                    outcome.fuel_used,
                    spirit_build::units::Bytes(outcome.peak_memory as u64)
                ),
            );
        });
        if outcome.status == 0 {
            Ok(ExitCode::SUCCESS)
        } else {
            shell.error(format_args!(
                "the spirit returned status {}",
                outcome.status
            ));
            Ok(ExitCode::from(
                u8::try_from(outcome.status & 0xff)
                    .ok()
                    .filter(|c| *c != 0)
                    .unwrap_or(1),
            ))
        }
    }
}
