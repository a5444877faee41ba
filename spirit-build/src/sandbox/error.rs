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
    /// The module imports what the host does not provide.
    #[error("spirit `{name}` cannot be linked ({} problem{})\n\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n\n"))]
    Imports {
        /// The spirit.
        name: String,
        /// Each import the host cannot satisfy.
        problems: Vec<validate::Problem>,
    },
}
