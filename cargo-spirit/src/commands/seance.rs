//! `cargo spirit seance`: summon spirits into one session, where they keep
//! their state between invocations and message each other, and invoke
//! their functions in order.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::{BuildOptions, InvocationSpec, LimitOverrides, SeanceOptions, Target};
use spirit_build::sandbox::SandboxConfig;
use spirit_build::units::parse_duration;
use spirit_sdk::abi::Capability;

use crate::args::{NetworkArgs, capability, fuel, max_memory};

/// Summon spirits into a séance and invoke their functions in order
#[derive(Debug, Args)]
#[command(after_help = "\
Each NAME=TARGET summons a spirit under NAME: TARGET is a spirit crate
directory (built first), a .wasm file, a .spirit package (hash and signature
checked), a build directory, or an installed spirit, NAME[@REQ]. Each keeps
one live instance, so its memory persists between invocations, and the
spirits of a séance message each other (vudo_send, vudo_broadcast: grant
network_broadcast). Fuel and the timeout apply to each invocation.

Results print on standard output, one line per value. A failed invocation
prints its error; the others still run (unless --fail-fast) and the séance
exits non-zero. A trap ends only the spirit it happened in.

Examples:
  cargo spirit seance hello=hello.wasm --invoke 'hello.main'
  cargo spirit seance ping=ping.wasm pong=pong.wasm --allow network_broadcast \\
      --invoke 'ping.serve 3' --invoke 'pong.answer' --invoke 'ping.count'
  cargo spirit seance calc=calc@^1 --invoke 'calc.add 2 3' -v")]
pub(crate) struct SeanceArgs {
    /// The spirits: NAME=TARGET, one or more
    #[arg(value_name = "NAME=TARGET", required = true)]
    spirits: Vec<String>,
    /// An invocation, 'NAME.FUNC [ARGS…]' (split at the first dot): repeatable, run in order
    #[arg(long, value_name = "'NAME.FUNC [ARGS…]'", allow_hyphen_values = true)]
    invoke: Vec<String>,
    /// Grant capabilities to every spirit: comma-separated, repeatable
    #[arg(long, value_name = "CAPS", value_parser = capability, value_delimiter = ',')]
    allow: Vec<Capability>,
    /// Withhold capabilities from every spirit, even declared ones
    #[arg(long, value_name = "CAPS", value_parser = capability, value_delimiter = ',')]
    deny: Vec<Capability>,
    #[command(flatten)]
    network: NetworkArgs,
    /// Fuel units per invocation [default: each manifest's `run.fuel`, else 1000000000]
    #[arg(long, value_name = "UNITS", value_parser = fuel)]
    fuel: Option<u64>,
    /// The most memory each spirit may use, such as 16MiB [default: each manifest's, else 64MiB]
    #[arg(long, value_name = "SIZE", value_parser = max_memory)]
    max_memory: Option<u64>,
    /// The longest one invocation may take, such as 500ms [default: each manifest's, else 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Seeded time and randomness for every spirit
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
    /// Stop at the first failed invocation
    #[arg(long)]
    fail_fast: bool,
}

impl SeanceArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let mut spirits = Vec::new();
        for text in &self.spirits {
            let (name, target) = spirit_build::ops::parse_summons(text)?;
            let target = Target::classify(Some(target.as_ref()), BuildOptions::default())
                .map_err(spirit_build::Error::from)?;
            spirits.push((name, target));
        }
        let invocations = self
            .invoke
            .iter()
            .map(|text| text.parse::<InvocationSpec>())
            .collect::<Result<Vec<_>, _>>()?;
        let options = SeanceOptions {
            spirits,
            invocations,
            allow: self.allow,
            deny: self.deny,
            limits: LimitOverrides {
                fuel: self.fuel,
                max_memory: self.max_memory,
                timeout: self.timeout,
                max_input: None,
                // A séance meters by fuel: its sandbox is built with the default
                // engine, and `--metering` is not offered.
                metering: None,
            },
            seed: self.deterministic.then_some(self.seed),
            network: self.network.access()?,
            sandbox: SandboxConfig::from_env(),
            fail_fast: self.fail_fast,
        };
        let report = spirit_build::ops::seance(shell, options)?;
        Ok(if report.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
