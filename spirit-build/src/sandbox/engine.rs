//! The engine every run shares: its [`SandboxConfig`], wasmtime's
//! configuration (fuel, epoch interruption, the stack limit, the
//! WebAssembly features validation allows, the pooling allocator) and the
//! epoch ticker thread that makes `--timeout` work; and the [`Sandbox`]
//! that holds them with the host-function linker and the caches.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use super::backend::StorageBackend;
use super::embedder::{self, HostFunctions};
use super::error::SandboxError;
use super::state::{HostState, Ticks};
use super::storage::StorageDurability;
use super::{cache, storage};
use crate::limits::{MAX_TABLE_ELEMENTS, MAX_WASM_STACK, Metering};
use crate::validate;

/// How often the epoch ticker advances; the resolution of `--timeout`.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

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
    /// When a run's storage commit reaches the disk:
    /// [`StorageDurability::Immediate`] (the default) or
    /// [`StorageDurability::Eventual`].
    pub storage_durability: StorageDurability,
    /// How runs are bounded: [`Metering::Fuel`] (the default) compiles
    /// fuel counting into the code, [`Metering::Time`] leaves it out and
    /// bounds runs by their deadline alone. Every run's
    /// `Limits::metering` must be this one.
    pub metering: Metering,
    /// Whether the engine compiles epoch checks into the code, driven by a
    /// ticker thread, so that the sandbox itself ends a run at its
    /// deadline (`true`, the default). Off, the code has no checks (tight
    /// loops run up to twice as fast) and no ticker runs, and every run
    /// must bring a [`DeadlineGuard`](super::DeadlineGuard) that ends it
    /// (`RunRequest::deadline_guard`); a run without one is refused, and
    /// so is a séance's instance. For a host that owns its process:
    /// `cargo spirit run` ends its process at an unpriced run's deadline.
    pub deadline_checks: bool,
    /// The `VUDO_HOME` of the operations that read more than storage and
    /// code: the registry an installed spirit is run from, the trusted
    /// authors, the credit ledger ([`ops::run`](crate::ops::run) reads them
    /// here, never from the environment). [`SandboxConfig::in_home`] and
    /// [`SandboxConfig::from_env`] set it; `None` in memory.
    pub home: Option<PathBuf>,
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
    /// assert_eq!(config.home.as_deref(), Some(std::path::Path::new("/srv/vudo")));
    /// assert_eq!(config.storage_dir.unwrap(), std::path::Path::new("/srv/vudo/storage"));
    /// ```
    pub fn in_home(home: &Path) -> SandboxConfig {
        SandboxConfig {
            storage_dir: Some(crate::home::storage_dir(home)),
            cache_dir: Some(crate::home::cache_dir(home)),
            home: Some(home.to_owned()),
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
            storage_durability: StorageDurability::Immediate,
            metering: Metering::Fuel,
            deadline_checks: true,
            home: None,
        }
    }
}

impl Default for SandboxConfig {
    /// [`SandboxConfig::from_env`].
    fn default() -> SandboxConfig {
        SandboxConfig::from_env()
    }
}

/// The engine for `config`: with the pooling allocator when asked and
/// available, and whether it got it. The pool reserves address space up
/// front; where that is refused (a tight `ulimit -v`), instances are
/// allocated on demand instead.
pub(crate) fn engine(config: &SandboxConfig) -> wasmtime::Result<(Engine, bool)> {
    let pooled = config
        .pooling
        .then(|| {
            Engine::new(&engine_config(
                Some(config.max_instances.max(1)),
                config.metering,
                config.deadline_checks,
            ))
            .ok()
        })
        .flatten();
    match pooled {
        Some(engine) => Ok((engine, true)),
        None => Ok((
            Engine::new(&engine_config(
                None,
                config.metering,
                config.deadline_checks,
            ))?,
            false,
        )),
    }
}

/// The engine configuration every sandbox shares; `pooling` adds the pool,
/// fuel is counted unless `metering` is [`Metering::Time`], and epoch
/// interruption (the deadline) is compiled in unless `deadline_checks` is
/// off ([`SandboxConfig::deadline_checks`]).
pub(crate) fn engine_config(
    pooling: Option<u32>,
    metering: Metering,
    deadline_checks: bool,
) -> Config {
    let mut config = Config::new();
    config
        .consume_fuel(metering == Metering::Fuel)
        .epoch_interruption(deadline_checks)
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

/// The thread that advances the engine's epoch every [`EPOCH_TICK`]; it
/// stops when this is dropped (or the engine is).
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    /// How many times it has ticked: a clock of [`EPOCH_TICK`] resolution
    /// that costs an atomic load to read.
    ticks: Ticks,
}

