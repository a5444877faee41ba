//! `cargo spirit run`: build the spirit if needed, then run it in the sandbox.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use spirit_sdk::abi::Capability;

use super::resolve::{Resolved, resolve};
use super::run_calls;
use super::run_charge::{self, CreditOptions, Prepare};
use super::run_io::{RunInput, read_input};
use super::target::Target;
use crate::limits::Metering;
use crate::net::NetworkAccess;
use crate::receipt::{Receipt, RunFacts};
use crate::sandbox::{
    Arg, Call, CodeSource, CollectingIo, DeadlineGuard, Limits, Outcome, Policy, Pricing, RunError,
    RunFailure, RunRequest, Sandbox, SandboxConfig, SandboxError, SpiritIo, StorageOwner,
};
use crate::sign::{Author, Key};
use crate::units::Bytes;
use crate::{Error, Shell};

/// What `run` takes: any [`Target`] but a directory of packages. A crate
/// is built first; a `.wasm` module gets only the `--allow`ed capabilities;
/// a package or build directory has its hash and signature checked first,
/// and is granted what its manifest declares only when signed by a trusted
/// author (otherwise it runs with `--allow` only, and a warning says so);
/// an installed spirit is the highest matching version, its stored wasm
/// re-checked against the registry and its author's trust against
/// `trusted.toml` (see `ops/grant.rs` for the whole rule).
pub type RunTarget = Target;

/// Limits given by the caller (`--fuel`, `--max-memory`, `--timeout`,
/// `--max-input`), each replacing the spirit's own default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// Fuel units.
    pub fuel: Option<u64>,
    /// Bytes of linear memory.
    pub max_memory: Option<u64>,
    /// Wall-clock time.
    pub timeout: Option<std::time::Duration>,
    /// Bytes of input.
    pub max_input: Option<u64>,
    /// How the run is bounded (`--metering fuel|time`).
    pub metering: Option<Metering>,
}

impl LimitOverrides {
    /// `base` with each limit given here replacing its own.
    ///
    /// ```
    /// use spirit_build::ops::LimitOverrides;
    /// use spirit_build::sandbox::Limits;
    ///
    /// let limits = LimitOverrides { fuel: Some(5), ..Default::default() }.apply(Limits::default());
    /// assert_eq!(limits.fuel, 5);
    /// assert_eq!(limits.max_memory, Limits::default().max_memory);
    /// ```
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            fuel: self.fuel.unwrap_or(base.fuel),
            max_memory: self.max_memory.unwrap_or(base.max_memory),
            timeout: self.timeout.unwrap_or(base.timeout),
            max_input: self.max_input.unwrap_or(base.max_input),
            metering: self.metering.unwrap_or(base.metering),
            ..base
        }
    }
}

/// `--receipt FILE`: write a signed execution receipt with this key.
#[derive(Debug)]
pub struct ReceiptRequest {
    /// Where to write it.
    pub path: PathBuf,
    /// The node's key that signs it.
    pub key: Key,
}

/// How to run it.
#[derive(Debug)]
pub struct RunOptions {
    /// The spirit.
    pub target: RunTarget,
    /// Capabilities granted beyond the manifest's (`--allow`).
    pub allow: Vec<Capability>,
    /// Capabilities withheld (`--deny`), which win over everything.
    pub deny: Vec<Capability>,
    /// The limits the caller sets; the others come from the spirit's
    /// manifest (`[run]`), or the sandbox's defaults for a bare module.
    pub limits: LimitOverrides,
    /// The input: bytes, or a file read within the run's input limit and
    /// timeout.
    pub input: RunInput,
    /// Where logs and output go.
    pub io: Box<dyn SpiritIo>,
    /// `--invoke FUNC ARGS…`: call this function instead of the entry
    /// (its arguments typed, or parsed from the command line's text).
    pub invoke: Option<(String, Vec<Arg>)>,
    /// `--deterministic [--seed N]`: seeded time and randomness.
    pub seed: Option<u64>,
    /// A price instead of the manifest's: charged (for a signed spirit) and
    /// reported by `-v`.
    pub pricing: Option<Pricing>,
    /// Who pays, and what the spirit may spend (`--payer`,
    /// `--spend-limit`).
    pub credits: CreditOptions,
    /// Where storage and the code cache live ([`SandboxConfig::from_env`]
    /// for the command line).
    pub sandbox: SandboxConfig,
    /// Write a signed receipt of the run.
    pub receipt: Option<ReceiptRequest>,
    /// Where the spirit may connect and listen beyond its manifest's
    /// `[network]` (`--allow-net`, `--allow-listen`), the network limits
    /// (`--net-timeout`, `--max-response`) and extra HTTPS roots
    /// (`--net-ca`).
    pub network: NetworkAccess,
    /// For a host that ends its own process at a run's deadline (as
    /// `cargo spirit run` does): an unpriced run then gets code without
    /// deadline checks (up to 3× faster on tight loops; a time-metered one
    /// as fast as no metering at all) and the guard this makes, given the
    /// error the run ends with when its time is up (see [`DeadlineGuard`]).
    /// `None`, or a priced run (whose charge must be settled however it
    /// ends): the sandbox's own checks.
    pub deadline_guard: Option<GuardFactory>,
}

