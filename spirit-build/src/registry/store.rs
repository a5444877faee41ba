//! The files of installed spirits on disk: where a version lives, what it
//! holds, how new files are staged, and the file operations the registry
//! allows itself (no symbolic link is ever followed inside it).
//!
//! An installed version is a directory `spirits/<name>/<version>/` holding
//! `manifest.toml`, `<name>.wasm` and, when signed, `signature.toml`; the
//! paths themselves are named in [`crate::home`].

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{Entry, RegistryError};
use crate::fs::FsError;
use crate::fs::is_symlink;
use crate::manifest;
use crate::package::SpiritFiles;
use crate::sign;

/// The wasm's file in an installed version's directory.
fn wasm_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.wasm"))
}

/// Reads an installed version's files, refusing symbolic links.
pub(super) fn read(home: &Path, entry: &Entry) -> Result<SpiritFiles, RegistryError> {
    let dir = crate::home::installed_version_dir(home, &entry.name, &entry.version);
    for path in [
        &dir,
        &dir.join(manifest::FILE_NAME),
        &wasm_file(&dir, &entry.name),
    ] {
        if is_symlink(path) {
            return Err(RegistryError::Symlink(path.to_owned()));
        }
    }
    Ok(SpiritFiles::read(&dir)?)
}

/// Whether `dir` holds the entry's files with the recorded wasm.
pub(super) fn holds(dir: &Path, entry: &Entry) -> bool {
    if is_symlink(dir) {
        return false;
    }
    match std::fs::read(wasm_file(dir, &entry.name)) {
        Ok(wasm) => {
            blake3::hash(&wasm).to_hex().as_str() == entry.blake3
                && dir.join(manifest::FILE_NAME).is_file()
        }
        Err(_) => false,
    }
}

/// Writes a spirit's files into a fresh staging directory, flushed, and
/// returns it.
pub(super) fn stage(home: &Path, files: &SpiritFiles) -> Result<PathBuf, RegistryError> {
    let staging = crate::home::registry_staging_dir(home);
    crate::fs::create_dir_all(&staging)?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce)
        .map_err(|e| FsError::new("create", &staging, std::io::Error::other(e.to_string())))?;
    let dir = crate::home::staged_dir(home, u64::from_le_bytes(nonce));
    crate::fs::create_dir_all(&dir)?;
    crate::fs::write_atomic(&dir.join(manifest::FILE_NAME), &files.manifest_bytes)?;
    crate::fs::write_atomic(&wasm_file(&dir, &files.manifest.name), &files.wasm)?;
    if let Some(signature) = &files.signature {
        crate::fs::write_atomic(&dir.join(sign::FILE_NAME), signature.to_toml().as_bytes())?;
    }
    sync_dir(&dir);
    Ok(dir)
}

/// Moves a staged or set-aside directory into place (or aside).
pub(super) fn rename(from: &Path, to: &Path) -> Result<(), FsError> {
    std::fs::rename(from, to).map_err(|e| FsError::new("move into place", to, e))
}

/// Flushes a directory's entries (the renames into it) to disk; best effort.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(file) = File::open(dir) {
        let _ = file.sync_all();
    }
}

/// The entries of a directory (none when it cannot be read).
pub(super) fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Removes a directory or, without following it, a link or file.
pub(super) fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}
