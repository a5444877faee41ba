//! The embedder's own host functions: [`HostFunctions`], each under an
//! import module of the embedder's (never one of ours), gated by a
//! capability of the embedder's naming that only [`Policy::grant_custom`]
//! grants, called with typed arguments and a bounds-checked
//! [`GuestMemory`]; and the checks that link a spirit's imports of them at
//! load and refuse them before a run whose policy lacks the capability.

use std::fmt;
use std::sync::Arc;

use spirit_sdk::abi;
use wasmtime::{Caller, Engine, Extern, FuncType, Linker, Val, ValType};

use super::state::HostState;
use crate::limits::Policy;
use crate::validate::{FunctionType, ImportKind, ModuleImport, Problem};

/// Why [`HostFunctions::define`] refused a definition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostFunctionError {
    /// The import module is one of the host's own, or one spirits must not
    /// import from.
    #[error(
        "the import module `{0}` is reserved: `vudo`, `loa` and the other modules of the host ABI, `env`, `wasi*` and wasm-bindgen's are the host's or refused for every spirit\nhelp: put the embedder's functions under a module of its own name, such as `acme`"
    )]
    ReservedModule(String),
    /// The import module or function name is empty or not plain text.
    #[error(
        "the import name `{0}` is not valid: module and function names are 1 to 64 characters of ASCII letters, digits, `_`, `-` and `.`"
    )]
    InvalidName(String),
    /// The capability is not of the embedder's `vendor:name` form.
    #[error(
        "the capability `{0}` is not an embedder's capability: it must be `vendor:name` (lowercase ASCII letters, digits, `_`, `-`, `.`; such as `acme:db`), which keeps it apart from the host's built-in capabilities"
    )]
    InvalidCapability(String),
    /// The function is already defined.
    #[error("the host function `{0}` is defined twice\nhelp: give each function its own name")]
    Duplicate(String),
}

/// Why a [`GuestMemory`] access was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the range of {len} bytes at {ptr} is outside the spirit's memory of {size} bytes (or the spirit exports no memory)"
)]
pub struct GuestMemoryError {
    /// The guest pointer, as the unsigned address WebAssembly means by it.
    pub ptr: u32,
    /// The length asked for.
    pub len: u32,
    /// The memory's size in bytes.
    pub size: usize,
}

/// The calling spirit's linear memory, as an embedder's host function sees
/// it: every access is bounds-checked, and no pointer into it ever leaves.
///
/// Guest pointers and lengths are `i32` in a signature but addresses are
/// unsigned, so both are read as `u32` (as the host's own functions do).
pub struct GuestMemory<'a> {
    data: &'a mut [u8],
}

impl fmt::Debug for GuestMemory<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestMemory")
            .field("len", &self.data.len())
            .finish()
    }
}

impl GuestMemory<'_> {
    /// The memory's size in bytes (`0` when the spirit exports none).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the memory is empty (or the spirit exports none).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The `len` bytes at `ptr`.
    ///
    /// # Errors
    ///
    /// [`GuestMemoryError`] when any of them is outside the memory.
    pub fn read(&self, ptr: i32, len: i32) -> Result<&[u8], GuestMemoryError> {
        let range = self.range(ptr, len)?;
        Ok(&self.data[range])
    }

    /// Writes `bytes` at `ptr`.
    ///
    /// # Errors
    ///
    /// [`GuestMemoryError`] when any of them would fall outside the memory;
    /// nothing is written then.
    pub fn write(&mut self, ptr: i32, bytes: &[u8]) -> Result<(), GuestMemoryError> {
        let len = i32::try_from(bytes.len()).map_err(|_| GuestMemoryError {
            ptr: unsigned(ptr),
            len: u32::MAX,
            size: self.data.len(),
        })?;
        let range = self.range(ptr, len)?;
        self.data[range].copy_from_slice(bytes);
        Ok(())
    }

    fn range(&self, ptr: i32, len: i32) -> Result<std::ops::Range<usize>, GuestMemoryError> {
        super::host::guest_range(self.data.len(), ptr, len).ok_or(GuestMemoryError {
            ptr: unsigned(ptr),
            len: unsigned(len),
            size: self.data.len(),
        })
    }
}

