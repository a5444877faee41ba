//! Spirits calling spirits: a run's [`Composition`] (where its
//! dependencies come from, the callees loaded so far, the call tree) and one
//! call of a dependency in a sandbox instance of its own.
//!
//! The callee runs in its own store, with the policy, storage owner and
//! dependencies its own manifest gives it (never its caller's), from the
//! wasm its caller was built against (the pinned blake3 is checked here,
//! whatever the [`DependencySource`] did); its fuel and time come out of
//! its caller's. A callee's storage writes commit when it returns, as a
//! run's do. The sandbox does not know the registry: an embedder hands it a
//! [`DependencySource`] (`cargo spirit run` gives one that reads the
//! registry).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{ExternType, Store, Val};

use super::calls::{self, CallEnd, CallReport, CallRequest};
use super::engine::{EpochTicker, Sandbox};
use super::io::CollectingIo;
use super::load::{LoadedSpirit, function_type};
use super::outcome::{self, LimitsHit, RunError};
use super::state::{HostSetup, HostState};
use super::storage::StorageOwner;
use crate::limits::{Limits, Policy};
use crate::manifest::Dependency;
use crate::net::{Allowlist, NetworkAccess};

/// How deep calls may nest: a spirit, its dependency, theirs, … eight
/// levels in all.
pub const MAX_CALL_DEPTH: usize = 8;

/// The most calls a run's call tree records; later ones are counted.
const MAX_RECORDED_CALLS: usize = 1000;

/// A dependency as its caller gets it: the wasm and what its own manifest
/// grants it.
#[derive(Clone, Debug)]
pub struct Callee {
    /// Its wasm (checked against the pinned blake3 before it is loaded).
    pub wasm: Vec<u8>,
    /// Its entry: what a call without an export name runs.
    pub entry: String,
    /// What it is granted: its own manifest's capabilities when its author
    /// is trusted, never its caller's.
    pub policy: Policy,
    /// Whose storage it opens (its verified author).
    pub owner: StorageOwner,
    /// Its own pinned dependencies, which it may call in turn.
    pub dependencies: Vec<Dependency>,
    /// Where it may connect and listen: its own manifest's `[network]`
    /// entries when its author is trusted (as its capabilities), never its
    /// caller's. It reaches them within the run's network limits.
    pub network: Allowlist,
}

/// Where a run's callees come from: `cargo spirit run` reads them from
/// the registry, a test or an embedder from anywhere.
pub trait DependencySource: Send + Sync {
    /// The spirit `dependency` pins, or why it cannot be called, in words
    /// that name it (not installed, changed on disk, …).
    ///
    /// # Errors
    ///
    /// A message for the caller.
    fn fetch(&self, dependency: &Dependency) -> Result<Callee, String>;
}

/// One call in a run's call tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// How deep: 1 for a call by the spirit run, 2 for one by its callee, …
    pub depth: usize,
    /// The callee's name.
    pub name: String,
    /// Its pinned version.
    pub version: String,
    /// The export called.
    pub export: String,
    /// Fuel it used (out of its caller's).
    pub fuel_used: u64,
    /// Its wall-clock time.
    pub duration: Duration,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// A run's dependencies: where callees come from, the ones loaded so far
/// (each loaded once per composition), and the call tree. Give one to
/// [`RunRequest::composition`](super::RunRequest::composition); it needs
/// the sandbox the run uses.
///
/// ```
/// use std::sync::Arc;
/// use spirit_build::manifest::Dependency;
/// use spirit_build::sandbox::{Callee, Composition, DependencySource, Limits, Policy, RunRequest, Sandbox, SandboxConfig};
/// use spirit_sdk::abi::Capability;
///
/// struct One(Vec<u8>);
/// impl DependencySource for One {
///     fn fetch(&self, _: &Dependency) -> Result<Callee, String> {
///         Ok(Callee { wasm: self.0.clone(), entry: "run".into(), policy: Policy::default(),
///                     owner: Default::default(), dependencies: vec![], network: Default::default() })
///     }
/// }
/// # let callee = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)?;
/// # let caller = wat::parse_str(r#"(module
/// #   (import "vudo" "host_spirit_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
/// #   (memory (export "memory") 1) (data (i32.const 0) "echo")
/// #   (func (export "run") (result i32)
/// #     (call $call (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 64))))"#)?;
/// let sandbox = Arc::new(Sandbox::with_config(SandboxConfig::in_memory())?);
/// let echo = Dependency { name: "echo".into(), req: "^1".into(), version: "1.0.0".parse()?,
///                         blake3: blake3::hash(&callee).to_hex().to_string(), author: None };
/// let composition = Composition::new(sandbox.clone(), Arc::new(One(callee)), vec![echo]);
/// let mut request = RunRequest::new(Policy::allow([Capability::CrossSandboxCall]), Limits::default());
/// request.composition = Some(composition.clone());
/// let outcome = sandbox.run(&sandbox.load("caller", &caller)?, request)?;
/// assert_eq!(outcome.status, 0); // the callee's output: empty
/// assert_eq!(composition.calls()[0].name, "echo");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Composition {
    sandbox: Arc<Sandbox>,
    source: Arc<dyn DependencySource>,
    /// What the spirit run declares.
    dependencies: Vec<Dependency>,
    /// Loaded callees by name and wasm blake3.
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
    calls: Mutex<CallTree>,
    /// The run's network limits and extra HTTPS roots, within which each
    /// callee reaches its own allowlist (this one's is not used).
    network: NetworkAccess,
}

