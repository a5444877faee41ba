//! `cargo spirit seance`: summon spirits from any targets into one
//! [`Seance`], run `--invoke NAME.FUNC ARGS…` in order, print each result
//! on standard output (one line per value), and with `-v` what passed over
//! the bus after each invocation.

use std::str::FromStr;

use spirit_sdk::abi::Capability;

use super::resolve::resolve;
use super::run::LimitOverrides;
use super::run_io::TerminalIo;
use super::target::Target;
use crate::net::{Allowlist, NetworkAccess};
use crate::sandbox::{Limits, Policy, RunError, Sandbox, SandboxConfig, SpiritIo};
use crate::seance::{Seance, SeanceError, Summons};
use crate::{Error, Shell};

/// `NAME.FUNC [ARGS…]`: a function of a summoned spirit and its arguments.
/// The spirit's name ends at the first `.`, so the function's name may
/// itself hold dots.
///
/// ```
/// use spirit_build::ops::InvocationSpec;
/// let spec: InvocationSpec = "calc.math.add 2 -3".parse()?;
/// assert_eq!((spec.spirit.as_str(), spec.function.as_str()), ("calc", "math.add"));
/// assert_eq!(spec.args, ["2", "-3"]);
/// assert!("calc".parse::<InvocationSpec>().is_err());
/// # Ok::<(), spirit_build::seance::SeanceError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvocationSpec {
    /// The spirit's name in the séance.
    pub spirit: String,
    /// The export to call.
    pub function: String,
    /// Its arguments, parsed by the function's parameter types.
    pub args: Vec<String>,
}

impl FromStr for InvocationSpec {
    type Err = SeanceError;

    fn from_str(text: &str) -> Result<InvocationSpec, SeanceError> {
        let bad = || SeanceError::Spec {
            spec: text.to_owned(),
            expected: "an invocation `NAME.FUNC [ARGS…]`",
            help: "name a summoned spirit and one of its exports, such as `--invoke 'calc.add 2 3'`",
        };
        let mut words = text.split_whitespace();
        let head = words.next().ok_or_else(bad)?;
        let (spirit, function) = head.split_once('.').ok_or_else(bad)?;
        if spirit.is_empty() || function.is_empty() {
            return Err(bad());
        }
        Ok(InvocationSpec {
            spirit: spirit.to_owned(),
            function: function.to_owned(),
            args: words.map(str::to_owned).collect(),
        })
    }
}

/// Splits `NAME=TARGET` at the first `=`.
///
/// ```
/// assert_eq!(spirit_build::ops::parse_summons("ping=./ping.wasm")?, ("ping".into(), "./ping.wasm".into()));
/// assert!(spirit_build::ops::parse_summons("ping.wasm").is_err());
/// # Ok::<(), spirit_build::seance::SeanceError>(())
/// ```
///
/// # Errors
///
/// Text without `=`, or with nothing on one side of it.
pub fn parse_summons(text: &str) -> Result<(String, String), SeanceError> {
    match text.split_once('=') {
        Some((name, target)) if !name.is_empty() && !target.is_empty() => {
            Ok((name.to_owned(), target.to_owned()))
        }
        _ => Err(SeanceError::Spec {
            spec: text.to_owned(),
            expected: "a spirit to summon, `NAME=TARGET`",
            help: "give a name and a target, such as `ping=ping.wasm` or `greeter=hello@^1`",
        }),
    }
}

/// How to hold the séance.
#[derive(Debug)]
pub struct SeanceOptions {
    /// The spirits, by name, each from its target.
    pub spirits: Vec<(String, Target)>,
    /// The invocations, in order.
    pub invocations: Vec<InvocationSpec>,
    /// Capabilities granted to every spirit beyond its manifest's.
    pub allow: Vec<Capability>,
    /// Capabilities withheld from every spirit.
    pub deny: Vec<Capability>,
    /// Limits replacing each spirit's own (fuel and time per invocation).
    pub limits: LimitOverrides,
    /// Deterministic mode for every spirit.
    pub seed: Option<u64>,
    /// Where every spirit may connect and listen beyond its manifest's
    /// `[network]` (`--allow-net`, `--allow-listen`), the network limits
    /// and extra HTTPS roots.
    pub network: NetworkAccess,
    /// Where storage and the code cache live.
    pub sandbox: SandboxConfig,
    /// Stop at the first failed invocation.
    pub fail_fast: bool,
}

/// How the invocations went (each failure was reported as it happened).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeanceReport {
    /// Invocations that returned.
    pub succeeded: usize,
    /// Invocations that failed.
    pub failed: usize,
    /// Invocations not run (after a failure, with `--fail-fast`).
    pub skipped: usize,
}

/// How a spirit is summoned from a target: the grants and limits of
/// `run`'s flags.
#[derive(Clone, Debug, Default)]
pub struct SummonOptions {
    /// Capabilities granted beyond the manifest's.
    pub allow: Vec<Capability>,
    /// Capabilities withheld, even declared ones.
    pub deny: Vec<Capability>,
    /// Limits replacing the spirit's own (fuel and time per invocation).
    pub limits: LimitOverrides,
    /// Deterministic mode.
    pub seed: Option<u64>,
    /// Where it may connect and listen beyond its manifest's `[network]`,
    /// within which limits.
    pub network: NetworkAccess,
}

