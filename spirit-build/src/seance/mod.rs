//! The Séance: a session of spirits that keep their instances (memory,
//! globals) between invocations and talk to each other over one message
//! bus, as seed 004's `Seance` does (`summon`, `invoke`, `dismiss`).
//!
//! Each summoned spirit has one live instance ([`LiveSpirit`]) with its
//! own policy and limits; fuel and time apply per invocation. A failure in
//! a spirit (a trap, a limit, an abort) ends that spirit only: it leaves
//! the bus, its queued messages are dropped, and invoking it again says how
//! it ended; the others go on. Messages and effects pass over the séance's
//! [`Bus`], capped (see `sandbox/bus.rs`); the host injects messages with
//! [`Seance::send`] and reads what passed with [`Seance::take_events`].
//!
//! Summoning takes a module's bytes; [`ops::summon`](crate::ops::summon) summons from any target
//! (a crate, a `.wasm`, a `.spirit`, an installed `NAME[@REQ]`) with the
//! usual verification and capability rules.
//!
//! ```
//! use spirit_build::sandbox::{Limits, Policy, Sandbox, SandboxConfig, Value};
//! use spirit_build::seance::{Seance, Summons};
//!
//! let calculator = wat::parse_str(r#"(module (memory (export "memory") 1)
//!     (global $total (mut i64) (i64.const 0))
//!     (func (export "add") (param i64) (result i64)
//!         (global.set $total (i64.add (global.get $total) (local.get 0))) (global.get $total)))"#)?;
//! let mut seance = Seance::new(Sandbox::with_config(SandboxConfig::in_memory())?);
//! seance.summon("calc", &calculator, Summons::new(Policy::default(), Limits::default()))?;
//! seance.invoke("calc", "add", &[Value::I64(6)])?;
//! assert_eq!(seance.invoke("calc", "add", &[Value::I64(7)])?.results, [Value::I64(13)]);
//!
//! // Typed, like `spirit.as<Calculator>()`:
//! let add = seance.typed::<i64, i64>("calc", "add")?;
//! assert_eq!(seance.call(&add, 29)?, 42);
//! seance.dismiss();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use error::SeanceError;

use crate::net::NetworkAccess;
use crate::sandbox::{
    Bus, BusEvent, CollectingIo, Composition, Effect, HOST_SENDER, Invocation, Limits, LiveRequest,
    LiveSpirit, Policy, RunError, Sandbox, SpiritIo, StorageOwner, TypedFunction, Value,
    WasmParams, WasmResults,
};

/// How a spirit is summoned: its grants, limits, I/O, seed and storage.
pub struct Summons {
    /// The capabilities granted.
    pub policy: Policy,
    /// Memory and table for the instance's life; fuel and time per
    /// invocation.
    pub limits: Limits,
    /// Where its logs and output go.
    pub io: Box<dyn SpiritIo>,
    /// Deterministic mode with this seed.
    pub seed: Option<u64>,
    /// Whose storage it opens.
    pub storage_owner: StorageOwner,
    /// Where it may connect and listen, within which limits (none by
    /// default).
    pub network: NetworkAccess,
    /// Its dependencies, for `host_spirit_call` (`None`: every call fails,
    /// as for a spirit that declares none): a [`Composition`] made with
    /// [`Seance::shared_sandbox`].
    pub composition: Option<Arc<Composition>>,
}

impl fmt::Debug for Summons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Summons")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("seed", &self.seed)
            .field("storage_owner", &self.storage_owner)
            .finish_non_exhaustive()
    }
}

impl Summons {
    /// Unsigned storage, no seed, logs and output collected in memory
    /// ([`CollectingIo`]).
    pub fn new(policy: Policy, limits: Limits) -> Summons {
        Summons {
            policy,
            limits,
            io: Box::new(CollectingIo::default()),
            seed: None,
            storage_owner: StorageOwner::Unsigned,
            network: NetworkAccess::default(),
            composition: None,
        }
    }
}

