//! The sandbox: runs a spirit in wasmtime with only the capabilities it was
//! granted, within fuel, memory, time, stack and table limits. This is the
//! embeddable runner: everything `cargo spirit run` does to a module is a
//! call here.
//!
//! One [`Sandbox`] holds the engine (pooling allocator, fuel, epoch
//! interruption driven by a ticker thread), the host-function linker, the
//! on-disk code cache and the open storage databases; make one per process
//! and load every spirit through it. [`Sandbox::load`] compiles a module (or
//! takes it from the cache) and pre-links it ([`wasmtime::InstancePre`]);
//! [`Sandbox::run`] checks its imports against the [`Policy`], instantiates
//! it and calls the entry or an invoked function. A run never takes the host
//! down: every limit and every trap ends it with a [`RunError`] that says
//! what happened in words.
//!
//! ```
//! use spirit_build::sandbox::{CollectingIo, Limits, Policy, RunRequest, Sandbox, SandboxConfig};
//! use spirit_sdk::abi::Capability;
//!
//! # let wat = r#"(module
//! #   (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
//! #   (memory (export "memory") 1) (data (i32.const 0) "hello")
//! #   (func (export "run") (drop (call $log (i32.const 2) (i32.const 0) (i32.const 5)))))"#;
//! # let wasm = wat::parse_str(wat)?;
//! // No storage and no code cache: nothing is written to disk.
//! let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
//! let spirit = sandbox.load("hello", &wasm)?;
//! let request = RunRequest::new(Policy::allow([Capability::ActuatorLog]), Limits::default());
//! let outcome = sandbox.run(&spirit, request)?;
//! let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
//! assert_eq!(io.logs[0].to_string(), "[INFO hello] hello");
//! assert!(outcome.fuel_used > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod host;
mod limits;
mod outcome;
mod storage;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{
    Config, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store, Val, ValType,
};

use crate::validate::{self, Expectations};

pub use host::{CollectingIo, DETERMINISTIC_EPOCH_MS, SpiritIo};
pub use limits::{Limits, MAX_TABLE_ELEMENTS, MAX_WASM_STACK, Policy, Pricing};
pub use outcome::{LogRecord, Outcome, RunError, Value};
pub use storage::{StorageError, StorageQuota};

/// How often the epoch ticker advances; the resolution of `--timeout`.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Where the sandbox keeps state, and how it allocates instances.
///
/// ```
/// use spirit_build::sandbox::SandboxConfig;
/// let config = SandboxConfig { max_instances: 4, ..SandboxConfig::in_memory() };
/// assert!(config.storage_dir.is_none() && config.cache_dir.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Where each spirit's storage database lives; `None` makes every
    /// storage call return `-1`.
    pub storage_dir: Option<PathBuf>,
    /// Where compiled code is cached; `None` compiles every load.
    pub cache_dir: Option<PathBuf>,
    /// How many instances may be alive at once (runs in parallel threads);
    /// the size of the pooling allocator's pool.
    pub max_instances: u32,
    /// Whether to use wasmtime's pooling allocator (instances reuse
    /// pre-reserved memory instead of mapping their own).
    pub pooling: bool,
}

impl SandboxConfig {
    /// Storage and cache under `VUDO_HOME` (`~/.vudo` by default), as
    /// `cargo spirit run` uses them. Without a home directory, the sandbox
    /// works without storage or cache.
    pub fn from_env() -> SandboxConfig {
        match crate::home::vudo_home() {
            Ok(home) => SandboxConfig::in_home(&home),
            Err(_) => SandboxConfig::in_memory(),
        }
    }

    /// Storage and cache under `home`.
    ///
    /// ```
    /// use spirit_build::sandbox::SandboxConfig;
    /// let config = SandboxConfig::in_home("/srv/vudo".as_ref());
    /// assert_eq!(config.storage_dir.unwrap(), std::path::Path::new("/srv/vudo/storage"));
    /// ```
    pub fn in_home(home: &Path) -> SandboxConfig {
        SandboxConfig {
            storage_dir: Some(crate::home::storage_dir(home)),
            cache_dir: Some(crate::home::cache_dir(home)),
            ..SandboxConfig::in_memory()
        }
    }

