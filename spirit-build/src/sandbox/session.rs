//! A live instance of a spirit ([`LiveSpirit`]): instantiated once, its
//! memory and globals kept between invocations, each invocation with its
//! own fuel and time; what a séance holds for each summoned spirit.
//!
//! One-shot runs ([`Sandbox::run`]) make a fresh instance per call; this is
//! the other entry point into the sandbox, with the same checks before
//! instantiating (the policy, the limits, the initial sizes) and the same
//! host functions. An invocation that fails in the spirit (a trap, a
//! limit, an abort) ends the instance: its state may be half-changed, so
//! every later call says so instead of running on it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Instance, Store, TypedFunc, Val, WasmParams, WasmResults};

use super::bus::Bus;
use super::compose::{CallSite, Composition};
use super::engine::{EpochTicker, Sandbox};
use super::io::SpiritIo;
use super::load::{LoadedSpirit, function_type};
use super::outcome::{self, LimitsHit, RunError, Value};
use super::run::{check_bounded, check_initial_sizes, check_policy, default_val};
use super::state::{HostSetup, HostState, Ticks};
use super::storage::StorageOwner;
use crate::limits::{Limits, Policy};
use crate::net::NetworkAccess;

/// What a live instance is made with.
pub struct LiveRequest {
    /// The capabilities granted.
    pub policy: Policy,
    /// The limits: memory and table for the instance's life; fuel and time
    /// for instantiation and for each invocation afresh.
    pub limits: Limits,
    /// Where logs and output go.
    pub io: Box<dyn SpiritIo>,
    /// Deterministic mode with this seed (see
    /// [`RunRequest::seed`](super::RunRequest::seed)).
    pub seed: Option<u64>,
    /// Whose storage it opens.
    pub storage_owner: StorageOwner,
    /// The bus it joins under its name (a séance's; a new [`Bus`] for a
    /// spirit alone).
    pub bus: Arc<Bus>,
    /// Where it may connect and listen, within which limits (none by
    /// default: a granted network capability reaches nothing). Each
    /// invocation's waits end at that invocation's deadline.
    pub network: NetworkAccess,
    /// Its dependencies, for `host_spirit_call` (`None`: every call
    /// fails); each invocation's calls take their fuel and time from it.
    pub composition: Option<Arc<Composition>>,
}

impl fmt::Debug for LiveRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveRequest")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("seed", &self.seed)
            .field("storage_owner", &self.storage_owner)
            .finish_non_exhaustive()
    }
}

impl LiveRequest {
    /// A request with no seed, unsigned storage, in-memory I/O
    /// ([`CollectingIo`](super::CollectingIo)) and a bus of its own.
    pub fn new(policy: Policy, limits: Limits) -> LiveRequest {
        LiveRequest {
            policy,
            limits,
            io: Box::new(super::io::CollectingIo::default()),
            seed: None,
            storage_owner: StorageOwner::Unsigned,
            bus: Arc::new(Bus::new()),
            network: NetworkAccess::default(),
            composition: None,
        }
    }
}

/// How one invocation went.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// What the function returned.
    pub results: Vec<Value>,
    /// Fuel units it used.
    pub fuel_used: u64,
    /// Its wall-clock time.
    pub duration: Duration,
}

/// Tells live instances apart, so a [`TypedFunction`] is only ever called
/// on the store it belongs to.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A spirit's live instance.
pub struct LiveSpirit {
    id: u64,
    name: String,
    store: Store<HostState>,
    instance: Instance,
    limits: Limits,
    /// The sandbox's epoch ticks, which time each invocation's deadline.
    ticks: Option<Ticks>,
    /// Why the instance ended, once an invocation failed in it.
    ended: Option<String>,
}

impl fmt::Debug for LiveSpirit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveSpirit")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Drop for LiveSpirit {
    fn drop(&mut self) {
        self.store.data().bus().leave(&self.name);
    }
}

