//! `cargo spirit install`, `uninstall`, `list`, `info`, `search`, `upgrade`,
//! `trust` and `untrust`: the local registry.

use std::path::PathBuf;

#[cfg(feature = "build")]
use super::build::build;
use super::target::Target;
use crate::limits::Metering;
use crate::package::SpiritFiles;
use crate::registry::{Entry, InstallOptions, Installed, Registry};
use crate::sandbox::{CodeSource, Sandbox, SandboxConfig};
use crate::sign::Author;
#[cfg(feature = "build")]
use crate::sign::{self, Key};
use crate::{Error, Shell};

/// What `install` and `upgrade` take.
const INSTALLABLE: &str =
    "a spirit crate directory, a `.spirit` package, a build directory or a directory of packages";

/// Reads what `source` names, building (and signing) a crate first.
#[cfg_attr(not(feature = "build"), allow(unused_variables))]
pub(super) fn spirit_files(
    shell: &Shell,
    source: &Target,
    command: &'static str,
) -> Result<Vec<SpiritFiles>, Error> {
    match source {
        Target::PackageDir(path) => {
            // A directory of packages: every `.spirit` file in it, by name.
            let mut packages: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| crate::fs::FsError::new("read directory", path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == crate::package::EXTENSION)
                })
                .collect();
            packages.sort();
            if packages.is_empty() {
                return Err(crate::package::PackageError::NotASpirit(path.clone()).into());
            }
            packages
                .iter()
                .map(|p| SpiritFiles::read(p).map_err(Error::from))
                .collect()
        }
        Target::Package(path) | Target::BuildDir(path) => Ok(vec![SpiritFiles::read(path)?]),
        #[cfg(not(feature = "build"))]
        Target::Crate(_) => Err(Error::NeedsBuildFeature {
            what: "installing from a crate (building it)",
        }),
        #[cfg(feature = "build")]
        Target::Crate(options) => {
            let key = Key::find(None).ok();
            let mut all = Vec::new();
            for spirit in build(shell, options)? {
                let mut files = SpiritFiles::read(&spirit.dir)?;
                // What you install from your crate is signed with your
                // key: unsigned, signed over other bytes (by a build before
                // this one, say) or by another key, it is signed again.
                let yours = key.as_ref().is_some_and(|key| {
                    files.signature.is_some_and(|s| s.author == key.author())
                        && sign::check_signed(
                            files.signed(),
                            &sign::SignaturePolicy::CONSISTENT,
                            &[],
                        )
                        .is_ok()
                });
                if !yours && let Some(key) = &key {
                    let signature = key.sign(&files.manifest_bytes, &files.wasm);
                    crate::fs::write_atomic(
                        &spirit.dir.join(sign::FILE_NAME),
                        signature.to_toml().as_bytes(),
                    )?;
                    shell.status(
                        "Signed",
                        format_args!("spirit `{}` as {}", files.manifest.name, signature.author),
                    );
                    files.signature = Some(signature);
                }
                all.push(files);
            }
            Ok(all)
        }
        Target::Wasm(_) | Target::Installed { .. } | Target::Oci(_) => {
            Err(source.refuse(command, INSTALLABLE))
        }
    }
}

/// Installs the spirits `source` names into `registry`.
///
/// # Errors
///
/// Fails on the first spirit that is refused (unsigned, untrusted, tampered,
/// conflicting); those before it stay installed.
pub fn install(
    shell: &Shell,
    registry: &Registry,
    source: &Target,
    options: InstallOptions,
) -> Result<Vec<Installed>, Error> {
    let spirits = spirit_files(shell, source, "install")?;
    install_files(shell, registry, &spirits, options)
}

/// Installs spirits already read (from files, or pulled from an OCI
/// registry): the registry's one install transaction, the status lines,
/// and the precompilation.
///
/// # Errors
///
/// As [`install`].
pub(super) fn install_files(
    shell: &Shell,
    registry: &Registry,
    spirits: &[SpiritFiles],
    options: InstallOptions,
) -> Result<Vec<Installed>, Error> {
    let installed = registry.install_many(spirits, options)?;
    for result in &installed {
        let entry = result.entry();
        let what = match &result {
            Installed::New(_) => "Installed",
            Installed::Unchanged(_) => "Unchanged",
            Installed::Replaced(_) => "Replaced",
        };
        shell.status(
            what,
            format_args!(
                "{} v{}{}",
                entry.name,
                entry.version,
                if entry.unsigned { " (unsigned)" } else { "" }
            ),
        );
    }
    precompile(shell, registry, spirits, &installed);
    Ok(installed)
}

