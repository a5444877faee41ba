//! Files written so that a crash never leaves a half-written one: write a
//! temporary file in the same directory, flush it to disk, rename it into
//! place; and small files read with a bound, so that a key given as
//! `/dev/zero` or a multi-gigabyte `manifest.toml` is refused in words
//! instead of read forever.

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
    /// The kind of the underlying I/O error (`NotFound`, …).
    pub fn kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }

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
    let tmp = temporary_path(path);
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

/// [`write_atomic`], for a file only its owner may read or write (mode
/// 0600 on Unix from the moment it exists: the temporary file is created
/// new with that mode, never opened through a file someone else planted).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("code");
/// spirit_build::fs::write_atomic_private(&path, b"one").unwrap();
/// spirit_build::fs::write_atomic_private(&path, b"two").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"two");
/// // Nothing is left beside it.
/// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
/// # }
/// ```
///
/// # Errors
///
/// As [`write_atomic`]; also when a file already has the temporary name
/// (one a killed process left, or someone planted).
pub fn write_atomic_private(path: &Path, contents: &[u8]) -> Result<(), FsError> {
    // Each call its own temporary file (`.<file>.<n>.<pid>.tmp`): two
    // threads writing the same entry do not meet on one name.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = temporary_path(&path.with_file_name(format!("{file_name}.{call}")));
    let result = write_private_temporary(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&tmp);
        }
        FsError::new("write", path, e)
    })
}

/// Writes a new file readable only by its owner (mode 0600 on Unix),
/// never replacing an existing one: the contents go to a temporary file
/// (named as [`write_atomic`] names its own), which is flushed and then
/// hard-linked into place, so the name either does not exist or holds the
/// whole file. Used for secrets: private keys and the code cache's key.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("secret");
/// spirit_build::fs::write_new_private(&path, b"k").unwrap();
/// let again = spirit_build::fs::write_new_private(&path, b"other").unwrap_err();
/// assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
/// assert_eq!(std::fs::read(&path).unwrap(), b"k");
/// ```
///
/// # Errors
///
/// `AlreadyExists` when the name is taken; any other I/O error of writing.
pub fn write_new_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = temporary_path(path);
    let result =
        write_private_temporary(&tmp, contents).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Creates `tmp`, new (never through a file already there) and private
/// (mode 0600 on Unix from the moment it exists), and writes and flushes
/// `contents` into it: the first half of [`write_atomic_private`] and
/// [`write_new_private`], which then move it into place each their way.
fn write_private_temporary(tmp: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// `dir/.<file>.<pid>.tmp`: where this process writes `dir/<file>` before
/// moving it into place (recognised by [`is_temporary`]).
fn temporary_path(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(
        ".{file_name}.{}{TEMPORARY_SUFFIX}",
        std::process::id()
    ))
}

const TEMPORARY_SUFFIX: &str = ".tmp";

