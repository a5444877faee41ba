//! Why the sandbox or a spirit could not be set up.

use crate::validate;

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
    /// Compiling took longer than the run's timeout (see
    /// [`Sandbox::load_within`](super::Sandbox::load_within)).
    #[error("compiling spirit `{name}` did not finish within the run's timeout of {timeout:?}")]
    CompileTimeout {
        /// The spirit.
        name: String,
        /// The time it had.
        timeout: std::time::Duration,
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
    /// The module's table starts larger than any run may allow: refused
    /// before it is compiled, naming the documented limit.
    #[error(
        "spirit `{name}` was refused before compiling: table limit of {} elements reached (its table starts with {elements})",
        crate::limits::Limits::default().max_table_elements
    )]
    TableLimit {
        /// The spirit.
        name: String,
        /// The elements its largest table starts with.
        elements: u64,
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