/// A typed handle on one spirit's export; see [`Seance::typed`].
pub struct SpiritFunction<P, R> {
    spirit: String,
    function: TypedFunction<P, R>,
}

impl<P, R> fmt::Debug for SpiritFunction<P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpiritFunction")
            .field("spirit", &self.spirit)
            .field("function", &self.function.name())
            .finish()
    }
}

/// A session of live spirits on one bus.
pub struct Seance {
    sandbox: Arc<Sandbox>,
    bus: Arc<Bus>,
    spirits: BTreeMap<String, LiveSpirit>,
    /// The dependencies of the spirits summoned with some, by name.
    compositions: BTreeMap<String, Arc<Composition>>,
    /// How the spirits whose instance ended ended.
    ended: BTreeMap<String, String>,
}

impl fmt::Debug for Seance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seance")
            .field("spirits", &self.spirits.keys().collect::<Vec<_>>())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// Checks a spirit's name in a séance: what a bus sender and `NAME=` can
/// be, and what no effect sender or the host's sender can.
fn check_name(name: &str) -> Result<(), SeanceError> {
    let bad = |reason| {
        Err(SeanceError::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    match name.chars().next() {
        None => return bad("it is empty"),
        Some(c) if !c.is_ascii_alphabetic() => return bad("it does not start with a letter"),
        Some(_) => {}
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return bad("it has a character other than letters, digits, `-` and `_`");
    }
    Ok(())
}

impl Seance {
    /// An empty séance whose spirits run in `sandbox`. Its pool bounds how
    /// many spirits can be summoned at once
    /// ([`SandboxConfig::max_instances`](crate::sandbox::SandboxConfig::max_instances)).
    pub fn new(sandbox: Sandbox) -> Seance {
        Seance {
            sandbox: Arc::new(sandbox),
            bus: Arc::new(Bus::new()),
            spirits: BTreeMap::new(),
            ended: BTreeMap::new(),
            compositions: BTreeMap::new(),
        }
    }

    /// The sandbox the spirits run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The sandbox, shared: what a summoned spirit's dependencies
    /// ([`Summons::composition`]) are made with, so that its callees run
    /// beside it.
    pub fn shared_sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// The séance's bus.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// The names of the spirits summoned and alive, sorted.
    pub fn spirits(&self) -> Vec<String> {
        self.spirits.keys().cloned().collect()
    }

    /// Compiles (or takes from the code cache) `wasm` and summons it as
    /// `name`: instantiated once (its start function runs now), joined to
    /// the bus.
    ///
    /// # Errors
    ///
    /// A bad or taken name, a module that does not load, an import the
    /// policy refuses, a failing instantiation.
    pub fn summon(&mut self, name: &str, wasm: &[u8], summons: Summons) -> Result<(), SeanceError> {
        check_name(name)?;
        if self.spirits.contains_key(name) {
            return Err(SeanceError::Taken(name.to_owned()));
        }
        let loaded = self.sandbox.load(name, wasm)?;
        let Summons {
            policy,
            limits,
            io,
            seed,
            storage_owner,
            network,
            composition,
        } = summons;
        let request = LiveRequest {
            policy,
            limits,
            io,
            seed,
            storage_owner,
            bus: self.bus.clone(),
            network,
            composition: composition.clone(),
        };
        let live = self
            .sandbox
            .instantiate(&loaded, request)
            .map_err(|error| SeanceError::Run {
                name: name.to_owned(),
                error,
            })?;
        self.ended.remove(name);
        self.spirits.insert(name.to_owned(), live);
        match composition {
            Some(composition) => self.compositions.insert(name.to_owned(), composition),
            None => self.compositions.remove(name),
        };
        Ok(())
    }

    /// The dependencies `name` was summoned with, and so the calls it has
    /// made of them ([`Composition::calls`]).
    pub fn composition(&self, name: &str) -> Option<&Arc<Composition>> {
        self.compositions.get(name)
    }

    fn spirit(&mut self, name: &str) -> Result<&mut LiveSpirit, SeanceError> {
        if let Some(cause) = self.ended.get(name) {
            return Err(SeanceError::Ended {
                name: name.to_owned(),
                cause: cause.clone(),
            });
        }
        if !self.spirits.contains_key(name) {
            return Err(SeanceError::Unknown {
                name: name.to_owned(),
                summoned: self.spirits(),
            });
        }
        self.spirits
            .get_mut(name)
            .ok_or_else(|| SeanceError::Unknown {
                name: name.to_owned(),
                summoned: Vec::new(),
            })
    }

    /// The live instance of `name`, for what the séance does not wrap
    /// (its I/O, its peak memory).
    ///
    /// # Errors
    ///
    /// No such spirit, or it ended.
    pub fn live(&mut self, name: &str) -> Result<&mut LiveSpirit, SeanceError> {
        self.spirit(name)
    }

    /// Ends `name`'s instance when `result` failed in the spirit.
    fn settle<T>(&mut self, name: &str, result: Result<T, RunError>) -> Result<T, SeanceError> {
        result.map_err(|error| {
            if let Some(cause) = self.spirits.get(name).and_then(|s| s.ended()) {
                self.ended.insert(name.to_owned(), cause.to_owned());
                // Dropping the instance takes it off the bus.
                self.spirits.remove(name);
            }
            SeanceError::Run {
                name: name.to_owned(),
                error,
            }
        })
    }

    /// Calls `function` of `name` with `args`.
    ///
    /// # Errors
    ///
    /// No such spirit or function, wrong arguments, or a failure in the
    /// spirit, which ends it (the others go on).
    pub fn invoke(
        &mut self,
        name: &str,
        function: &str,
        args: &[Value],
    ) -> Result<Invocation, SeanceError> {
        let result = self.spirit(name)?.invoke(function, args);
        self.settle(name, result)
    }

    /// [`Seance::invoke`] with arguments as text, parsed by the function's
    /// parameter types (decimal, or `0x` hexadecimal for integers).
    ///
    /// # Errors
    ///
    /// As [`Seance::invoke`], and arguments that do not parse.
    pub fn invoke_text(
        &mut self,
        name: &str,
        function: &str,
        args: &[String],
    ) -> Result<Invocation, SeanceError> {
        let spirit = self.spirit(name)?;
        let result = spirit
            .parse_args(function, args)
            .and_then(|args| spirit.invoke(function, &args));
        self.settle(name, result)
    }

    /// A typed handle on `function` of `name`, its types checked now (the
    /// seed's `spirit.as<T>()`), called with [`Seance::call`].
    ///
    /// # Errors
    ///
    /// No such spirit or function, or other types.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        function: &str,
    ) -> Result<SpiritFunction<P, R>, SeanceError> {
        let result = self.spirit(name)?.typed::<P, R>(function);
        Ok(SpiritFunction {
            spirit: name.to_owned(),
            function: self.settle(name, result)?,
        })
    }

    /// Calls a typed handle.
    ///
    /// # Errors
    ///
    /// As [`Seance::invoke`]; a handle made before its spirit was summoned
    /// again belongs to the old instance and is refused.
    pub fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        function: &SpiritFunction<P, R>,
        args: P,
    ) -> Result<R, SeanceError> {
        let name = function.spirit.as_str();
        let result = self.spirit(name)?.call(&function.function, args);
        self.settle(name, result)
    }

    /// Queues `payload` for `to` from the host (sender [`HOST_SENDER`]):
    /// `Ok(true)` delivered, `Ok(false)` no such spirit.
    ///
    /// # Errors
    ///
    /// The payload is too large or the queue full.
    pub fn send(&self, to: &str, payload: &[u8]) -> Result<bool, SeanceError> {
        Ok(self.bus.send(HOST_SENDER, to, payload)?)
    }

    /// Calls `handler` for each effect as it is emitted.
    pub fn on_effect(&self, handler: impl FnMut(&Effect) + Send + 'static) {
        self.bus.on_effect(Box::new(handler));
    }

    /// What passed over the bus since the last call: messages, broadcasts,
    /// effects.
    pub fn take_events(&self) -> Vec<BusEvent> {
        self.bus.take_events()
    }

    /// Ends `name`'s instance: it leaves the bus, its queue is dropped.
    ///
    /// # Errors
    ///
    /// No such spirit (an ended one is released as well).
    pub fn release(&mut self, name: &str) -> Result<(), SeanceError> {
        self.compositions.remove(name);
        if self.ended.remove(name).is_some() {
            return Ok(());
        }
        match self.spirits.remove(name) {
            Some(_) => Ok(()),
            None => Err(SeanceError::Unknown {
                name: name.to_owned(),
                summoned: self.spirits(),
            }),
        }
    }

    /// Ends every instance.
    pub fn dismiss(self) {
        drop(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SandboxConfig;

    fn seance() -> Seance {
        Seance::new(Sandbox::with_config(SandboxConfig::in_memory()).unwrap())
    }

    const COUNTER: &str = r#"(module (memory (export "memory") 1) (global $n (mut i32) (i32.const 0))
        (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
        (func (export "crash") unreachable))"#;

    fn summon(seance: &mut Seance, name: &str) {
        let wasm = wat::parse_str(COUNTER).unwrap();
        seance
            .summon(
                name,
                &wasm,
                Summons::new(Policy::default(), Limits::default()),
            )
            .unwrap();
    }

    #[test]
    fn names_are_checked_and_unique() {
        let mut s = seance();
        let wasm = wat::parse_str(COUNTER).unwrap();
        let summons = || Summons::new(Policy::default(), Limits::default());
        for bad in ["", "1a", "a:b", "@host", "a b"] {
            assert!(
                matches!(
                    s.summon(bad, &wasm, summons()),
                    Err(SeanceError::BadName { .. })
                ),
                "{bad:?}"
            );
        }
        summon(&mut s, "a");
        assert!(matches!(
            s.summon("a", &wasm, summons()),
            Err(SeanceError::Taken(_))
        ));
        assert_eq!(
            s.invoke("b", "next", &[]).unwrap_err().to_string(),
            "no spirit named `b` is summoned\nhelp: summoned: `a`"
        );
    }

    #[test]
    fn a_trap_ends_one_spirit_which_can_be_summoned_again() {
        let mut s = seance();
        summon(&mut s, "a");
        summon(&mut s, "b");
        assert_eq!(s.invoke("a", "next", &[]).unwrap().results, [Value::I32(1)]);
        let crash = s.invoke("b", "crash", &[]).unwrap_err();
        assert_eq!(crash.to_string(), "`b`: trap: unreachable in function #1");
        assert_eq!(s.spirits(), ["a"]);
        assert_eq!(
            s.invoke("b", "next", &[]).unwrap_err().to_string(),
            "`b` ended in an earlier invocation (trap: unreachable in function #1) and cannot be invoked again\nhelp: summon it again for a fresh instance"
        );
        assert_eq!(s.invoke("a", "next", &[]).unwrap().results, [Value::I32(2)]);
        // Wrong arguments do not end it.
        assert!(s.invoke_text("a", "next", &["1".into()]).is_err());
        assert_eq!(s.invoke("a", "next", &[]).unwrap().results, [Value::I32(3)]);
        summon(&mut s, "b");
        assert_eq!(s.invoke("b", "next", &[]).unwrap().results, [Value::I32(1)]);
        s.release("a").unwrap();
        assert!(s.release("a").is_err());
        assert!(!s.send("a", b"x").unwrap());
        assert!(s.send("b", b"x").unwrap());
    }

    /// A summoned spirit reaches the allowlist it was given, at every
    /// invocation within that invocation's own deadline (not the first
    /// one's), and one given none reaches nothing.
    #[test]
    fn a_summoned_spirit_reaches_its_allowlist_at_every_invocation() {
        use crate::net::{Allowlist, NetworkAccess};
        use spirit_sdk::abi::Capability;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let wasm = wat::parse_str(format!(
            r#"(module
            (import "vudo" "host_network_connect" (func $connect (param i32 i32) (result i64)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{address}")
            (func (export "connect") (result i64) (call $connect (i32.const 0) (i32.const {len}))))"#,
            len = address.len()
        ))
        .unwrap();
        let limits = Limits {
            timeout: std::time::Duration::from_millis(300),
            ..Limits::default()
        };
        let mut seance = seance();
        let mut given = Summons::new(Policy::allow([Capability::NetworkConnect]), limits);
        given.network = NetworkAccess {
            allowlist: Allowlist::parse(&[address.as_str()], &[]).unwrap(),
            ..NetworkAccess::default()
        };
        seance.summon("given", &wasm, given).unwrap();
        let none = Summons::new(Policy::allow([Capability::NetworkConnect]), limits);
        seance.summon("none", &wasm, none).unwrap();
        let connect = |seance: &mut Seance, name: &str| match seance
            .invoke(name, "connect", &[])
            .unwrap()
            .results[..]
        {
            [Value::I64(handle)] => handle,
            ref other => panic!("{other:?}"),
        };
        assert!(connect(&mut seance, "given") >= 0);
        // Past the first invocation's deadline: the second has its own.
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert!(connect(&mut seance, "given") >= 0);
        assert_eq!(connect(&mut seance, "none"), -1);
    }

    /// A summoned spirit calls its dependencies at each invocation, through
    /// the composition it was summoned with; one summoned without calls
    /// nothing.
    #[test]
    fn a_summoned_spirit_calls_its_dependencies() {
        use crate::manifest::Dependency;
        use crate::sandbox::{Callee, DependencySource};
        use spirit_sdk::abi::Capability;

        struct One(Vec<u8>);
        impl DependencySource for One {
            fn fetch(&self, _: &Dependency) -> Result<Callee, String> {
                Ok(Callee {
                    wasm: self.0.clone(),
                    entry: "run".into(),
                    policy: Policy::default(),
                    owner: StorageOwner::Unsigned,
                    dependencies: vec![],
                    network: NetworkAccess::default().allowlist,
                })
            }
        }
        let callee = wat::parse_str(
            r#"(module
            (import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "hello")
            (func (export "run") (result i32) (drop (call $out (i32.const 0) (i32.const 5))) (i32.const 0)))"#,
        )
        .unwrap();
        let caller = wat::parse_str(
            r#"(module
            (import "vudo" "host_spirit_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "echo")
            (func (export "call") (result i32)
                (call $call (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0)
                    (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 64))))"#,
        )
        .unwrap();
        let echo = Dependency {
            name: "echo".into(),
            req: "^1".into(),
            version: "1.0.0".parse().unwrap(),
            blake3: blake3::hash(&callee).to_hex().to_string(),
            author: None,
        };
        let mut seance = seance();
        let composition = Composition::new(
            seance.shared_sandbox().clone(),
            Arc::new(One(callee)),
            vec![echo],
        );
        let policy = Policy::allow([Capability::CrossSandboxCall]);
        let mut summons = Summons::new(policy.clone(), Limits::default());
        summons.composition = Some(composition.clone());
        seance.summon("caller", &caller, summons).unwrap();
        seance
            .summon("alone", &caller, Summons::new(policy, Limits::default()))
            .unwrap();
        for _ in 0..2 {
            let called = seance.invoke("caller", "call", &[]).unwrap();
            assert_eq!(called.results, [Value::I32(5)]); // its output's length
        }
        assert_eq!(composition.calls().len(), 2);
        assert_eq!(seance.composition("caller").unwrap().calls().len(), 2);
        assert!(seance.composition("alone").is_none());
        seance.release("caller").unwrap();
        assert!(seance.composition("caller").is_none());
        // Not found: it declares no dependency.
        let alone = seance.invoke("alone", "call", &[]).unwrap();
        assert_eq!(alone.results, [Value::I32(spirit_sdk::abi::NOT_FOUND)]);
    }
}
