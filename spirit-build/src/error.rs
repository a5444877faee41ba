//! The errors of the operations: [`Error`], what every operation returns,
//! with one variant per step of the pipeline, and the errors only the
//! operations themselves raise (a TARGET that names nothing, unreadable
//! input, a receipt that fails a check).

use std::path::PathBuf;

use crate::receipt::ReceiptError;
use crate::sign::Author;
#[cfg(feature = "build")]
use crate::{compile, project, strip, workspace};
use crate::{
    fs, inspect, ledger, manifest, oci, package, registry, sandbox, sign, template, validate,
};

/// Any failure of an operation.
///
/// Non-exhaustive: new failures come with new operations, and the variants
/// of the `build` feature exist only with it, so a `match` needs a `_` arm
/// under any set of features.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[cfg(feature = "build")]
    /// Reading the workspace or a spirit's configuration failed.
    #[error(transparent)]
    Project(#[from] project::ProjectError),
    #[cfg(feature = "build")]
    /// Compiling failed.
    #[error(transparent)]
    Compile(#[from] compile::CompileError),
    /// The module failed validation.
    #[error(transparent)]
    Validation(#[from] validate::ValidationError),
    /// A module could not be inspected.
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    #[cfg(feature = "build")]
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
    /// An installed spirit was to be run, but the run's configuration
    /// names no `VUDO_HOME` to find it in.
    #[error(
        "cannot run the installed spirit `{0}`: the run's configuration has no VUDO_HOME to find it in\nhelp: configure the sandbox with `SandboxConfig::in_home` (or `SandboxConfig::from_env`)"
    )]
    NoHome(String),
    /// The run ended abnormally: why (`failure.error`), and what it did
    /// until then (its logs, output so far, warnings, fuel used).
    #[error("spirit `{spirit}` failed: {failure}")]
    Run {
        /// The spirit.
        spirit: String,
        /// How the run ended, with its partial outcome.
        failure: Box<sandbox::RunFailure>,
    },
    /// A séance could not summon a spirit, or was given a bad spec.
    #[error(transparent)]
    Seance(#[from] crate::seance::SeanceError),
    /// Writing a new spirit failed.
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[cfg(feature = "build")]
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
    /// Pushing to or pulling from an OCI registry failed.
    #[error(transparent)]
    Oci(oci::OciError),
    /// A dependency of a spirit being built does not resolve.
    #[error("cannot resolve dependency `{dependency} = \"{req}\"` of spirit `{spirit}`: {error}")]
    Dependency {
        /// The spirit being built.
        spirit: String,
        /// The dependency's name.
        dependency: String,
        /// Its requirement.
        req: String,
        /// Why it does not resolve.
        error: Box<registry::RegistryError>,
    },
    /// A spirit failed verification.
    #[error("{}: {error}", path.display())]
    Verify {
        /// The build directory or package.
        path: PathBuf,
        /// What is wrong.
        error: sign::VerifyError,
    },
    /// A command-line TARGET names nothing the command can take.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The input of a run could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An execution receipt could not be read or failed a check.
    #[error(transparent)]
    Receipt(#[from] ReceiptCheckError),
    /// Text that names no account.
    #[error(transparent)]
    Account(#[from] ledger::AccountError),
    /// The credit ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// A priced run's payer cannot cover it: refused before it started.
    #[error(
        "spirit `{spirit}` was not run: its payer cannot cover it: {error}\nhelp: the run may cost up to {max_cost} credits ({pricing}); lower `--fuel`, or move credits to the payer with `cargo spirit credit transfer`"
    )]
    NotCovered {
        /// The spirit.
        spirit: String,
        /// The most the run could cost.
        max_cost: u64,
        /// How the maximum was reached, in words.
        pricing: String,
        /// The ledger's refusal, with the payer's balance.
        error: ledger::LedgerError,
    },
    /// A run that needs a payer has none.
    #[error(
        "spirit `{spirit}` {why}, but there is no payer: {error}\nhelp: name the payer's key with `--payer PATH`, or create the default key with `cargo spirit keygen`"
    )]
    NoPayer {
        /// The spirit.
        spirit: String,
        /// Why it needs one.
        why: &'static str,
        /// Why no key was found.
        error: sign::SignError,
    },
    /// `VUDO_HOME` could not be determined.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    /// The operation builds a crate or reads or writes a `.spirit` package,
    /// and this build of the library has no `build` feature.
    #[error(
        "{what} needs the `build` feature, and this build of spirit-build was compiled without it\n\
         help: depend on spirit-build with its default features, or run a `.wasm` file, a build directory or an installed spirit"
    )]
    NeedsBuildFeature {
        /// What was asked for (`building a crate`, `reading a .spirit package`).
        what: &'static str,
    },
}