impl fmt::Debug for Composition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Composition")
            .field("dependencies", &self.dependencies)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct CallTree {
    records: Vec<CallRecord>,
    unrecorded: u64,
}

/// A callee compiled and pre-linked, with what its manifest gives it.
struct Loaded {
    spirit: LoadedSpirit,
    entry: String,
    policy: Policy,
    owner: StorageOwner,
    dependencies: Vec<Dependency>,
    network: Allowlist,
}

impl Composition {
    /// The dependencies of a run of a spirit that declares `dependencies`,
    /// fetched from `source` and run in `sandbox` (the one the run uses).
    pub fn new(
        sandbox: Arc<Sandbox>,
        source: Arc<dyn DependencySource>,
        dependencies: Vec<Dependency>,
    ) -> Arc<Composition> {
        Composition::with_network(sandbox, source, dependencies, NetworkAccess::default())
    }

    /// [`Composition::new`], with the run's network limits and extra HTTPS
    /// roots (`network.limits`, `network.extra_roots`), within which a
    /// callee reaches the allowlist of its own [`Callee::network`];
    /// `network.allowlist`, the caller's, is never a callee's.
    pub fn with_network(
        sandbox: Arc<Sandbox>,
        source: Arc<dyn DependencySource>,
        dependencies: Vec<Dependency>,
        network: NetworkAccess,
    ) -> Arc<Composition> {
        Arc::new(Composition {
            sandbox,
            source,
            dependencies,
            loaded: Mutex::new(HashMap::new()),
            calls: Mutex::new(CallTree::default()),
            network: NetworkAccess {
                allowlist: Allowlist::default(),
                ..network
            },
        })
    }

    /// The calls made so far, in the order they started (a call's own calls
    /// follow it, one level deeper).
    pub fn calls(&self) -> Vec<CallRecord> {
        self.tree().records.clone()
    }

    /// Calls made beyond the first 1,000, which the tree does not record.
    pub fn unrecorded_calls(&self) -> u64 {
        self.tree().unrecorded
    }

    fn tree(&self) -> std::sync::MutexGuard<'_, CallTree> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The callee `dependency` pins, loaded once: fetched, its hash
    /// checked, compiled (or taken from the code cache, whose entries are
    /// bound to the wasm's hash) and pre-linked.
    fn load(&self, dependency: &Dependency) -> Result<Arc<Loaded>, String> {
        let what = format!("`{}@{}`", dependency.name, dependency.version);
        let key = format!("{}@{}", dependency.name, dependency.blake3);
        if let Some(loaded) = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(loaded.clone());
        }
        let callee = self.source.fetch(dependency)?;
        let actual = blake3::hash(&callee.wasm).to_hex().to_string();
        if actual != dependency.blake3 {
            return Err(format!(
                "{what} is not the spirit its caller was built against: its wasm has blake3 {actual}, the caller pins {}",
                dependency.blake3
            ));
        }
        let spirit = self
            .sandbox
            .load(&dependency.name, &callee.wasm)
            .map_err(|e| format!("{what} could not be loaded: {e}"))?;
        let loaded = Arc::new(Loaded {
            spirit,
            entry: callee.entry,
            policy: callee.policy,
            owner: callee.owner,
            dependencies: callee.dependencies,
            network: callee.network,
        });
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, loaded.clone());
        Ok(loaded)
    }
}

