//! The sandbox: runs a spirit in wasmtime with only the capabilities it was
//! granted, and with fuel, memory and wall-clock limits.
//!
//! One [`Sandbox`] holds the engine and the linker; make one per process and
//! load every spirit through it. A run never takes the host down: every
//! limit and every trap ends the run with a [`RunError`] that says what
//! happened in words.
//!
//! ```no_run
//! use spirit_build::sandbox::{Limits, Policy, RunRequest, Sandbox};
//! use spirit_sdk::abi::Capability;
//!
//! let sandbox = Sandbox::new()?;
//! let wasm = std::fs::read("hello.wasm")?;
//! let spirit = sandbox.load("hello", &wasm)?;
//! let request = RunRequest::new(Policy::allow([Capability::ActuatorLog]), Limits::default());
//! let outcome = sandbox.run(&spirit, request)?;
//! println!("status {} after {} units of fuel", outcome.status, outcome.fuel_used);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod host;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spirit_sdk::abi::{Capability, LogLevel};
use wasmtime::{Config, Engine, InstancePre, Linker, Module, Store, Trap, Val};

use crate::validate::{self, Expectations};

pub use host::{CollectingIo, SpiritIo};

/// How often the epoch ticker advances; the resolution of `--timeout`.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Resource limits for one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel units (roughly, WebAssembly instructions) the run may use.
    pub fuel: u64,
    /// The most linear memory the spirit may have, in bytes.
    pub max_memory: usize,
    /// The longest the run may take, start function included.
    pub timeout: Duration,
}

impl Default for Limits {
    /// 1 billion units of fuel, 64 MiB of memory, 30 seconds.
    fn default() -> Limits {
        Limits {
            fuel: 1_000_000_000,
            max_memory: 64 << 20,
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a spirit may do: the capabilities granted for this run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    granted: Vec<Capability>,
}

impl Policy {
    /// A policy that grants exactly these capabilities.
    pub fn allow(capabilities: impl IntoIterator<Item = Capability>) -> Policy {
        let mut granted: Vec<Capability> = capabilities.into_iter().collect();
        granted.sort();
        granted.dedup();
        Policy { granted }
    }

    /// The granted capabilities, sorted.
    pub fn granted(&self) -> &[Capability] {
        &self.granted
    }

    /// Whether `capability` is granted.
    pub fn grants(&self, capability: Capability) -> bool {
        self.granted.binary_search(&capability).is_ok()
    }
}

/// One run of a loaded spirit.
pub struct RunRequest {
    /// The function to call (the manifest's entry, `run` by default).
    pub entry: String,
    /// The capabilities granted.
    pub policy: Policy,
    /// The limits.
    pub limits: Limits,
    /// The bytes `host_input_read` returns.
    pub input: Vec<u8>,
    /// Where logs and output go.
    pub io: Box<dyn SpiritIo>,
}

impl fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunRequest")
            .field("entry", &self.entry)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("input_len", &self.input.len())
            .finish_non_exhaustive()
    }
}

impl RunRequest {
    /// A request to call `run` with no input, collecting logs and output in
    /// memory ([`CollectingIo`]).
    pub fn new(policy: Policy, limits: Limits) -> RunRequest {
        RunRequest {
            entry: spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
            policy,
            limits,
            input: Vec::new(),
            io: Box::new(CollectingIo::default()),
        }
    }
}

/// How a run that finished went.
#[derive(Debug)]
pub struct Outcome {
    /// The entry's status (`0` when it returns nothing).
    pub status: i32,
    /// Fuel units used, start function included.
    pub fuel_used: u64,
    /// Wall-clock time of instantiation and call.
    pub duration: Duration,
    /// The peak size of the spirit's memory, in bytes.
    pub peak_memory: usize,
    /// The I/O sink, handed back (downcast a [`CollectingIo`] to read it).
    pub io: Box<dyn SpiritIo>,
}

/// Why the sandbox or a spirit could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The engine could not be configured.
    #[error("could not set up the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    /// The module does not compile.
    #[error("could not compile spirit `{name}`: {error:#}")]
    Compile {
        /// The spirit.
        name: String,
        /// Wasmtime's reason.
        error: wasmtime::Error,
    },
}

