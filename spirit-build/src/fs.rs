//! Files written so that a crash never leaves a half-written one: write a
//! temporary file in the same directory, flush it to disk, rename it into
//! place.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation that failed, with its path.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} `{}`", path.display())]
pub struct FsError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl FsError {
    /// Wraps an I/O error with what was being done to which path.
    pub fn new(action: &'static str, path: &Path, source: std::io::Error) -> FsError {
        FsError {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Writes `contents` to `path` atomically: readers see the old file or the
/// new one, never a mix, even if the process is killed half way.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("manifest.toml");
/// spirit_build::fs::write_atomic(&path, b"name = \"hello\"\n").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"name = \"hello\"\n");
/// ```
///
/// # Errors
///
/// Fails when the directory cannot be written or the rename fails; the
/// existing file, if any, is then left as it was.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), FsError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FsError::new("write", path, e)
    })
}

/// Creates `dir` and its parents.
///
/// # Errors
///
/// Fails with the path when the directory cannot be created.
pub fn create_dir_all(dir: &Path) -> Result<(), FsError> {
    std::fs::create_dir_all(dir).map_err(|e| FsError::new("create directory", dir, e))
}

/// Reads a whole file.
///
/// # Errors
///
/// Fails with the path when the file cannot be read.
pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    std::fs::read(path).map_err(|e| FsError::new("read", path, e))
}

/// Whether `path` itself is a symbolic link (not followed; `false` when it
/// does not exist).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(!spirit_build::fs::is_symlink(dir.path()));
/// assert!(!spirit_build::fs::is_symlink(&dir.path().join("missing")));
/// ```
pub fn is_symlink(path: &std::path::Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}