/// Whether `path` is named as [`write_atomic`] names its temporary files
/// (`.<file>.<pid>.tmp`): one a killed process left behind when nobody else
/// can be writing it (a repair under the registry's lock removes them).
///
/// ```
/// use std::path::Path;
/// assert!(spirit_build::fs::is_temporary(Path::new("/h/registry/.index.json.4242.tmp")));
/// assert!(!spirit_build::fs::is_temporary(Path::new("/h/registry/index.json")));
/// ```
pub fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(TEMPORARY_SUFFIX))
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(file, pid)| {
            !file.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
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

/// The blake3 of a file, hashed as it streams through a 64 KiB buffer: a
/// module of megabytes costs no allocation of its size (and none of the
/// page faults of touching it), as `cargo spirit build`'s no-op check
/// needs.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("m.wasm");
/// std::fs::write(&path, b"\0asm\x01\0\0\0")?;
/// assert_eq!(spirit_build::fs::hash_file(&path)?, blake3::hash(b"\0asm\x01\0\0\0"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Fails when the file cannot be opened or read.
pub fn hash_file(path: &Path) -> Result<blake3::Hash, FsError> {
    let fail = |e| FsError::new("read", path, e);
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = std::io::BufReader::with_capacity(64 << 10, file);
    std::io::copy(&mut buffer, &mut hasher).map_err(fail)?;
    Ok(hasher.finalize())
}

/// The most bytes a key file may have (a key is 64 hex characters and a
/// newline): 4 KiB.
pub const MAX_KEY_FILE: u64 = 4 << 10;

/// The most bytes a small text file may have: `manifest.toml`,
/// `signature.toml`, `trusted.toml`, an execution receipt (1 MiB). Each of
/// these is a few hundred bytes when cargo-spirit writes it.
pub const MAX_TEXT_FILE: u64 = 1 << 20;

/// Reads a whole file of at most `limit` bytes, stopping as soon as it is
/// larger: an endless file (`/dev/zero`, a FIFO that keeps writing) costs
/// at most `limit + 1` bytes. `what` names the file's kind in the error
/// (`a key file`).
///
/// ```
/// use spirit_build::fs::read_bounded;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("k");
/// std::fs::write(&path, b"0123456789").unwrap();
/// assert_eq!(read_bounded(&path, 10, "a key file").unwrap(), b"0123456789");
/// let error = read_bounded(&path, 9, "a key file").unwrap_err();
/// let cause = std::error::Error::source(&error).unwrap().to_string();
/// assert_eq!(cause, "it is more than the 9 bytes a key file may have; is it the right file?");
/// ```
///
/// # Errors
///
/// Fails with the path when the file cannot be read or is larger than
/// `limit`.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, FsError> {
    use std::io::Read;
    let read = || {
        let file = std::fs::File::open(path)?;
        // Sized from the file's length, so that a file is read in one call
        // with no regrowing; never more than the limit allows (a length can
        // lie: a FIFO has none, a file may grow).
        let hint = file.metadata().map_or(0, |m| m.len()).min(limit);
        let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0).saturating_add(1));
        file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = read().map_err(|e| FsError::new("read", path, e))?;
    if bytes.len() as u64 > limit {
        return Err(FsError {
            action: "read",
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("it is more than the {limit} bytes {what} may have; is it the right file?"),
            ),
        });
    }
    Ok(bytes)
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

/// The first symbolic link on the way from `base` to `path`, checking each
/// component below `base` (and `path` itself) without following any; `None`
/// when there is none. Components that do not exist yet are fine: nothing
/// below them can be a link. `base` itself may be a link (a `VUDO_HOME` on
/// another disk is), what is below it may not. A `path` that is not below
/// `base`, or that climbs out with `..`, is returned as it is: it is refused
/// too.
///
/// This is the check every path under `VUDO_HOME/registry` passes before it
/// is opened, created, renamed or removed, so that a link planted there
/// never sends a write, a run or a deletion outside the home. It does not
/// stop a process racing to plant a link between the check and the use:
/// whoever can write inside `VUDO_HOME` already controls what its user runs
/// (SECURITY.md's assumptions).
///
/// ```
/// let home = tempfile::tempdir().unwrap();
/// let deep = home.path().join("registry/spirits/hello/1.0.0");
/// std::fs::create_dir_all(home.path().join("registry")).unwrap();
/// assert_eq!(spirit_build::fs::symlink_below(home.path(), &deep), None);
/// # #[cfg(unix)] {
/// let outside = tempfile::tempdir().unwrap();
/// let spirits = home.path().join("registry/spirits");
/// std::os::unix::fs::symlink(outside.path(), &spirits).unwrap();
/// assert_eq!(spirit_build::fs::symlink_below(home.path(), &deep), Some(spirits));
/// # }
/// ```
pub fn symlink_below(base: &Path, path: &Path) -> Option<PathBuf> {
    let Ok(relative) = path.strip_prefix(base) else {
        return Some(path.to_owned());
    };
    let mut current = base.to_owned();
    for component in relative.components() {
        let std::path::Component::Normal(part) = component else {
            return Some(path.to_owned());
        };
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(current),
            Ok(_) => {}
            // Not there (yet): nothing below it exists either.
            Err(_) => return None,
        }
    }
    None
}