/// Makes the [`DeadlineGuard`] of a run ([`RunOptions::deadline_guard`]),
/// given the error the run ends with when its time is up, for the guard to
/// report.
pub struct GuardFactory(Box<dyn FnOnce(Error) -> Box<dyn DeadlineGuard>>);

impl GuardFactory {
    /// The factory `make`.
    pub fn new(make: impl FnOnce(Error) -> Box<dyn DeadlineGuard> + 'static) -> GuardFactory {
        GuardFactory(Box::new(make))
    }
}

impl std::fmt::Debug for GuardFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuardFactory")
    }
}

impl RunOptions {
    /// Options that run `target` as `cargo spirit run TARGET` does with no
    /// flags: the manifest's capabilities and limits, no input, logs and
    /// output collected in memory ([`Outcome::output`], [`Outcome::logs`]),
    /// storage, code cache, registry and trusted authors where `sandbox`
    /// says (its [`home`](SandboxConfig::home)).
    pub fn new(target: RunTarget, sandbox: SandboxConfig) -> RunOptions {
        RunOptions {
            target,
            allow: Vec::new(),
            deny: Vec::new(),
            limits: LimitOverrides::default(),
            input: RunInput::default(),
            io: Box::new(CollectingIo::default()),
            invoke: None,
            seed: None,
            pricing: None,
            credits: CreditOptions::default(),
            sandbox,
            receipt: None,
            network: NetworkAccess::default(),
            deadline_guard: None,
        }
    }

    /// Options that run the installed spirit `spec` (`NAME`, `NAME@REQ`
    /// or `NAME@latest`) as `cargo spirit run NAME@REQ` does: the highest
    /// matching version in the registry of `sandbox`'s home, its stored
    /// wasm and signature checked, granted its manifest's capabilities when
    /// a trusted author signed it, within its manifest's limits.
    ///
    /// ```
    /// use spirit_build::ops::{RunOptions, RunTarget};
    /// use spirit_build::sandbox::SandboxConfig;
    ///
    /// let options = RunOptions::installed("hello@^1", SandboxConfig::in_home("/srv/vudo".as_ref()));
    /// assert!(matches!(&options.target, RunTarget::Installed { name, req } if name == "hello" && req.as_deref() == Some("^1")));
    /// // Then one call: `spirit_build::run(&shell, options.with_input(b"..."))?`.
    /// ```
    pub fn installed(spec: &str, sandbox: SandboxConfig) -> RunOptions {
        let (name, req) = crate::registry::split_spec(spec);
        RunOptions::new(
            RunTarget::Installed {
                name: name.to_owned(),
                req: req.map(str::to_owned),
            },
            sandbox,
        )
    }

    /// These options with `input` as the spirit's input.
    pub fn with_input(mut self, input: impl Into<Vec<u8>>) -> RunOptions {
        self.input = RunInput::Bytes(input.into());
        self
    }

    /// These options calling `function` with `args` instead of the entry.
    pub fn with_invoke<A: Into<Arg>>(
        mut self,
        function: &str,
        args: impl IntoIterator<Item = A>,
    ) -> RunOptions {
        self.invoke = Some((
            function.to_owned(),
            args.into_iter().map(Into::into).collect(),
        ));
        self
    }
}

