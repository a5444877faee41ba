//! What `run` and `seance` do first: turn a [`Target`] into a spirit's
//! bytes, manifest and storage owner (building a crate, verifying a package,
//! resolving an installed name), and decide which of the manifest's
//! capabilities are granted (`ops/grant.rs`'s rule, with its warning).

use std::path::Path;

use spirit_sdk::abi::Capability;

#[cfg(feature = "build")]
use super::build::build;
use super::grant::{self, Grant};
use super::target::Target;
use crate::manifest::Manifest;
use crate::package::SpiritFiles;
use crate::registry::Registry;
use crate::sandbox::StorageOwner;
use crate::sign::{self, Author, Verdict};
use crate::{Error, Shell};

/// A manifest whose capabilities are not granted: what to call the spirit,
/// why, its author, and whether it is unsigned.
#[derive(Debug)]
pub(super) struct Withheld {
    what: String,
    why: String,
    author: Option<Author>,
    unsigned: bool,
}

/// A target made ready to load.
#[derive(Debug)]
pub(super) struct Resolved {
    /// The spirit's name (its manifest's, or the file's stem).
    pub(super) name: String,
    /// The module.
    pub(super) wasm: Vec<u8>,
    /// Its manifest, when it has one.
    pub(super) manifest: Option<Manifest>,
    /// Whose storage it opens: the author whose signature verified, else
    /// the unsigned namespace.
    pub(super) owner: StorageOwner,
    /// Set when the manifest's capabilities are not granted.
    pub(super) withheld: Option<Withheld>,
    /// The blake3 of `wasm`, computed once: the code cache and the ledger
    /// take it from here.
    pub(super) wasm_hash: blake3::Hash,
}

impl Resolved {
    /// The capabilities of the manifest that are granted: all of them, or
    /// none (with a warning saying what is withheld and how to grant it)
    /// when no trusted author vouches for the spirit.
    pub(super) fn declared(
        &self,
        shell: &Shell,
        allow: &[Capability],
        deny: &[Capability],
    ) -> Vec<Capability> {
        let declared = self
            .manifest
            .as_ref()
            .map(|m| m.capabilities.clone())
            .unwrap_or_default();
        let Some(Withheld {
            what,
            why,
            author,
            unsigned,
        }) = &self.withheld
        else {
            return declared;
        };
        match grant::warning(what, why, *author, &declared, allow, deny) {
            Some(warning) => shell.warn(warning),
            // Nothing declared is lost: still say it is unsigned.
            None if *unsigned => shell.warn(format_args!(
                "`{what}` is unsigned: who made it cannot be checked"
            )),
            None => {}
        }
        Vec::new()
    }
}

/// Builds, reads or resolves `target` for the command `verb`: any kind but
/// a directory of packages.
pub(super) fn resolve(
    shell: &Shell,
    target: &Target,
    verb: &'static str,
    home: Option<&Path>,
) -> Result<Resolved, Error> {
    // Whether the manifest's capabilities are granted, and what to call the
    // spirit when they are not.
    let mut withheld: Option<Withheld> = None;
    // Whose storage the run opens: the author whose signature verified,
    // else the unsigned namespace (see `StorageOwner`).
    let mut wasm_hash = None;
    let (name, wasm, manifest, owner) = match target {
        #[cfg(not(feature = "build"))]
        Target::Crate(_) => {
            return Err(Error::NeedsBuildFeature {
                what: "running a crate (building it)",
            });
        }
        #[cfg(feature = "build")]
        Target::Crate(build_options) => {
            let built = build(shell, build_options)?;
            let spirit = match built.as_slice() {
                [one] => one,
                _ => {
                    return Err(crate::project::ProjectError::NotASpirit {
                        name: "(several)".to_owned(),
                        reason: "more than one spirit was selected; run one at a time",
                    }
                    .into());
                }
            };
            let manifest = Manifest::read(&spirit.manifest_path)?;
            let wasm = crate::fs::read(&spirit.wasm_path)?;
            (
                manifest.name.clone(),
                wasm,
                Some(manifest),
                StorageOwner::Unsigned,
            )
        }
        Target::Wasm(path) => {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, crate::fs::read(path)?, None, StorageOwner::Unsigned)
        }
        Target::Package(path) | Target::BuildDir(path) => {
            let files = SpiritFiles::read(path)?;
            let trusted = match home {
                Some(home) => crate::trust::trusted_authors(home)?,
                None => Vec::new(),
            };
            let (grant, verdict) =
                grant::for_files(&files, &trusted).map_err(|error| Error::Verify {
                    path: path.clone(),
                    error,
                })?;
            if let Some(author) = verdict.author() {
                shell.verbose(|s| s.status("Verified", format_args!("signed by {author}")));
            }
            if let Grant::Withheld { why, author } = grant {
                let unsigned = verdict == Verdict::Unsigned;
                withheld = Some(Withheld {
                    what: path.display().to_string(),
                    why,
                    author,
                    unsigned,
                });
            }
            (
                files.manifest.name.clone(),
                files.wasm,
                Some(files.manifest),
                owner_of(verdict.author()),
            )
        }
        Target::PackageDir(_) | Target::Oci(_) => {
            return Err(target.refuse(
                verb,
                "a spirit crate directory, a `.wasm` file, a `.spirit` package, a build directory or NAME[@REQ]",
            ));
        }
        Target::Installed { name, req } => {
            let Some(home) = home else {
                return Err(Error::NoHome(match req {
                    Some(req) => format!("{name}@{req}"),
                    None => name.clone(),
                }));
            };
            let registry = Registry::new(home);
            let loaded = registry.resolve_and_load_hashed(name, req.as_deref())?;
            let (entry, files) = (loaded.entry, loaded.files);
            // The registry's check hashed these very bytes.
            wasm_hash = Some(loaded.wasm_hash);
            let trusted = crate::trust::trusted_authors(registry.home())?;
            if let Grant::Withheld { why, author } = grant::for_installed(&entry, &trusted) {
                withheld = Some(Withheld {
                    what: format!("{}@{}", entry.name, entry.version),
                    why,
                    author,
                    unsigned: false,
                });
            }
            shell.verbose(|s| {
                s.status(
                    "Resolved",
                    format_args!(
                        "{}@{} to {}",
                        name,
                        req.as_deref().unwrap_or("*"),
                        entry.version
                    ),
                )
            });
            // `load` verified the signature (refusing a missing one unless
            // installed unsigned), so it is not checked twice: its author
            // (none for a spirit installed unsigned) owns the storage.
            let author = files.signature.as_ref().map(|s| s.author);
            (
                files.manifest.name.clone(),
                files.wasm,
                Some(files.manifest),
                owner_of(author),
            )
        }
    };
    Ok(Resolved {
        name,
        wasm_hash: wasm_hash.unwrap_or_else(|| blake3::hash(&wasm)),
        wasm,
        manifest,
        owner,
        withheld,
    })
}

/// The storage owner of a spirit signed by `author` (or unsigned).
pub(super) fn owner_of(author: Option<sign::Author>) -> StorageOwner {
    author.map_or(StorageOwner::Unsigned, |a| StorageOwner::Author(a.0))
}
