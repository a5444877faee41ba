//! `cargo spirit keygen`, `sign`, `verify` and `pack`: keys, signatures and
//! packages for what `cargo spirit build` produced.

use std::path::{Path, PathBuf};

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

/// Signs each spirit of `target` with `key`, writing `signature.toml`
/// beside its manifest, or rewriting a package with the signature inside.
/// Refuses to sign a spirit whose wasm does not match its manifest.
///
/// # Errors
///
/// Fails when a spirit cannot be read, is inconsistent, or cannot be written.
pub fn sign(shell: &Shell, target: &Target, key: &Key) -> Result<Vec<PathBuf>, Error> {
    warn_about_key(shell, key);
    sign_each(shell, target, key)
}

/// Shows the key's warning (a private key file others may read), if any.
fn warn_about_key(shell: &Shell, key: &Key) {
    if let Some(warning) = key.warning() {
        shell.warn(warning);
    }
}

fn sign_each(shell: &Shell, target: &Target, key: &Key) -> Result<Vec<PathBuf>, Error> {
    let mut signed = Vec::new();
    for path in target.spirit_paths("sign")? {
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
            files.signature = Some(signature);
            crate::fs::write_atomic(&path, &files.to_package())?;
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
        signed.push(path);
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

/// Packs each spirit of `target` into `<name>-<version>.spirit` beside its
/// build directory (or in `out_dir`) and returns the packages' paths.
///
/// # Errors
///
/// Fails when a spirit cannot be read or is inconsistent (its wasm does not
/// match its manifest, or its signature does not verify).
pub fn pack(shell: &Shell, target: &Target, out_dir: Option<&Path>) -> Result<Vec<PathBuf>, Error> {
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
        crate::fs::write_atomic(&out, &files.to_package())?;
        shell.status(
            "Packaged",
            format_args!(
                "{} ({}{})",
                out.display(),
                crate::units::Bytes(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0)),
                if files.signature.is_some() {
                    ", signed"
                } else {
                    ", unsigned"
                }
            ),
        );
        packages.push(out);
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

/// `cargo spirit build --sign`: builds, then signs what was built.
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
    let built = crate::ops::build(shell, options)?;
    for spirit in &built {
        sign_each(shell, &Target::BuildDir(spirit.dir.clone()), key)?;
    }
    Ok(built)
}