fn unsigned(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

mod sealed {
    pub trait Sealed {}
}

/// A WebAssembly value an embedder's host function takes: `i32`, `i64`,
/// `f32` or `f64`.
pub trait GuestValue: sealed::Sealed + Copy + Send + Sync + 'static {
    /// Its type.
    #[doc(hidden)]
    fn val_type() -> ValType;
    /// It, from a value of its type.
    #[doc(hidden)]
    fn from_val(val: &Val) -> Option<Self>;
    /// It, as a value.
    #[doc(hidden)]
    fn into_val(self) -> Val;
}

/// What an embedder's host function returns: nothing or one
/// [`GuestValue`]. A call refused for want of its capability returns the
/// ABI's error value, `-1` in this type (nothing for `()`), as the host's
/// own functions do.
pub trait GuestResult: sealed::Sealed + Send + Sync + 'static {
    /// Its types.
    #[doc(hidden)]
    fn val_types() -> Vec<ValType>;
    /// Writes it into `results`.
    #[doc(hidden)]
    fn into_vals(self, results: &mut [Val]);
    /// The ABI's error value.
    #[doc(hidden)]
    fn refused() -> Self;
}

macro_rules! guest_value {
    ($($ty:ty, $val:ident, $from:expr, $into:expr, $refused:expr;)*) => {$(
        impl sealed::Sealed for $ty {}
        impl GuestValue for $ty {
            fn val_type() -> ValType {
                ValType::$val
            }
            fn from_val(val: &Val) -> Option<$ty> {
                #[allow(clippy::redundant_closure_call)]
                match val {
                    Val::$val(v) => Some(($from)(*v)),
                    _ => None,
                }
            }
            fn into_val(self) -> Val {
                #[allow(clippy::redundant_closure_call)]
                Val::$val(($into)(self))
            }
        }
        impl GuestResult for $ty {
            fn val_types() -> Vec<ValType> {
                vec![ValType::$val]
            }
            fn into_vals(self, results: &mut [Val]) {
                if let Some(slot) = results.first_mut() {
                    *slot = self.into_val();
                }
            }
            fn refused() -> $ty {
                $refused
            }
        }
    )*};
}

guest_value! {
    i32, I32, |v: i32| v, |v: i32| v, abi::ERROR;
    i64, I64, |v: i64| v, |v: i64| v, i64::from(abi::ERROR);
    f32, F32, f32::from_bits, f32::to_bits, -1.0;
    f64, F64, f64::from_bits, f64::to_bits, f64::from(abi::ERROR);
}

impl sealed::Sealed for () {}
impl GuestResult for () {
    fn val_types() -> Vec<ValType> {
        Vec::new()
    }
    fn into_vals(self, _: &mut [Val]) {}
    fn refused() {}
}

/// A closure an embedder's host function can be: `Fn(&mut GuestMemory, A…)
/// -> R` with up to six [`GuestValue`] arguments and a [`GuestResult`].
/// `Params` is the tuple of argument types (inferred).
pub trait HostFn<Params>: Send + Sync + 'static {
    /// The parameter types.
    #[doc(hidden)]
    fn param_types() -> Vec<ValType>;
    /// The result types.
    #[doc(hidden)]
    fn result_types() -> Vec<ValType>;
    /// Calls it with `params` (of the types above), writing `results`.
    #[doc(hidden)]
    fn invoke(&self, memory: &mut GuestMemory<'_>, params: &[Val], results: &mut [Val]);
    /// Writes the ABI's error value into `results`.
    #[doc(hidden)]
    fn refuse(results: &mut [Val]);
}