/// Runs the spirit and returns how it went. With `-v`, reports where its
/// code came from (`Compiled` or `Cached`) and, once it finished, the fuel
/// used, wall time, peak memory and (with pricing) the cost in credits.
///
/// # Errors
///
/// Fails when the spirit cannot be built or loaded, is refused by the
/// policy, or its run ends in a limit, a trap or an abort.
pub fn run(shell: &Shell, mut options: RunOptions) -> Result<Outcome, Error> {
    // The caller's VUDO_HOME: the registry, trusted authors and ledger are
    // read there, never from the environment.
    let home = options.sandbox.home.clone();
    if options.credits.home.is_none() {
        options.credits.home.clone_from(&home);
    }
    let resolved = resolve(shell, &options.target, "run", home.as_deref())?;
    // A manifest's `[run]` defaults and price apply unless the caller says
    // otherwise; a bare module gets the sandbox's defaults and no grants,
    // and so does a spirit nobody trusted vouches for.
    // The manifest's network allowlist is granted with its capabilities.
    let manifest_granted = resolved.withheld.is_none();
    let declared = resolved.declared(shell, &options.allow, &options.deny);
    let Resolved {
        name,
        wasm,
        manifest,
        owner,
        wasm_hash,
        ..
    } = resolved;
    let entry = manifest.as_ref().map_or_else(
        || spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
        |m| m.entry.clone(),
    );
    let run_failed = |error| Error::Run {
        spirit: name.clone(),
        failure: Box::new(RunFailure::refused(error)),
    };
    if let Some(manifest) = &manifest {
        manifest
            .run
            .check()
            .map_err(|e| run_failed(RunError::ManifestLimits(e)))?;
    }
    let mut limits = options
        .limits
        .apply(manifest.as_ref().map_or_else(Limits::default, |m| m.run));
    limits.check().map_err(|e| run_failed(e.into()))?;
    let pricing = options
        .pricing
        .or_else(|| manifest.as_ref().and_then(|m| m.pricing));
    if limits.metering == Metering::Time {
        // Refused before anything runs or is charged; the sandbox refuses
        // the same runs again.
        let needs_fuel = if pricing.is_some() {
            Some("a priced run (its cost is counted in fuel)")
        } else if options.seed.is_some() {
            Some("a deterministic run (where it stops must not depend on the machine's speed)")
        } else if options.limits.fuel.is_some() {
            Some("`--fuel`")
        } else {
            None
        };
        if let Some(what) = needs_fuel {
            return Err(run_failed(RunError::NeedsFuel(what)));
        }
    }
    let policy = Policy::from_declared(declared, options.allow, options.deny.iter().copied());
    let mut network = options.network;
    if let Some(manifest) = manifest.as_ref().filter(|_| manifest_granted) {
        let flags = std::mem::replace(&mut network.allowlist, manifest.network.clone());
        network.allowlist.extend(&flags);
    }
    // The timeout covers the whole run from here: reading the input,
    // compiling, and the call, which gets what is left.
    let timeout = limits.timeout;
    let started = Instant::now();
    let input = match options.input {
        RunInput::Bytes(bytes) => bytes,
        RunInput::File(path) => read_input(&path, limits.max_input, timeout)?,
    };
    // A run whose host ends its process at the deadline needs no checks in
    // its code, unless it is priced: a priced run's charge is settled
    // however the run ends, so the sandbox must end it and return.
    let guard = options.deadline_guard.filter(|_| pricing.is_none());
    let sandbox = std::sync::Arc::new(Sandbox::with_config(SandboxConfig {
        metering: limits.metering,
        deadline_checks: options.sandbox.deadline_checks && guard.is_none(),
        ..options.sandbox
    })?);
    let composition = run_calls::composition(
        &sandbox,
        manifest
            .as_ref()
            .map_or(&[][..], |m| m.dependencies.as_slice()),
        &options.deny,
        home.as_deref(),
        &network,
    )?;
    let left = remaining(started, timeout);
    let spirit = sandbox
        .load_hashed_within(&name, &wasm, wasm_hash, left)
        .map_err(|error| match error {
            // What was left of the timeout ran out; the caller set all of it.
            SandboxError::CompileTimeout { name, .. } => {
                SandboxError::CompileTimeout { name, timeout }
            }
            error => error,
        })?;
    limits.timeout = match call_timeout(remaining(started, timeout)) {
        Some(left) => left,
        None => return Err(run_failed(RunError::Timeout(timeout))),
    };
    match spirit.source() {
        CodeSource::Cached(path) => shell.verbose(|s| {
            s.status(
                "Cached",
                format_args!("spirit `{name}` (compiled code from `{}`)", path.display()),
            );
        }),
        CodeSource::Compiled { duration, cached } => {
            shell.verbose(|s| {
                s.status(
                    "Compiled",
                    format_args!("spirit `{name}` in {duration:.2?}"),
                );
            });
            if let Err(why) = cached {
                shell.warn(format_args!(
                    "could not cache the compiled code of spirit `{name}`: {why}\nhelp: make `VUDO_HOME` (default ~/.vudo) writable, or point it at a writable directory"
                ));
            }
        }
    }
    // Refused here, before the spirit starts, when the payer cannot cover
    // the most the run can cost. The author is known only for a spirit
    // whose signature verified (the storage owner).
    let author = match owner {
        StorageOwner::Author(key) => Some(Author(key)),
        StorageOwner::Unsigned => None,
    };
    let mut billing = run_charge::prepare(
        shell,
        Prepare {
            options: &options.credits,
            spirit: &name,
            wasm_hash: &wasm_hash,
            author,
            pricing,
            fuel: limits.fuel,
            policy: &policy,
        },
    )?;
    shell.status(
        "Running",
        format_args!("spirit `{}`", crate::shell::escape(&name)),
    );
    let call = match options.invoke {
        Some((function, args)) => Call::Invoke { function, args },
        None => Call::Entry(entry),
    };
    // With a receipt, the output is hashed as it is written.
    let io: Box<dyn SpiritIo> = match &options.receipt {
        Some(_) => Box::new(HashingIo {
            inner: options.io,
            hasher: blake3::Hasher::new(),
        }),
        None => options.io,
    };
    let input_for_receipt = options.receipt.as_ref().map(|_| input.clone());
    let hashed = options.receipt.is_some();
    let request = RunRequest {
        call,
        policy,
        limits,
        input,
        io,
        seed: options.seed,
        storage_owner: owner,
        credits: billing.credits.take(),
        network,
        composition: composition.clone(),
        // What the run reports when its time is up: the caller's whole
        // timeout, as below.
        deadline_guard: guard.map(|make| (make.0)(run_failed(RunError::Timeout(timeout)))),
    };
    let result = sandbox.execute(&spirit, request);
    if let Some(composition) = &composition {
        run_calls::report(shell, composition);
    }
    let charged = run_charge::settle(shell, &mut billing, &result)?;
    let mut outcome = result.map_err(|mut failure| {
        // The call had what was left of the timeout; the caller set all of it.
        if let RunError::Timeout(_) = failure.error {
            failure.error = RunError::Timeout(timeout);
        }
        if hashed {
            failure.io = hashing(failure.io).inner;
        }
        Error::Run {
            spirit: name.clone(),
            failure,
        }
    })?;
    if let Some(receipt) = options.receipt {
        let HashingIo { inner, hasher } = hashing(std::mem::replace(
            &mut outcome.io,
            Box::new(crate::sandbox::CollectingIo::default()),
        ));
        outcome.io = inner;
        let facts = RunFacts {
            spirit: &name,
            wasm: &wasm,
            input: input_for_receipt.as_deref().unwrap_or_default(),
            output_blake3: hasher.finalize(),
            fuel_used: outcome.fuel_used,
            status: outcome.status,
            charge: charged,
        };
        if let Some(warning) = receipt.key.warning() {
            shell.warn(warning);
        }
        let signed = Receipt::new(&facts, &receipt.key)?;
        crate::fs::write_atomic(&receipt.path, format!("{}\n", signed.to_json()).as_bytes())?;
        shell.status(
            "Receipt",
            format_args!(
                "{} (signed by node {})",
                receipt.path.display(),
                receipt.key.author()
            ),
        );
    }
    shell.verbose(|s| {
        let cost = pricing
            .map(|p| format!(", cost {} credits", p.cost(outcome.fuel_used)))
            .unwrap_or_default();
        let fuel = match limits.metering {
            Metering::Fuel => format!("{} units of fuel", outcome.fuel_used),
            Metering::Time => "metered by time alone".to_owned(),
        };
        s.status(
            "Finished",
            format_args!(
                "in {:.2?}: {fuel}, peak memory {}{cost}",
                outcome.duration,
                Bytes(outcome.peak_memory as u64)
            ),
        );
    });
    Ok(outcome)
}