    /// No storage, no code cache: nothing touches the disk.
    pub fn in_memory() -> SandboxConfig {
        SandboxConfig {
            storage_dir: None,
            cache_dir: None,
            max_instances: 32,
            pooling: true,
        }
    }
}

impl Default for SandboxConfig {
    /// [`SandboxConfig::from_env`].
    fn default() -> SandboxConfig {
        SandboxConfig::from_env()
    }
}

/// What to call in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// The spirit's entry: takes nothing, returns nothing or an `i32`
    /// status.
    Entry(String),
    /// Any exported function, with arguments parsed by its parameter types
    /// (`--invoke FUNC ARGS…`); its results are returned.
    Invoke {
        /// The export.
        function: String,
        /// One text per parameter: decimal, or `0x` hexadecimal for integers.
        args: Vec<String>,
    },
}

impl Call {
    fn function(&self) -> &str {
        match self {
            Call::Entry(f) | Call::Invoke { function: f, .. } => f,
        }
    }
}

/// One run of a loaded spirit.
pub struct RunRequest {
    /// The function to call (the manifest's entry, `run` by default).
    pub call: Call,
    /// The capabilities granted.
    pub policy: Policy,
    /// The limits.
    pub limits: Limits,
    /// The bytes `host_input_read` returns.
    pub input: Vec<u8>,
    /// Where logs and output go.
    pub io: Box<dyn SpiritIo>,
    /// Deterministic mode with this seed: `host_time_now` and
    /// `host_random_bytes` come from sources seeded by it, so the same input
    /// (and storage) gives the same output. `None`: the real clock and the
    /// operating system's random generator.
    pub seed: Option<u64>,
}

impl fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunRequest")
            .field("call", &self.call)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("input_len", &self.input.len())
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl RunRequest {
    /// A request to call `run` with no input, collecting logs and output in
    /// memory ([`CollectingIo`]).
    ///
    /// ```
    /// use spirit_build::sandbox::{Call, Limits, Policy, RunRequest};
    /// let request = RunRequest::new(Policy::default(), Limits::default());
    /// assert_eq!(request.call, Call::Entry("run".into()));
    /// ```
    pub fn new(policy: Policy, limits: Limits) -> RunRequest {
        RunRequest {
            call: Call::Entry(spirit_sdk::abi::DEFAULT_ENTRY.to_owned()),
            policy,
            limits,
            input: Vec::new(),
            io: Box::new(CollectingIo::default()),
            seed: None,
        }
    }
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
    /// The module file could not be read.
    #[error(transparent)]
    Read(#[from] crate::fs::FsError),
    /// The module is larger than a spirit may be (size, functions, imports):
    /// refused before it is compiled.
    #[error("spirit `{name}` was refused before compiling ({} problem{})\n\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n\n"))]
    TooLarge {
        /// The spirit.
        name: String,
        /// Each limit it exceeds.
        problems: Vec<validate::Problem>,
    },
    /// The module imports what the host does not provide.
    #[error("spirit `{name}` cannot be linked ({} problem{})\n\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n\n"))]
    Imports {
        /// The spirit.
        name: String,
        /// Each import the host cannot satisfy.
        problems: Vec<validate::Problem>,
    },
}

/// Each import the linker cannot satisfy, in words: an unknown module or
/// function, or a host function imported with another type.
fn check_imports(module: &Module) -> Vec<validate::Problem> {
    let mut problems = Vec::new();
    for import in module.imports() {
        let what = format!("`{}.{}`", import.module(), import.name());
        let host = (import.module() == spirit_sdk::abi::MODULE)
            .then(|| spirit_sdk::abi::host_function(import.name()))
            .flatten();
        let Some(host) = host else {
            problems.push(validate::Problem {
                message: format!("imports {what}, which the host does not provide"),
                help: Some(format!(
                    "a spirit may import only the functions of module `{}` listed in docs/HOST_ABI.md",
                    spirit_sdk::abi::MODULE
                )),
            });
            continue;
        };
        let ExternType::Func(ty) = import.ty() else {
            problems.push(validate::Problem {
                message: format!("imports {what} as something other than a function"),
                help: None,
            });
            continue;
        };
        let params: Vec<String> = ty.params().map(|t| t.to_string()).collect();
        let results: Vec<String> = ty.results().map(|t| t.to_string()).collect();
        let actual = match results.as_slice() {
            [] => format!("({})", params.join(", ")),
            [one] => format!("({}) -> {one}", params.join(", ")),
            many => format!("({}) -> ({})", params.join(", "), many.join(", ")),
        };
        if host.signature() != actual.as_str() {
            problems.push(validate::Problem {
                message: format!(
                    "imports {what} with the type {actual}, but the host defines it as {}",
                    host.signature()
                ),
                help: Some("declare it with the signature in docs/HOST_ABI.md".to_owned()),
            });
        }
    }
    problems
}

/// Where a loaded spirit's machine code came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled by this load; `cached` says where it was saved, or why not.
    Compiled {
        /// How long compiling took.
        duration: Duration,
        /// The cache entry written, or why none was.
        cached: Result<Option<PathBuf>, String>,
    },
    /// Read from the code cache.
    Cached(PathBuf),
}

