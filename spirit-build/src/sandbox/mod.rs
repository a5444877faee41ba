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
//! what happened in words; [`Sandbox::execute`] hands back, with it, what a
//! failed run did ([`RunFailure`]: logs, output so far, fuel), and
//! [`Sandbox::call`] is a typed call (serde values in and out as JSON).
//!
//! By concern: `engine` (configuration, pool, epoch ticker), `load`
//! (compile, code cache, pre-link), `run` (the request, the checks before
//! instantiating, the call), `state` (what a store holds for one run),
//! `session` (a live instance kept between invocations, for a séance),
//! `bus` (a séance's messages and effects, capped), `heap` (the host's
//! allocator in a spirit's memory), `arg` (an invoked function's typed
//! arguments), `typed` (calls with serde values),
//! `io` (where logs and output go), `outcome` (how a run ended), `host` (the
//! host functions, one module per topic, registered from the ABI table),
//! `backend` (the [`StorageBackend`] trait a run's storage goes through),
//! `storage` (each spirit's redb database, the default backend),
//! `transaction` (a run's storage as one redb transaction), `in_memory`
//! ([`MemoryStorage`]), `cache` (compiled code on disk) and `compose` (a
//! run's calls of its dependencies, each in an instance of its own).
//! The plain data a run is given ([`Policy`], [`Limits`], [`Pricing`]) lives
//! in [`crate::limits`].
//!
//! ```
//! use spirit_build::sandbox::{Capability, Limits, Policy, RunRequest, Sandbox, SandboxConfig};
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
//! assert_eq!(outcome.logs()[0].to_string(), "[INFO hello] hello");
//! assert!(outcome.fuel_used > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod arg;
mod backend;
mod bus;
mod cache;
mod calls;
mod compose;
mod deadline;
mod embedder;
mod engine;
mod error;
mod heap;
mod host;
mod in_memory;
mod io;
mod load;
mod outcome;
mod run;
mod session;
mod state;
mod storage;
mod transaction;
mod typed;

