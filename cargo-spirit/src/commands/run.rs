//! `cargo spirit run`: run a spirit in the sandbox (a crate, built first; a
//! `.wasm` file; a `.spirit` package; or an installed NAME[@REQ]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::{
    CreditOptions, LimitOverrides, ReceiptRequest, RunInput, RunOptions, TerminalIo,
};
use spirit_build::sandbox::{Arg, Metering, SandboxConfig};
use spirit_build::sign::Key;
use spirit_build::units::parse_duration;
use spirit_sdk::abi::Capability;

use crate::args::{CargoArgs, NetworkArgs, capability, fuel, max_input, max_memory};

/// Run a spirit in the sandbox, building it first if needed
#[derive(Debug, Args)]
#[command(after_help = "\
TARGET is a spirit crate directory (default: the crate here, built first), a
.wasm file, a .spirit package (hash and signature checked), or the name of an
installed spirit, NAME[@REQ] (such as hello@^1.2, or hello@latest).

Examples:
  cargo spirit run                         Build and run the spirit in this crate
  cargo spirit run hello@^0.1              Run an installed spirit
  cargo spirit run hello.wasm --allow actuator_log,sensor_time
  cargo spirit run --input-text 'get count'
  cargo spirit run --fuel 100000 --timeout 500ms
  cargo spirit run --metering time --timeout 2s
                                           Bound the run by its timeout alone
                                           (fuel off: faster compute, not for
                                           priced or --deterministic runs)
  cargo spirit run math.wasm --invoke add 2 3
                                           Call `add(2, 3)` and print its result
  cargo spirit run --deterministic --seed 7 --input data.bin
  cargo spirit run fetch.wasm --allow network_connect --allow-net https://api.example.com
                                           Let a bare module fetch from one host
  cargo spirit run shop@1 --payer ~/.vudo/keys/alice.key --spend-limit 500
                                           Pay for a priced spirit as alice, and
                                           let it move up to 500 of her credits

A priced spirit (`[pricing]`) that is signed is charged to the payer and paid
to its author: the most the run can cost (its pricing at the fuel limit) is
reserved before it starts, and a payer who cannot cover it is refused; after
the run the actual cost is paid and the rest released. See docs/credits.md.

The network: a granted network_* capability reaches only what the manifest's
[network] lists and --allow-net/--allow-listen add. A name that resolves to a
loopback, private or link-local address is refused unless an entry names that
address (or `localhost`). HTTP redirects are checked at every hop (at most 5).
A deterministic run may not use the network.

Storage and compiled code live under $VUDO_HOME (default ~/.vudo).")]
pub(crate) struct RunArgs {
    /// A spirit crate directory or a .wasm file [default: the crate here],
    /// then the arguments of `--invoke`
    #[arg(value_name = "TARGET] [ARGS", allow_negative_numbers = true)]
    positional: Vec<String>,
    /// Call this exported function with ARGS and print its results, one per line
    #[arg(long, value_name = "FUNC")]
    invoke: Option<String>,
    /// Grant capabilities: comma-separated, repeatable
    #[arg(long, value_name = "CAPS", value_parser = capability, value_delimiter = ',')]
    allow: Vec<Capability>,
    /// Withhold capabilities, even declared ones: comma-separated, repeatable
    #[arg(long, value_name = "CAPS", value_parser = capability, value_delimiter = ',')]
    deny: Vec<Capability>,
    /// Fuel units the run may use [default: the manifest's `run.fuel`, else 1000000000]
    #[arg(long, value_name = "UNITS", value_parser = fuel)]
    fuel: Option<u64>,
    /// How the run is bounded: `fuel` (fuel and the timeout) or `time` (the
    /// timeout alone, fuel off; refused for priced and --deterministic runs)
    /// [default: the manifest's `run.metering`, else fuel]
    #[arg(long, value_name = "HOW")]
    metering: Option<Metering>,
    /// The most memory the spirit may use, 64KiB to 4GiB, such as 16MiB [default: the manifest's, else 64MiB]
    #[arg(long, value_name = "SIZE", value_parser = max_memory)]
    max_memory: Option<u64>,
    /// The longest the run may take (reading the input and compiling
    /// included), up to 365d, such as 500ms or 5s [default: the manifest's,
    /// else 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// The input bytes: a file, or - for standard input
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// The largest input accepted, at most 2GiB [default: the manifest's
    /// `run.max-input`, else 64MiB]
    #[arg(long, value_name = "SIZE", value_parser = max_input)]
    max_input: Option<u64>,
    /// The input, given inline as text (its UTF-8 bytes)
    #[arg(long, value_name = "TEXT", conflicts_with = "input")]
    input_text: Option<String>,
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
    /// The private key of the account that pays for the run [default:
    /// SPIRIT_SIGNING_KEY, else VUDO_HOME/keys/default.key]
    #[arg(long, value_name = "PATH")]
    payer: Option<PathBuf>,
    /// Credits the spirit itself may move out of the payer's account through
    /// the host_credit_* functions
    #[arg(long, value_name = "N", default_value_t = 0)]
    spend_limit: u64,
    #[command(flatten)]
    network: NetworkArgs,
    #[command(flatten)]
    cargo: CargoArgs,
}

