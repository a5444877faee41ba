//! `.spirit` packages: one file holding a spirit's manifest, wasm and
//! signature, byte-for-byte reproducible.
//!
//! The format is an uncompressed POSIX ustar archive with exactly these
//! entries, in this order: `manifest.toml`, the wasm (named by the
//! manifest's `wasm.file`), and `signature.toml` when the spirit is signed.
//! Every header is fixed: mode 0644, owner and group 0 with empty names,
//! modification time 0. We chose tar over a wasm custom section because the
//! wasm stays exactly the bytes that were hashed and signed (no re-encoding),
//! any `tar tvf` can show what is inside, and the reader can be strict:
//! a package is accepted only if writing its contents back gives the same
//! bytes, which refuses truncation, reordering, extra entries, links and
//! unusual headers in one check.

#[cfg(feature = "build")]
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::fs::FsError;
use crate::manifest::{self, Manifest};
#[cfg(feature = "build")]
use crate::shell::escape;
use crate::sign::{self, SpiritSignature};

/// The file extension of packages.
pub const EXTENSION: &str = "spirit";

/// The largest wasm a package may hold (64 MiB).
pub const MAX_WASM: u64 = 64 << 20;
/// The largest manifest or signature a package may hold (64 KiB).
pub const MAX_TEXT: u64 = 64 << 10;

/// The largest package file: the largest wasm and two text files, with
/// their tar headers and padding.
pub const MAX_PACKAGE: u64 = MAX_WASM + 2 * MAX_TEXT + 16 * 512;

/// A spirit's files, from a build directory or a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiritFiles {
    /// The exact bytes of `manifest.toml`.
    pub manifest_bytes: Vec<u8>,
    /// The manifest, parsed.
    pub manifest: Manifest,
    /// The wasm.
    pub wasm: Vec<u8>,
    /// The signature, when signed.
    pub signature: Option<SpiritSignature>,
}

