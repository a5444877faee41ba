//! `VUDO_HOME`: the directory where cargo-spirit keeps what outlives a run,
//! `~/.vudo` by default as in the VUDO VM. Every path under it is named here
//! and nowhere else, so this is the one place that says what lives where:
//!
//! ```text
//! ~/.vudo/
//!   trusted.toml                    authors whose spirits may be installed
//!   keys/<name>.key, <name>.pub     signing keys (cargo spirit keygen)
//!   cache/                          compiled code, by blake3 and engine
//!   storage/                        each spirit's database
//!   ledger/
//!     ledger.redb                   credit balances, reservations, journal
//!     holders/<id>.lock             one per open ledger; its flock says it is alive
//!   registry/
//!     index.redb                    every installed spirit (the source of truth)
//!     registry.lock                 the lock that guards changes
//!     spirits/<name>/<version>/     an installed version's files
//!     staging/                      a change under way: new-*, old-*, txn-*
//! ```
//!
//! ```no_run
//! use spirit_build::home;
//!
//! let home = home::vudo_home()?; // $VUDO_HOME, or ~/.vudo
//! println!("storage in {}", home::storage_dir(&home).display());
//! # Ok::<(), home::HomeError>(())
//! ```

use std::fmt::Display;
use std::path::{Path, PathBuf};

/// The environment variable that overrides the default location.
pub const ENV: &str = "VUDO_HOME";

/// `VUDO_HOME` could not be determined.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find the VUDO home directory: `VUDO_HOME` is not set and the user's home directory is unknown\nhelp: set `VUDO_HOME` to a writable directory, such as `VUDO_HOME=$PWD/.vudo`"
)]
pub struct HomeError;

/// The VUDO home directory: `$VUDO_HOME` when it is set and not empty,
/// otherwise `~/.vudo`. It is not created here; each user creates the
/// sub-directory it needs.
///
/// # Errors
///
/// Fails when `VUDO_HOME` is unset and the user's home directory is unknown.
pub fn vudo_home() -> Result<PathBuf, HomeError> {
    match std::env::var_os(ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => std::env::home_dir()
            .filter(|h| !h.as_os_str().is_empty())
            .map(|h| h.join(".vudo"))
            .ok_or(HomeError),
    }
}

/// Where spirits' persistent storage lives: `<home>/storage`, one database
/// file per spirit.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::storage_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/storage"));
/// ```
pub fn storage_dir(home: &Path) -> PathBuf {
    home.join("storage")
}

/// Where compiled code is cached: `<home>/cache`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::cache_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/cache"));
/// ```
pub fn cache_dir(home: &Path) -> PathBuf {
    home.join("cache")
}

/// The credit ledger's directory: `<home>/ledger`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::ledger_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/ledger"));
/// ```
pub fn ledger_dir(home: &Path) -> PathBuf {
    home.join("ledger")
}

/// The credit ledger's database: `<home>/ledger/ledger.redb`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::ledger_file(Path::new("/srv/vudo"));
/// assert_eq!(file, Path::new("/srv/vudo/ledger/ledger.redb"));
/// ```
pub fn ledger_file(home: &Path) -> PathBuf {
    ledger_dir(home).join("ledger.redb")
}

/// Where each open ledger keeps the lock that says it is alive:
/// `<home>/ledger/holders`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::ledger_holders_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/ledger/holders"));
/// ```
pub fn ledger_holders_dir(home: &Path) -> PathBuf {
    ledger_dir(home).join("holders")
}

/// The lock of the open ledger `id` (16 hex digits):
/// `<home>/ledger/holders/<id>.lock`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::ledger_holder_lock(Path::new("/srv/vudo"), "00000000000000ff");
/// assert_eq!(file, Path::new("/srv/vudo/ledger/holders/00000000000000ff.lock"));
/// ```
pub fn ledger_holder_lock(home: &Path, id: &str) -> PathBuf {
    ledger_holders_dir(home).join(format!("{id}.lock"))
}

/// The trusted authors' file: `<home>/trusted.toml`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::trusted_file(Path::new("/srv/vudo"));
/// assert_eq!(file, Path::new("/srv/vudo/trusted.toml"));
/// ```
pub fn trusted_file(home: &Path) -> PathBuf {
    home.join("trusted.toml")
}

/// Where signing keys live: `<home>/keys`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::keys_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/keys"));
/// ```
pub fn keys_dir(home: &Path) -> PathBuf {
    home.join("keys")
}

/// The private key called `name`: `<home>/keys/<name>.key`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::private_key_file(Path::new("/srv/vudo"), "ci");
/// assert_eq!(file, Path::new("/srv/vudo/keys/ci.key"));
/// ```
pub fn private_key_file(home: &Path, name: &str) -> PathBuf {
    keys_dir(home).join(format!("{name}.key"))
}

