//! `cargo spirit run`: build the spirit if needed, then run it in the sandbox.

use std::path::PathBuf;

use spirit_sdk::abi::Capability;

use super::build::build;
use super::run_charge::{self, CreditOptions, Prepare};
use super::target::Target;
use crate::manifest::Manifest;
use crate::package::SpiritFiles;
use crate::receipt::{Receipt, RunFacts};
use crate::registry::Registry;
use crate::sandbox::{
    Call, CodeSource, Limits, Outcome, Policy, Pricing, RunRequest, Sandbox, SandboxConfig,
    SpiritIo,
};
use crate::sign::{self, Acceptance, Key, SignaturePolicy};
use crate::units::Bytes;
use crate::{Error, Shell};

/// What `run` takes: any [`Target`] but a directory of packages. A crate
/// is built first; a `.wasm` module gets only the `--allow`ed capabilities;
/// a package or build directory has its hash and signature checked first
/// (an unsigned one runs with a warning); an installed spirit is the
/// highest matching version, its stored wasm re-checked against the
/// registry.
pub type RunTarget = Target;

/// Limits given by the caller (`--fuel`, `--max-memory`, `--timeout`), each
/// replacing the spirit's own default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// Fuel units.
    pub fuel: Option<u64>,
    /// Bytes of linear memory.
    pub max_memory: Option<u64>,
    /// Wall-clock time.
    pub timeout: Option<std::time::Duration>,
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
    /// The input bytes.
    pub input: Vec<u8>,
    /// Where logs and output go.
    pub io: Box<dyn SpiritIo>,
    /// `--invoke FUNC ARGS…`: call this function instead of the entry.
    pub invoke: Option<(String, Vec<String>)>,
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
}

/// Runs the spirit and returns how it went. With `-v`, reports where its
/// code came from (`Compiled` or `Cached`) and, once it finished, the fuel
/// used, wall time, peak memory and (with pricing) the cost in credits.
///
/// # Errors
///
/// Fails when the spirit cannot be built or loaded, is refused by the
/// policy, or its run ends in a limit, a trap or an abort.
pub fn run(shell: &Shell, options: RunOptions) -> Result<Outcome, Error> {
    // The author is known only for a spirit whose signature was checked.
    let (name, wasm, manifest, author) = match &options.target {
        RunTarget::Crate(build_options) => {
            let built = build(shell, build_options)?;
            let spirit = match built.as_slice() {
                [one] => one,
                _ => {
                    return Err(crate::project::ProjectError::NotASpirit {
                        name: "(several)".to_owned(),
                        reason: "more than one spirit was selected; run one at a time",
                    }
                    .into());
                }
            };
            let manifest = Manifest::read(&spirit.manifest_path)?;
            let wasm = crate::fs::read(&spirit.wasm_path)?;
            (manifest.name.clone(), wasm, Some(manifest), None)
        }
        RunTarget::Wasm(path) => {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, crate::fs::read(path)?, None, None)
        }
        RunTarget::Package(path) | RunTarget::BuildDir(path) => {
            let files = SpiritFiles::read(path)?;
            // Running a package needs no trust, only a warning when unsigned.
            let policy = SignaturePolicy {
                unsigned: Acceptance::Warn,
                ..SignaturePolicy::CONSISTENT
            };
            let verdict = sign::check_signed(files.signed(), &policy, &[]).map_err(|error| {
                Error::Verify {
                    path: path.clone(),
                    error,
                }
            })?;
            if let Some(author) = verdict.author() {
                shell.verbose(|s| s.status("Verified", format_args!("signed by {author}")));
            }
            if let Some(warning) = policy.warning(verdict, &path.display()) {
                shell.warn(warning);
            }
            (
                files.manifest.name.clone(),
                files.wasm,
                Some(files.manifest),
                verdict.author(),
            )
        }
        RunTarget::PackageDir(_) => {
            return Err(options.target.refuse(
                "run",
                "a spirit crate directory, a `.wasm` file, a `.spirit` package, a build directory or NAME[@REQ]",
            ));
        }
        RunTarget::Installed { name, req } => {
            let registry = Registry::open_default()?;
            let entry = registry.resolve(name, req.as_deref())?;
            let files = registry.load(&entry)?;
            shell.verbose(|s| {
                s.status(
                    "Resolved",
                    format_args!(
                        "{}@{} to {}",
                        name,
                        req.as_deref().unwrap_or("*"),
                        entry.version
                    ),
                )
            });
            // `load` checked the signature against the registry's record.
            let author = files.signature.as_ref().map(|s| s.author);
            (
                files.manifest.name.clone(),
                files.wasm,
                Some(files.manifest),
                author,
            )
        }
    };
    // A manifest's `[run]` defaults and price apply unless the caller says
    // otherwise; a bare module gets the sandbox's defaults and no grants.
    let declared = manifest
        .as_ref()
        .map(|m| m.capabilities.clone())
        .unwrap_or_default();
    let entry = manifest.as_ref().map_or_else(
        || spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
        |m| m.entry.clone(),
    );
    let limits = options
        .limits
        .apply(manifest.as_ref().map_or_else(Limits::default, |m| m.run));
    let pricing = options
        .pricing
        .or_else(|| manifest.as_ref().and_then(|m| m.pricing));
    let policy = Policy::from_declared(declared, options.allow, options.deny);
    let sandbox = Sandbox::with_config(options.sandbox)?;
    let spirit = sandbox.load(&name, &wasm)?;
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
    // the most the run can cost.
    let mut billing = run_charge::prepare(
        shell,
        Prepare {
            options: &options.credits,
            spirit: &name,
            wasm: &wasm,
            author,
            pricing,
            fuel: limits.fuel,
            policy: &policy,
        },
    )?;
    shell.status("Running", format_args!("spirit `{name}`"));
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
    let input_for_receipt = options.receipt.as_ref().map(|_| options.input.clone());
    let request = RunRequest {
        call,
        policy,
        limits,
        input: options.input,
        io,
        seed: options.seed,
        credits: billing.credits.take(),
    };
    let result = sandbox.run(&spirit, request);
    let charged = run_charge::settle(shell, &mut billing, &result)?;
    let mut outcome = result.map_err(|error| Error::Run {
        spirit: name.clone(),
        error,
    })?;
    if let Some(receipt) = options.receipt {
        let hashing = std::mem::replace(
            &mut outcome.io,
            Box::new(crate::sandbox::CollectingIo::default()),
        );
        let Ok(hashing) = hashing.into_any().downcast::<HashingIo>() else {
            unreachable!("the run's I/O is the HashingIo made above");
        };
        let HashingIo { inner, hasher } = *hashing;
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
        s.status(
            "Finished",
            format_args!(
                "in {:.2?}: {} units of fuel, peak memory {}{cost}",
                outcome.duration,
                outcome.fuel_used,
                Bytes(outcome.peak_memory as u64)
            ),
        );
    });
    Ok(outcome)
}

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

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::Verbosity;
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
                input: vec![],
                io: Box::new(CollectingIo::default()),
                invoke: None,
                seed: None,
                pricing,
                sandbox: SandboxConfig::in_home(dir.path()),
                receipt: None,
                credits: CreditOptions::default(),
            },
        )
        .unwrap();
        assert_eq!(outcome.status, 0);
        String::from_utf8(err.0.lock().unwrap().clone()).unwrap()
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
}