/// A typed handle on an export of one [`LiveSpirit`], like wasmtime's
/// [`TypedFunc`]: its types are checked once, when it is made, and each
/// call passes and returns Rust values (`i32`, `i64`, `f32`, `f64`, tuples
/// of them).
pub struct TypedFunction<P, R> {
    instance: u64,
    name: String,
    func: TypedFunc<P, R>,
    _types: PhantomData<fn(P) -> R>,
}

impl<P, R> fmt::Debug for TypedFunction<P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedFunction")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<P, R> Clone for TypedFunction<P, R> {
    fn clone(&self) -> Self {
        TypedFunction {
            instance: self.instance,
            name: self.name.clone(),
            func: self.func.clone(),
            _types: PhantomData,
        }
    }
}

impl<P, R> TypedFunction<P, R> {
    /// The export's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Sandbox {
    /// Instantiates a loaded spirit once and keeps it: the checks of
    /// [`Sandbox::run`] (limits, policy, initial sizes), then instantiation
    /// (its start function within the fuel and time limits) on `request`'s
    /// bus, which it joins under its name.
    ///
    /// ```
    /// use spirit_build::sandbox::{Limits, LiveRequest, Policy, Sandbox, SandboxConfig, Value};
    ///
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
    /// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (global $n (mut i32) (i32.const 0))
    ///     (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))"#)?;
    /// let spirit = sandbox.load("counter", &wasm)?;
    /// let mut live = sandbox.instantiate(&spirit, LiveRequest::new(Policy::default(), Limits::default()))?;
    /// live.invoke("next", &[])?;
    /// assert_eq!(live.invoke("next", &[])?.results, [Value::I32(2)]);
    ///
    /// let next = live.typed::<(), i32>("next")?;
    /// assert_eq!(live.call(&next, ())?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A limit out of range, an import the policy refuses, a name already
    /// on the bus, or a failing instantiation.
    pub fn instantiate(
        &self,
        spirit: &LoadedSpirit,
        request: LiveRequest,
    ) -> Result<LiveSpirit, RunError> {
        request.limits.check()?;
        // A live instance's invocations have no guard of their own.
        check_bounded(self.deadline_checks, false)?;
        check_policy(spirit, &request.policy)?;
        check_initial_sizes(spirit, &request.limits)?;
        let LiveRequest {
            policy,
            limits,
            io,
            seed,
            storage_owner,
            bus,
            network,
            composition,
        } = request;
        bus.join(&spirit.name)
            .map_err(|e| RunError::Instantiate(e.to_string()))?;
        let started = Instant::now();
        let mut state = HostState::new(HostSetup {
            name: spirit.name.clone(),
            owner: storage_owner,
            policy,
            limits,
            input: Vec::new(),
            io,
            seed,
            stores: self.stores.clone(),
            deadline: started.checked_add(limits.timeout).unwrap_or(started),
            credits: None,
            network,
            spirits: composition.map(|c| {
                Box::new(CallSite::top(c, &spirit.name, seed)) as Box<dyn super::calls::CallSite>
            }),
        });
        state.use_bus(bus.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        store.epoch_deadline_trap();
        let ticks = self.ticks().cloned();
        let instantiated = arm(&mut store, &limits, ticks.as_ref())
            .and_then(|()| spirit.pre.instantiate(&mut store))
            .and_then(|instance| {
                store.data_mut().commit_storage()?;
                Ok(instance)
            });
        match instantiated {
            Ok(instance) => Ok(LiveSpirit {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                name: spirit.name.clone(),
                store,
                instance,
                limits,
                ticks,
                ended: None,
            }),
            Err(e) => {
                bus.leave(&spirit.name);
                let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
                let state = store.data();
                let hit = LimitsHit {
                    memory: state.memory_limit_hit,
                    table: state.table_limit_hit,
                };
                Err(outcome::classify(e, hit, limits, fuel_used))
            }
        }
    }
}

/// Gives the store a fresh invocation's fuel and deadline (the store traps
/// at its epoch deadline from its instantiation on).
fn arm(
    store: &mut Store<HostState>,
    limits: &Limits,
    ticks: Option<&Ticks>,
) -> wasmtime::Result<()> {
    store.set_fuel(limits.fuel)?;
    store.set_epoch_deadline(EpochTicker::ticks(limits.timeout));
    store.data_mut().begin_invocation(limits.timeout, ticks);
    Ok(())
}

impl LiveSpirit {
    /// The spirit's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Why the instance ended, when an invocation failed in it.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// The instance's limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The peak size of its memory so far, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().peak_memory()
    }