/// Why a package or a spirit directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The package is damaged or was not written by cargo-spirit.
    #[error("invalid package `{}`: {reason}\nhelp: make it again with `cargo spirit pack`", path.display())]
    Invalid {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A spirit directory without a manifest.
    #[error("no spirit at `{}`: `{}` is missing\nhelp: build it with `cargo spirit build`, or give a `.spirit` package", .0.display(), .0.join(manifest::FILE_NAME).display())]
    NotASpirit(PathBuf),
    /// The path given is nothing on disk.
    #[error("`{}` does not exist\nhelp: give a build directory (`cargo spirit build` writes one) or a `.spirit` package", .0.display())]
    NotFound(PathBuf),
    /// A build directory whose manifest names a wasm that is not there.
    #[error("`{}` is missing: the module `manifest.toml` names (its `wasm.file`)\nhelp: build the spirit again with `cargo spirit build`", .0.display())]
    MissingWasm(PathBuf),
    /// The manifest cannot be read.
    #[error("invalid manifest `{}`: {reason}", path.display())]
    Manifest {
        /// The manifest file or package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `signature.toml` is malformed.
    #[error("{}: {error}", path.display())]
    Signature {
        /// The file or package.
        path: PathBuf,
        /// What is wrong.
        error: sign::SignError,
    },
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A `.spirit` package, and this build of the library has no `build`
    /// feature (which reads and writes packages).
    #[error("`{}` is a `.spirit` package, and this build of spirit-build was compiled without the `build` feature, which reads packages\nhelp: depend on spirit-build with its default features, or install the spirit with `cargo spirit install` and run it by name", .0.display())]
    NeedsBuildFeature(PathBuf),
}

impl SpiritFiles {
    /// A spirit's files from its manifest and wasm, signed with `key` when
    /// one is given (over the manifest's canonical text).
    ///
    /// ```
    /// use spirit_build::manifest::Manifest;
    /// use spirit_build::package::SpiritFiles;
    /// use spirit_build::sign::Key;
    ///
    /// let wasm = b"\0asm\x01\0\0\0".to_vec();
    /// let manifest = Manifest::for_module("tiny", "1.0.0".parse().unwrap(), &wasm);
    /// let key = Key::generate().unwrap();
    /// let files = SpiritFiles::new(manifest, wasm, Some(&key));
    /// let package = files.to_package();
    /// assert_eq!(spirit_build::package::parse_package("tiny.spirit".as_ref(), &package).unwrap(), files);
    /// ```
    pub fn new(manifest: Manifest, wasm: Vec<u8>, key: Option<&sign::Key>) -> SpiritFiles {
        let manifest_bytes = manifest.to_toml().into_bytes();
        let signature = key.map(|k| k.sign(&manifest_bytes, &wasm));
        SpiritFiles {
            manifest_bytes,
            manifest,
            wasm,
            signature,
        }
    }

    /// Reads a spirit from a build directory (`manifest.toml`, the wasm it
    /// names, and `signature.toml` if present) or from a `.spirit` package.
    ///
    /// # Errors
    ///
    /// Fails when a file is missing or malformed.
    pub fn read(path: &Path) -> Result<SpiritFiles, PackageError> {
        if path.is_file() {
            #[cfg(feature = "build")]
            return read_package(path);
            #[cfg(not(feature = "build"))]
            return Err(PackageError::NeedsBuildFeature(path.to_owned()));
        }
        if !path.exists() {
            return Err(PackageError::NotFound(path.to_owned()));
        }
        let manifest_path = path.join(manifest::FILE_NAME);
        if !manifest_path.is_file() {
            return Err(PackageError::NotASpirit(path.to_owned()));
        }
        let manifest_bytes =
            crate::fs::read_bounded(&manifest_path, crate::fs::MAX_TEXT_FILE, "a manifest")?;
        let manifest = parse_manifest(&manifest_path, &manifest_bytes)?;
        let wasm_path = path.join(plain_name(&manifest_path, &manifest)?);
        if !wasm_path.exists() {
            return Err(PackageError::MissingWasm(wasm_path));
        }
        let wasm = crate::fs::read_bounded(&wasm_path, MAX_WASM, "a spirit's module")?;
        let signature_path = path.join(sign::FILE_NAME);
        let signature = if signature_path.is_file() {
            let text = crate::fs::read_bounded(
                &signature_path,
                crate::fs::MAX_TEXT_FILE,
                "a signature file",
            )?;
            Some(parse_signature(&signature_path, &text)?)
        } else {
            None
        };
        Ok(SpiritFiles {
            manifest_bytes,
            manifest,
            wasm,
            signature,
        })
    }

    /// The parts a signature covers, for [`sign::check_signed`].
    pub fn signed(&self) -> sign::Signed<'_> {
        sign::Signed {
            manifest: &self.manifest_bytes,
            wasm: &self.wasm,
            signature: self.signature.as_ref(),
        }
    }

    #[cfg(feature = "build")]
    /// The package's bytes: deterministic, so the same files always give the
    /// same package.
    pub fn to_package(&self) -> Vec<u8> {
        let signature = self.signature.as_ref().map(SpiritSignature::to_toml);
        assemble(
            &self.manifest_bytes,
            &self.manifest.wasm.file,
            &self.wasm,
            signature.as_deref().map(str::as_bytes),
        )
    }

    /// The package's file name: `<name>-<version>.spirit`.
    pub fn package_name(&self) -> String {
        format!(
            "{}-{}.{EXTENSION}",
            self.manifest.name, self.manifest.version
        )
    }
}

#[cfg(feature = "build")]
/// A package's bytes from its parts, as they are (not parsed): the manifest,
/// the wasm under `wasm_name`, and the signature's text when signed. What
/// [`SpiritFiles::to_package`] writes, and what `pull` rebuilds from an OCI
/// artifact before reading it back with [`parse_package`], so a pulled
/// spirit passes the same checks as a package file.
///
/// ```
/// use spirit_build::package::{assemble, parse_package};
/// let package = assemble(b"not a manifest", "x.wasm", b"\0asm", None);
/// assert!(parse_package("x.spirit".as_ref(), &package).unwrap_err().to_string().contains("invalid manifest"));
/// ```
pub fn assemble(
    manifest_bytes: &[u8],
    wasm_name: &str,
    wasm: &[u8],
    signature: Option<&[u8]>,
) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_ustar();
        // Infallible for the short, plain names used here; a name that does
        // not fit is refused when the package is read back.
        let _ = header.set_path(name);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let _ = header.set_username("");
        let _ = header.set_groupname("");
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        // Writing into a Vec cannot fail.
        let _ = builder.append(&header, data);
    };
    append(manifest::FILE_NAME, manifest_bytes);
    append(wasm_name, wasm);
    if let Some(signature) = signature {
        append(sign::FILE_NAME, signature);
    }
    builder.into_inner().unwrap_or_default()
}

fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<Manifest, PackageError> {
    let bad = |reason: String| PackageError::Manifest {
        path: path.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("it is not UTF-8".to_owned()))?;
    Manifest::from_toml(text).map_err(|e| bad(e.message))
}

fn parse_signature(path: &Path, bytes: &[u8]) -> Result<SpiritSignature, PackageError> {
    SpiritSignature::from_toml(&String::from_utf8_lossy(bytes)).map_err(|error| {
        PackageError::Signature {
            path: path.to_owned(),
            error,
        }
    })
}

/// The file name a spirit's wasm has, beside its manifest, in a package and
/// in the registry: `<name>.wasm`, as `cargo spirit build` writes it. A
/// manifest's `wasm.file` must be exactly this, so what installs is what
/// runs (one rule, checked when spirit files are read and at install).
///
/// ```
/// assert_eq!(spirit_build::package::wasm_file_name("hello"), "hello.wasm");
/// ```
pub fn wasm_file_name(name: &str) -> String {
    format!("{name}.wasm")
}

/// Why a manifest's `wasm.file` is refused, or `None` when it is
/// [`wasm_file_name`] of its name.
///
/// ```
/// use spirit_build::manifest::Manifest;
/// let mut manifest = Manifest::for_module("hello", "1.0.0".parse().unwrap(), b"\0asm\x01\0\0\0");
/// assert_eq!(spirit_build::package::wasm_file_problem(&manifest), None);
/// manifest.wasm.file = "x.wasm".to_owned();
/// assert!(spirit_build::package::wasm_file_problem(&manifest).unwrap().contains("must be `hello.wasm`"));
/// ```
pub fn wasm_file_problem(manifest: &Manifest) -> Option<String> {
    let expected = wasm_file_name(&manifest.name);
    let name = &manifest.wasm.file;
    let plain = !name.contains(['/', '\\', '\0']) && name != "." && name != "..";
    if !plain {
        return Some(format!(
            "`wasm.file` must be a plain `.wasm` file name, not `{}`",
            name.escape_debug()
        ));
    }
    (*name != expected).then(|| {
        format!(
            "`wasm.file` must be `{expected}` (the spirit's name and `.wasm`, as `cargo spirit build` writes it), not `{}`",
            name.escape_debug()
        )
    })
}

/// The wasm file name from a manifest, refused unless it is the one rule's
/// [`wasm_file_name`] (a plain file name, so a manifest cannot point
/// outside).
fn plain_name<'a>(manifest_path: &Path, manifest: &'a Manifest) -> Result<&'a str, PackageError> {
    match wasm_file_problem(manifest) {
        None => Ok(&manifest.wasm.file),
        Some(reason) => Err(PackageError::Manifest {
            path: manifest_path.to_owned(),
            reason,
        }),
    }
}

#[cfg(feature = "build")]
/// Reads a `.spirit` package strictly (see the module docs).
///
/// # Errors
///
/// Fails for anything but a package cargo-spirit wrote, unchanged.
pub fn read_package(path: &Path) -> Result<SpiritFiles, PackageError> {
    let bytes = crate::fs::read_bounded(path, MAX_PACKAGE, "a package")?;
    parse_package(path, &bytes)
}