/// What is left of `timeout` since `started` (zero when it has passed).
fn remaining(started: Instant, timeout: Duration) -> Duration {
    timeout.saturating_sub(started.elapsed())
}

/// The call's timeout when `left` is what remains of the run's: none when
/// nothing does; else what remains, but at least the sandbox's least
/// timeout (1 ms), which a short `--timeout` would otherwise fall under
/// once loading took its part (refused then, in words about a timeout the
/// user never gave).
fn call_timeout(left: Duration) -> Option<Duration> {
    (!left.is_zero()).then(|| left.max(MIN_CALL_TIMEOUT))
}

/// The least timeout the sandbox takes ([`crate::limits::check::timeout`]).
const MIN_CALL_TIMEOUT: Duration = Duration::from_millis(1);

/// Passes logs and output through, hashing the output for a receipt.
#[derive(Debug)]
struct HashingIo {
    inner: Box<dyn SpiritIo>,
    hasher: blake3::Hasher,
}

impl SpiritIo for HashingIo {
    fn log(&mut self, record: crate::sandbox::LogRecord) {
        self.inner.log(record);
    }

    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.inner.output(bytes)
    }

    fn warning(&mut self, message: String) {
        self.inner.warning(message);
    }

    fn network(&mut self, event: String) {
        self.inner.network(event);
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }

    fn collected(&self) -> Option<&crate::sandbox::CollectingIo> {
        self.inner.collected()
    }
}

