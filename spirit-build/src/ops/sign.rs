//! `cargo spirit keygen`, `sign`, `verify` and `pack`: keys, signatures and
//! packages for what `cargo spirit build` produced.

#[cfg(feature = "build")]
use std::path::Path;
use std::path::PathBuf;

use serde::Serialize;

use super::target::Target;
use crate::package::{PackageError, SpiritFiles};
use crate::shell::escape;
use crate::sign::{self, Author, Key, Requirements, SignaturePolicy, Signed};
use crate::{Error, Shell};

/// Makes a key pair under `VUDO_HOME/keys/` and returns its public key.
///
/// # Errors
///
/// Fails when a key of that name exists or cannot be written.
pub fn keygen(shell: &Shell, name: &str) -> Result<Author, Error> {
    let home = crate::home::vudo_home().map_err(sign::SignError::from)?;
    let (author, path) = sign::keygen(&home, name)?;
    shell.status(
        "Created",
        format_args!("key `{name}` in {}", path.display()),
    );
    // Your own key signs what you install from your crates.
    if crate::trust::set_trusted(&home, author, true)? {
        shell.status(
            "Trusted",
            format_args!(
                "{author} (in {})",
                crate::home::trusted_file(&home).display()
            ),
        );
    }
    Ok(author)
}

/// A spirit that was signed: what `sign` and `build --sign` report (the
/// `spirit-signed` JSON line).
///
/// ```
/// use spirit_build::ops::SignedSpirit;
/// let signed = SignedSpirit {
///     path: "target/spirit/release/hello".into(),
///     name: "hello".into(),
///     version: "0.1.0".into(),
///     author: spirit_build::sign::Author([1; 32]),
/// };
/// let line = serde_json::to_value(&signed).unwrap();
/// assert_eq!(line["reason"], "spirit-signed");
/// assert_eq!(line["author"], "01".repeat(32));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename = "spirit-signed")]
pub struct SignedSpirit {
    /// Its build directory or package.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Who signed it.
    #[serde(serialize_with = "super::serialize_display")]
    pub author: Author,
}

/// Signs each spirit of `target` with `key`, writing `signature.toml`
/// beside its manifest, or rewriting a package with the signature inside.
/// Refuses to sign a spirit whose wasm does not match its manifest.
///
/// # Errors
///
/// Fails when a spirit cannot be read, is inconsistent, or cannot be written.
pub fn sign(shell: &Shell, target: &Target, key: &Key) -> Result<Vec<SignedSpirit>, Error> {
    warn_about_key(shell, key);
    sign_each(shell, target, key)
}

/// Shows the key's warning (a private key file others may read), if any.
fn warn_about_key(shell: &Shell, key: &Key) {
    if let Some(warning) = key.warning() {
        shell.warn(warning);
    }
}

fn sign_each(shell: &Shell, target: &Target, key: &Key) -> Result<Vec<SignedSpirit>, Error> {
    let mut signed = Vec::new();
    for path in target.spirit_paths("sign")? {
        #[cfg_attr(not(feature = "build"), allow(unused_mut))]
        let mut files = SpiritFiles::read(&path)?;
        // Sign only what is consistent: the signature would vouch for it. A
        // signature already there is replaced, so it is not checked.
        let contents = Signed {
            signature: None,
            ..files.signed()
        };
        if let Err(error) = sign::check_signed(contents, &SignaturePolicy::CONSISTENT, &[]) {
            return Err(Error::Verify { path, error });
        }
        let signature = key.sign(&files.manifest_bytes, &files.wasm);
        if path.is_file() {
            #[cfg(not(feature = "build"))]
            return Err(PackageError::NeedsBuildFeature(path).into());
            #[cfg(feature = "build")]
            {
                files.signature = Some(signature);
                crate::fs::write_atomic(&path, &files.to_package())?;
            }
        } else {
            crate::fs::write_atomic(&path.join(sign::FILE_NAME), signature.to_toml().as_bytes())?;
        }
        shell.status(
            "Signed",
            format_args!(
                "spirit `{}` v{} as {}",
                escape(&files.manifest.name),
                files.manifest.version,
                signature.author
            ),
        );
        signed.push(SignedSpirit {
            path,
            name: files.manifest.name,
            version: files.manifest.version.to_string(),
            author: signature.author,
        });
    }
    Ok(signed)
}

/// A spirit that passed verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Its build directory or package.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Who signed it.
    #[serde(serialize_with = "super::serialize_display")]
    pub author: Author,
    /// The wasm's blake3.
    pub blake3: String,
}

/// What `verify --author HEX --trusted` requires: that author, and with
/// `trusted` one of `VUDO_HOME/trusted.toml`.
///
/// # Errors
///
/// Fails when `VUDO_HOME` or its trusted keys cannot be read.
pub fn verify_requirements(author: Option<Author>, trusted: bool) -> Result<Requirements, Error> {
    let trusted = if trusted {
        let home = crate::home::vudo_home().map_err(sign::SignError::from)?;
        Some(crate::trust::trusted_authors(&home)?)
    } else {
        None
    };
    Ok(Requirements { author, trusted })
}

