//! Build, validate, strip, describe and run spirits: every operation of
//! cargo-spirit, usable without the command line.
//!
//! A spirit goes through the modules in this order (see `ARCHITECTURE.md`):
//! [`project`] finds it, [`compile`] builds it with cargo, [`validate`]
//! checks it against the [host ABI](spirit_sdk::abi), [`strip`] shrinks it,
//! [`manifest`] describes it, and [`sandbox`] runs it. The operations in
//! [`ops`] string those steps together, one per command.
#![deny(missing_docs)]

pub mod compile;
pub mod fingerprint;
pub mod fs;
pub mod home;
pub mod inspect;
pub mod ledger;
pub mod manifest;
pub mod ops;
pub mod package;
pub mod project;
pub mod receipt;
pub mod registry;
pub mod sandbox;
pub mod shell;
pub mod sign;
pub mod strip;
pub mod template;
pub mod toolchain;
pub mod trust;
pub mod units;
pub mod validate;
pub mod workspace;

pub use ops::{build, new_spirit, run};
pub use shell::{ColorChoice, Shell, Verbosity};

use std::path::PathBuf;

/// The version of this library, recorded in every manifest it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Any failure of an operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the workspace or a spirit's configuration failed.
    #[error(transparent)]
    Project(#[from] project::ProjectError),
    /// Compiling failed.
    #[error(transparent)]
    Compile(#[from] compile::CompileError),
    /// The module failed validation.
    #[error(transparent)]
    Validation(#[from] validate::ValidationError),
    /// A module could not be inspected.
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    /// Stripping failed.
    #[error(transparent)]
    Strip(#[from] strip::StripError),
    /// A manifest could not be read.
    #[error("{}: {error}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        error: manifest::ManifestError,
    },
    /// The sandbox could not be set up or the spirit not loaded.
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    /// The run ended abnormally.
    #[error("spirit `{spirit}` failed: {error}")]
    Run {
        /// The spirit.
        spirit: String,
        /// How the run ended.
        error: sandbox::RunError,
    },
    /// Writing a new spirit failed.
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    /// Adding a new spirit to its workspace failed.
    #[error(transparent)]
    Workspace(#[from] workspace::WorkspaceError),
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] fs::FsError),
    /// A key or signature could not be handled.
    #[error(transparent)]
    Sign(sign::SignError),
    /// A package or spirit directory could not be read.
    #[error(transparent)]
    Package(package::PackageError),
    /// A registry operation failed.
    #[error(transparent)]
    Registry(registry::RegistryError),
    /// A spirit failed verification.
    #[error("{}: {error}", path.display())]
    Verify {
        /// The build directory or package.
        path: PathBuf,
        /// What is wrong.
        error: sign::VerifyError,
    },
}

impl Error {
    /// The exit code the command line should end with: cargo's own when
    /// cargo failed, `1` otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Compile(e) => e.exit_code().unwrap_or(101),
            _ => 1,
        }
    }
}

impl From<manifest::ManifestError> for Error {
    fn from(error: manifest::ManifestError) -> Error {
        Error::Manifest {
            path: PathBuf::from(manifest::FILE_NAME),
            error,
        }
    }
}