macro_rules! host_fn {
    ($($arg:ident),*) => {
        impl<Func, Res, $($arg),*> HostFn<($($arg,)*)> for Func
        where
            Func: Fn(&mut GuestMemory<'_>, $($arg),*) -> Res + Send + Sync + 'static,
            Res: GuestResult,
            $($arg: GuestValue,)*
        {
            fn param_types() -> Vec<ValType> {
                vec![$($arg::val_type()),*]
            }
            fn result_types() -> Vec<ValType> {
                Res::val_types()
            }
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn invoke(&self, memory: &mut GuestMemory<'_>, params: &[Val], results: &mut [Val]) {
                let mut params = params.iter();
                $(
                    // wasmtime calls a function only with arguments of its
                    // type; anything else is the ABI's refusal.
                    let Some($arg) = params.next().and_then($arg::from_val) else {
                        return Res::refused().into_vals(results);
                    };
                )*
                (self)(memory, $($arg),*).into_vals(results)
            }
            fn refuse(results: &mut [Val]) {
                Res::refused().into_vals(results)
            }
        }
    };
}

host_fn!();
host_fn!(A1);
host_fn!(A1, A2);
host_fn!(A1, A2, A3);
host_fn!(A1, A2, A3, A4);
host_fn!(A1, A2, A3, A4, A5);
host_fn!(A1, A2, A3, A4, A5, A6);

/// The closure of one definition, its parameters and results erased.
type Invoke = Arc<dyn Fn(&mut GuestMemory<'_>, &[Val], &mut [Val]) + Send + Sync>;

/// One of the embedder's host functions.
struct Definition {
    signature: Signature,
    params: Vec<ValType>,
    results: Vec<ValType>,
    invoke: Invoke,
    refuse: fn(&mut [Val]),
}

/// What the sandbox keeps of an embedder's host function, for the import
/// checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Signature {
    pub(super) module: String,
    pub(super) name: String,
    pub(super) capability: String,
    pub(super) ty: FunctionType,
}

/// An import of one of the embedder's host functions, linked at load: the
/// policy of each run must grant its capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct EmbedderImport {
    /// `module.name`.
    pub(super) qualified: String,
    pub(super) capability: String,
}

/// The embedder's own host functions, defined before the sandbox is made
/// ([`Sandbox::with_host_functions`](super::Sandbox::with_host_functions)).
///
/// Each lives under an import module of the embedder's (never `vudo`,
/// `loa`, `env`, `wasi*`), is gated by a capability of the embedder's
/// naming (`vendor:name`) that only [`Policy::grant_custom`] grants, and is
/// a closure over `i32`/`i64`/`f32`/`f64` arguments with a bounds-checked
/// view of the calling spirit's memory. A spirit that imports one is
/// refused at load unless it is defined with that exact signature, and
/// before a run whose policy lacks its capability; a call the gate
/// refuses returns `-1` without reaching the closure.
///
/// The closure is the embedder's code, run on the spirit's thread: fuel and
/// the run's deadline do not bound it (keep it short), a panic in it
/// unwinds into the embedder's call of the run, and the same seed does not
/// make it deterministic.
///
/// ```
/// use spirit_build::sandbox::{GuestMemory, HostFunctions, HostFunctionError};
///
/// let mut functions = HostFunctions::new();
/// functions.define("acme", "sum", "acme:math", |memory: &mut GuestMemory<'_>, ptr: i32, len: i32| {
///     match memory.read(ptr, len) {
///         Ok(bytes) => bytes.iter().map(|b| i64::from(*b)).sum::<i64>(),
///         Err(_) => -1,
///     }
/// })?;
/// assert!(matches!(
///     functions.define("vudo", "sum", "acme:math", |_: &mut GuestMemory<'_>| ()),
///     Err(HostFunctionError::ReservedModule(_))
/// ));
/// # Ok::<(), HostFunctionError>(())
/// ```
#[derive(Default)]
pub struct HostFunctions {
    definitions: Vec<Definition>,
}

impl fmt::Debug for HostFunctions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.definitions.iter().map(|d| &d.signature))
            .finish()
    }
}

impl HostFunctions {
    /// No functions.
    pub fn new() -> HostFunctions {
        HostFunctions::default()
    }