impl Error {
    /// The exit code the command line should end with: cargo's own when
    /// cargo failed, `1` otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            #[cfg(feature = "build")]
            Error::Compile(e) => e.exit_code().unwrap_or(101),
            _ => 1,
        }
    }
}

impl From<manifest::ReadError> for Error {
    fn from(error: manifest::ReadError) -> Error {
        match error {
            manifest::ReadError::Fs(e) => Error::Fs(e),
            manifest::ReadError::Invalid { path, error } => Error::Manifest { path, error },
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

/// Why a TARGET cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Nothing of that name on disk, and not an installed spirit's name.
    #[error(
        "no file or directory `{}`\nhelp: a TARGET is a spirit crate directory, a `.wasm` file, a `.spirit` package, a build directory, an installed spirit as NAME[@REQ], or a spirit in an OCI registry as REGISTRY/REPOSITORY:TAG",
        .0.display()
    )]
    NotFound(PathBuf),
    /// The command does not take this kind of target.
    #[error(
        "`{target}` is {kind}, which `cargo spirit {command}` does not take\nhelp: give {accepted}"
    )]
    NotAccepted {
        /// The target as given.
        target: String,
        /// What it is.
        kind: &'static str,
        /// The command.
        command: &'static str,
        /// What the command takes.
        accepted: &'static str,
    },
    /// `NAME@VERSION` whose version does not parse.
    #[error(
        "`{version}` is not a version: uninstall takes NAME or NAME@VERSION, such as `hello@1.2.0`"
    )]
    BadVersion {
        /// The version given.
        version: String,
        /// Why it does not parse.
        #[source]
        source: semver::Error,
    },
    /// An argument that starts like an OCI reference but is not one.
    #[error(transparent)]
    Reference(#[from] oci::OciError),
    /// Arguments after the target of `run` without `--invoke`.
    #[error(
        "unexpected argument `{first}`: arguments are passed to the function named by `--invoke`\nhelp: call a function with `cargo spirit run [TARGET] --invoke FUNC {all}`"
    )]
    UnexpectedArgument {
        /// The first of them.
        first: String,
        /// All of them, space-separated.
        all: String,
    },
}

/// The input of a run could not be read, or was refused while it was read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Reading failed.
    #[error("failed to read the input from {from}")]
    Read {
        /// `standard input`, or the file in backquotes.
        from: String,
        /// The reason.
        #[source]
        error: std::io::Error,
    },
    /// The input is larger than the run's input limit (refused as soon as
    /// the limit is passed, before the rest is read).
    #[error(
        "the input from {from} is larger than the input limit of {}",
        crate::units::Bytes(*max)
    )]
    TooLarge {
        /// `standard input`, or the file in backquotes.
        from: String,
        /// The limit, in bytes.
        max: u64,
    },
    /// Reading took the whole run's timeout.
    #[error("reading the input from {from} did not finish within the run's timeout of {timeout:?}")]
    TimedOut {
        /// `standard input`, or the file in backquotes.
        from: String,
        /// The run's timeout.
        timeout: std::time::Duration,
    },
}

/// Why a receipt failed its check.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptCheckError {
    /// Malformed, badly signed, or a commitment does not match.
    #[error(transparent)]
    Invalid(#[from] ReceiptError),
    /// Signed by another node than the one required.
    #[error("the receipt is signed by node {node}, but {expected} was required")]
    WrongNode {
        /// Who signed it.
        node: Author,
        /// Who was required.
        expected: Author,
    },
}

impl From<oci::OciError> for Error {
    fn from(e: oci::OciError) -> Error {
        Error::Oci(e)
    }
}