impl RunArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let (target_arg, args) =
            spirit_build::ops::split_run_positionals(self.positional, self.invoke.is_some())
                .map_err(spirit_build::Error::from)?;
        let target = spirit_build::ops::classify_for_run(
            shell,
            target_arg.as_deref().map(std::path::Path::new),
            self.cargo.options(),
        )?;
        let receipt = match self.receipt {
            Some(path) => Some(ReceiptRequest {
                path,
                key: Key::find(self.key.as_deref()).map_err(spirit_build::Error::Sign)?,
            }),
            None => None,
        };
        let invoking = self.invoke.is_some();
        let network = self.network.access()?;
        // Each text becomes a number here; the library checks it against
        // the parameter's type once the spirit is loaded.
        let invoke = match self.invoke {
            Some(function) => {
                let args = args
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        text.parse::<Arg>()
                            .map_err(|e| anyhow::anyhow!("argument {} of `{function}`: {e}", i + 1))
                    })
                    .collect::<anyhow::Result<Vec<Arg>>>()?;
                Some((function, args))
            }
            None => None,
        };
        let options = RunOptions {
            target,
            allow: self.allow,
            deny: self.deny,
            limits: LimitOverrides {
                fuel: self.fuel,
                max_memory: self.max_memory,
                timeout: self.timeout,
                max_input: self.max_input,
                metering: self.metering,
            },
            input: match self.input_text {
                Some(text) => RunInput::Bytes(text.into_bytes()),
                None => self.input.map_or_else(RunInput::default, RunInput::File),
            },
            io: Box::new(TerminalIo::new(shell)),
            invoke,
            seed: self.deterministic.then_some(self.seed),
            pricing: None,
            // One run per process: its few instances (the spirit and the
            // spirits it calls) are mapped as they come, which costs a
            // process less than reserving a pool of slots it would use once.
            sandbox: SandboxConfig {
                pooling: false,
                ..SandboxConfig::from_env()
            },
            receipt,
            credits: CreditOptions {
                home: None,
                payer: self.payer,
                spend_limit: self.spend_limit,
            },
            network,
            // An unpriced run's code gets no deadline checks: a process
            // alarm ends it (`alarm.rs`).
            #[cfg(unix)]
            deadline_guard: Some(crate::alarm::factory(
                shell,
                spirit_build::MessageFormat::default(),
            )),
            #[cfg(not(unix))]
            deadline_guard: None,
        };
        let outcome = spirit_build::run(shell, options)?;
        if invoking {
            let results: String = outcome.results.iter().map(|r| format!("{r}\n")).collect();
            shell.write_stdout(results.as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        if outcome.status != 0 {
            shell.error(format_args!(
                "the spirit returned status {}",
                outcome.status
            ));
        }
        Ok(ExitCode::from(spirit_build::ops::exit_code(outcome.status)))
    }
}