/// Verifies each spirit of `target`: the signed-files check with the policy
/// of `requirements` (see [`Requirements::policy`]).
///
/// # Errors
///
/// The first spirit that fails, with what is wrong in words.
pub fn verify(
    shell: &Shell,
    target: &Target,
    requirements: &Requirements,
) -> Result<Vec<Verified>, Error> {
    let policy = requirements.policy();
    let trusted = requirements.trusted.as_deref().unwrap_or_default();
    let mut verified = Vec::new();
    for path in target.spirit_paths("verify")? {
        let files = SpiritFiles::read(&path)?;
        let author = sign::check_signed(files.signed(), &policy, trusted)
            .and_then(|verdict| verdict.author().ok_or(sign::VerifyError::Unsigned))
            .map_err(|error| Error::Verify {
                path: path.clone(),
                error,
            })?;
        shell.status(
            "Verified",
            format_args!(
                "spirit `{}` v{} signed by {author}",
                escape(&files.manifest.name),
                files.manifest.version
            ),
        );
        verified.push(Verified {
            path,
            name: files.manifest.name,
            version: files.manifest.version.to_string(),
            author,
            blake3: files.manifest.wasm.blake3,
        });
    }
    Ok(verified)
}

/// A package `pack` wrote: the `spirit-packaged` JSON line.
///
/// ```
/// use spirit_build::ops::Packaged;
/// let packaged = Packaged {
///     path: "hello-0.1.0.spirit".into(),
///     name: "hello".into(),
///     version: "0.1.0".into(),
///     size: 3072,
///     blake3: "ab".into(),
///     author: None,
/// };
/// let line = serde_json::to_value(&packaged).unwrap();
/// assert_eq!(line["reason"], "spirit-packaged");
/// assert_eq!(line["author"], serde_json::Value::Null);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename = "spirit-packaged")]
pub struct Packaged {
    /// The package file.
    pub path: PathBuf,
    /// The spirit's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The package's size in bytes.
    pub size: u64,
    /// The package file's blake3, in hex.
    pub blake3: String,
    /// Who signed it; `None` for an unsigned package.
    #[serde(serialize_with = "serialize_author")]
    pub author: Option<Author>,
}

fn serialize_author<S: serde::Serializer>(
    author: &Option<Author>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match author {
        Some(author) => serializer.collect_str(author),
        None => serializer.serialize_none(),
    }
}

#[cfg(feature = "build")]
/// Packs each spirit of `target` into `<name>-<version>.spirit` beside its
/// build directory (or in `out_dir`) and returns the packages.
///
/// # Errors
///
/// Fails when a spirit cannot be read or is inconsistent (its wasm does not
/// match its manifest, or its signature does not verify).
pub fn pack(
    shell: &Shell,
    target: &Target,
    out_dir: Option<&Path>,
) -> Result<Vec<Packaged>, Error> {
    let mut packages = Vec::new();
    for path in target.spirit_paths("pack")? {
        let files = SpiritFiles::read(&path)?;
        if let Err(error) = sign::check_signed(files.signed(), &SignaturePolicy::CONSISTENT, &[]) {
            return Err(Error::Verify { path, error });
        }
        let dir = match out_dir {
            Some(dir) => dir.to_owned(),
            None => path
                .parent()
                .map(Path::to_owned)
                .ok_or_else(|| PackageError::NotASpirit(path.clone()))?,
        };
        crate::fs::create_dir_all(&dir)?;
        let out = dir.join(files.package_name());
        let package = files.to_package();
        crate::fs::write_atomic(&out, &package)?;
        shell.status(
            "Packaged",
            format_args!(
                "{} ({}{})",
                out.display(),
                crate::units::Bytes(package.len() as u64),
                if files.signature.is_some() {
                    ", signed"
                } else {
                    ", unsigned"
                }
            ),
        );
        packages.push(Packaged {
            path: out,
            name: files.manifest.name,
            version: files.manifest.version.to_string(),
            size: package.len() as u64,
            blake3: blake3::hash(&package).to_hex().to_string(),
            author: files.signature.map(|s| s.author),
        });
    }
    Ok(packages)
}

impl From<PackageError> for Error {
    fn from(e: PackageError) -> Error {
        Error::Package(e)
    }
}

impl From<sign::SignError> for Error {
    fn from(e: sign::SignError) -> Error {
        Error::Sign(e)
    }
}

#[cfg(feature = "build")]
/// `cargo spirit build --sign`: builds, then signs what was built; with
/// `--message-format json`, a `spirit-signed` line follows each
/// `spirit-artifact`.
///
/// # Errors
///
/// Fails when the build fails or a built spirit cannot be signed.
pub fn build_and_sign(
    shell: &Shell,
    options: &crate::ops::BuildOptions,
    key: &Key,
) -> Result<Vec<crate::ops::BuiltSpirit>, Error> {
    warn_about_key(shell, key);
    let built = super::build::build_for(shell, options, true)?;
    for spirit in &built {
        for signed in sign_each(shell, &Target::BuildDir(spirit.dir.clone()), key)? {
            options
                .compile
                .message_format
                .emit(shell, &signed)
                .map_err(crate::compile::CompileError::Forward)?;
        }
    }
    Ok(built)
}
