//! Loading a spirit: the size check before compiling, compiling (or reading
//! the compiled code from the [code cache](super::cache)), the import check
//! against the host ABI, and pre-linking into a [`LoadedSpirit`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::{ExternType, InstancePre, Module};

use super::embedder::{self, EmbedderImport};
use super::engine::Sandbox;
use super::error::SandboxError;
use super::host;
use super::state::HostState;
use crate::limits::MAX_TABLE_ELEMENTS;
use crate::validate::{self, FunctionType, Grant, ImportKind, ModuleImport};

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
    pub(super) name: String,
    pub(super) module: Module,
    pub(super) pre: InstancePre<HostState>,
    /// Its imports of the host ABI, for the policy check of each run.
    pub(super) imports: Vec<ModuleImport>,
    /// Its imports of the embedder's host functions, whose capabilities
    /// each run's policy must grant.
    pub(super) embedder: Vec<EmbedderImport>,
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

impl Sandbox {
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
        self.load_bounded(name, wasm, None, None)
    }

    /// [`Sandbox::load`], giving up when compiling takes longer than
    /// `timeout` (code from the cache takes no time to compile). Compiling
    /// cannot be interrupted, so it runs on its own thread; one that
    /// overruns is abandoned and finishes in the background, its code
    /// dropped. `cargo spirit run` passes the run's timeout, so that a huge
    /// module cannot hold the command past it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use spirit_build::sandbox::{Sandbox, SandboxConfig, SandboxError};
    ///
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
    /// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)?;
    /// assert!(sandbox.load_within("quick", &wasm, Duration::from_secs(30)).is_ok());
    /// assert!(matches!(
    ///     sandbox.load_within("quick", &wasm, Duration::ZERO),
    ///     Err(SandboxError::CompileTimeout { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Sandbox::load`], and [`SandboxError::CompileTimeout`].
    pub fn load_within(
        &self,
        name: &str,
        wasm: &[u8],
        timeout: Duration,
    ) -> Result<LoadedSpirit, SandboxError> {
        self.load_bounded(name, wasm, None, Some(timeout))
    }

    /// [`Sandbox::load_within`] of a module whose blake3 the caller has
    /// just computed from these very bytes (the registry's check does), so
    /// that the code cache does not hash them again.
    pub(crate) fn load_hashed_within(
        &self,
        name: &str,
        wasm: &[u8],
        wasm_hash: blake3::Hash,
        timeout: Duration,
    ) -> Result<LoadedSpirit, SandboxError> {
        self.load_bounded(name, wasm, Some(wasm_hash), Some(timeout))
    }

    fn load_bounded(
        &self,
        name: &str,
        wasm: &[u8],
        wasm_hash: Option<blake3::Hash>,
        timeout: Option<Duration>,
    ) -> Result<LoadedSpirit, SandboxError> {
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
        if let Some(elements) = initial_table_elements(wasm)
            .filter(|n| *n > u64::try_from(MAX_TABLE_ELEMENTS).unwrap_or(u64::MAX))
        {
            return Err(SandboxError::TableLimit {
                name: name.to_owned(),
                elements,
            });
        }
        // Hashed once, for both the lookup and the store.
        let cache = self
            .cache
            .as_ref()
            .map(|cache| (cache, wasm_hash.unwrap_or_else(|| blake3::hash(wasm))));
        let cached = cache.and_then(|(cache, hash)| cache.load(&self.engine, &hash));
        let (module, source) = match cached {
            Some((module, path)) => (module, CodeSource::Cached(path)),
            None => {
                let started = Instant::now();
                let module = match timeout {
                    None => Module::new(&self.engine, wasm),
                    Some(timeout) => self.compile_within(name, wasm, timeout)?,
                }
                .map_err(compile)?;
                let duration = started.elapsed();
                let cached = match cache {
                    Some((cache, hash)) => cache.store(&hash, &module).map(Some),
                    None => Ok(None),
                };
                (module, CodeSource::Compiled { duration, cached })
            }
        };
        // The compiled code does not depend on the host functions (the
        // cache key need not name them): linking, below, is checked and
        // done against this sandbox's functions at every load.
        let (imports, embedder, mut problems) =
            embedder::check_link(module_imports(&module), &self.embedder);
        // Linking does not depend on the policy; each run checks that.
        problems.extend(validate::check_imports(&imports, &[], Grant::Run).link);
        if !problems.is_empty() {
            return Err(SandboxError::Imports {
                name: name.to_owned(),
                problems,
            });
        }
        let mut linker = self.linker.clone();
        host::define_imports(
            &mut linker,
            module
                .imports()
                .map(|import| (import.module(), import.name())),
        )
        .map_err(compile)?;
        let pre = linker.instantiate_pre(&module).map_err(compile)?;
        Ok(LoadedSpirit {
            name: name.to_owned(),
            module,
            pre,
            imports,
            embedder,
            source,
        })
    }

    /// Compiles `wasm` on a thread of its own, waiting at most `timeout`.
    fn compile_within(
        &self,
        name: &str,
        wasm: &[u8],
        timeout: Duration,
    ) -> Result<wasmtime::Result<Module>, SandboxError> {
        let timed_out = || SandboxError::CompileTimeout {
            name: name.to_owned(),
            timeout,
        };
        if timeout.is_zero() {
            return Err(timed_out());
        }
        let (send, receive) = std::sync::mpsc::sync_channel(1);
        let engine = self.engine.clone();
        let wasm = wasm.to_vec();
        std::thread::Builder::new()
            .name("spirit-compile".into())
            .spawn(move || {
                // The receiver is gone when the load gave up waiting.
                let _ = send.send(Module::new(&engine, &wasm));
            })
            .map_err(|e| SandboxError::Engine(wasmtime::Error::from(e)))?;
        receive.recv_timeout(timeout).map_err(|_| timed_out())
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
}

/// The most elements any table the module defines starts with, read from
/// its sections before compiling (an imported table is refused at linking,
/// as the host exports none): the pooling allocator refuses a module
/// whose table is larger than it reserves, naming its own reservation
/// instead of the run's table limit. `None` when it has no table or does
/// not parse (compiling then says why).
fn initial_table_elements(wasm: &[u8]) -> Option<u64> {
    let mut largest = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let sizes: Vec<u64> = match payload.ok()? {
            wasmparser::Payload::TableSection(tables) => tables
                .into_iter()
                .filter_map(|t| t.ok().map(|t| t.ty.initial))
                .collect(),
            wasmparser::Payload::CodeSectionStart { .. } => break,
            _ => continue,
        };
        largest = sizes.into_iter().chain(largest).max();
    }
    largest
}

/// A compiled module's imports, as the import check takes them.
fn module_imports(module: &Module) -> Vec<ModuleImport> {
    module
        .imports()
        .map(|import| ModuleImport {
            module: import.module().to_owned(),
            name: import.name().to_owned(),
            kind: match import.ty() {
                ExternType::Func(ty) => ImportKind::Function(function_type(&ty)),
                ExternType::Table(_) => ImportKind::Other("table"),
                ExternType::Memory(_) => ImportKind::Other("memory"),
                ExternType::Global(_) => ImportKind::Other("global"),
                ExternType::Tag(_) => ImportKind::Other("tag"),
            },
        })
        .collect()
}

/// A wasmtime function type in the checks' terms.
pub(super) fn function_type(ty: &wasmtime::FuncType) -> FunctionType {
    FunctionType {
        params: ty.params().map(|t| t.to_string()).collect(),
        results: ty.results().map(|t| t.to_string()).collect(),
    }
}