impl EpochTicker {
    /// Starts the ticker for `engine`.
    pub(crate) fn start(engine: &Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(AtomicU64::new(0));
        let weak = engine.weak();
        let stopped = stop.clone();
        let ticked = ticks.clone();
        std::thread::Builder::new()
            .name("spirit-epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => {
                            engine.increment_epoch();
                            ticked.fetch_add(1, Ordering::Relaxed);
                        }
                        None => break,
                    }
                }
            })?;
        Ok(EpochTicker {
            stop,
            ticks: Ticks {
                count: ticks,
                every: EPOCH_TICK,
            },
        })
    }

    /// The epoch deadline, in ticks, for a run of at most `timeout`.
    pub(crate) fn ticks(timeout: Duration) -> u64 {
        let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The engine, the host functions, the caches and the epoch ticker.
pub struct Sandbox {
    pub(super) engine: Engine,
    /// The embedder's host functions; each load adds the host ABI's
    /// functions its module imports to a copy.
    pub(super) linker: Linker<HostState>,
    /// The embedder's host functions in `linker`, for the import checks.
    pub(super) embedder: Vec<embedder::Signature>,
    pub(super) cache: Option<cache::CodeCache>,
    /// Where runs' storage lives (the redb files of `storage_dir` unless
    /// [`Sandbox::with_storage`] said otherwise).
    pub(super) stores: Arc<dyn StorageBackend>,
    /// How [`Sandbox::run_with_storage`]'s stores commit.
    pub(super) durability: StorageDurability,
    pub(super) pooling: bool,
    pub(super) metering: Metering,
    /// The configuration's `VUDO_HOME`, for the operations that resolve
    /// spirits on this sandbox's behalf (a séance's summons).
    home: Option<PathBuf>,
    /// Whether the code has deadline checks ([`SandboxConfig::deadline_checks`]).
    pub(super) deadline_checks: bool,
    /// Declared last: the ticker stops after everything else is dropped.
    /// None without deadline checks.
    pub(super) _ticker: Option<EpochTicker>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("pooling", &self.pooling)
            .field("cache", &self.cache.as_ref().map(cache::CodeCache::dir))
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// The `VUDO_HOME` of the configuration it was made with
    /// ([`SandboxConfig::home`]), if any.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

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
        let stores = Arc::new(
            storage::Stores::new(config.storage_dir.clone())
                .with_durability(config.storage_durability),
        );
        Sandbox::with_storage(config, stores)
    }

    /// [`Sandbox::with_config`], with runs' storage in `storage` instead of
    /// the redb files of `config.storage_dir` (which is then not used): an
    /// embedder's own backend, or [`MemoryStorage`](super::MemoryStorage)
    /// for tests.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use spirit_build::sandbox::{MemoryStorage, Sandbox, SandboxConfig, StorageOwner};
    ///
    /// let storage = Arc::new(MemoryStorage::new());
    /// let sandbox = Sandbox::with_storage(SandboxConfig::in_memory(), storage.clone())?;
    /// # let _ = sandbox;
    /// assert_eq!(storage.get(StorageOwner::Unsigned, "counter", b"n"), None);
    /// # Ok::<(), spirit_build::sandbox::SandboxError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when wasmtime rejects the configuration.
    pub fn with_storage(
        config: SandboxConfig,
        storage: Arc<dyn StorageBackend>,
    ) -> Result<Sandbox, SandboxError> {
        Sandbox::with_host_functions(config, Some(storage), HostFunctions::new())
    }

    /// [`Sandbox::with_config`] (or [`Sandbox::with_storage`] when `storage`
    /// is given), with the embedder's own host functions linked beside the
    /// host ABI's: spirits may import them, each gated by its embedder's
    /// capability (see [`HostFunctions`]).
    ///
    /// ```
    /// use spirit_build::limits::{Limits, Policy};
    /// use spirit_build::sandbox::{
    ///     GuestMemory, HostFunctions, RunError, RunRequest, Sandbox, SandboxConfig,
    /// };
    ///
    /// let mut functions = HostFunctions::new();
    /// functions.define("acme", "answer", "acme:oracle", |_: &mut GuestMemory<'_>| 42_i32)?;
    /// let sandbox = Sandbox::with_host_functions(SandboxConfig::in_memory(), None, functions)?;
    /// let wasm = wat::parse_str(r#"(module
    ///     (import "acme" "answer" (func $answer (result i32)))
    ///     (memory (export "memory") 1)
    ///     (func (export "run") (result i32) (call $answer)))"#)?;
    /// let spirit = sandbox.load("asker", &wasm)?;
    /// let granted = Policy::default().grant_custom("acme:oracle");
    /// let outcome = sandbox.run(&spirit, RunRequest::new(granted, Limits::default()))?;
    /// assert_eq!(outcome.status, 42); // what the entry returned
    /// // Without the capability, the run is refused before it starts.
    /// let refused = sandbox.run(&spirit, RunRequest::new(Policy::default(), Limits::default()));
    /// assert!(matches!(refused, Err(RunError::Refused(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when wasmtime rejects the configuration.
    pub fn with_host_functions(
        config: SandboxConfig,
        storage: Option<Arc<dyn StorageBackend>>,
        functions: HostFunctions,
    ) -> Result<Sandbox, SandboxError> {
        let storage = storage.unwrap_or_else(|| {
            Arc::new(
                storage::Stores::new(config.storage_dir.clone())
                    .with_durability(config.storage_durability),
            )
        });
        let (engine, pooling) = engine(&config).map_err(SandboxError::Engine)?;
        // The host ABI's functions are defined at each load, only those the
        // module imports (`host::define_imports`); the embedder's here.
        let mut linker = Linker::new(&engine);
        let embedder =
            embedder::link(&engine, &mut linker, functions).map_err(SandboxError::Engine)?;
        let ticker = config
            .deadline_checks
            .then(|| EpochTicker::start(&engine))
            .transpose()
            .map_err(|e| SandboxError::Engine(wasmtime::Error::from(e)))?;
        let cache = config
            .cache_dir
            .map(|dir| cache::CodeCache::new(dir, &engine));
        Ok(Sandbox {
            engine,
            linker,
            embedder,
            cache,
            stores: storage,
            durability: config.storage_durability,
            pooling,
            metering: config.metering,
            home: config.home,
            deadline_checks: config.deadline_checks,
            _ticker: ticker,
        })
    }

    /// Whether instances come from the pooling allocator.
    pub fn uses_pooling(&self) -> bool {
        self.pooling
    }

    /// The epoch ticker's count (a clock of [`EPOCH_TICK`] resolution), when
    /// the code has deadline checks.
    pub(super) fn ticks(&self) -> Option<&Ticks> {
        self._ticker.as_ref().map(|ticker| &ticker.ticks)
    }

    /// The engine, for embedders that need it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
