//! What can go wrong in the registry, in words that say how to fix it.

use std::path::PathBuf;

use semver::Version;

use crate::fs::FsError;
use crate::sign::{self, Author, VerifyError};

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A name that cannot be a spirit's.
    #[error("invalid spirit name `{0}`: use letters, digits, `-` and `_`, starting with a letter")]
    BadName(String),
    /// A version requirement that does not parse.
    #[error(
        "invalid version requirement `{req}` for `{name}`: {error}\nhelp: use semver syntax such as `^1.2`, `~1.2.3`, `>=1.0` or `=1.2.3`"
    )]
    BadRequirement {
        /// The spirit.
        name: String,
        /// The requirement given.
        req: String,
        /// Why it does not parse.
        error: String,
    },
    /// Nothing of that name.
    #[error(
        "no spirit named `{0}` is installed\nhelp: `cargo spirit list` shows what is; `cargo spirit install` adds one"
    )]
    NotInstalled(String),
    /// `upgrade NAME` from a source without that spirit.
    #[error("the given package or crate has no spirit named `{0}`")]
    NotInSource(String),
    /// No version matches.
    #[error("no installed version of `{name}` matches `{req}`; installed: {installed}")]
    NoMatch {
        /// The spirit.
        name: String,
        /// The requirement.
        req: String,
        /// The installed versions.
        installed: String,
    },
    /// Unsigned and not allowed.
    #[error(
        "spirit `{0}` is unsigned\nhelp: sign it (`cargo spirit sign`), or install it anyway with `--allow-unsigned` (recorded in the index)"
    )]
    Unsigned(String),
    /// Signed by someone not trusted.
    #[error(
        "spirit `{name}` is signed by {author}, who is not trusted\nhelp: if you trust them, run `cargo spirit trust {author}`"
    )]
    Untrusted {
        /// The spirit.
        name: String,
        /// Its author.
        author: Author,
    },
    /// The spirit failed verification.
    #[error("spirit `{name}` failed verification: {error}")]
    Verify {
        /// The spirit.
        name: String,
        /// Why.
        error: VerifyError,
    },
    /// Same name and version, different content.
    #[error(
        "`{name}@{version}` is already installed with different content (blake3 {installed}, this one {new})\nhelp: bump the version, or replace it with `--force`"
    )]
    Conflict {
        /// The spirit.
        name: String,
        /// The version.
        version: Version,
        /// The installed wasm's blake3.
        installed: String,
        /// The new wasm's blake3.
        new: String,
    },
    /// `upgrade` with a version that is not newer.
    #[error(
        "`{name}` {new} is not newer than the installed {installed}\nhelp: `upgrade` installs a higher version; use `install --force` to replace the same one"
    )]
    NotNewer {
        /// The spirit.
        name: String,
        /// The highest installed version.
        installed: Version,
        /// The version offered.
        new: Version,
    },
    /// The stored files do not match the index: changed on disk.
    #[error(
        "installed spirit `{name}@{version}` was changed on disk: {error}\nhelp: reinstall it with `cargo spirit install --force`"
    )]
    Tampered {
        /// The spirit.
        name: String,
        /// The version.
        version: Version,
        /// What does not match.
        error: String,
    },
    /// The index is damaged.
    #[error("the registry index `{}` is damaged: {error}\nhelp: move it away and reinstall your spirits", path.display())]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// Why it does not parse.
        error: String,
    },
    /// The index database could not be opened, read or written.
    #[error("could not {action} the registry index `{}`: {error}\nhelp: if it is damaged, move it away and reinstall your spirits", path.display())]
    IndexDatabase {
        /// What was being done: `open`, `read`, `write`.
        action: &'static str,
        /// The index file.
        path: PathBuf,
        /// redb's reason.
        error: String,
    },
    /// The index is of a format this build does not understand.
    #[error(
        "the registry index `{}` has format version {found}, but this cargo-spirit understands only version {understood}\nhelp: a newer cargo-spirit wrote it: use that one; or move the index away and reinstall your spirits",
        path.display()
    )]
    IndexFormat {
        /// The index file.
        path: PathBuf,
        /// The format version it has (for `index.json`, its `"version"` as JSON).
        found: String,
        /// The one this build reads and writes.
        understood: u32,
    },
    /// A symbolic link where the registry keeps files.
    #[error(
        "refusing to follow the symbolic link `{}` inside the registry: nothing below `VUDO_HOME` may be a link, so that no install, run or removal reaches outside it\nhelp: remove the link (and put a real directory there if you meant to keep its files); to keep `VUDO_HOME` on another disk, point `VUDO_HOME` (or the link `~/.vudo` itself) there",
        .0.display()
    )]
    Symlink(PathBuf),
    /// A manifest whose `wasm.file` breaks the one rule for its name.
    #[error(
        "spirit `{name}` cannot be installed: {reason}\nhelp: rebuild it with `cargo spirit build`, which names the wasm this way"
    )]
    WasmFile {
        /// The spirit.
        name: String,
        /// What is wrong with the name.
        reason: String,
    },
    /// A spirit to install depends on a version that is neither installed
    /// nor installed with it.
    #[error(
        "spirit `{spirit}` depends on `{dependency}`, which is not installed\nhelp: install `{dependency}` first, or install both from one directory of packages (`cargo spirit install DIR`)"
    )]
    DependencyMissing {
        /// The spirit being installed.
        spirit: String,
        /// What it was built against, as `name@version`.
        dependency: String,
    },
    /// A spirit to install was built against other bytes than the
    /// installed version of its dependency.
    #[error(
        "spirit `{spirit}` was built against `{dependency}` with wasm blake3 {pinned}, but the installed `{dependency}` has {installed}\nhelp: rebuild `{spirit}` against what is installed (`cargo spirit build`), or install the `{dependency}` it was built with"
    )]
    DependencyChanged {
        /// The spirit being installed.
        spirit: String,
        /// Its dependency.
        dependency: String,
        /// The hash its manifest pins.
        pinned: String,
        /// The hash of the installed one.
        installed: String,
    },
    /// A dependency's author is not trusted (or it is unsigned).
    #[error(
        "spirit `{spirit}` depends on `{dependency}`, {}",
        match author {
            Some(author) => format!("signed by {author}, who is not trusted\nhelp: if you trust them, run `cargo spirit trust {author}`"),
            None => "which is unsigned\nhelp: install with `--allow-unsigned` to accept an unsigned dependency".to_owned(),
        }
    )]
    DependencyUntrusted {
        /// The spirit being installed.
        spirit: String,
        /// Its dependency.
        dependency: String,
        /// Who signed the dependency, as pinned.
        author: Option<String>,
    },
    /// `uninstall` of a spirit that installed spirits depend on.
    #[error(
        "`{name}` is needed by {}: {}\nhelp: uninstall {} first, or pass `--force` (their calls to `{name}` will fail)",
        if dependents.len() == 1 { "an installed spirit" } else { "installed spirits" },
        dependents.join(", "),
        if dependents.len() == 1 { "it" } else { "them" }
    )]
    DependedOn {
        /// The spirit being removed.
        name: String,
        /// Who depends on it, as `name@version`.
        dependents: Vec<String>,
    },
    /// The version a spirit was built against is not installed any more.
    #[error(
        "`{dependency}` is not installed\nhelp: install `{dependency}` again, or rebuild the caller against what is installed"
    )]
    PinnedMissing {
        /// The dependency.
        dependency: String,
    },
    /// The installed version is other bytes than the caller was built
    /// against.
    #[error(
        "the installed `{dependency}` is not the one its caller was built against (wasm blake3 {installed}, pinned {pinned})\nhelp: install the pinned `{dependency}` again, or rebuild the caller"
    )]
    PinnedChanged {
        /// The dependency.
        dependency: String,
        /// The hash the caller pins.
        pinned: String,
        /// The hash installed.
        installed: String,
    },
    /// Reading the spirit failed.
    #[error(transparent)]
    Package(#[from] crate::package::PackageError),
    /// `VUDO_HOME` is unknown.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    /// Reading the trusted authors failed.
    #[error(transparent)]
    Sign(#[from] sign::SignError),
    /// The trusted authors' file is damaged or cannot be written.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}
