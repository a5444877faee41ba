//! One run of a loaded spirit: the [`RunRequest`], the checks before
//! instantiating (its imports against the policy, the call against its
//! exports and the arguments against their types), then instantiation and
//! the call within the limits.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use spirit_sdk::abi::Capability;
use wasmtime::{ExternType, Store, Val, ValType};

use super::arg::Arg;
use super::backend::StorageBackend;
use super::compose::{CallSite, Composition};
use super::deadline::{Armed, DeadlineGuard};
use super::engine::EpochTicker;
use super::engine::Sandbox;
use super::io::{CollectingIo, SpiritIo};
use super::load::{LoadedSpirit, function_type};
use super::outcome::{self, Halt, LimitsHit, Outcome, RunError, RunFailure, Value};
use super::state::{HostSetup, HostState};
use super::storage::{StorageOwner, Stores};
use crate::ledger::RunCredits;
use crate::limits::{Limits, Metering, Policy};
use crate::net::NetworkAccess;
use crate::validate::{self, Grant};

/// What to call in a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// The spirit's entry: takes nothing, returns nothing or an `i32`
    /// status.
    Entry(String),
    /// Any exported function, with one argument per parameter, each
    /// checked against the parameter's type (`--invoke FUNC ARGS…`); its
    /// results are returned.
    Invoke {
        /// The export.
        function: String,
        /// One per parameter: typed values, or numbers parsed from text.
        args: Vec<Arg>,
    },
}

impl Call {
    /// A call of the exported `function` with these arguments.
    ///
    /// ```
    /// use spirit_build::sandbox::{Arg, Call};
    /// let call = Call::invoke("add", [2i32, 3i32]);
    /// assert_eq!(call, Call::Invoke { function: "add".into(), args: vec![Arg::from(2i32), Arg::from(3i32)] });
    /// ```
    pub fn invoke<A: Into<Arg>>(function: &str, args: impl IntoIterator<Item = A>) -> Call {
        Call::Invoke {
            function: function.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// The function it calls.
    pub fn function(&self) -> &str {
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
    /// The run's access to the credit ledger, for the `host_credit_*`
    /// functions: who pays (the only account the spirit may debit), its
    /// spend limit, and who its consumed reservations pay. `None`: every
    /// credit call returns `-1`. What the spirit still holds when the run
    /// ends is released.
    pub credits: Option<RunCredits>,
    /// Whose storage the run opens: the spirit's store is the one of its
    /// name and this owner ([`StorageOwner::Unsigned`] unless its
    /// signature verified).
    pub storage_owner: StorageOwner,
    /// Where the `host_network_*` and `host_http_request` functions may
    /// reach (granting `network_*` alone reaches nothing). A deterministic
    /// run (`seed`) may not use the network at all.
    pub network: NetworkAccess,
    /// Its dependencies, for `host_spirit_call` (`None`: every call
    /// fails, as for a spirit that declares none).
    pub composition: Option<Arc<Composition>>,
    /// The host's own guard of the deadline, for a sandbox without
    /// deadline checks ([`SandboxConfig::deadline_checks`](super::SandboxConfig::deadline_checks)
    /// off), which refuses a run without one; with the checks on, it is
    /// armed and disarmed beside them.
    pub deadline_guard: Option<Box<dyn DeadlineGuard>>,
}

impl fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunRequest")
            .field("call", &self.call)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("input_len", &self.input.len())
            .field("seed", &self.seed)
            .field("credits", &self.credits)
            .field("storage_owner", &self.storage_owner)
            .field("network", &self.network)
            .field("composition", &self.composition)
            .field("deadline_guard", &self.deadline_guard.is_some())
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
            credits: None,
            storage_owner: StorageOwner::Unsigned,
            network: NetworkAccess::default(),
            composition: None,
            deadline_guard: None,
        }
    }

    /// This request with `input` as the bytes `host_input_read` returns.
    pub fn with_input(mut self, input: impl Into<Vec<u8>>) -> RunRequest {
        self.input = input.into();
        self
    }

    /// This request calling `call` instead of the entry.
    pub fn with_call(mut self, call: Call) -> RunRequest {
        self.call = call;
        self
    }
}