/// What a store knows about its calls: the run's composition, the
/// dependencies this spirit declares, and the names from the spirit run
/// down to this one (for cycles and depth).
pub(crate) struct CallSite {
    pub(crate) composition: Arc<Composition>,
    dependencies: Vec<Dependency>,
    chain: Vec<String>,
    seed: Option<u64>,
}

impl CallSite {
    /// The site of the spirit a run runs.
    pub(crate) fn top(composition: Arc<Composition>, name: &str, seed: Option<u64>) -> CallSite {
        CallSite {
            dependencies: composition.dependencies.clone(),
            composition,
            chain: vec![name.to_owned()],
            seed,
        }
    }
}

impl calls::CallSite for CallSite {
    fn call(&self, request: CallRequest) -> CallReport {
        call(self, request)
    }
}

/// Runs one call from the spirit at `site`.
fn call(site: &CallSite, request: CallRequest) -> CallReport {
    let report = |end| CallReport {
        end,
        fuel_used: 0,
        logs: Vec::new(),
        warnings: Vec::new(),
    };
    let caller = site.chain.last().map_or("", String::as_str);
    let Some(dependency) = site.dependencies.iter().find(|d| d.name == request.name) else {
        return report(CallEnd::Undeclared(format!(
            "`{}` is not a dependency of `{caller}`\nhelp: declare it in `[package.metadata.spirit.dependencies]` and build again",
            crate::shell::escape(&request.name)
        )));
    };
    let path = || {
        site.chain
            .iter()
            .chain([&dependency.name])
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" → ")
    };
    if site.chain.contains(&dependency.name) {
        return report(CallEnd::Failed(format!(
            "calling `{}` from `{caller}` would be a cycle ({}): a spirit cannot call itself, directly or through others",
            dependency.name,
            path()
        )));
    }
    if site.chain.len() >= MAX_CALL_DEPTH {
        return report(CallEnd::Failed(format!(
            "calling `{}` would nest calls {} deep, more than {MAX_CALL_DEPTH} ({})",
            dependency.name,
            site.chain.len() + 1,
            path()
        )));
    }
    let composition = &site.composition;
    let index = {
        let mut tree = composition.tree();
        if tree.records.len() < MAX_RECORDED_CALLS {
            tree.records.push(CallRecord {
                depth: site.chain.len(),
                name: dependency.name.clone(),
                version: dependency.version.to_string(),
                export: String::new(),
                fuel_used: 0,
                duration: Duration::ZERO,
                error: None,
            });
            Some(tree.records.len() - 1)
        } else {
            tree.unrecorded = tree.unrecorded.saturating_add(1);
            None
        }
    };
    let started = Instant::now();
    let (report, export) = run_callee(site, dependency, request);
    if let Some(i) = index
        && let Some(record) = composition.tree().records.get_mut(i)
    {
        record.export = export;
        record.fuel_used = report.fuel_used;
        record.duration = started.elapsed();
        record.error = match &report.end {
            CallEnd::Returned(_) => None,
            CallEnd::Undeclared(why) | CallEnd::Failed(why) | CallEnd::Halted(why) => {
                Some(why.lines().next().unwrap_or_default().to_owned())
            }
        };
    }
    report
}