    /// Defines `module.name`, gated by the embedder's `capability`, as `f`.
    ///
    /// # Errors
    ///
    /// [`HostFunctionError`] when `module` is reserved, a name or the
    /// capability is malformed, or `module.name` is already defined.
    pub fn define<Params, F: HostFn<Params>>(
        &mut self,
        module: &str,
        name: &str,
        capability: &str,
        f: F,
    ) -> Result<&mut HostFunctions, HostFunctionError> {
        check_name(module)?;
        check_name(name)?;
        if is_reserved(module) {
            return Err(HostFunctionError::ReservedModule(module.to_owned()));
        }
        if !is_capability(capability) {
            return Err(HostFunctionError::InvalidCapability(capability.to_owned()));
        }
        if self
            .definitions
            .iter()
            .any(|d| d.signature.module == module && d.signature.name == name)
        {
            return Err(HostFunctionError::Duplicate(format!("{module}.{name}")));
        }
        let params = F::param_types();
        let results = F::result_types();
        let ty = FunctionType {
            params: params.iter().map(ToString::to_string).collect(),
            results: results.iter().map(ToString::to_string).collect(),
        };
        self.definitions.push(Definition {
            signature: Signature {
                module: module.to_owned(),
                name: name.to_owned(),
                capability: capability.to_owned(),
                ty,
            },
            params,
            results,
            invoke: Arc::new(move |memory, params, results| f.invoke(memory, params, results)),
            refuse: F::refuse,
        });
        Ok(self)
    }

    /// Whether no function is defined.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }
}

fn check_name(name: &str) -> Result<(), HostFunctionError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if (1..=64).contains(&name.len()) && name.chars().all(plain) {
        Ok(())
    } else {
        Err(HostFunctionError::InvalidName(name.to_owned()))
    }
}

/// Whether spirits' imports from `module` are the host's own or refused for
/// every spirit, whatever the embedder defines.
fn is_reserved(module: &str) -> bool {
    let lower = module.to_ascii_lowercase();
    abi::is_import_module(module)
        || abi::HOST_FUNCTIONS
            .iter()
            .any(|f| f.modules.iter().any(|m| m.eq_ignore_ascii_case(module)))
        || lower.starts_with("vudo")
        || lower == "loa"
        || lower == "env"
        || lower.starts_with("wasi")
        || lower.starts_with("__wbindgen")
}

/// Whether `capability` is an embedder's `vendor:name`.
fn is_capability(capability: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            })
    };
    capability.len() <= 64
        && capability
            .split_once(':')
            .is_some_and(|(vendor, name)| part(vendor) && part(name))
}

/// Registers `functions` in `linker`, each behind its capability gate: a
/// call whose run's policy does not grant the capability returns the ABI's
/// error value before the closure runs. Returns what the import checks
/// need of them.
pub(super) fn link(
    engine: &Engine,
    linker: &mut Linker<HostState>,
    functions: HostFunctions,
) -> wasmtime::Result<Vec<Signature>> {
    let mut signatures = Vec::with_capacity(functions.definitions.len());
    for definition in functions.definitions {
        let Definition {
            signature,
            params,
            results,
            invoke,
            refuse,
        } = definition;
        let ty = FuncType::new(engine, params, results);
        let capability = signature.capability.clone();
        linker.func_new(
            &signature.module,
            &signature.name,
            ty,
            move |mut caller: Caller<'_, HostState>, params: &[Val], results: &mut [Val]| {
                if !caller.data().policy.grants_custom(&capability) {
                    refuse(results);
                    return Ok(());
                }
                let data: &mut [u8] = match caller.get_export(abi::MEMORY_EXPORT) {
                    Some(Extern::Memory(memory)) => memory.data_mut(&mut caller),
                    _ => &mut [],
                };
                invoke(&mut GuestMemory { data }, params, results);
                Ok(())
            },
        )?;
        signatures.push(signature);
    }
    Ok(signatures)
}

