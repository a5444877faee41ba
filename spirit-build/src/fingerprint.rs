//! Knowing when a build has nothing to do.
//!
//! Beside a spirit's outputs, `.fingerprint.json` records what they were
//! made from. Two checks read it:
//!
//! - the **inputs**: the blake3 of cargo's module and of the manifest the
//!   build would write (which holds the whole configuration and build
//!   information). Computing it needs `cargo metadata` and `rustc -V`.
//! - the **stamp**, which needs neither: the blake3 of cargo's module, of
//!   the files `cargo metadata` reads for it (the spirit's `Cargo.toml`, the
//!   workspace's `Cargo.toml` and `Cargo.lock`), and the size and time of the
//!   `rustc` binary (as cargo keys its own rustc cache), with the profile,
//!   strip options and tool version. When it still holds, a no-op build costs
//!   one `cargo build` and a `stat` of cargo's module: its blake3 is
//!   computed again only when its size or time changed (as cargo trusts
//!   times for its own outputs), so that a module cargo wrote again with the
//!   same bytes is still fresh.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::validate::Problem;

/// The fingerprint's file name, in the spirit's output directory.
pub const FILE_NAME: &str = ".fingerprint.json";

/// What a spirit's outputs were made from.
///
/// ```
/// use spirit_build::fingerprint::Fingerprint;
///
/// let dir = tempfile::tempdir().unwrap();
/// let fingerprint = Fingerprint { inputs: "ab12".into(), original_size: 812, warnings: vec![], stamp: None };
/// fingerprint.write(dir.path()).unwrap();
/// assert_eq!(Fingerprint::read(dir.path()), Some(fingerprint));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// blake3 of cargo's module, the manifest-to-be and the strip options.
    pub inputs: String,
    /// The size of cargo's module.
    pub original_size: u64,
    /// The validation warnings, to show again when fresh.
    pub warnings: Vec<Problem>,
    /// The cheap check, when the toolchain is known.
    pub stamp: Option<Stamp>,
}

/// What can be checked without running `cargo metadata` or `rustc`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// blake3 of cargo's module.
    pub wasm: String,
    /// The files `cargo metadata` read, the spirit's `Cargo.toml` first,
    /// with their blake3 (`None`: the file did not exist).
    pub files: Vec<(PathBuf, Option<String>)>,
    /// The compiler cargo uses: path, size, and modification time in
    /// nanoseconds since the epoch.
    pub rustc: (PathBuf, u64, u64),
    /// The cargo profile.
    pub profile: String,
    /// Whether the name section is kept.
    pub keep_names: bool,
    /// The spirit-build version.
    pub tool: String,
    /// Cargo's module's size and modification time (nanoseconds since the
    /// epoch) when it was hashed: the same again, its hash is not computed.
    #[serde(default)]
    pub wasm_file: Option<(u64, u64)>,
}

/// A file's size and modification time in nanoseconds since the epoch, as
/// [`Stamp::wasm_file`] records them.
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((metadata.len(), u64::try_from(modified.as_nanos()).ok()?))
}

fn hash_file(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| blake3::hash(&bytes).to_hex().to_string())
}

impl Stamp {
    /// The stamp for a build of `wasm` (cargo's module, whose size and
    /// time were `wasm_file` before it was read: [`file_identity`]) whose
    /// metadata came from `files` (the spirit's `Cargo.toml` first). `None`
    /// when the compiler cargo uses is not known.
    pub fn new(
        wasm: &[u8],
        wasm_file: Option<(u64, u64)>,
        files: &[PathBuf],
        profile: &str,
        keep_names: bool,
    ) -> Option<Stamp> {
        Some(Stamp {
            wasm: blake3::hash(wasm).to_hex().to_string(),
            files: files.iter().map(|f| (f.clone(), hash_file(f))).collect(),
            rustc: rustc_identity()?,
            profile: profile.to_owned(),
            keep_names,
            tool: crate::VERSION.to_owned(),
            wasm_file,
        })
    }

    /// Whether this stamp still describes a build of cargo's module at
    /// `wasm_path`, whose size and time the caller read as `identity`
    /// ([`file_identity`], before this call), for the spirit whose
    /// `Cargo.toml` is `manifest_path`: the module is hashed (as it streams)
    /// only when `identity` is not the one stamped.
    pub fn holds(
        &self,
        manifest_path: &Path,
        wasm_path: &Path,
        identity: Option<(u64, u64)>,
        profile: &str,
        keep_names: bool,
    ) -> bool {
        self.holds_with(manifest_path, profile, keep_names, rustc_identity(), || {
            self.module_holds(wasm_path, identity)
        })
    }

    /// Whether cargo's module at `wasm_path`, of size and time `identity`,
    /// is the one stamped: the same size and time, or else the same blake3.
    fn module_holds(&self, wasm_path: &Path, identity: Option<(u64, u64)>) -> bool {
        (self.wasm_file.is_some() && identity == self.wasm_file)
            || crate::fs::hash_file(wasm_path).is_ok_and(|hash| hash.to_hex().as_str() == self.wasm)
    }

    fn holds_with(
        &self,
        manifest_path: &Path,
        profile: &str,
        keep_names: bool,
        rustc: Option<(PathBuf, u64, u64)>,
        module_holds: impl FnOnce() -> bool,
    ) -> bool {
        self.files
            .first()
            .is_some_and(|(path, _)| path == manifest_path)
            && self.profile == profile
            && self.keep_names == keep_names
            && self.tool == crate::VERSION
            && rustc.as_ref() == Some(&self.rustc)
            && self
                .files
                .iter()
                .all(|(path, hash)| hash_file(path) == *hash)
            && module_holds()
    }
}

