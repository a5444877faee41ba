//! The one check every path the registry opens, creates, renames or
//! removes passes first: no symbolic link below `VUDO_HOME`
//! ([`crate::fs::symlink_below`]), so a link planted in the registry never
//! sends a write, a run or a deletion outside the home.

use std::path::{Path, PathBuf};

use super::RegistryError;

/// `path`, once no component of it below `home` is a symbolic link.
pub(super) fn checked(home: &Path, path: PathBuf) -> Result<PathBuf, RegistryError> {
    match crate::fs::symlink_below(home, &path) {
        None => Ok(path),
        Some(link) => Err(RegistryError::Symlink(link)),
    }
}