    /// Replaces where its logs and output go, returning the sink used so
    /// far (downcast a [`CollectingIo`](super::CollectingIo) to read it).
    pub fn replace_io(&mut self, io: Box<dyn SpiritIo>) -> Box<dyn SpiritIo> {
        self.store.data_mut().replace_io(io)
    }

    fn check_alive(&self) -> Result<(), RunError> {
        match &self.ended {
            None => Ok(()),
            Some(cause) => Err(RunError::Entry(format!(
                "the instance of `{}` ended when an earlier invocation failed ({cause}); it cannot be called again\nhelp: summon it again for a fresh instance",
                self.name
            ))),
        }
    }

    /// The parameter and result types of the exported function `function`.
    fn signature(&mut self, function: &str) -> Result<wasmtime::Func, RunError> {
        self.instance
            .get_func(&mut self.store, function)
            .ok_or_else(|| {
                let exports: Vec<String> = self
                    .instance
                    .exports(&mut self.store)
                    .filter(|e| e.clone().into_func().is_some())
                    .map(|e| format!("`{}`", e.name()))
                    .collect();
                RunError::Entry(format!(
                    "the spirit does not export a function `{function}`\nhelp: it exports {}",
                    if exports.is_empty() {
                        "no functions".to_owned()
                    } else {
                        exports.join(", ")
                    }
                ))
            })
    }

    /// Parses command-line arguments for `function` by its parameter types
    /// (as `--invoke` does).
    ///
    /// # Errors
    ///
    /// A missing function, a wrong number of arguments, or one that does
    /// not parse as its type.
    pub fn parse_args(&mut self, function: &str, args: &[String]) -> Result<Vec<Value>, RunError> {
        let func = self.signature(function)?;
        let types = function_type(&func.ty(&self.store)).params;
        if args.len() != types.len() {
            return Err(RunError::Arguments(format!(
                "`{function}` takes {} argument{} ({}) but {} {} given",
                types.len(),
                if types.len() == 1 { "" } else { "s" },
                types.join(", "),
                args.len(),
                if args.len() == 1 { "was" } else { "were" }
            )));
        }
        args.iter()
            .zip(&types)
            .enumerate()
            .map(|(i, (arg, ty))| {
                Value::parse(arg, ty).map_err(|e| {
                    RunError::Arguments(format!("argument {} of `{function}`: {e}", i + 1))
                })
            })
            .collect()
    }