/// The [`HashingIo`] a run with a receipt was given, back from its outcome.
fn hashing(io: Box<dyn SpiritIo>) -> HashingIo {
    let Ok(hashing) = io.into_any().downcast::<HashingIo>() else {
        unreachable!("the I/O of a run with a receipt is the HashingIo made for it");
    };
    *hashing
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::Verbosity;
    use crate::manifest::Manifest;
    use crate::package::SpiritFiles;
    use crate::registry::Registry;
    use crate::sandbox::CollectingIo;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn run_verbose(pricing: Option<Pricing>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("priced.wasm");
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "run") (nop) (nop)))"#,
        )
        .unwrap();
        crate::fs::write_atomic(&path, &wasm).unwrap();
        let err = Captured::default();
        let shell = Shell::from_writers(
            Verbosity::Verbose,
            Box::new(err.clone()),
            Box::new(std::io::sink()),
        );
        let outcome = run(
            &shell,
            RunOptions {
                target: RunTarget::Wasm(path),
                allow: vec![],
                deny: vec![],
                limits: LimitOverrides::default(),
                input: RunInput::default(),
                io: Box::new(CollectingIo::default()),
                invoke: None,
                seed: None,
                pricing,
                sandbox: SandboxConfig::in_home(dir.path()),
                receipt: None,
                credits: CreditOptions::default(),
                network: Default::default(),
                deadline_guard: None,
            },
        )
        .unwrap();
        assert_eq!(outcome.status, 0);
        String::from_utf8(err.0.lock().unwrap().clone()).unwrap()
    }

    /// Logs its input, writes it to its output, then spins when the input
    /// is `spin`.
    const ECHO: &str = r#"(module
        (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
        (import "vudo" "host_input_read" (func $in (param i32 i32 i32) (result i32)))
        (import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "run") (local $n i32)
            (local.set $n (call $in (i32.const 0) (i32.const 100) (i32.const 0)))
            (drop (call $log (i32.const 2) (i32.const 0) (local.get $n)))
            (drop (call $out (i32.const 0) (local.get $n)))
            (if (i32.eq (i32.load (i32.const 0)) (i32.const 0x6e697073)) (then (loop (br 0))))))"#;

    /// One call runs an installed spirit from the caller's home, granted
    /// what its trusted author's manifest declares; a failed run still
    /// hands back its logs and output.
    #[test]
    fn an_installed_spirit_runs_from_the_configured_home_in_one_call() {
        let home = tempfile::tempdir().unwrap();
        let author = Key::generate().unwrap();
        let wasm = wat::parse_str(ECHO).unwrap();
        let mut manifest = Manifest::for_module("embedecho", "1.2.0".parse().unwrap(), &wasm);
        manifest.capabilities = vec![Capability::ActuatorLog];
        crate::trust::set_trusted(home.path(), author.author(), true).unwrap();
        let registry = Registry::new(home.path());
        registry
            .install(
                &SpiritFiles::new(manifest, wasm, Some(&author)),
                crate::registry::InstallOptions::default(),
            )
            .unwrap();
        let shell = Shell::from_writers(
            Verbosity::Quiet,
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
        );
        let config = || SandboxConfig::in_home(home.path());

        let outcome = run(
            &shell,
            RunOptions::installed("embedecho@^1", config()).with_input(b"hi".to_vec()),
        )
        .unwrap();
        assert_eq!(outcome.output(), b"hi");
        assert_eq!(outcome.logs()[0].to_string(), "[INFO embedecho] hi");

        let mut spin = RunOptions::installed("embedecho", config()).with_input(b"spin".to_vec());
        spin.limits.fuel = Some(100_000);
        match run(&shell, spin) {
            Err(Error::Run { spirit, failure }) => {
                assert_eq!(spirit, "embedecho");
                assert!(matches!(failure.error, RunError::OutOfFuel(100_000)));
                assert_eq!(failure.output(), b"spin");
                assert_eq!(failure.logs()[0].message, "spin");
                assert_eq!(failure.fuel_used, 100_000);
                assert_eq!(failure.to_string(), "out of fuel after 100000 units");
            }
            other => panic!("{other:?}"),
        }

        let error = run(
            &shell,
            RunOptions::installed("embedecho@^1", SandboxConfig::in_memory()),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot run the installed spirit `embedecho@^1`: the run's configuration has no VUDO_HOME to find it in\nhelp: configure the sandbox with `SandboxConfig::in_home` (or `SandboxConfig::from_env`)"
        );
    }

    #[test]
    fn the_call_gets_what_is_left_but_never_less_than_the_sandbox_takes() {
        assert_eq!(call_timeout(Duration::ZERO), None);
        assert_eq!(
            call_timeout(Duration::from_micros(300)),
            Some(Duration::from_millis(1))
        );
        assert_eq!(
            call_timeout(Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
        // The least the sandbox takes is what it checks.
        assert!(crate::limits::check::timeout(MIN_CALL_TIMEOUT).is_ok());
        assert!(crate::limits::check::timeout(MIN_CALL_TIMEOUT - Duration::from_nanos(1)).is_err());
    }

    #[test]
    fn verbose_reports_the_cost_when_pricing_is_known() {
        let priced = run_verbose(Some(Pricing {
            base_cost: 100,
            per_fuel_cost: 3,
            min_balance: None,
        }));
        let finished = priced.lines().last().unwrap();
        // Fuel for two `nop`s and the return, whatever wasmtime counts:
        // read it back and check the formula.
        let fuel: u64 = finished
            .split(": ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            finished.ends_with(&format!(", cost {} credits", 100 + 3 * fuel / 1000)),
            "{finished}"
        );
        let unpriced = run_verbose(None);
        assert!(
            unpriced.contains("units of fuel, peak memory 64 KiB\n"),
            "{unpriced}"
        );
        assert!(!unpriced.contains("cost"), "{unpriced}");
    }

    /// A spirit's dependencies are read in the run's home, never the
    /// environment's `VUDO_HOME`: with none configured, the run says so.
    #[test]
    fn dependencies_come_from_the_runs_home_only() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
            .unwrap();
        let mut manifest = Manifest::for_module("caller", "1.0.0".parse().unwrap(), &wasm);
        manifest.dependencies.push(crate::manifest::Dependency {
            name: "callee".into(),
            req: "^1".into(),
            version: "1.0.0".parse().unwrap(),
            blake3: blake3::hash(b"callee").to_hex().to_string(),
            author: None,
        });
        let files = SpiritFiles::new(manifest, wasm, None);
        let package = dir.path().join(files.package_name());
        crate::fs::write_atomic(&package, &files.to_package()).unwrap();
        let shell = Shell::from_writers(
            Verbosity::Quiet,
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
        );
        let options = RunOptions::new(RunTarget::Package(package), SandboxConfig::in_memory());
        match run(&shell, options) {
            Err(Error::NoHome(name)) => assert_eq!(name, "callee"),
            other => panic!("{other:?}"),
        }
    }
}