/// A compiled spirit, ready to instantiate many times.
pub struct LoadedSpirit {
    name: String,
    module: Module,
    pre: InstancePre<host::HostState>,
    source: CodeSource,
}

impl fmt::Debug for LoadedSpirit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedSpirit")
            .field("name", &self.name)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl LoadedSpirit {
    /// The spirit's name, as shown in its log lines and used for its
    /// storage.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether its code was compiled now or read from the cache.
    pub fn source(&self) -> &CodeSource {
        &self.source
    }
}

/// The engine, the host functions, the caches and the epoch ticker.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<host::HostState>,
    ticker_stop: Arc<AtomicBool>,
    cache: Option<cache::CodeCache>,
    stores: Arc<storage::Stores>,
    pooling: bool,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("pooling", &self.pooling)
            .field("cache", &self.cache.as_ref().map(cache::CodeCache::dir))
            .finish_non_exhaustive()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// The engine configuration every sandbox shares; `pooling` adds the pool.
pub(crate) fn engine_config(pooling: Option<u32>) -> Config {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        // The same NaN bits on every machine: deterministic mode means the
        // same output everywhere, not only on one CPU.
        .cranelift_nan_canonicalization(true)
        .wasm_features(
            wasmtime::WasmFeatures::all().difference(validate::SANDBOX_FEATURES),
            false,
        )
        .wasm_features(validate::SANDBOX_FEATURES, true);
    if let Some(instances) = pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(instances)));
    }
    config
}

/// A pool for `instances` live instances of one memory and one table each.
///
/// Each memory slot reserves wasmtime's default 4 GiB of address space plus
/// guard pages, so that bounds checks compile away; with 32 slots that is
/// 128 GiB of *address space* (of 128 TiB), none of it resident until used.
/// What stays resident between runs is capped at 1 MiB per slot.
fn pool(instances: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(instances)
        .total_memories(instances)
        .total_tables(instances)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_memory_size(4 << 30)
        .max_unused_warm_slots(instances.min(8))
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10);
    pool
}

impl Sandbox {
    /// A sandbox with storage and code cache under `VUDO_HOME`
    /// ([`SandboxConfig::from_env`]).
    ///
    /// # Errors
    ///
    /// Fails when wasmtime rejects the configuration.
    pub fn new() -> Result<Sandbox, SandboxError> {
        Sandbox::with_config(SandboxConfig::from_env())
    }

    /// Creates the engine (fuel metering and epoch interruption on, only the
    /// WebAssembly features spirits may use, the pooling allocator when
    /// asked and available) and the host-function linker.
    ///
    /// ```
    /// use spirit_build::sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    /// assert!(sandbox.uses_pooling());
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when wasmtime rejects the configuration.
    pub fn with_config(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let pooled = config
            .pooling
            .then(|| Engine::new(&engine_config(Some(config.max_instances.max(1)))).ok())
            .flatten();
        // The pool reserves address space up front; where that is refused
        // (a tight `ulimit -v`), instances are allocated on demand instead.
        let pooling = pooled.is_some();
        let engine = match pooled {
            Some(engine) => engine,
            None => Engine::new(&engine_config(None)).map_err(SandboxError::Engine)?,
        };
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
        let cache = config
            .cache_dir
            .map(|dir| cache::CodeCache::new(dir, &engine));
        Ok(Sandbox {
            engine,
            linker,
            ticker_stop,
            cache,
            stores: Arc::new(storage::Stores::new(config.storage_dir)),
            pooling,
        })
    }