impl Sandbox {
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
    /// let request = RunRequest::new(Policy::default(), Limits::default());
    /// let request = request.with_call(Call::invoke("add", [2i32, 3i32]));
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
        self.run_with_stores(spirit, request, self.stores.clone())
            .map_err(|failure| failure.error)
    }

    /// [`Sandbox::run`], but a run that fails hands back what it did: its
    /// logs, output so far, warnings, fuel used and time, with the reason
    /// ([`RunFailure`]).
    ///
    /// # Errors
    ///
    /// As [`Sandbox::run`], with the partial outcome.
    pub fn execute(
        &self,
        spirit: &LoadedSpirit,
        request: RunRequest,
    ) -> Result<Outcome, Box<RunFailure>> {
        self.run_with_stores(spirit, request, self.stores.clone())
    }

    /// [`Sandbox::run`] with the run's storage in `storage_dir` instead of
    /// the sandbox's own directory: a fresh directory is a fresh storage
    /// (what `cargo spirit test` gives each test).
    ///
    /// # Errors
    ///
    /// As [`Sandbox::run`].
    pub fn run_with_storage(
        &self,
        spirit: &LoadedSpirit,
        request: RunRequest,
        storage_dir: &Path,
    ) -> Result<Outcome, RunError> {
        self.execute_with_storage(spirit, request, storage_dir)
            .map_err(|failure| failure.error)
    }

    /// [`Sandbox::run_with_storage`], handing back what a failed run did
    /// (as [`Sandbox::execute`]).
    ///
    /// # Errors
    ///
    /// As [`Sandbox::run`], with the partial outcome.
    pub fn execute_with_storage(
        &self,
        spirit: &LoadedSpirit,
        request: RunRequest,
        storage_dir: &Path,
    ) -> Result<Outcome, Box<RunFailure>> {
        let stores: Arc<dyn StorageBackend> =
            Arc::new(Stores::new(Some(storage_dir.to_owned())).with_durability(self.durability));
        self.run_with_stores(spirit, request, stores)
    }

    fn run_with_stores(
        &self,
        spirit: &LoadedSpirit,
        request: RunRequest,
        stores: Arc<dyn StorageBackend>,
    ) -> Result<Outcome, Box<RunFailure>> {
        let checked = check_metering(self.metering, &request)
            .and_then(|()| check_bounded(self.deadline_checks, request.deadline_guard.is_some()))
            .and_then(|()| check_request(spirit, &request));
        let args = match checked {
            Ok(args) => args,
            Err(error) => return Err(Box::new(RunFailure::before_start(error, request.io))),
        };
        let RunRequest {
            call,
            policy,
            limits,
            input,
            io,
            seed,
            credits,
            storage_owner,
            network,
            composition,
            mut deadline_guard,
        } = request;
        let started = Instant::now();
        let state = HostState::new(HostSetup {
            name: spirit.name.clone(),
            owner: storage_owner,
            policy,
            limits,
            input,
            io,
            seed,
            stores,
            // `limits.check` keeps the timeout to a year, so this cannot
            // overflow; should a clock be that close to its end, the run
            // gets no storage wait rather than a panic.
            deadline: started.checked_add(limits.timeout).unwrap_or(started),
            credits,
            network,
            spirits: composition.map(|c| {
                Box::new(CallSite::top(c, &spirit.name, seed)) as Box<dyn super::calls::CallSite>
            }),
        });
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        let fuel = self.metering == Metering::Fuel;
        if fuel && let Err(e) = store.set_fuel(limits.fuel) {
            let (_, io) = store.into_data().finish();
            return Err(Box::new(RunFailure::before_start(
                RunError::Trap(format!("{e:#}")),
                io,
            )));
        }
        store.set_epoch_deadline(EpochTicker::ticks(limits.timeout));
        store.epoch_deadline_trap();

        // Disarmed when the code has returned or trapped, before storage
        // commits.
        let armed = match Armed::new(deadline_guard.as_mut(), limits.timeout) {
            Ok(armed) => armed,
            Err(e) => {
                let (_, io) = store.into_data().finish();
                return Err(Box::new(RunFailure::before_start(
                    RunError::Unbounded(format!("its deadline guard could not be armed: {e}")),
                    io,
                )));
            }
        };
        let result = (|| {
            let instance = spirit.pre.instantiate(&mut store)?;
            let func = instance
                .get_func(&mut store, call.function())
                .ok_or_else(|| {
                    wasmtime::Error::new(Halt::Entry(format!(
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
        drop(armed);
        let duration = started.elapsed();
        let fuel_used = if fuel {
            limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0))
        } else {
            0
        };
        let mut state = store.into_data();
        let committed = match result {
            Ok(results) => state
                .commit_storage()
                .map(|()| results)
                .map_err(RunError::Storage),
            Err(e) => {
                let hit = LimitsHit {
                    memory: state.memory_limit_hit,
                    table: state.table_limit_hit,
                };
                Err(outcome::classify(e, hit, limits, fuel_used))
            }
        };
        match committed {
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
            Err(error) => {
                // `finish` drops the state, which aborts a transaction the
                // failed run left open (one that failed to commit is gone
                // already): nothing the run wrote is applied.
                let (peak_memory, io) = state.finish();
                Err(Box::new(RunFailure {
                    error,
                    fuel_used,
                    duration,
                    peak_memory,
                    io,
                }))
            }
        }
    }
}

/// Refuses a run whose metering is not the sandbox's (the engine's code
/// counts fuel or does not), and a time-only run that needs fuel: a priced
/// run (its cost is counted in fuel) or a deterministic one (where it stops
/// must not depend on the machine's speed).
fn check_metering(sandbox: Metering, request: &RunRequest) -> Result<(), RunError> {
    let asked = request.limits.metering;
    if asked != sandbox {
        return Err(RunError::Metering { asked, sandbox });
    }
    if asked == Metering::Time {
        if request.credits.is_some() {
            return Err(RunError::NeedsFuel(
                "a priced run (its cost is counted in fuel)",
            ));
        }
        if request.seed.is_some() {
            return Err(RunError::NeedsFuel(
                "a deterministic run (where it stops must not depend on the machine's speed)",
            ));
        }
    }
    Ok(())
}

/// Refuses a run that nothing would stop at its deadline: on a sandbox
/// without deadline checks, one that brings no guard.
pub(super) fn check_bounded(deadline_checks: bool, guarded: bool) -> Result<(), RunError> {
    if deadline_checks || guarded {
        Ok(())
    } else {
        Err(RunError::Unbounded(
            "the sandbox compiles no deadline checks (`SandboxConfig::deadline_checks` is off) and the run has no `RunRequest::deadline_guard`".to_owned(),
        ))
    }
}

/// The checks before a run: its limits and input, its imports against the
/// policy, the call against the exports; the call's arguments, parsed.
fn check_request(spirit: &LoadedSpirit, request: &RunRequest) -> Result<Vec<Value>, RunError> {
    request.limits.check()?;
    if u64::try_from(request.input.len()).map_or(true, |n| n > request.limits.max_input) {
        return Err(RunError::InputTooLarge(request.limits.max_input));
    }
    check_policy(spirit, &request.policy)?;
    if request.seed.is_some() {
        check_offline(spirit)?;
    }
    let args = check_call(spirit, &request.call)?;
    check_initial_sizes(spirit, &request.limits)?;
    Ok(args)
}

/// Refuses a module that imports a host function whose capability the
/// policy does not grant: validation's import check, with the run's grants.
pub(super) fn check_policy(spirit: &LoadedSpirit, policy: &Policy) -> Result<(), RunError> {
    let check = validate::check_imports(&spirit.imports, policy.granted(), Grant::Run);
    // Each refusal is one undeclared import, in order; one that `--deny`
    // withheld says so, instead of asking to declare what is declared.
    let refused: Vec<validate::Problem> = check
        .undeclared
        .iter()
        .zip(check.refused)
        .map(|((qualified, cap), problem)| {
            if policy.denied().contains(cap) {
                validate::Problem {
                    message: format!(
                        "imports `{qualified}`, which needs the capability `{cap}`, but it was denied with `--deny {cap}`"
                    ),
                    help: Some(format!("run it without `--deny {cap}` to grant it")),
                }
            } else {
                problem
            }
        })
        .chain(super::embedder::refused(&spirit.embedder, policy))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RunError::Refused(refused))
    }
}

/// Refuses, for a deterministic run, a module that imports a network
/// function: its result would depend on the network.
fn check_offline(spirit: &LoadedSpirit) -> Result<(), RunError> {
    let refused: Vec<validate::Problem> = spirit
        .imports
        .iter()
        .filter(|i| i.module == spirit_sdk::abi::MODULE)
        .filter_map(|i| spirit_sdk::abi::host_function(&i.name))
        .filter(|f| {
            matches!(
                f.capability,
                Some(Capability::NetworkConnect | Capability::NetworkListen | Capability::NetworkBroadcast)
            )
        })
        .map(|f| validate::Problem {
            message: format!(
                "imports `{}::{}`, but a deterministic run cannot use the network (its result would depend on it)",
                spirit_sdk::abi::MODULE,
                f.name
            ),
            help: Some("run it without `--deterministic`".to_owned()),
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RunError::Refused(refused))
    }
}

/// Refuses a module whose memory or table starts larger than the limits
/// allow, in the limit's words (the pooling allocator would otherwise refuse
/// it first, naming its own, larger, reservation).
pub(super) fn check_initial_sizes(spirit: &LoadedSpirit, limits: &Limits) -> Result<(), RunError> {
    let required = spirit.module.resources_required();
    let table_limit = u64::try_from(limits.max_table_elements).unwrap_or(u64::MAX);
    if required.max_initial_table_size.unwrap_or(0) > table_limit {
        return Err(RunError::TableLimit(limits.max_table_elements));
    }
    let pages = required.max_initial_memory_size.unwrap_or(0);
    if pages.saturating_mul(64 << 10) > limits.max_memory {
        return Err(RunError::MemoryLimit(limits.max_memory));
    }
    Ok(())
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
    let signature = function_type(&ty);
    match call {
        Call::Entry(_) => match validate::entry_problem(name, &signature) {
            None => Ok(Vec::new()),
            Some(mut problem) => {
                problem.help = Some(format!(
                    "invoke it with its arguments (`Call::Invoke`; from the command line, `--invoke {name} ARGS…`)"
                ));
                Err(RunError::Entry(problem.to_string()))
            }
        },
        Call::Invoke { args, .. } => {
            let types = &signature.params;
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
                .zip(types)
                .enumerate()
                .map(|(i, (arg, ty))| {
                    arg.to_value(ty).map_err(|e| {
                        RunError::Arguments(format!("argument {} of `{name}`: {e}", i + 1))
                    })
                })
                .collect()
        }
    }
}

pub(super) fn default_val(ty: &ValType) -> Val {
    match ty {
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        _ => Val::I32(0),
    }
}