pub use crate::limits::{
    Limits, MAX_TABLE_ELEMENTS, MAX_WASM_STACK, Metering, Policy, Pricing, StorageQuota,
};
pub use arg::{Arg, ArgError};
pub use backend::{RunStorage, StorageBackend, check_key, total_after_write};
pub use bus::{
    Bus, BusError, BusEvent, Effect, EffectHandler, HOST_SENDER, MAX_CHANNEL_NAME, MAX_EVENTS,
    MAX_MESSAGE_BYTES, MAX_QUEUED_BYTES, MAX_QUEUED_MESSAGES, MAX_SUBSCRIPTIONS, Message,
};
pub use compose::{CallRecord, Callee, Composition, DependencySource, MAX_CALL_DEPTH};
pub use deadline::DeadlineGuard;
pub use embedder::{
    GuestMemory, GuestMemoryError, GuestResult, GuestValue, HostFn, HostFunctionError,
    HostFunctions,
};
pub use engine::{Sandbox, SandboxConfig};
pub use error::SandboxError;
pub use in_memory::MemoryStorage;
pub use io::{CollectingIo, LogRecord, SpiritIo};
pub use load::{CodeSource, LoadedSpirit};
pub use outcome::{Outcome, RunError, RunFailure, Value};
pub use run::{Call, RunRequest};
pub use session::{Invocation, LiveRequest, LiveSpirit, TypedFunction};
pub use spirit_sdk::abi::{Capability, LogLevel};
pub use state::{DETERMINISTIC_EPOCH_MS, DETERMINISTIC_EPOCH_NS, DETERMINISTIC_STEP_NS};
pub use storage::{StorageDurability, StorageError, StorageOwner};
pub use typed::CallError;
pub use wasmtime::{WasmParams, WasmResults};

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use spirit_sdk::abi::Capability;
    use wasmtime::Store;

    use super::*;

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
        request.call = Call::invoke(function, [Arg::Int(k.into())]);
        sandbox.run(spirit, request).unwrap().results[0]
    }

    /// A guard that records what the sandbox asked of it, or fails to arm.
    #[derive(Debug, Clone, Default)]
    struct Recorder {
        calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
        refuse: bool,
    }

    impl DeadlineGuard for Recorder {
        fn arm(&mut self, left: Duration) -> std::io::Result<()> {
            if self.refuse {
                return Err(std::io::Error::other("no timer"));
            }
            let within = left <= Duration::from_secs(30);
            self.calls
                .lock()
                .unwrap()
                .push(format!("arm within 30s: {within}"));
            Ok(())
        }
        fn disarm(&mut self) {
            self.calls.lock().unwrap().push("disarm".into());
        }
    }

    /// Without deadline checks, no ticker runs and nothing in the code stops
    /// a loop: a run without a guard is refused (so is a séance's instance),
    /// a run with one has it armed before the spirit starts and disarmed
    /// once its code returned, and a guard that cannot be armed refuses the
    /// run.
    #[test]
    fn without_deadline_checks_a_run_needs_a_guard() {
        let sandbox = Sandbox::with_config(SandboxConfig {
            metering: Metering::Time,
            deadline_checks: false,
            ..SandboxConfig::in_memory()
        })
        .unwrap();
        assert!(sandbox._ticker.is_none());
        let spirit = sandbox
            .load(
                "quick",
                &wat::parse_str(
                    r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 7)))"#,
                )
                .unwrap(),
            )
            .unwrap();
        let limits = Limits {
            metering: Metering::Time,
            ..Limits::default()
        };
        let request = || RunRequest::new(Policy::default(), limits);
        let refused = sandbox.run(&spirit, request()).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("nothing would stop this run at its deadline: the sandbox compiles no deadline checks"),
            "{refused}"
        );
        let live = sandbox.instantiate(&spirit, LiveRequest::new(Policy::default(), limits));
        assert!(matches!(live, Err(RunError::Unbounded(_))));

        let recorder = Recorder::default();
        let mut guarded = request();
        guarded.deadline_guard = Some(Box::new(recorder.clone()));
        assert_eq!(sandbox.run(&spirit, guarded).unwrap().status, 7);
        assert_eq!(
            *recorder.calls.lock().unwrap(),
            ["arm within 30s: true", "disarm"]
        );

        let mut failing = request();
        failing.deadline_guard = Some(Box::new(Recorder {
            refuse: true,
            ..Recorder::default()
        }));
        let refused = sandbox.run(&spirit, failing).unwrap_err();
        assert_eq!(
            refused.to_string().lines().next().unwrap(),
            "nothing would stop this run at its deadline: its deadline guard could not be armed: no timer"
        );
    }

    /// Time-only metering: no fuel is set or counted, a loop is still ended
    /// by the deadline, and what needs fuel is refused in words.
    #[test]
    fn time_only_metering_bounds_by_the_deadline_alone() {
        let sandbox = Sandbox::with_config(SandboxConfig {
            metering: Metering::Time,
            ..SandboxConfig::in_memory()
        })
        .unwrap();
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func (export "run") (result i32) (i32.const 7))
                (func (export "spin") (loop (br 0))))"#,
        )
        .unwrap();
        let spirit = sandbox.load("timed", &wasm).unwrap();
        let time = Limits {
            metering: Metering::Time,
            fuel: 1,
            ..Limits::default()
        };
        // One unit of fuel would not be enough were fuel counted.
        let outcome = sandbox
            .run(&spirit, RunRequest::new(Policy::default(), time))
            .unwrap();
        assert_eq!((outcome.status, outcome.fuel_used), (7, 0));
        let mut spin = RunRequest::new(
            Policy::default(),
            Limits {
                timeout: Duration::from_millis(50),
                ..time
            },
        );
        spin.call = Call::Invoke {
            function: "spin".into(),
            args: vec![],
        };
        assert!(matches!(
            sandbox.run(&spirit, spin),
            Err(RunError::Timeout(_))
        ));
        let mut deterministic = RunRequest::new(Policy::default(), time);
        deterministic.seed = Some(7);
        assert_eq!(
            sandbox.run(&spirit, deterministic).unwrap_err().to_string(),
            "a deterministic run (where it stops must not depend on the machine's speed) needs fuel metering, but this run is metered by time alone"
        );
        // A run's metering must be its sandbox's, either way.
        let fuel = RunRequest::new(Policy::default(), Limits::default());
        assert_eq!(
            sandbox.run(&spirit, fuel).unwrap_err().to_string(),
            "the run asks for fuel metering, but this sandbox meters by time\nhelp: create the sandbox with `SandboxConfig::metering` set to the run's `Limits::metering`"
        );
        let fueled = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
        let spirit = fueled.load("timed", &wasm).unwrap();
        assert!(matches!(
            fueled.run(&spirit, RunRequest::new(Policy::default(), time)),
            Err(RunError::Metering { .. })
        ));
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
        let state = state::HostState::new(state::HostSetup {
            name: "sneaky".into(),
            owner: Default::default(),
            policy: request.policy,
            limits,
            input: Vec::new(),
            io: request.io,
            seed: None,
            stores: sandbox.stores.clone(),
            deadline: Instant::now() + limits.timeout,
            credits: None,
            network: Default::default(),
            spirits: None,
        });
        let mut store = Store::new(&sandbox.engine, state);
        store.set_fuel(limits.fuel).unwrap();
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = spirit.pre.instantiate(&mut store).unwrap();
        let calls = instance
            .get_typed_func::<(), (i64, i32, i32, i32, i32, i32)>(&mut store, "calls")
            .unwrap();
        assert_eq!(
            calls.call(&mut store, ()).unwrap(),
            (-1, -1, -1, -1, -1, -1)
        );
    }
}