    /// Whether instances come from the pooling allocator.
    pub fn uses_pooling(&self) -> bool {
        self.pooling
    }

    /// Compiles a module (or reads its compiled code from the cache) and
    /// links it against the host functions. `name` is the spirit's name: it
    /// appears in log lines and selects its storage.
    ///
    /// ```
    /// use spirit_build::sandbox::{CodeSource, Sandbox, SandboxConfig};
    ///
    /// let home = tempfile::tempdir()?;
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_home(home.path()))?;
    /// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)?;
    /// let first = sandbox.load("quiet", &wasm)?;
    /// assert!(matches!(first.source(), CodeSource::Compiled { cached: Ok(Some(_)), .. }));
    /// assert!(matches!(sandbox.load("quiet", &wasm)?.source(), CodeSource::Cached(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
        let problems = validate::structure_problems(wasm);
        if !problems.is_empty() {
            return Err(SandboxError::TooLarge {
                name: name.to_owned(),
                problems,
            });
        }
        let cached = self
            .cache
            .as_ref()
            .and_then(|cache| Some((cache.load(&self.engine, wasm)?, cache.path(wasm))));
        let (module, source) = match cached {
            Some((module, path)) => (module, CodeSource::Cached(path)),
            None => {
                let started = Instant::now();
                let module = Module::new(&self.engine, wasm).map_err(compile)?;
                let duration = started.elapsed();
                let cached = match &self.cache {
                    Some(cache) => cache.store(wasm, &module).map(Some),
                    None => Ok(None),
                };
                (module, CodeSource::Compiled { duration, cached })
            }
        };
        let problems = check_imports(&module);
        if !problems.is_empty() {
            return Err(SandboxError::Imports {
                name: name.to_owned(),
                problems,
            });
        }
        let pre = self.linker.instantiate_pre(&module).map_err(compile)?;
        Ok(LoadedSpirit {
            name: name.to_owned(),
            module,
            pre,
            source,
        })
    }

    /// [`Sandbox::load`] from a file; the spirit is named after the file
    /// (`hello.wasm` is `hello`).
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read, or as [`Sandbox::load`] does.
    pub fn load_file(&self, path: &Path) -> Result<LoadedSpirit, SandboxError> {
        let wasm = crate::fs::read(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.load(&name, &wasm)
    }

    /// Runs a loaded spirit once: checks its imports against the policy and
    /// the call against its exports, instantiates it (running its start
    /// function) and calls the function, all within the limits.
    ///
    /// ```
    /// use spirit_build::sandbox::{Call, Limits, Policy, RunError, RunRequest, Sandbox, SandboxConfig, Value};
    ///
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
    /// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1)
    ///     (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    ///     (func (export "run") (loop (br 0))))"#)?;
    /// let spirit = sandbox.load("math", &wasm)?;
    ///
    /// let mut request = RunRequest::new(Policy::default(), Limits::default());
    /// request.call = Call::Invoke { function: "add".into(), args: vec!["2".into(), "3".into()] };
    /// assert_eq!(sandbox.run(&spirit, request)?.results, [Value::I32(5)]);
    ///
    /// let limits = Limits { fuel: 10_000, ..Limits::default() };
    /// let spin = sandbox.run(&spirit, RunRequest::new(Policy::default(), limits));
    /// assert!(matches!(spin, Err(RunError::OutOfFuel(10_000))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every way a run can end other than the function returning: a refused
    /// import, a missing function or bad arguments, a limit, a trap, an
    /// abort.
    pub fn run(&self, spirit: &LoadedSpirit, request: RunRequest) -> Result<Outcome, RunError> {
        check_policy(spirit, &request.policy)?;
        let args = check_call(spirit, &request.call)?;
        let RunRequest {
            call,
            policy,
            limits,
            input,
            io,
            seed,
        } = request;
        let started = Instant::now();
        let state = host::HostState::new(host::HostSetup {
            name: spirit.name.clone(),
            policy,
            limits,
            input,
            io,
            seed,
            stores: self.stores.clone(),
            deadline: started + limits.timeout,
        });
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

        let result = (|| {
            let instance = spirit.pre.instantiate(&mut store)?;
            let func = instance
                .get_func(&mut store, call.function())
                .ok_or_else(|| {
                    wasmtime::Error::new(outcome::EntryError(format!(
                        "the spirit does not export a function `{}`",
                        call.function()
                    )))
                })?;
            let ty = func.ty(&store);
            let mut results: Vec<Val> = ty.results().map(|t| default_val(&t)).collect();
            let params: Vec<Val> = args.iter().map(|v| v.to_val()).collect();
            func.call(&mut store, &params, &mut results)?;
            Ok(results)
        })();
        let duration = started.elapsed();
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.into_data();
        match result {
            Ok(results) => {
                let (status, results) = match call {
                    Call::Entry(_) => (results.first().and_then(Val::i32).unwrap_or(0), vec![]),
                    Call::Invoke { .. } => {
                        (0, results.iter().filter_map(Value::from_val).collect())
                    }
                };
                let (peak_memory, io) = state.finish();
                Ok(Outcome {
                    status,
                    results,
                    fuel_used,
                    duration,
                    peak_memory,
                    io,
                })
            }
            Err(e) => Err(outcome::classify(e, &state, limits, fuel_used)),
        }
    }

    /// The engine, for embedders that need it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Refuses a module that imports a host function whose capability the
/// policy does not grant, naming each import, capability and flag.
fn check_policy(spirit: &LoadedSpirit, policy: &Policy) -> Result<(), RunError> {
    let mut errors = Vec::new();
    for import in spirit.module.imports() {
        let Some(f) = spirit_sdk::abi::host_function(import.name()) else {
            continue;
        };
        if let Some(cap) = f.capability
            && !policy.grants(cap)
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

/// Checks that the function exists with a callable type, and parses the
/// arguments of an invocation; before instantiation, so a mistake costs no
/// start function.
fn check_call(spirit: &LoadedSpirit, call: &Call) -> Result<Vec<Value>, RunError> {
    let name = call.function();
    let exports: Vec<String> = spirit
        .module
        .exports()
        .filter(|e| matches!(e.ty(), ExternType::Func(_)))
        .map(|e| format!("`{}`", e.name()))
        .collect();
    let Some(ExternType::Func(ty)) = spirit.module.get_export(name) else {
        return Err(RunError::Entry(format!(
            "the spirit does not export a function `{name}`\nhelp: it exports {}",
            if exports.is_empty() {
                "no functions".to_owned()
            } else {
                exports.join(", ")
            }
        )));
    };
    let types: Vec<String> = ty.params().map(|t| t.to_string()).collect();
    match call {
        Call::Entry(_) => {
            let status = ty
                .results()
                .map(|t| matches!(t, ValType::I32))
                .collect::<Vec<_>>();
            if types.is_empty() && matches!(status.as_slice(), [] | [true]) {
                Ok(Vec::new())
            } else {
                Err(RunError::Entry(format!(
                    "the entry `{name}` must take no arguments and return nothing or an i32 status, but its type is ({}) -> ({})\nhelp: call it with `--invoke {name} ARGS…`",
                    types.join(", "),
                    ty.results()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
        Call::Invoke { args, .. } => {
            if args.len() != types.len() {
                return Err(RunError::Arguments(format!(
                    "`{name}` takes {} argument{} ({}) but {} {} given",
                    types.len(),
                    if types.len() == 1 { "" } else { "s" },
                    types.join(", "),
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                )));
            }
            let results_ok = ty
                .results()
                .all(|t| matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64));
            if !results_ok {
                return Err(RunError::Entry(format!(
                    "`{name}` returns a value that cannot be printed (only i32, i64, f32 and f64 can)"
                )));
            }
            args.iter()
                .zip(&types)
                .enumerate()
                .map(|(i, (arg, ty))| {
                    Value::parse(arg, ty).map_err(|e| {
                        RunError::Arguments(format!("argument {} of `{name}`: {e}", i + 1))
                    })
                })
                .collect()
        }
    }
}

fn default_val(ty: &ValType) -> Val {
    match ty {
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        _ => Val::I32(0),
    }
}

/// Checks a module against a policy without running it: the same checks
/// the build makes, with the granted capabilities as the declared ones.
///
/// ```
/// use spirit_build::sandbox::{check, Policy};
/// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#).unwrap();
/// assert!(check(&wasm, &Policy::default(), "run").errors.is_empty());
/// ```
pub fn check(wasm: &[u8], policy: &Policy, entry: &str) -> validate::Report {
    validate::validate(
        wasm,
        &Expectations {
            capabilities: policy.granted(),
            entry,
        },
    )
}

/// The table of `docs/HOST_ABI.md` between its `<!-- host-functions -->`
/// markers, rendered from [`spirit_sdk::abi::HOST_FUNCTIONS`]; a test keeps
/// the document equal to it.
///
/// ```
/// let table = spirit_build::sandbox::host_abi_table();
/// assert!(table.contains("| `host_log` | `(level: i32, ptr: i32, len: i32) -> i32` | `actuator_log` |"));
/// ```
pub fn host_abi_table() -> String {
    let mut table = String::from(
        "| function | signature | capability | conventions |\n| --- | --- | --- | --- |\n",
    );
    for f in spirit_sdk::abi::HOST_FUNCTIONS {
        let params: Vec<String> = f
            .param_names
            .iter()
            .zip(f.params)
            .map(|(name, ty)| format!("{name}: {ty}"))
            .collect();
        let results = match f.results {
            [] => String::new(),
            [one] => format!(" -> {one}"),
            many => format!(
                " -> ({})",
                many.iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let capability = f
            .capability
            .map_or_else(|| "none (every spirit)".to_owned(), |c| format!("`{c}`"));
        let doc = f.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        table.push_str(&format!(
            "| `{}` | `({}){results}` | {capability} | {doc} |\n",
            f.name,
            params.join(", ")
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use spirit_sdk::abi::Capability;

    use super::*;

    const BEGIN: &str = "<!-- host-functions: generated from spirit_sdk::abi::HOST_FUNCTIONS -->\n";
    const END: &str = "<!-- /host-functions -->";

    #[test]
    fn host_abi_doc_matches_the_table() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/HOST_ABI.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let start = doc.find(BEGIN).expect("the begin marker") + BEGIN.len();
        let end = doc.find(END).expect("the end marker");
        let expected = host_abi_table();
        if doc[start..end] != expected {
            if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
                let updated = format!("{}{expected}{}", &doc[..start], &doc[end..]);
                crate::fs::write_atomic(&path, updated.as_bytes()).unwrap();
            } else {
                panic!(
                    "docs/HOST_ABI.md is out of date with spirit_sdk::abi::HOST_FUNCTIONS; \
                     rewrite it with `SNAPSHOTS=overwrite cargo test -p spirit-build host_abi_doc`. \
                     Expected table:\n{expected}"
                );
            }
        }
    }

    /// `put k` stores 4 bytes under the 4-byte key `k`; `get k` returns
    /// what `host_storage_read` returned for it.
    const KEYS: &str = r#"(module
        (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "put") (param $k i32) (result i32)
            (i32.store (i32.const 0) (local.get $k))
            (call $write (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4)))
        (func (export "get") (param $k i32) (result i32)
            (i32.store (i32.const 0) (local.get $k))
            (call $read (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 4))))"#;

    fn invoke(sandbox: &Sandbox, spirit: &LoadedSpirit, function: &str, k: u32) -> Value {
        let mut request = RunRequest::new(
            Policy::allow([Capability::StorageRead, Capability::StorageWrite]),
            Limits::default(),
        );
        request.call = Call::Invoke {
            function: function.into(),
            args: vec![k.to_string()],
        };
        sandbox.run(spirit, request).unwrap().results[0]
    }

    /// Threads running the same spirit on one sandbox share its database
    /// and lose no write; with and without the pooling allocator.
    #[test]
    fn parallel_runs_in_one_process_share_storage() {
        for pooling in [true, false] {
            let home = tempfile::tempdir().unwrap();
            let sandbox = Sandbox::with_config(SandboxConfig {
                pooling,
                ..SandboxConfig::in_home(home.path())
            })
            .unwrap();
            assert_eq!(sandbox.uses_pooling(), pooling);
            let spirit = sandbox
                .load("keys", &wat::parse_str(KEYS).unwrap())
                .unwrap();
            std::thread::scope(|s| {
                for thread in 0..4 {
                    let (sandbox, spirit) = (&sandbox, &spirit);
                    s.spawn(move || {
                        for i in 0..10 {
                            let k = thread * 10 + i;
                            assert_eq!(invoke(sandbox, spirit, "put", k), Value::I32(0));
                        }
                    });
                }
            });
            for k in 0..40 {
                assert_eq!(
                    invoke(&sandbox, &spirit, "get", k),
                    Value::I32(4),
                    "key {k}"
                );
            }
            assert_eq!(invoke(&sandbox, &spirit, "get", 40), Value::I32(0));
        }
    }

    #[test]
    fn a_full_pool_refuses_the_extra_instance_in_words() {
        let sandbox = Sandbox::with_config(SandboxConfig {
            max_instances: 1,
            ..SandboxConfig::in_memory()
        })
        .unwrap();
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "run") (loop (br 0))))"#,
        )
        .unwrap();
        let spirit = sandbox.load("spin", &wasm).unwrap();
        let limits = Limits {
            fuel: u64::MAX,
            timeout: Duration::from_millis(1500),
            ..Limits::default()
        };
        std::thread::scope(|s| {
            let first =
                s.spawn(|| sandbox.run(&spirit, RunRequest::new(Policy::default(), limits)));
            // Long enough for the first run to be instantiated and spinning.
            std::thread::sleep(Duration::from_millis(300));
            let second = sandbox.run(&spirit, RunRequest::new(Policy::default(), limits));
            let error = second.unwrap_err();
            assert_eq!(
                error.to_string(),
                "could not instantiate the spirit: maximum concurrent limit of 1 for core instances reached\n\
                 help: every instance slot of this sandbox is in use; run fewer spirits at once, or raise `SandboxConfig::max_instances`"
            );
            assert!(matches!(first.join().unwrap(), Err(RunError::Timeout(_))));
        });
    }

    /// The check before the run is the first line; each host function checks
    /// its capability again. Here the module is instantiated straight from
    /// the linker, skipping the first check, with nothing granted.
    #[test]
    fn every_call_checks_its_capability_again() {
        let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
        let wasm = wat::parse_str(
            r#"(module
                (import "vudo" "host_time_now" (func $time (result i64)))
                (import "vudo" "host_random_bytes" (func $random (param i32 i32) (result i32)))
                (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
                (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
                (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
                (import "vudo" "host_storage_delete" (func $delete (param i32 i32) (result i32)))
                (memory (export "memory") 1)
                (func (export "calls") (result i64 i32 i32 i32 i32 i32)
                    (call $time)
                    (call $random (i32.const 0) (i32.const 4))
                    (call $log (i32.const 2) (i32.const 0) (i32.const 1))
                    (call $read (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8))
                    (call $write (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8))
                    (call $delete (i32.const 0) (i32.const 1))))"#,
        )
        .unwrap();
        let spirit = sandbox.load("sneaky", &wasm).unwrap();
        let request = RunRequest::new(Policy::default(), Limits::default());
        assert!(matches!(
            sandbox.run(&spirit, RunRequest::new(Policy::default(), Limits::default())),
            Err(RunError::Refused(problems)) if problems.len() == 6
        ));
        let limits = request.limits;
        let state = host::HostState::new(host::HostSetup {
            name: "sneaky".into(),
            policy: request.policy,
            limits,
            input: Vec::new(),
            io: request.io,
            seed: None,
            stores: sandbox.stores.clone(),
            deadline: Instant::now() + limits.timeout,
        });
        let mut store = Store::new(&sandbox.engine, state);
        store.set_fuel(limits.fuel).unwrap();
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = sandbox
            .linker
            .instantiate(&mut store, &spirit.module)
            .unwrap();
        let calls = instance
            .get_typed_func::<(), (i64, i32, i32, i32, i32, i32)>(&mut store, "calls")
            .unwrap();
        assert_eq!(
            calls.call(&mut store, ()).unwrap(),
            (-1, -1, -1, -1, -1, -1)
        );
    }
}