#[cfg(feature = "build")]
/// Parses a package's bytes; `path` is only for messages.
///
/// # Errors
///
/// Fails for anything but a package cargo-spirit wrote, unchanged.
pub fn parse_package(path: &Path, bytes: &[u8]) -> Result<SpiritFiles, PackageError> {
    let invalid = |reason: String| PackageError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    // The tar reader's messages quote the header fields they could not
    // read, which for a file that is not a package (`/etc/shadow` renamed)
    // are its first bytes: they are never shown, only what the file is not.
    let not_a_package = || {
        invalid("it is not a `.spirit` package: it does not start with the tar header cargo-spirit writes (a damaged or truncated package, or another kind of file)".to_owned())
    };
    if bytes.len() < 512 || &bytes[257..262] != b"ustar" {
        return Err(not_a_package());
    }
    let iter = archive.entries().map_err(|_| not_a_package())?;
    for entry in iter {
        let entry = entry.map_err(|_| {
            invalid("it is truncated or damaged: a tar header cannot be read".to_owned())
        })?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(invalid(
                "it holds something other than regular files".to_owned(),
            ));
        }
        let name = entry
            .path()
            .map_err(|_| invalid("an entry's name cannot be read".to_owned()))?
            .to_string_lossy()
            .into_owned();
        let limit = if name.ends_with(".wasm") {
            MAX_WASM
        } else {
            MAX_TEXT
        };
        if entry.size() > limit {
            return Err(invalid(format!(
                "entry `{}` is {} bytes, more than the {limit} allowed",
                escape(&name),
                entry.size()
            )));
        }
        if entries.len() >= 3 {
            return Err(invalid(
                "it holds more than a manifest, a wasm and a signature".to_owned(),
            ));
        }
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry.take(limit).read_to_end(&mut data).map_err(|_| {
            invalid("it is truncated or damaged: an entry cannot be read".to_owned())
        })?;
        entries.push((name, data));
    }
    let mut entries = entries.into_iter();
    let (Some((first, manifest_bytes)), Some((wasm_name, wasm))) = (entries.next(), entries.next())
    else {
        return Err(invalid(
            "it must hold `manifest.toml` and a wasm".to_owned(),
        ));
    };
    if first != manifest::FILE_NAME {
        return Err(invalid(format!(
            "the first entry must be `manifest.toml`, not `{}`",
            escape(&first)
        )));
    }
    let manifest = parse_manifest(path, &manifest_bytes)?;
    if wasm_name != plain_name(path, &manifest)? {
        return Err(invalid(format!(
            "the second entry must be the manifest's wasm `{}`, not `{}`",
            escape(&manifest.wasm.file),
            escape(&wasm_name)
        )));
    }
    let signature = match entries.next() {
        None => None,
        Some((name, data)) if name == sign::FILE_NAME => Some(parse_signature(path, &data)?),
        Some((name, _)) => {
            return Err(invalid(format!("unexpected entry `{}`", escape(&name))));
        }
    };
    let files = SpiritFiles {
        manifest_bytes,
        manifest,
        wasm,
        signature,
    };
    if files.to_package() != bytes {
        return Err(invalid(
            "it is not byte-for-byte what cargo-spirit writes (truncated, padded or re-packed)"
                .to_owned(),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::Key;

    fn files() -> SpiritFiles {
        let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
            .unwrap();
        let manifest = Manifest::for_module("x", "1.0.0".parse().unwrap(), &wasm);
        SpiritFiles::new(manifest, wasm, Some(&Key::generate().unwrap()))
    }

    #[test]
    fn round_trips_and_is_reproducible() {
        let files = files();
        let bytes = files.to_package();
        assert_eq!(files.to_package(), bytes);
        assert_eq!(parse_package(Path::new("x.spirit"), &bytes).unwrap(), files);
    }

    #[test]
    fn truncation_at_any_point_is_refused() {
        let bytes = files().to_package();
        for len in (0..bytes.len()).step_by(97) {
            assert!(
                parse_package(Path::new("x.spirit"), &bytes[..len]).is_err(),
                "accepted {len} bytes"
            );
        }
    }

    #[test]
    fn a_wasm_name_other_than_the_spirits_is_refused_in_packages_and_directories() {
        for name in ["y.wasm", "x.wasm.wasm", "X.wasm", "manifest.toml"] {
            let mut files = files();
            files.manifest.wasm.file = name.to_owned();
            files.manifest_bytes = files.manifest.to_toml().into_bytes();
            let error = parse_package(Path::new("x.spirit"), &files.to_package()).unwrap_err();
            assert!(error.to_string().contains("must be `x.wasm`"), "{error}");
            let dir = tempfile::tempdir().unwrap();
            crate::fs::write_atomic(&dir.path().join(manifest::FILE_NAME), &files.manifest_bytes)
                .unwrap();
            crate::fs::write_atomic(&dir.path().join("y.wasm"), &files.wasm).unwrap();
            let error = SpiritFiles::read(dir.path()).unwrap_err();
            assert!(error.to_string().contains("must be `x.wasm`"), "{error}");
        }
    }

    #[test]
    fn a_wasm_name_with_a_path_is_refused() {
        let mut files = files();
        files.manifest.wasm.file = "../evil.wasm".to_owned();
        files.manifest_bytes = files.manifest.to_toml().into_bytes();
        let error = parse_package(Path::new("x.spirit"), &files.to_package()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("must be a plain `.wasm` file name"),
            "{error}"
        );
    }
}