/// Splits a module's imports into those of the embedder's modules and the
/// rest (for the host ABI's check): each of the first must be a function
/// the embedder defines, with its exact type, or it is a problem.
pub(super) fn check_link(
    imports: Vec<ModuleImport>,
    defined: &[Signature],
) -> (Vec<ModuleImport>, Vec<EmbedderImport>, Vec<Problem>) {
    let mut rest = Vec::new();
    let mut embedder = Vec::new();
    let mut problems = Vec::new();
    for import in imports {
        let ImportKind::Function(actual) = &import.kind else {
            rest.push(import);
            continue;
        };
        if !defined.iter().any(|s| s.module == import.module) {
            rest.push(import);
            continue;
        }
        let qualified = format!("{}.{}", import.module, import.name);
        match defined
            .iter()
            .find(|s| s.module == import.module && s.name == import.name)
        {
            Some(s) if s.ty == *actual => embedder.push(EmbedderImport {
                qualified,
                capability: s.capability.clone(),
            }),
            Some(s) => problems.push(Problem {
                message: format!(
                    "imports `{qualified}` with the signature {actual}, but the embedder defines {}",
                    s.ty
                ),
                help: Some(
                    "declare the import with the signature the embedder's host function has"
                        .to_owned(),
                ),
            }),
            None => {
                let names: Vec<String> = defined
                    .iter()
                    .filter(|s| s.module == import.module)
                    .map(|s| format!("`{}`", s.name))
                    .collect();
                problems.push(Problem {
                    message: format!(
                        "imports `{qualified}`, which the embedder does not define"
                    ),
                    help: Some(format!(
                        "the embedder defines, in `{}`: {}",
                        import.module,
                        names.join(", ")
                    )),
                });
            }
        }
    }
    (rest, embedder, problems)
}

/// Each import of an embedder's host function whose capability `policy`
/// does not grant, as a problem.
pub(super) fn refused(imports: &[EmbedderImport], policy: &Policy) -> Vec<Problem> {
    imports
        .iter()
        .filter(|i| !policy.grants_custom(&i.capability))
        .map(|i| Problem {
            message: format!(
                "imports `{}`, which needs the embedder's capability `{}`, but it is not granted",
                i.qualified, i.capability
            ),
            help: Some(format!(
                "the embedder grants it with `Policy::grant_custom(\"{}\")`; a spirit's manifest and `--allow` cannot",
                i.capability
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use spirit_sdk::abi::Capability;
    use wasmtime::{Module, Store};

    use super::*;
    use crate::limits::Limits;
    use crate::sandbox::io::CollectingIo;
    use crate::sandbox::state::HostSetup;
    use crate::sandbox::storage::Stores;

    /// The gate itself, without the run's import check before it: a call
    /// under a policy without the capability returns `-1` and never reaches
    /// the closure.
    #[test]
    fn the_gate_refuses_before_the_closure() {
        let engine = Engine::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let mut functions = HostFunctions::new();
        functions
            .define(
                "acme",
                "touch",
                "acme:db",
                move |_: &mut GuestMemory<'_>, x: i64| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    x
                },
            )
            .unwrap();
        let mut linker = Linker::new(&engine);
        link(&engine, &mut linker, functions).unwrap();
        let wasm = wat::parse_str(
            r#"(module (import "acme" "touch" (func $t (param i64) (result i64)))
                (memory (export "memory") 1)
                (func (export "run") (result i64) (call $t (i64.const 7))))"#,
        )
        .unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        let run = |policy: Policy| {
            let state = HostState::new(HostSetup {
                name: "gate".into(),
                owner: Default::default(),
                policy,
                limits: Limits::default(),
                input: Vec::new(),
                io: Box::new(CollectingIo::default()),
                seed: Some(1),
                stores: Arc::new(Stores::new(None)),
                deadline: Instant::now() + Duration::from_secs(30),
                credits: None,
                network: Default::default(),
                spirits: None,
            });
            let mut store = Store::new(&engine, state);
            store.set_fuel(u64::MAX).ok();
            store.set_epoch_deadline(u64::MAX);
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let f = instance
                .get_typed_func::<(), i64>(&mut store, "run")
                .unwrap();
            f.call(&mut store, ()).unwrap()
        };
        assert_eq!(run(Policy::allow(Capability::ALL.iter().copied())), -1);
        assert_eq!(run(Policy::default().grant_custom("acme:other")), -1);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(run(Policy::default().grant_custom("acme:db")), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