    /// Calls the exported `function` with `args`, with the instance's fuel
    /// and time for this invocation alone; memory, globals and the bus
    /// persist. Its storage writes are committed when it returns.
    ///
    /// # Errors
    ///
    /// A missing function or arguments of the wrong types (the instance
    /// lives on), or a failure in the spirit: a trap, a limit, an abort
    /// (the instance ends).
    pub fn invoke(&mut self, function: &str, args: &[Value]) -> Result<Invocation, RunError> {
        self.check_alive()?;
        let func = self.signature(function)?;
        let ty = func.ty(&self.store);
        let params: Vec<wasmtime::ValType> = ty.params().collect();
        let matches = params.len() == args.len()
            && params.iter().zip(args).all(|(t, a)| {
                matches!(
                    (t, a),
                    (wasmtime::ValType::I32, Value::I32(_))
                        | (wasmtime::ValType::I64, Value::I64(_))
                        | (wasmtime::ValType::F32, Value::F32(_))
                        | (wasmtime::ValType::F64, Value::F64(_))
                )
            });
        if !matches {
            return Err(RunError::Arguments(format!(
                "`{function}` takes {} but was given ({})",
                function_type(&ty),
                args.iter().map(type_name).collect::<Vec<_>>().join(", ")
            )));
        }
        if !ty
            .results()
            .all(|t| t.is_i32() || t.is_i64() || t.is_f32() || t.is_f64())
        {
            return Err(RunError::Entry(format!(
                "`{function}` returns a value that cannot be passed back (only i32, i64, f32 and f64 can)"
            )));
        }
        let mut results: Vec<Val> = ty.results().map(|t| default_val(&t)).collect();
        let params: Vec<Val> = args.iter().map(|v| v.to_val()).collect();
        let started = Instant::now();
        self.guarded(|store| func.call(store, &params, &mut results))?;
        let fuel_used = self
            .limits
            .fuel
            .saturating_sub(self.store.get_fuel().unwrap_or(0));
        Ok(Invocation {
            results: results.iter().filter_map(Value::from_val).collect(),
            fuel_used,
            duration: started.elapsed(),
        })
    }

    /// A typed handle on the exported `function`, checked against `P` and
    /// `R` now.
    ///
    /// # Errors
    ///
    /// A missing function, or one of other types (named in the error).
    pub fn typed<P: WasmParams, R: WasmResults>(
        &mut self,
        function: &str,
    ) -> Result<TypedFunction<P, R>, RunError> {
        let func = self.signature(function)?;
        let ty = function_type(&func.ty(&self.store));
        let func = func.typed::<P, R>(&self.store).map_err(|e| {
            RunError::Arguments(format!(
                "`{function}` has the type {ty}, not the one asked for: {e}"
            ))
        })?;
        Ok(TypedFunction {
            instance: self.id,
            name: function.to_owned(),
            func,
            _types: PhantomData,
        })
    }

    /// Calls a typed handle made by [`LiveSpirit::typed`] on this instance,
    /// as [`LiveSpirit::invoke`] does.
    ///
    /// # Errors
    ///
    /// A handle of another instance, or a failure in the spirit (the
    /// instance ends).
    pub fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        function: &TypedFunction<P, R>,
        args: P,
    ) -> Result<R, RunError> {
        if function.instance != self.id {
            return Err(RunError::Entry(format!(
                "the handle of `{}` belongs to another instance than `{}`'s",
                function.name, self.name
            )));
        }
        self.check_alive()?;
        self.guarded(|store| function.func.call(store, args))
    }

    /// Runs `call` with a fresh invocation's fuel and deadline; commits its
    /// storage when it returns, and ends the instance when it fails.
    fn guarded<T>(
        &mut self,
        call: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, RunError> {
        let limits = self.limits;
        let result =
            arm(&mut self.store, &limits, self.ticks.as_ref()).and_then(|()| call(&mut self.store));
        match result {
            Ok(value) => {
                self.store
                    .data_mut()
                    .commit_storage()
                    .map_err(RunError::Storage)?;
                Ok(value)
            }
            Err(e) => {
                let fuel_used = limits
                    .fuel
                    .saturating_sub(self.store.get_fuel().unwrap_or(0));
                let state = self.store.data_mut();
                state.abort_storage();
                let hit = LimitsHit {
                    memory: state.memory_limit_hit,
                    table: state.table_limit_hit,
                };
                let error = outcome::classify(e, hit, limits, fuel_used);
                self.ended = Some(first_line(&error.to_string()));
                Err(error)
            }
        }
    }
}

/// A value's type in the text format.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::I32(_) => "i32",
        Value::I64(_) => "i64",
        Value::F32(_) => "f32",
        Value::F64(_) => "f64",
    }
}

/// The first line of a message (its `help:` lines left out).
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_owned()
}
