//! The host side of the ABI: the functions a spirit imports from `vudo`
//! (and, for those whose entry says so, from further modules such as
//! `loa`), one module per topic, defined in the linker from
//! [`spirit_sdk::abi::host_abi!`] alone, and only those a module imports
//! ([`define_imports`], at each load).
//!
//! Each entry of the ABI table becomes one `func_wrap` whose name, parameter
//! and result types come from the entry, and whose capability gate is the
//! entry's capability: a call without it returns the ABI's error value
//! (`-1` in the function's result type) before the topic function runs. The
//! topic function (same name as the entry, in `time`, `random`, `log`,
//! `storage`, `credit`, `net`, `io`, `primitives`, `spirits`, or the
//! @vudo/runtime's `vudo_io`, `vudo_memory`, `vudo_time`, `vudo_message`,
//! `vudo_random`, `vudo_effect` and `vudo_debug`) then checks every guest pointer with
//! `memory::range` before
//! it touches memory. Adding a host function is one line in the table and
//! one function in its topic module; a missing one does not compile, and
//! [`tests::the_linker_defines_exactly_the_abi`] holds the result to the
//! table's names, types and capabilities.

mod credit;
mod io;
mod log;
mod memory;
mod net;
mod primitives;
mod random;
mod spirits;
mod storage;
mod time;
mod vudo_debug;
mod vudo_effect;
mod vudo_io;
mod vudo_memory;
mod vudo_message;
mod vudo_random;
mod vudo_time;

use spirit_sdk::abi::{self, Capability};
use wasmtime::{Caller, Linker};

use super::state::HostState;
// The topic modules reach guest memory through these.
use memory::{memory, range, truncate, unsigned};
// The embedder's host functions check guest pointers the same way.
pub(super) use memory::range as guest_range;
// The registration below calls each topic function by its table name.
use credit::*;
use io::*;
use log::*;
use net::*;
use primitives::*;
use random::*;
use spirits::*;
use storage::*;
use time::*;
use vudo_debug::*;
use vudo_effect::*;
use vudo_io::*;
use vudo_memory::*;
use vudo_message::*;
use vudo_random::*;
use vudo_time::*;

/// What a host function returns when the run lacks its capability: the
/// ABI's error value, `-1`, in the function's result type (nothing for a
/// function without a result).
trait Refused {
    fn refused() -> Self;
}

impl Refused for i32 {
    fn refused() -> i32 {
        abi::ERROR
    }
}

impl Refused for i64 {
    fn refused() -> i64 {
        i64::from(abi::ERROR)
    }
}

impl Refused for f64 {
    fn refused() -> f64 {
        f64::from(abi::ERROR)
    }
}

impl Refused for () {
    fn refused() {}
}

impl<T: Refused> Refused for wasmtime::Result<T> {
    fn refused() -> wasmtime::Result<T> {
        Ok(T::refused())
    }
}

/// The capability gate every host function passes first: whether the run
/// may call a function that needs `capability` (`None`: every run may).
fn permitted(caller: &Caller<'_, HostState>, capability: Option<Capability>) -> bool {
    capability.is_none_or(|c| caller.data().policy.grants(c))
}

/// Defines the ABI table's functions in a linker, one at a time: `define`
/// turns the entry `name(params) -> result, capability` into a host function
/// of that name and type in `module` (when it is [`abi::MODULE`] or one of
/// the entry's `also(…)` modules), which refuses a run without the
/// capability and otherwise calls the topic function of the same name;
/// `register` defines every entry in every one of its modules.
macro_rules! register {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($($param:ident: $pty:ident),*) $(-> $rty:ident)?, $cap:ident$(($capv:ident))? $(, also($($also:ident),*))?;
    )*) => {
        fn define(linker: &mut Linker<HostState>, module: &str, name: &str) -> wasmtime::Result<bool> {
            match name {
                $(
                stringify!($name) => {
                    if ![abi::MODULE $($(, stringify!($also))*)?].contains(&module) {
                        return Ok(false);
                    }
                    linker.func_wrap(
                        module,
                        stringify!($name),
                        |mut caller: Caller<'_, HostState>, $($param: $pty),*| {
                            const CAPABILITY: Option<Capability> = $cap$((Capability::$capv))?;
                            if !permitted(&caller, CAPABILITY) {
                                return Refused::refused();
                            }
                            $name(&mut caller, $($param),*)
                        },
                    )?;
                    Ok(true)
                }
                )*
                _ => Ok(false),
            }
        }

        #[cfg(test)]
        fn register(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
            $(
                for module in [abi::MODULE $($(, stringify!($also))*)?] {
                    define(linker, module, stringify!($name))?;
                }
            )*
            Ok(())
        }
    };
}
spirit_sdk::abi::host_abi!(register);

