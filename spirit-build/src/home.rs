//! `VUDO_HOME`: the directory where cargo-spirit keeps what outlives a run
//! (each spirit's storage, the compiled-code cache), `~/.vudo` by default as
//! in the VUDO VM.
//!
//! ```no_run
//! use spirit_build::home;
//!
//! let home = home::vudo_home()?; // $VUDO_HOME, or ~/.vudo
//! println!("storage in {}", home::storage_dir(&home).display());
//! # Ok::<(), home::HomeError>(())
//! ```

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