/// Summons `target` into `seance` as `name`, as `run` would run it: a
/// crate is built, a package or build directory verified (its manifest's
/// capabilities granted only when a trusted author signed it), an installed
/// spirit resolved and re-checked; the manifest's `[run]` limits apply
/// unless `options` replace them. Logs and output go to `io`.
///
/// # Errors
///
/// A target that cannot be built, verified or loaded, limits out of range,
/// or a spirit the séance refuses (a taken name, an import not granted, a
/// failing start).
pub fn summon(
    shell: &Shell,
    seance: &mut Seance,
    name: &str,
    target: &Target,
    options: &SummonOptions,
    io: Box<dyn SpiritIo>,
) -> Result<(), Error> {
    let home = seance.sandbox().home().map(std::path::Path::to_path_buf);
    let resolved = resolve(shell, target, "seance", home.as_deref())?;
    let declared = resolved.declared(shell, &options.allow, &options.deny);
    let run_failed = |error: RunError| Error::Run {
        spirit: name.to_owned(),
        failure: Box::new(crate::sandbox::RunFailure::refused(error)),
    };
    if let Some(manifest) = &resolved.manifest {
        manifest
            .run
            .check()
            .map_err(|e| run_failed(RunError::ManifestLimits(e)))?;
    }
    let limits = options.limits.apply(
        resolved
            .manifest
            .as_ref()
            .map_or_else(Limits::default, |m| m.run),
    );
    limits.check().map_err(|e| run_failed(e.into()))?;
    // The manifest's network allowlist comes with its capabilities; the
    // flags' entries are added, as `run` adds them.
    let mut allowlist = match (&resolved.manifest, resolved.withheld.is_none()) {
        (Some(manifest), true) => manifest.network.clone(),
        _ => Allowlist::default(),
    };
    allowlist.extend(&options.network.allowlist);
    let network = NetworkAccess {
        allowlist,
        ..options.network.clone()
    };
    // Its dependencies, from the registry of the séance's home, as `run`
    // reads them.
    let composition = super::run_calls::composition(
        seance.shared_sandbox(),
        resolved
            .manifest
            .as_ref()
            .map_or(&[][..], |m| m.dependencies.as_slice()),
        &options.deny,
        home.as_deref(),
        &network,
    )?;
    let summons = Summons {
        policy: Policy::from_declared(declared, options.allow.clone(), options.deny.clone()),
        limits,
        io,
        seed: options.seed,
        storage_owner: resolved.owner,
        network,
        composition,
    };
    seance.summon(name, &resolved.wasm, summons)?;
    shell.status(
        "Summoned",
        format_args!(
            "`{}` (spirit `{}`)",
            crate::shell::escape(name),
            crate::shell::escape(&resolved.name)
        ),
    );
    Ok(())
}

/// Summons the spirits, runs the invocations, dismisses the séance.
///
/// # Errors
///
/// A target that cannot be built, verified or loaded, or a spirit that
/// cannot be summoned. A failed invocation is reported and counted, not
/// returned.
pub fn seance(shell: &Shell, options: SeanceOptions) -> Result<SeanceReport, Error> {
    let max_instances = u32::try_from(options.spirits.len())
        .unwrap_or(u32::MAX)
        .max(options.sandbox.max_instances);
    let sandbox = Sandbox::with_config(SandboxConfig {
        max_instances,
        ..options.sandbox
    })?;
    let mut seance = Seance::new(sandbox);
    let summon_options = SummonOptions {
        allow: options.allow.clone(),
        deny: options.deny.clone(),
        limits: options.limits,
        seed: options.seed,
        network: options.network.clone(),
    };
    for (name, target) in &options.spirits {
        let io = Box::new(TerminalIo::new(shell));
        summon(shell, &mut seance, name, target, &summon_options, io)?;
    }
    let mut report = SeanceReport::default();
    // How many of each spirit's calls of dependencies `-v` has shown.
    let mut shown: std::collections::HashMap<String, (usize, u64)> = Default::default();
    for (i, spec) in options.invocations.iter().enumerate() {
        if options.fail_fast && report.failed > 0 {
            report.skipped = options.invocations.len() - i;
            break;
        }
        shell.verbose(|s| {
            s.status(
                "Invoking",
                format_args!(
                    "{}.{}({})",
                    crate::shell::escape(&spec.spirit),
                    crate::shell::escape(&spec.function),
                    crate::shell::escape(&spec.args.join(", "))
                ),
            );
        });
        match seance.invoke_text(&spec.spirit, &spec.function, &spec.args) {
            Ok(invocation) => {
                report.succeeded += 1;
                let lines: String = invocation
                    .results
                    .iter()
                    .map(|r| format!("{r}\n"))
                    .collect();
                shell
                    .write_stdout(lines.as_bytes())
                    .map_err(SeanceError::Output)?;
                shell.verbose(|s| {
                    s.status(
                        "Finished",
                        format_args!(
                            "in {:.2?}: {} units of fuel",
                            invocation.duration, invocation.fuel_used
                        ),
                    );
                });
            }
            Err(error) => {
                report.failed += 1;
                shell.error(format_args!(
                    "invocation `{}.{}` failed: {error}",
                    crate::shell::escape(&spec.spirit),
                    crate::shell::escape(&spec.function)
                ));
            }
        }
        if let Some(composition) = seance.composition(&spec.spirit) {
            let seen = shown.entry(spec.spirit.clone()).or_default();
            *seen = super::run_calls::report_since(shell, composition, seen.0, seen.1);
        }
        // Read after every invocation, so the bus's record stays small.
        for event in seance.take_events() {
            shell.verbose(|s| {
                s.status("Bus", crate::shell::escape(&event.to_string()));
            });
        }
    }
    shell.verbose(|s| {
        s.status(
            "Dismissed",
            format_args!(
                "{} spirit{}",
                seance.spirits().len(),
                if seance.spirits().len() == 1 { "" } else { "s" }
            ),
        );
    });
    seance.dismiss();
    Ok(report)
}