/// Why a run did not finish normally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The module imports what the policy does not grant.
    #[error("refused before running ({} problem{})\n\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, problems(.0))]
    Refused(Vec<validate::Problem>),
    /// The spirit used all its fuel.
    #[error("out of fuel after {0} units\nhelp: raise the limit with `--fuel UNITS`")]
    OutOfFuel(u64),
    /// The run took too long.
    #[error("timed out after {}\nhelp: raise the limit with `--timeout DURATION`", format_duration(*.0))]
    Timeout(Duration),
    /// The spirit asked for more memory than allowed, then failed.
    #[error("memory limit of {} reached\nhelp: raise the limit with `--max-memory SIZE`", crate::units::Bytes(*.0 as u64))]
    MemoryLimit(usize),
    /// The spirit recursed too deeply.
    #[error("stack overflow")]
    StackOverflow,
    /// The spirit aborted (a panic, or an error returned from its entry).
    #[error("{0}")]
    Aborted(String),
    /// The spirit trapped.
    #[error("trap: {0}")]
    Trap(String),
    /// The entry function is missing or has the wrong type.
    #[error("{0}")]
    Entry(String),
}

fn problems(problems: &[validate::Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn format_duration(d: Duration) -> String {
    if d.as_millis() < 1000 || d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}

/// A compiled spirit, ready to instantiate many times.
pub struct LoadedSpirit {
    name: String,
    module: Module,
    pre: InstancePre<host::HostState>,
}

impl fmt::Debug for LoadedSpirit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedSpirit")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl LoadedSpirit {
    /// The spirit's name, as shown in its log lines.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The engine, the host functions, and the epoch ticker behind timeouts.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<host::HostState>,
    ticker_stop: Arc<AtomicBool>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Sandbox {
    /// Creates the engine (fuel metering and epoch interruption on, only the
    /// WebAssembly features spirits may use) and the host-function linker.
    ///
    /// # Errors
    ///
    /// Fails when wasmtime rejects the configuration.
    pub fn new() -> Result<Sandbox, SandboxError> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .wasm_features(
                wasmtime::WasmFeatures::all().difference(validate::SANDBOX_FEATURES),
                false,
            )
            .wasm_features(validate::SANDBOX_FEATURES, true);
        let engine = Engine::new(&config).map_err(SandboxError::Engine)?;
        let linker = host::linker(&engine).map_err(SandboxError::Engine)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("spirit-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| SandboxError::Engine(wasmtime::Error::from(e)))?;
        Ok(Sandbox {
            engine,
            linker,
            ticker_stop,
        })
    }

    /// Compiles a module and links it against the host functions.
    ///
    /// # Errors
    ///
    /// Fails when the module does not compile or imports something the host
    /// does not define.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<LoadedSpirit, SandboxError> {
        let compile = |error| SandboxError::Compile {
            name: name.to_owned(),
            error,
        };
        let module = Module::new(&self.engine, wasm).map_err(compile)?;
        let pre = self.linker.instantiate_pre(&module).map_err(compile)?;
        Ok(LoadedSpirit {
            name: name.to_owned(),
            module,
            pre,
        })
    }

    /// Runs a loaded spirit once: checks its imports against the policy,
    /// instantiates it (running its start function) and calls the entry, all
    /// within the limits.
    ///
    /// # Errors
    ///
    /// Every way a run can end other than the entry returning: a refused
    /// import, a limit, a trap, an abort.
    pub fn run(&self, spirit: &LoadedSpirit, request: RunRequest) -> Result<Outcome, RunError> {
        self.check_policy(spirit, &request)?;
        let RunRequest {
            entry,
            policy,
            limits,
            input,
            io,
        } = request;
        let state = host::HostState::new(spirit.name.clone(), policy, limits, input, io);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| RunError::Trap(format!("{e:#}")))?;
        let ticks = limits
            .timeout
            .as_nanos()
            .div_ceil(EPOCH_TICK.as_nanos())
            .max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();

        let started = Instant::now();
        let result = (|| {
            let instance = spirit.pre.instantiate(&mut store)?;
            let func = instance.get_func(&mut store, &entry).ok_or_else(|| {
                wasmtime::Error::new(EntryError(format!("the spirit does not export `{entry}`")))
            })?;
            let ty = func.ty(&store);
            if ty.params().len() != 0 || ty.results().len() > 1 {
                return Err(wasmtime::Error::new(EntryError(format!(
                    "`{entry}` takes arguments or returns more than one value; use `--invoke` to call it"
                ))));
            }
            let mut results = vec![Val::I32(0); ty.results().len()];
            func.call(&mut store, &[], &mut results)?;
            Ok(results.first().and_then(Val::i32).unwrap_or(0))
        })();
        let duration = started.elapsed();
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.into_data();
        match result {
            Ok(status) => Ok(Outcome {
                status,
                fuel_used,
                duration,
                peak_memory: state.peak_memory,
                io: state.io,
            }),
            Err(e) => Err(classify(e, &state, limits, fuel_used)),
        }
    }

    fn check_policy(&self, spirit: &LoadedSpirit, request: &RunRequest) -> Result<(), RunError> {
        let mut errors = Vec::new();
        for import in spirit.module.imports() {
            let Some(f) = spirit_sdk::abi::host_function(import.name()) else {
                continue;
            };
            if let Some(cap) = f.capability
                && !request.policy.grants(cap)
            {
                errors.push(validate::Problem {
                        message: format!(
                            "imports `{}.{}`, which needs the capability `{cap}`, but it is not granted",
                            import.module(),
                            import.name()
                        ),
                        help: Some(format!(
                            "declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow {cap}`"
                        )),
                    });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(RunError::Refused(errors))
        }
    }

    /// The engine, for embedders that need it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// An entry that cannot be called.
#[derive(Debug)]
struct EntryError(String);

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EntryError {}

fn classify(
    e: wasmtime::Error,
    state: &host::HostState,
    limits: Limits,
    fuel_used: u64,
) -> RunError {
    if let Some(abort) = e.downcast_ref::<host::GuestAbort>() {
        return RunError::Aborted(abort.0.clone());
    }
    if let Some(entry) = e.downcast_ref::<EntryError>() {
        return RunError::Entry(entry.0.clone());
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => RunError::OutOfFuel(fuel_used),
        Some(Trap::Interrupt) => RunError::Timeout(limits.timeout),
        Some(Trap::StackOverflow) => RunError::StackOverflow,
        // A spirit whose allocation was refused usually traps right after;
        // the refusal is the cause worth reporting.
        Some(_) if state.memory_limit_hit => RunError::MemoryLimit(limits.max_memory),
        Some(trap) => RunError::Trap(describe_trap(*trap, &e)),
        None => RunError::Trap(format!("{e:#}")),
    }
}

fn describe_trap(trap: Trap, e: &wasmtime::Error) -> String {
    let function = e.downcast_ref::<wasmtime::WasmBacktrace>().and_then(|bt| {
        bt.frames().first().map(|f| {
            f.func_name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{}", f.func_index()))
        })
    });
    let what = match trap {
        Trap::UnreachableCodeReached => "unreachable".to_owned(),
        Trap::MemoryOutOfBounds => "out-of-bounds memory access".to_owned(),
        Trap::IntegerDivisionByZero => "integer division by zero".to_owned(),
        Trap::IntegerOverflow => "integer overflow".to_owned(),
        Trap::IndirectCallToNull => "indirect call to a null table entry".to_owned(),
        Trap::BadSignature => "indirect call with the wrong signature".to_owned(),
        Trap::TableOutOfBounds => "out-of-bounds table access".to_owned(),
        Trap::BadConversionToInteger => "invalid float-to-integer conversion".to_owned(),
        other => other.to_string(),
    };
    match function {
        Some(f) => format!("{what} in function {f}"),
        None => what,
    }
}

/// A host-side log line from a spirit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The spirit's name.
    pub spirit: String,
    /// The level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
}

impl fmt::Display for LogRecord {
    /// `[INFO hello] message`, as `cargo spirit run` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{} {}] {}",
            self.level.as_str(),
            self.spirit,
            self.message
        )
    }
}

/// Checks a module against a policy without running it: the same checks
/// [`Sandbox::run`] makes first.
pub fn check(wasm: &[u8], policy: &Policy, entry: &str) -> validate::Report {
    validate::validate(
        wasm,
        &Expectations {
            capabilities: policy.granted(),
            entry,
        },
    )
}