/// The linker with every host function of the ABI, for the tests that
/// hold it to the table.
#[cfg(test)]
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    register(&mut linker)?;
    Ok(linker)
}

/// Defines in `linker` the host functions a module imports, and only
/// those: a spirit that imports three functions costs three definitions,
/// not the whole table, at every load (the table's other functions are
/// never wrapped). Imports that are not the ABI's are left to the import
/// check, which has already refused them by then; each function is
/// defined once however often it is imported.
pub(crate) fn define_imports<'a>(
    linker: &mut Linker<HostState>,
    imports: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> wasmtime::Result<()> {
    let mut defined = std::collections::BTreeSet::new();
    for (module, name) in imports {
        if defined.insert((module, name)) {
            define(linker, module, name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use spirit_sdk::abi::HostFunction;
    use wasmtime::{Engine, Extern, Store, Val};

    use super::*;
    use crate::limits::{Limits, Policy};
    use crate::sandbox::backend::StorageBackend;
    use crate::sandbox::io::CollectingIo;
    use crate::sandbox::outcome::Halt;
    use crate::sandbox::state::HostSetup;
    use crate::sandbox::storage::Stores;
    use crate::validate::FunctionType;

    #[test]
    fn ranges_outside_memory_are_refused() {
        assert_eq!(range(100, 0, 100), Some(0..100));
        assert_eq!(range(100, 1, 100), None);
        assert_eq!(range(100, -1, 1), None);
        assert_eq!(range(1 << 32, -1, 1), Some((1 << 32) - 1..1 << 32));
        assert_eq!(range(100, 10, -1), None);
        assert_eq!(range(100, i32::MAX, i32::MAX), None);
    }

    #[test]
    fn truncation_keeps_utf8() {
        assert_eq!(truncate("ééé", 3), "é…");
    }

    fn store(engine: &Engine, policy: Policy, stores: Arc<dyn StorageBackend>) -> Store<HostState> {
        let state = HostState::new(HostSetup {
            name: "abi".into(),
            owner: Default::default(),
            policy,
            limits: Limits::default(),
            input: Vec::new(),
            io: Box::new(CollectingIo::default()),
            // Seeded, so what `vudo_random_bytes` writes is known not to
            // be the 0 that was there.
            seed: Some(1),
            stores,
            deadline: Instant::now() + std::time::Duration::from_secs(30),
            credits: None,
            network: Default::default(),
            spirits: None,
        });
        Store::new(engine, state)
    }

    /// How one call of `f` (every argument `1`: a one-byte range at offset
    /// 1, inside memory) ended under `policy`.
    #[derive(Debug, PartialEq, Eq)]
    enum Call {
        /// It returned the ABI's error value, or (a function without a
        /// result) did nothing that shows.
        Refused,
        /// It returned something else, or aborted, or returned the error
        /// value with a warning saying why (its body ran: the capability
        /// gate refuses without one), or (without a result) logged, wrote
        /// output or memory, or warned.
        Ran,
    }

    fn call(
        engine: &Engine,
        f: &HostFunction,
        policy: Policy,
        stores: &Arc<dyn StorageBackend>,
    ) -> Call {
        let types =
            |types: &[abi::ValType]| types.iter().map(|t| format!(" {t}")).collect::<String>();
        let args: String = f.params.iter().map(|t| format!(" ({t}.const 1)")).collect();
        let wat = format!(
            r#"(module
                (import "{}" "{}" (func $f (param{}) (result{})))
                (memory (export "memory") 1)
                (func (export "probe") (result{}) (call $f{args})))"#,
            abi::MODULE,
            f.name,
            types(f.params),
            types(f.results),
            types(f.results),
        );
        let module = wasmtime::Module::new(engine, wat::parse_str(&wat).unwrap()).unwrap();
        let linker = linker(engine).unwrap();
        let mut store = store(engine, policy, stores.clone());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let probe = instance.get_func(&mut store, "probe").unwrap();
        let mut results: Vec<Val> = f
            .results
            .iter()
            .map(|t| match t {
                abi::ValType::I32 => Val::I32(0),
                abi::ValType::I64 => Val::I64(0),
                abi::ValType::F64 => Val::F64(0),
            })
            .collect();
        match probe.call(&mut store, &[], &mut results) {
            Err(e) => {
                assert!(
                    matches!(
                        e.downcast_ref::<Halt>(),
                        Some(Halt::Aborted(_) | Halt::HostCall(_))
                    ),
                    "{}: {e:#}",
                    f.name
                );
                Call::Ran
            }
            Ok(()) => {
                let memory = instance.get_memory(&mut store, "memory").unwrap();
                let wrote_memory = memory.data(&store)[1] != 0;
                let error = match results.as_slice() {
                    [Val::I32(v)] => *v == abi::ERROR,
                    [Val::I64(v)] => *v == i64::from(abi::ERROR),
                    [Val::F64(v)] => f64::from_bits(*v) == f64::from(abi::ERROR),
                    [] => true,
                    _ => false,
                };
                // The gate refuses silently; a function that ran and
                // refused for its own reason says why.
                let (_, io) = store.into_data().finish();
                let warned = io.into_any().downcast::<CollectingIo>().is_ok_and(|io| {
                    !io.warnings.is_empty()
                        || (f.results.is_empty() && !(io.logs.is_empty() && io.output.is_empty()))
                }) || (f.results.is_empty() && wrote_memory);
                if error && !warned {
                    Call::Refused
                } else {
                    Call::Ran
                }
            }
        }
    }

    /// The guest side (the SDK's imports, validation) follows
    /// `HOST_FUNCTIONS`; so must the host: every function defined in its
    /// module, with its exact type, and nothing more; and each refused
    /// exactly when the run lacks the capability its entry names.
    #[test]
    fn the_linker_defines_exactly_the_abi() {
        let engine = Engine::default();
        let linker = linker(&engine).unwrap();
        let mut store = store(&engine, Policy::default(), Arc::new(Stores::new(None)));
        let mut defined: Vec<(String, String, String)> = linker
            .iter(&mut store)
            .map(|(module, name, item)| (module.to_owned(), name.to_owned(), item))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(module, name, item)| {
                let ty = match item {
                    Extern::Func(f) => {
                        let ty = f.ty(&store);
                        FunctionType {
                            params: ty.params().map(|t| t.to_string()).collect(),
                            results: ty.results().map(|t| t.to_string()).collect(),
                        }
                        .to_string()
                    }
                    _ => "not a function".to_owned(),
                };
                (module, name, ty)
            })
            .collect();
        defined.sort();
        let mut expected: Vec<(String, String, String)> = abi::HOST_FUNCTIONS
            .iter()
            .flat_map(|f| {
                f.modules.iter().map(|module| {
                    (
                        (*module).to_owned(),
                        f.name.to_owned(),
                        f.signature().to_string(),
                    )
                })
            })
            .collect();
        expected.sort();
        assert_eq!(defined, expected);

        let dir = tempfile::tempdir().unwrap();
        let stores: Arc<dyn StorageBackend> = Arc::new(Stores::new(Some(dir.path().to_owned())));
        for f in abi::HOST_FUNCTIONS {
            let all_but = |cap: Option<Capability>| {
                Policy::allow(Capability::ALL.iter().copied().filter(|c| Some(*c) != cap))
            };
            let granted = Policy::allow(f.capability);
            match f.capability {
                Some(_) => {
                    assert_eq!(
                        call(&engine, f, all_but(f.capability), &stores),
                        Call::Refused,
                        "{} without its capability",
                        f.name
                    );
                    assert_eq!(
                        call(&engine, f, granted, &stores),
                        Call::Ran,
                        "{} with only its capability",
                        f.name
                    );
                }
                // Sleeping 1 ms (on the seeded clock) and asserting a true
                // condition leave nothing to see; the gate cannot refuse
                // them anyway, having no capability to check.
                None if matches!(f.name, "vudo_sleep" | "vudo_assert") => {
                    call(&engine, f, Policy::default(), &stores);
                }
                None => {
                    assert_eq!(
                        call(&engine, f, Policy::default(), &stores),
                        Call::Ran,
                        "{} with nothing granted",
                        f.name
                    );
                }
            }
        }
    }
}
