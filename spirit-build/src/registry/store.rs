//! The files of installed spirits on disk: where a version lives, what it
//! holds, how new files are staged, and the file operations the registry
//! allows itself (no symbolic link is ever followed inside it).
//!
//! An installed version is a directory `spirits/<name>/<version>/` holding
//! `manifest.toml`, `<name>.wasm` and, when signed, `signature.toml`; the
//! paths themselves are named in [`crate::home`].

use std::fs::File;
use std::path::{Path, PathBuf};

use super::path::checked;
use super::{Entry, RegistryError};
use crate::fs::FsError;
use crate::manifest;
use crate::package::{SpiritFiles, wasm_file_name};
use crate::sign;

/// The wasm's file in an installed version's directory (the one rule of
/// [`wasm_file_name`]).
fn wasm_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(wasm_file_name(name))
}

/// Reads an installed version's files, refusing symbolic links.
pub(super) fn read(home: &Path, entry: &Entry) -> Result<SpiritFiles, RegistryError> {
    let dir = checked(
        home,
        crate::home::installed_version_dir(home, &entry.name, &entry.version),
    )?;
    // The directory's components were checked above; only the files' own
    // names are left.
    for file in [
        manifest::FILE_NAME.to_owned(),
        wasm_file_name(&entry.name),
        sign::FILE_NAME.to_owned(),
    ] {
        let path = dir.join(file);
        if crate::fs::is_symlink(&path) {
            return Err(RegistryError::Symlink(path));
        }
    }
    Ok(SpiritFiles::read(&dir)?)
}

/// Whether `dir` holds the entry's files with the recorded wasm; a symbolic
/// link on the way is an error, not a "no".
pub(super) fn holds(home: &Path, dir: &Path, entry: &Entry) -> Result<bool, RegistryError> {
    let wasm = checked(home, wasm_file(dir, &entry.name))?;
    let manifest = checked(home, dir.join(manifest::FILE_NAME))?;
    Ok(match std::fs::read(wasm) {
        Ok(wasm) => blake3::hash(&wasm).to_hex().as_str() == entry.blake3 && manifest.is_file(),
        Err(_) => false,
    })
}

/// Whether staged files are flushed one by one, or all at once before the
/// commit ([`flush_all`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flush {
    /// Each file and directory as it is written (one install).
    Each,
    /// Not yet: [`flush_all`] flushes the whole file system before the
    /// index commit (a batch, where three flushes per spirit would cost
    /// minutes for thousands).
    Batched,
}

impl Flush {
    /// How a change of `spirits` spirits flushes: batched for more than
    /// one, where one call flushes a whole file system.
    pub(super) fn for_batch(spirits: usize) -> Flush {
        if spirits > 1 && cfg!(target_os = "linux") {
            Flush::Batched
        } else {
            Flush::Each
        }
    }
}

/// Flushes every file written so far on the file system holding the
/// registry (`syncfs`): what a batched change calls once before its commit
/// point, so that what the index will name is on disk.
pub(super) fn flush_all(home: &Path) -> Result<(), RegistryError> {
    let dir = checked(home, crate::home::registry_dir(home))?;
    let file = File::open(&dir).map_err(|e| FsError::new("open", &dir, e))?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&file).map_err(|e| FsError::new("flush", &dir, e.into()))?;
    #[cfg(not(target_os = "linux"))]
    file.sync_all()
        .map_err(|e| FsError::new("flush", &dir, e))?;
    Ok(())
}

/// Writes a spirit's files into a fresh staging directory, flushed as
/// `flush` says, and returns it.
pub(super) fn stage(
    home: &Path,
    files: &SpiritFiles,
    flush: Flush,
) -> Result<PathBuf, RegistryError> {
    let staging = checked(home, crate::home::registry_staging_dir(home))?;
    crate::fs::create_dir_all(&staging)?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce)
        .map_err(|e| FsError::new("create", &staging, std::io::Error::other(e.to_string())))?;
    let dir = checked(
        home,
        crate::home::staged_dir(home, u64::from_le_bytes(nonce)),
    )?;
    crate::fs::create_dir_all(&dir)?;
    // The directory is fresh and moves into place whole, so no reader sees
    // a file half-written either way.
    let write = |path: &Path, bytes: &[u8]| match flush {
        Flush::Each => crate::fs::write_atomic(path, bytes),
        Flush::Batched => write_unflushed(path, bytes),
    };
    write(&dir.join(manifest::FILE_NAME), &files.manifest_bytes)?;
    write(&wasm_file(&dir, &files.manifest.name), &files.wasm)?;
    if let Some(signature) = &files.signature {
        write(&dir.join(sign::FILE_NAME), signature.to_toml().as_bytes())?;
    }
    if flush == Flush::Each {
        sync_dir(&dir);
    }
    Ok(dir)
}

/// Writes a file of a fresh staging directory without flushing it: the
/// directory moves into place whole (no reader sees a file half-written),
/// and [`flush_all`] flushes it before the commit point.
#[expect(
    clippy::disallowed_methods,
    reason = "inside a fresh staging directory that is renamed into place whole"
)]
fn write_unflushed(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    std::fs::write(path, bytes).map_err(|e| FsError::new("write", path, e))
}

/// Creates a directory under `home` and its parents, none of them a link.
pub(super) fn create_dir_all(home: &Path, dir: PathBuf) -> Result<PathBuf, RegistryError> {
    let dir = checked(home, dir)?;
    crate::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Moves a staged or set-aside directory into place (or aside); neither
/// path may pass through a link.
pub(super) fn rename(home: &Path, from: &Path, to: &Path) -> Result<(), RegistryError> {
    checked(home, from.to_owned())?;
    checked(home, to.to_owned())?;
    std::fs::rename(from, to).map_err(|e| FsError::new("move into place", to, e).into())
}

/// Flushes a directory's entries (the renames into it) to disk; best effort.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(file) = File::open(dir) {
        let _ = file.sync_all();
    }
}

/// The entries of a directory under `home` (none when it cannot be read);
/// a link on the way is refused rather than listed through.
pub(super) fn read_dir_paths(home: &Path, dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let dir = checked(home, dir.to_owned())?;
    Ok(std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default())
}

/// Removes a directory under `home` with everything in it, or a file, or
/// a link itself (never what it points to); refused when a component on
/// the way there is a link. Nothing outside `home` is ever removed: the
/// last component is not followed and `remove_dir_all` does not follow the
/// links inside.
pub(super) fn remove_any(home: &Path, path: &Path) -> Result<(), RegistryError> {
    let parent = path.parent().unwrap_or(path);
    checked(home, parent.to_owned())?;
    let removed = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.map_err(|e| FsError::new("remove", path, e).into())
}