/// The public key called `name`: `<home>/keys/<name>.pub`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::public_key_file(Path::new("/srv/vudo"), "ci");
/// assert_eq!(file, Path::new("/srv/vudo/keys/ci.pub"));
/// ```
pub fn public_key_file(home: &Path, name: &str) -> PathBuf {
    keys_dir(home).join(format!("{name}.pub"))
}

/// The local registry's directory: `<home>/registry`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::registry_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/registry"));
/// ```
pub fn registry_dir(home: &Path) -> PathBuf {
    home.join("registry")
}

/// The registry's index, a redb database: `<home>/registry/index.redb`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::registry_index(Path::new("/srv/vudo"));
/// assert_eq!(file, Path::new("/srv/vudo/registry/index.redb"));
/// ```
pub fn registry_index(home: &Path) -> PathBuf {
    registry_dir(home).join("index.redb")
}

/// The index earlier versions wrote, migrated into
/// [`registry_index`] on first open: `<home>/registry/index.json`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::legacy_registry_index(Path::new("/srv/vudo"));
/// assert_eq!(file, Path::new("/srv/vudo/registry/index.json"));
/// ```
pub fn legacy_registry_index(home: &Path) -> PathBuf {
    registry_dir(home).join("index.json")
}

/// The file whose `flock` guards registry changes:
/// `<home>/registry/registry.lock`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::registry_lock(Path::new("/srv/vudo"));
/// assert_eq!(file, Path::new("/srv/vudo/registry/registry.lock"));
/// ```
pub fn registry_lock(home: &Path) -> PathBuf {
    registry_dir(home).join("registry.lock")
}

/// Where installed spirits live: `<home>/registry/spirits`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::installed_spirits_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/registry/spirits"));
/// ```
pub fn installed_spirits_dir(home: &Path) -> PathBuf {
    registry_dir(home).join("spirits")
}

/// Where every installed version of `name` lives:
/// `<home>/registry/spirits/<name>`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::installed_name_dir(Path::new("/srv/vudo"), "hello");
/// assert_eq!(dir, Path::new("/srv/vudo/registry/spirits/hello"));
/// ```
pub fn installed_name_dir(home: &Path, name: &str) -> PathBuf {
    installed_spirits_dir(home).join(name)
}

/// Where one installed version's files live:
/// `<home>/registry/spirits/<name>/<version>`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::installed_version_dir(Path::new("/srv/vudo"), "hello", &"1.2.0");
/// assert_eq!(dir, Path::new("/srv/vudo/registry/spirits/hello/1.2.0"));
/// ```
pub fn installed_version_dir(home: &Path, name: &str, version: &dyn Display) -> PathBuf {
    installed_name_dir(home, name).join(version.to_string())
}

/// Where a registry change keeps what is under way:
/// `<home>/registry/staging`. Anything in it means a change was interrupted.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::registry_staging_dir(Path::new("/srv/vudo"));
/// assert_eq!(dir, Path::new("/srv/vudo/registry/staging"));
/// ```
pub fn registry_staging_dir(home: &Path) -> PathBuf {
    registry_dir(home).join("staging")
}

/// A fresh directory for a version's files before they move into place:
/// `<home>/registry/staging/new-<nonce>`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::home::staged_dir(Path::new("/srv/vudo"), 7);
/// assert_eq!(dir, Path::new("/srv/vudo/registry/staging/new-7"));
/// ```
pub fn staged_dir(home: &Path, nonce: u64) -> PathBuf {
    registry_staging_dir(home).join(format!("new-{nonce}"))
}

const SET_ASIDE_PREFIX: &str = "old-";

/// Where a forced reinstall moves the version it replaces until the change
/// is committed: `<home>/registry/staging/old-<name>-<version>-<pid>`.
///
/// ```
/// use std::path::Path;
/// use spirit_build::home;
/// let dir = home::set_aside_dir(Path::new("/srv/vudo"), "hello", &"1.0.0", 42);
/// assert_eq!(dir, Path::new("/srv/vudo/registry/staging/old-hello-1.0.0-42"));
/// assert!(home::is_set_aside(&dir));
/// ```
pub fn set_aside_dir(home: &Path, name: &str, version: &dyn Display, pid: u32) -> PathBuf {
    registry_staging_dir(home).join(format!("{SET_ASIDE_PREFIX}{name}-{version}-{pid}"))
}

/// Whether `path` is named as [`set_aside_dir`] names them.
pub fn is_set_aside(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(SET_ASIDE_PREFIX))
}

/// The marker a registry change leaves while it is under way:
/// `<home>/registry/staging/txn-<pid>`.
///
/// ```
/// use std::path::Path;
/// let file = spirit_build::home::change_marker(Path::new("/srv/vudo"), 42);
/// assert_eq!(file, Path::new("/srv/vudo/registry/staging/txn-42"));
/// ```
pub fn change_marker(home: &Path, pid: u32) -> PathBuf {
    registry_staging_dir(home).join(format!("txn-{pid}"))
}
