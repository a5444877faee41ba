use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::{LimitOverrides, ReceiptRequest, RunOptions, RunTarget};
use spirit_build::sandbox::{LogRecord, SandboxConfig, SpiritIo};
use spirit_build::sign::Key;
use spirit_build::units::{parse_duration, parse_size};
use spirit_sdk::abi::Capability;

use super::build::CargoArgs;
use super::capability;

/// Run a spirit in the sandbox, building it first if needed
#[derive(Debug, Args)]
#[command(after_help = "\
TARGET is a spirit crate directory (default: the crate here, built first), a
.wasm file, a .spirit package (hash and signature checked), or the name of an
installed spirit, NAME[@REQ] (such as hello@^1.2).

Examples:
  cargo spirit run                         Build and run the spirit in this crate
  cargo spirit run hello@^0.1              Run an installed spirit
  cargo spirit run hello.wasm --allow actuator_log
  cargo spirit run --fuel 100000 --timeout 500ms
  cargo spirit run math.wasm --invoke add 2 3
                                           Call `add(2, 3)` and print its result
  cargo spirit run --deterministic --seed 7 --input data.bin

Storage and compiled code live under $VUDO_HOME (default ~/.vudo).")]
pub(crate) struct RunArgs {
    /// A spirit crate directory or a .wasm file [default: the crate here],
    /// then the arguments of `--invoke`
    #[arg(value_name = "TARGET] [ARGS", allow_negative_numbers = true)]
    positional: Vec<String>,
    /// Call this exported function with ARGS and print its results, one per line
    #[arg(long, value_name = "FUNC")]
    invoke: Option<String>,
    /// Grant a capability (repeatable)
    #[arg(long, value_name = "CAP", value_parser = capability)]
    allow: Vec<Capability>,
    /// Withhold a capability, even a declared one (repeatable)
    #[arg(long, value_name = "CAP", value_parser = capability)]
    deny: Vec<Capability>,
    /// Fuel units the run may use [default: the manifest's `run.fuel`, else 1000000000]
    #[arg(long, value_name = "UNITS")]
    fuel: Option<u64>,
    /// The most memory the spirit may use, such as 16MiB [default: the manifest's, else 64MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// The longest the run may take, such as 500ms or 5s [default: the manifest's, else 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// The input bytes: a file, or - for standard input
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Seeded time and randomness: the same input gives the same output
    #[arg(long)]
    deterministic: bool,
    /// The seed of --deterministic
    #[arg(
        long,
        value_name = "N",
        requires = "deterministic",
        default_value_t = 0
    )]
    seed: u64,
    /// Write a signed execution receipt (hashes of wasm, input and output,
    /// fuel used) to FILE
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// The node key that signs the receipt [default: SPIRIT_SIGNING_KEY, else
    /// VUDO_HOME/keys/default.key]
    #[arg(long, value_name = "PATH", requires = "receipt")]
    key: Option<PathBuf>,
    #[command(flatten)]
    cargo: CargoArgs,
}

/// Log lines and warnings to stderr, output to stdout, as they happen.
#[derive(Debug)]
struct ShellIo {
    shell: Shell,
}

impl SpiritIo for ShellIo {
    fn log(&mut self, record: LogRecord) {
        self.shell.print_err_line(&record);
    }

    /// Straight to the process's standard output: `Shell::write_stdout`
    /// goes through a colour-stripping stream, which would drop any bytes of
    /// binary output that look like an escape sequence.
    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    }

    fn warning(&mut self, message: String) {
        self.shell.warn(message);
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

impl RunArgs {
    /// The target and the invocation's arguments. The first positional is
    /// the target unless `--invoke` is given and it is neither a `.wasm`
    /// file nor a directory: then every positional is an argument.
    fn split_positional(&self) -> (Option<PathBuf>, Vec<String>) {
        let mut positional = self.positional.clone();
        let first_is_target = positional.first().is_some_and(|p| {
            let path = std::path::Path::new(p);
            self.invoke.is_none()
                || path
                    .extension()
                    .is_some_and(|e| e == "wasm" || e == "spirit")
                || path.is_dir()
                || !p.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        });
        if first_is_target {
            let target = positional.remove(0);
            (Some(PathBuf::from(target)), positional)
        } else {
            (None, positional)
        }
    }

    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let (target, args) = self.split_positional();
        if self.invoke.is_none() && !args.is_empty() {
            anyhow::bail!(
                "unexpected argument `{}`: arguments are passed to the function named by `--invoke`\nhelp: call a function with `cargo spirit run [TARGET] --invoke FUNC {}`",
                args[0],
                args.join(" ")
            );
        }
        let target = match &target {
            Some(path) if path.extension().is_some_and(|e| e == "wasm") => {
                RunTarget::Wasm(path.clone())
            }
            Some(path) if path.extension().is_some_and(|e| e == "spirit") => {
                RunTarget::Package(path.clone())
            }
            Some(dir) if dir.is_dir() => {
                let mut cargo = self.cargo.clone();
                cargo.set_manifest_dir(dir);
                RunTarget::Crate(cargo.options())
            }
            // Not a file or directory here: an installed spirit, NAME[@REQ].
            Some(spec) => {
                let spec = spec.to_string_lossy();
                let (name, req) = spirit_build::registry::split_spec(&spec);
                RunTarget::Installed {
                    name: name.to_owned(),
                    req: req.map(str::to_owned),
                }
            }
            None => RunTarget::Crate(self.cargo.clone().options()),
        };
        let receipt = match self.receipt {
            Some(path) => Some(ReceiptRequest {
                path,
                key: Key::find(self.key.as_deref()).map_err(spirit_build::Error::Sign)?,
            }),
            None => None,
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
        let invoking = self.invoke.is_some();
        let options = RunOptions {
            target,
            allow: self.allow,
            deny: self.deny,
            limits: LimitOverrides {
                fuel: self.fuel,
                max_memory: self.max_memory,
                timeout: self.timeout,
            },
            input,
            io: Box::new(ShellIo {
                shell: Shell::new(shell.verbosity(), shell.color_choice()),
            }),
            invoke: self.invoke.map(|f| (f, args)),
            seed: self.deterministic.then_some(self.seed),
            pricing: None,
            sandbox: SandboxConfig::from_env(),
            receipt,
        };
        let outcome = spirit_build::run(shell, options)?;
        if invoking {
            let mut text = String::new();
            for result in &outcome.results {
                text.push_str(&format!("{result}\n"));
            }
            shell
                .write_stdout(text.as_bytes())
                .context("failed to write the results to standard output")?;
            return Ok(ExitCode::SUCCESS);
        }
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