/// The compiler cargo runs, when cargo-spirit runs as `cargo spirit` (the
/// `rustc` beside `$CARGO`, and no `$RUSTC`): its path, size and time.
fn rustc_identity() -> Option<(PathBuf, u64, u64)> {
    let rustc = crate::toolchain::toolchain_rustc()?;
    let metadata = std::fs::metadata(&rustc).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((
        rustc,
        metadata.len(),
        u64::try_from(modified.as_nanos()).ok()?,
    ))
}

impl Fingerprint {
    /// The fingerprint in `dir`, if there is a readable one.
    pub fn read(dir: &Path) -> Option<Fingerprint> {
        serde_json::from_slice(&std::fs::read(dir.join(FILE_NAME)).ok()?).ok()
    }

    /// Writes it into `dir`.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), crate::fs::FsError> {
        let json = serde_json::to_vec(self).unwrap_or_default();
        crate::fs::write_atomic(&dir.join(FILE_NAME), &json)
    }

    /// Removes the fingerprint from `dir`, before its outputs change, so that
    /// an interrupted build is never taken for a fresh one.
    ///
    /// # Errors
    ///
    /// Fails when it exists and cannot be removed.
    pub fn remove(dir: &Path) -> Result<(), crate::fs::FsError> {
        let path = dir.join(FILE_NAME);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(crate::fs::FsError::new("remove", &path, e))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_notices_each_change() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("Cargo.toml");
        let lock = dir.path().join("Cargo.lock");
        crate::fs::write_atomic(&toml, b"[package]").unwrap();
        let rustc = (PathBuf::from("rustc"), 1, 2);
        let stamp = Stamp {
            wasm: blake3::hash(b"wasm").to_hex().to_string(),
            files: vec![(toml.clone(), hash_file(&toml)), (lock.clone(), None)],
            rustc: rustc.clone(),
            profile: "dev".into(),
            keep_names: false,
            tool: crate::VERSION.into(),
            wasm_file: None,
        };
        let holds =
            |path: &Path, wasm: &[u8], profile: &str, keep: bool, rustc: (PathBuf, u64, u64)| {
                let hash = blake3::hash(wasm).to_hex().to_string();
                stamp.holds_with(path, profile, keep, Some(rustc), || hash == stamp.wasm)
            };
        assert!(holds(&toml, b"wasm", "dev", false, rustc.clone()));
        assert!(!holds(&toml, b"wasm!", "dev", false, rustc.clone()));
        assert!(!holds(&toml, b"wasm", "release", false, rustc.clone()));
        assert!(!holds(&toml, b"wasm", "dev", true, rustc.clone()));
        assert!(!holds(
            &toml,
            b"wasm",
            "dev",
            false,
            (PathBuf::from("rustc"), 1, 3)
        ));
        assert!(!holds(&lock, b"wasm", "dev", false, rustc.clone()));
        crate::fs::write_atomic(&lock, b"# lock").unwrap();
        assert!(!holds(&toml, b"wasm", "dev", false, rustc));
    }

    #[test]
    fn a_fingerprint_round_trips_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let fingerprint = Fingerprint {
            inputs: "ab".into(),
            original_size: 3,
            warnings: vec![Problem {
                message: "careful".into(),
                help: None,
            }],
            stamp: None,
        };
        fingerprint.write(dir.path()).unwrap();
        assert_eq!(Fingerprint::read(dir.path()), Some(fingerprint));
        Fingerprint::remove(dir.path()).unwrap();
        Fingerprint::remove(dir.path()).unwrap();
        assert_eq!(Fingerprint::read(dir.path()), None);
    }

    /// Cargo's module is hashed again only when its size or time changed:
    /// the same file is trusted by its identity; a file written again with
    /// the same bytes still holds by its hash; other bytes do not.
    #[test]
    fn the_module_is_hashed_only_when_its_identity_changed() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("m.wasm");
        crate::fs::write_atomic(&wasm, b"one").unwrap();
        let stamp = |hash: &[u8], file: Option<(u64, u64)>| Stamp {
            wasm: blake3::hash(hash).to_hex().to_string(),
            files: vec![],
            rustc: (PathBuf::from("rustc"), 1, 2),
            profile: "dev".into(),
            keep_names: false,
            tool: crate::VERSION.into(),
            wasm_file: file,
        };
        let identity = file_identity(&wasm);
        assert!(identity.is_some());
        // The identity matches: not hashed, so even a wrong hash holds.
        assert!(stamp(b"other", identity).module_holds(&wasm, file_identity(&wasm)));
        // No identity recorded (an older stamp): the hash decides.
        assert!(stamp(b"one", None).module_holds(&wasm, file_identity(&wasm)));
        assert!(!stamp(b"other", None).module_holds(&wasm, file_identity(&wasm)));
        // Written again: another time; the same bytes hold, others do not.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
        let file = std::fs::File::options().write(true).open(&wasm).unwrap();
        file.set_modified(later).unwrap();
        assert_ne!(file_identity(&wasm), identity);
        assert!(stamp(b"one", identity).module_holds(&wasm, file_identity(&wasm)));
        crate::fs::write_atomic(&wasm, b"two").unwrap();
        let file = std::fs::File::options().write(true).open(&wasm).unwrap();
        file.set_modified(later).unwrap();
        assert!(!stamp(b"one", identity).module_holds(&wasm, file_identity(&wasm)));
    }
}