/// Compiles newly installed spirits ahead of time into the code cache under
/// the registry's `VUDO_HOME`, keyed by the wasm's blake3 and the engine's
/// compatibility hash, so `run NAME` loads machine code instead of
/// compiling. A failure here costs only speed: the spirit is installed, and
/// the first run compiles it.
fn precompile(
    shell: &Shell,
    registry: &Registry,
    spirits: &[SpiritFiles],
    installed: &[Installed],
) {
    let fresh: Vec<&SpiritFiles> = spirits
        .iter()
        .zip(installed)
        .filter(|(_, i)| !matches!(i, Installed::Unchanged(_)))
        .map(|(f, _)| f)
        .collect();
    if fresh.is_empty() {
        return;
    }
    // Compiled for the engine `cargo spirit run NAME` will use: the
    // manifest's metering, and deadline checks only for a priced spirit
    // (the others are ended by the run's process alarm), so that the
    // compatibility hash, and so the cache entry, is the one the run looks
    // up. One sandbox per kind met, made when first needed.
    let mut sandboxes: Vec<((Metering, bool), Sandbox)> = Vec::new();
    for files in fresh {
        let name = &files.manifest.name;
        let kind = (
            files.manifest.run.metering,
            files.manifest.pricing.is_some(),
        );
        let at = match sandboxes.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                let config = SandboxConfig {
                    pooling: false,
                    metering: kind.0,
                    deadline_checks: kind.1,
                    ..SandboxConfig::in_home(registry.home())
                };
                match Sandbox::with_config(config) {
                    Ok(sandbox) => sandboxes.push((kind, sandbox)),
                    Err(e) => {
                        shell.warn(format_args!("could not precompile `{name}`: {e}"));
                        continue;
                    }
                }
                sandboxes.len() - 1
            }
        };
        let sandbox = &sandboxes[at].1;
        match sandbox.load(name, &files.wasm).map(|s| s.source().clone()) {
            Ok(CodeSource::Compiled {
                duration,
                cached: Ok(Some(_)),
            }) => {
                shell.status(
                    "Precompiled",
                    format_args!("{name} v{} in {duration:.2?}", files.manifest.version),
                );
            }
            Ok(CodeSource::Cached(_)) => {}
            Ok(CodeSource::Compiled { cached, .. }) => shell.warn(format_args!(
                "could not cache the compiled code of `{name}`: {}",
                cached
                    .err()
                    .unwrap_or_else(|| "the cache is off".to_owned())
            )),
            Err(e) => shell.warn(format_args!("could not precompile `{name}`: {e}")),
        }
    }
}

/// Installs a newer version of an installed spirit and removes the older ones.
///
/// # Errors
///
/// Fails when the spirit is not installed or the new one is not newer.
pub fn upgrade(
    shell: &Shell,
    registry: &Registry,
    name: &str,
    source: &Target,
    options: InstallOptions,
) -> Result<Entry, Error> {
    let files = spirit_files(shell, source, "upgrade")?;
    let Some(files) = files.into_iter().find(|f| f.manifest.name == name) else {
        return Err(crate::registry::RegistryError::NotInSource(name.to_owned()).into());
    };
    let crate::registry::Upgraded {
        entry,
        removed,
        kept,
    } = registry.upgrade(&files, options)?;
    precompile(
        shell,
        registry,
        std::slice::from_ref(&files),
        &[Installed::New(entry.clone())],
    );
    let mut older: Vec<_> = removed
        .iter()
        .chain(kept.iter().map(|(e, _)| e))
        .map(|e| e.version.clone())
        .collect();
    older.sort();
    let from = older
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    shell.status(
        "Upgraded",
        format_args!("{name} {from} → {}", entry.version),
    );
    for (old, by) in kept {
        shell.status(
            "Kept",
            format_args!(
                "{name} v{} (pinned by {}; `cargo spirit uninstall {name}@{}` once they no longer need it)",
                old.version,
                by.join(", "),
                old.version
            ),
        );
    }
    Ok(entry)
}

/// Trusts (or stops trusting) an author.
///
/// # Errors
///
/// Fails when `trusted.toml` cannot be read or written.
pub fn trust(shell: &Shell, registry: &Registry, author: Author, trust: bool) -> Result<(), Error> {
    let changed = if trust {
        registry.trust(author)?
    } else {
        registry.untrust(author)?
    };
    let (word, state) = if trust {
        ("Trusted", "already trusted")
    } else {
        ("Untrusted", "was not trusted")
    };
    if changed {
        shell.status(word, author);
    } else {
        shell.note(format_args!("{author} {state}"));
    }
    Ok(())
}

/// The trusted authors are the registry's: their errors are its errors.
impl From<crate::trust::TrustError> for Error {
    fn from(e: crate::trust::TrustError) -> Error {
        Error::Registry(e.into())
    }
}

impl From<crate::registry::RegistryError> for Error {
    fn from(e: crate::registry::RegistryError) -> Error {
        Error::Registry(e)
    }
}