/// Loads, checks, instantiates and calls the callee in a store of its own.
fn run_callee(
    site: &CallSite,
    dependency: &Dependency,
    request: CallRequest,
) -> (CallReport, String) {
    let what = format!("`{}@{}`", dependency.name, dependency.version);
    let failed = |end: CallEnd| CallReport {
        end,
        fuel_used: 0,
        logs: Vec::new(),
        warnings: Vec::new(),
    };
    let loaded = match site.composition.load(dependency) {
        Ok(loaded) => loaded,
        Err(why) => return (failed(CallEnd::Failed(why)), String::new()),
    };
    let export = request
        .export
        .clone()
        .unwrap_or_else(|| loaded.entry.clone());
    let mut refused = crate::validate::check_imports(
        &loaded.spirit.imports,
        loaded.policy.granted(),
        crate::validate::Grant::Run,
    )
    .refused;
    refused.extend(super::embedder::refused(
        &loaded.spirit.embedder,
        &loaded.policy,
    ));
    if !refused.is_empty() {
        return (
            failed(CallEnd::Failed(format!(
                "{what} was refused: it is granted only what its own manifest declares and its author's trust allows, never its caller's capabilities\n{}",
                RunError::Refused(refused)
            ))),
            export,
        );
    }
    match loaded.spirit.module.get_export(&export) {
        Some(ExternType::Func(ty)) => {
            if let Some(problem) = crate::validate::entry_problem(&export, &function_type(&ty)) {
                return (
                    failed(CallEnd::Failed(format!("{what}: {problem}"))),
                    export,
                );
            }
        }
        _ => {
            return (
                failed(CallEnd::Failed(format!(
                    "{what} does not export a function `{}`",
                    crate::shell::escape(&export)
                ))),
                export,
            );
        }
    }
    let timeout = request.deadline.saturating_duration_since(Instant::now());
    let limits = Limits {
        fuel: request.fuel,
        timeout,
        max_memory: request.max_memory,
        ..Limits::default()
    };
    if request.fuel == 0 || timeout.is_zero() {
        return (
            failed(CallEnd::Halted(format!(
                "{what} could not start: its caller has no {} left",
                if request.fuel == 0 { "fuel" } else { "time" }
            ))),
            export,
        );
    }
    let mut chain = site.chain.clone();
    chain.push(dependency.name.clone());
    let sandbox = &site.composition.sandbox;
    let state = HostState::new(HostSetup {
        name: dependency.name.clone(),
        owner: loaded.owner,
        policy: loaded.policy.clone(),
        limits,
        input: request.input,
        io: Box::new(CollectingIo::default()),
        seed: site.seed,
        stores: sandbox.stores.clone(),
        deadline: request.deadline,
        credits: None,
        // Its own allowlist, never its caller's, within the run's limits.
        network: NetworkAccess {
            allowlist: loaded.network.clone(),
            limits: site.composition.network.limits,
            extra_roots: site.composition.network.extra_roots.clone(),
        },
        spirits: Some(Box::new(CallSite {
            composition: site.composition.clone(),
            dependencies: loaded.dependencies.clone(),
            chain,
            seed: site.seed,
        })),
    });
    let mut store = Store::new(&sandbox.engine, state);
    store.limiter(|s| s);
    if let Err(e) = store.set_fuel(limits.fuel) {
        return (
            failed(CallEnd::Failed(format!("{what} could not start: {e:#}"))),
            export,
        );
    }
    store.set_epoch_deadline(EpochTicker::ticks(timeout));
    store.epoch_deadline_trap();
    let called = (|| {
        let instance = loaded.spirit.pre.instantiate(&mut store)?;
        let func = instance
            .get_func(&mut store, &export)
            .ok_or_else(|| wasmtime::Error::msg("the export is gone"))?;
        let mut results: Vec<Val> = func.ty(&store).results().map(|_| Val::I32(0)).collect();
        func.call(&mut store, &[], &mut results)?;
        Ok::<i32, wasmtime::Error>(results.first().and_then(Val::i32).unwrap_or(0))
    })();
    let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let mut state = store.into_data();
    let hit = LimitsHit {
        memory: state.memory_limit_hit,
        table: state.table_limit_hit,
    };
    let status = match called {
        Ok(status) => state
            .commit_storage()
            .map(|()| status)
            .map_err(RunError::Storage),
        Err(e) => Err(outcome::classify(e, hit, limits, fuel_used)),
    };
    let (_, io) = state.finish();
    let io = io
        .into_any()
        .downcast::<CollectingIo>()
        .map(|io| *io)
        .unwrap_or_default();
    let end = match status {
        Ok(0) => CallEnd::Returned(io.output),
        Ok(status) => CallEnd::Failed(format!("{what} returned status {status}")),
        Err(RunError::OutOfFuel(_)) => CallEnd::Halted(format!(
            "out of fuel in {what}, called by `{}`, after it used {fuel_used} units (the fuel of a call counts against its caller's)\nhelp: raise the limit with `--fuel UNITS`",
            site.chain.last().map_or("", String::as_str)
        )),
        Err(RunError::Timeout(_)) => CallEnd::Halted(format!(
            "timed out in {what}, called by `{}` (the time of a call counts against its caller's)\nhelp: raise the limit with `--timeout DURATION`",
            site.chain.last().map_or("", String::as_str)
        )),
        Err(RunError::Dependency(message)) => CallEnd::Halted(message),
        Err(error) => CallEnd::Failed(format!("{what} failed: {error}")),
    };
    (
        CallReport {
            end,
            fuel_used,
            logs: io.logs,
            warnings: io.warnings,
        },
        export,
    )
}

#[cfg(test)]
mod tests;
