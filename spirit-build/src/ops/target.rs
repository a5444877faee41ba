//! What a command-line TARGET names: one classification for every command
//! that takes one (`run`, `check`, `inspect`, `sign`, `verify`, `pack`,
//! `install`, `upgrade`), so that an argument means the same thing to each
//! of them and a command refuses what it cannot take in the same words.

use std::path::{Path, PathBuf};

#[cfg(feature = "build")]
use super::plan::built_dirs;
pub use crate::error::TargetError;
use crate::oci::Reference;
use crate::options::BuildOptions;
use crate::{Error, Shell, manifest, package, registry};

/// A TARGET, classified: what a path on disk is, or the installed spirit a
/// `NAME[@REQ]` names.
///
/// ```
/// use spirit_build::ops::{BuildOptions, Target};
///
/// let dir = tempfile::tempdir().unwrap();
/// spirit_build::fs::write_atomic(&dir.path().join("Cargo.toml"), b"").unwrap();
/// let classify = |arg: &std::path::Path| Target::classify(Some(arg), BuildOptions::default()).unwrap();
///
/// assert!(matches!(classify(dir.path()), Target::Crate(o) if o.selection.manifest_path.is_some()));
/// assert!(matches!(classify("hello.wasm".as_ref()), Target::Wasm(_)));
/// assert!(matches!(classify("hello-0.1.0.spirit".as_ref()), Target::Package(_)));
/// assert!(matches!(classify("hello@^1.2".as_ref()), Target::Installed { name, req } if name == "hello" && req.as_deref() == Some("^1.2")));
/// assert!(matches!(classify("ghcr.io/team/hello:1.2.0".as_ref()), Target::Oci(r) if r.repository() == "team/hello"));
/// assert!(Target::classify(Some("no/such/dir".as_ref()), BuildOptions::default()).is_err());
/// ```
#[derive(Clone, Debug)]
pub enum Target {
    /// The spirit crate(s) these build options select: no TARGET (the
    /// crate here, or what `-p`/`--workspace` select), or a directory
    /// holding a `Cargo.toml` (then `--manifest-path` points into it).
    Crate(BuildOptions),
    /// A WebAssembly module: a `.wasm` file, or any other file that starts
    /// like one.
    Wasm(PathBuf),
    /// A `.spirit` package.
    Package(PathBuf),
    /// A build directory, holding `manifest.toml` (what `cargo spirit
    /// build` writes under `<target>/spirit/<profile>/<name>/`).
    BuildDir(PathBuf),
    /// Any other directory: one holding `.spirit` packages.
    PackageDir(PathBuf),
    /// A spirit in an OCI registry, `REGISTRY/REPOSITORY[:TAG][@DIGEST]`
    /// (see [`Reference::looks_like`] for the rule).
    Oci(Reference),
    /// An installed spirit: the highest version matching the requirement.
    Installed {
        /// The spirit's name.
        name: String,
        /// A semver requirement such as `^1.2`.
        req: Option<String>,
    },
}

impl Target {
    /// Classifies a TARGET argument; `None` is the crate(s) `build` selects.
    /// A directory with a `Cargo.toml` is a crate, one with a
    /// `manifest.toml` a build directory, any other a directory of
    /// packages; a file is a package or a module by its extension, else by
    /// its first bytes; an argument that is nothing on disk is an OCI
    /// reference when it starts with a registry host and a `/`
    /// ([`Reference::looks_like`]), else an installed spirit's `NAME[@REQ]`
    /// (a name holds no `/`, so the two never overlap).
    ///
    /// # Errors
    ///
    /// Fails when the argument is nothing on disk and not a spirit's name
    /// or a valid OCI reference.
    pub fn classify(arg: Option<&Path>, mut build: BuildOptions) -> Result<Target, TargetError> {
        let Some(path) = arg else {
            return Ok(Target::Crate(build));
        };
        let extension = path.extension();
        if extension.is_some_and(|e| e == package::EXTENSION) {
            return Ok(Target::Package(path.to_owned()));
        }
        if extension.is_some_and(|e| e == "wasm") {
            return Ok(Target::Wasm(path.to_owned()));
        }
        if path.is_dir() {
            return Ok(if path.join("Cargo.toml").is_file() {
                build.selection.manifest_path = Some(path.join("Cargo.toml"));
                Target::Crate(build)
            } else if path.join(manifest::FILE_NAME).is_file() {
                Target::BuildDir(path.to_owned())
            } else {
                Target::PackageDir(path.to_owned())
            });
        }
        if path.is_file() {
            return Ok(if is_package(path) {
                Target::Package(path.to_owned())
            } else {
                Target::Wasm(path.to_owned())
            });
        }
        if let Some(text) = path.to_str()
            && Reference::looks_like(text)
        {
            return Ok(Target::Oci(text.parse()?));
        }
        match path.to_str().map(registry::split_spec) {
            Some((name, req)) if crate::template::validate_name(name).is_ok() => {
                Ok(Target::Installed {
                    name: name.to_owned(),
                    req: req.map(str::to_owned),
                })
            }
            _ => Err(TargetError::NotFound(path.to_owned())),
        }
    }

    /// What this target is, in words (`a .wasm module`).
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Crate(_) => "a spirit crate",
            Target::Wasm(_) => "a `.wasm` module",
            Target::Package(_) => "a `.spirit` package",
            Target::BuildDir(_) => "a build directory",
            Target::PackageDir(_) => "a directory with neither `Cargo.toml` nor `manifest.toml`",
            Target::Oci(_) => "a spirit in an OCI registry (`cargo spirit pull` installs it)",
            Target::Installed { .. } => {
                "not a file or directory here, so an installed spirit's name"
            }
        }
    }

    /// The error of a command that does not take this kind of target;
    /// `accepted` says what it takes.
    pub fn refuse(&self, command: &'static str, accepted: &'static str) -> Error {
        let target = match self {
            Target::Crate(options) => options.selection.manifest_path.as_ref().map_or_else(
                || "the crate here".to_owned(),
                |p| p.parent().unwrap_or(p).display().to_string(),
            ),
            Target::Wasm(p) | Target::Package(p) | Target::BuildDir(p) | Target::PackageDir(p) => {
                p.display().to_string()
            }
            Target::Oci(reference) => reference.to_string(),
            Target::Installed { name, req } => match req {
                Some(req) => format!("{name}@{req}"),
                None => name.clone(),
            },
        };
        TargetError::NotAccepted {
            target,
            kind: self.kind(),
            command,
            accepted,
        }
        .into()
    }

    /// The build directories or packages of `sign`, `verify` and `pack`: a
    /// crate's build output (built or not), a build directory or a package.
    ///
    /// # Errors
    ///
    /// Fails for any other target, or when the workspace cannot be read.
    pub fn spirit_paths(&self, command: &'static str) -> Result<Vec<PathBuf>, Error> {
        match self {
            #[cfg(feature = "build")]
            Target::Crate(options) => built_dirs(options),
            #[cfg(not(feature = "build"))]
            Target::Crate(_) => Err(Error::NeedsBuildFeature {
                what: "reading a crate's build directories",
            }),
            Target::BuildDir(path) | Target::Package(path) => Ok(vec![path.clone()]),
            _ => Err(self.refuse(command, "a build directory or a `.spirit` package")),
        }
    }
}

/// [`Target::classify`] for `run`: a bare `NAME` that is both a directory
/// here and an installed spirit runs the directory (what is on disk comes
/// first, as for every TARGET), with a note saying so and how to run the
/// installed one instead.
///
/// # Errors
///
/// As [`Target::classify`].
pub fn classify_for_run(
    shell: &Shell,
    arg: Option<&Path>,
    options: BuildOptions,
) -> Result<Target, Error> {
    let target = Target::classify(arg, options)?;
    let bare_name = arg.and_then(|arg| {
        let mut components = arg.components();
        match (components.next(), components.next()) {
            (Some(std::path::Component::Normal(name)), None) => name.to_str(),
            _ => None,
        }
    });
    if let Some(name) = bare_name
        && matches!(
            target,
            Target::Crate(_) | Target::BuildDir(_) | Target::PackageDir(_)
        )
        && installed(name)
    {
        shell.note(format_args!(
            "`{name}` is both the directory `./{name}` and an installed spirit: running the directory\n\
             help: to run the installed spirit, use `cargo spirit run {name}@latest` (or `{name}@REQ`)"
        ));
    }
    Ok(target)
}

/// Whether a spirit of that name is installed (without creating a registry
/// where there is none).
fn installed(name: &str) -> bool {
    let Ok(registry) = registry::Registry::open_default() else {
        return false;
    };
    registry.root().exists() && registry.versions(name).is_ok_and(|v| !v.is_empty())
}

/// Whether the file is a ustar archive, as every package is.
fn is_package(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 262];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| &header[257..262] == b"ustar")
}

/// Splits `run`'s positionals into the TARGET and the arguments of
/// `--invoke`. The first positional is the target unless `invoking` and it
/// looks like an argument (a number) rather than a `.wasm` or `.spirit`
/// file, a directory or a name.
///
/// ```
/// use spirit_build::ops::split_run_positionals;
/// let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert_eq!(split_run_positionals(args(&["math.wasm", "2", "3"]), true).unwrap(), (Some("math.wasm".into()), args(&["2", "3"])));
/// assert_eq!(split_run_positionals(args(&["2", "-3"]), true).unwrap(), (None, args(&["2", "-3"])));
/// assert!(split_run_positionals(args(&["math.wasm", "2"]), false).is_err());
/// ```
///
/// # Errors
///
/// Fails when arguments follow the target without `invoking`.
pub fn split_run_positionals(
    mut positionals: Vec<String>,
    invoking: bool,
) -> Result<(Option<PathBuf>, Vec<String>), TargetError> {
    let first_is_target = positionals.first().is_some_and(|p| {
        let path = Path::new(p);
        !invoking
            || path
                .extension()
                .is_some_and(|e| e == "wasm" || e == package::EXTENSION)
            || path.is_dir()
            || !p.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
    });
    let target = first_is_target.then(|| PathBuf::from(positionals.remove(0)));
    if !invoking && let Some(first) = positionals.first() {
        return Err(TargetError::UnexpectedArgument {
            first: first.clone(),
            all: positionals.join(" "),
        });
    }
    Ok((target, positionals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(path: &Path) -> Target {
        Target::classify(Some(path), BuildOptions::default()).unwrap()
    }

    #[test]
    fn directories_are_told_apart_by_what_they_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let (krate, built, packages) = (
            tmp.path().join("crate"),
            tmp.path().join("built"),
            tmp.path().join("packages"),
        );
        for dir in [&krate, &built, &packages] {
            std::fs::create_dir(dir).unwrap();
        }
        crate::fs::write_atomic(&krate.join("Cargo.toml"), b"").unwrap();
        crate::fs::write_atomic(&built.join(manifest::FILE_NAME), b"").unwrap();
        assert!(
            matches!(classify(&krate), Target::Crate(o) if o.selection.manifest_path == Some(krate.join("Cargo.toml")))
        );
        assert!(matches!(classify(&built), Target::BuildDir(p) if p == built));
        assert!(matches!(classify(&packages), Target::PackageDir(p) if p == packages));
    }

    #[test]
    fn files_without_a_known_extension_are_told_apart_by_their_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let module = tmp.path().join("module.bin");
        crate::fs::write_atomic(&module, b"\0asm\x01\0\0\0").unwrap();
        let mut archive = vec![0u8; 512];
        archive[257..262].copy_from_slice(b"ustar");
        let package = tmp.path().join("package.tar");
        crate::fs::write_atomic(&package, &archive).unwrap();
        assert!(matches!(classify(&module), Target::Wasm(_)));
        assert!(matches!(classify(&package), Target::Package(_)));
    }

    #[test]
    fn a_command_refuses_a_kind_it_does_not_take_in_words() {
        let target = classify(Path::new("hello@^1"));
        let error = target.refuse("sign", "a build directory or a `.spirit` package");
        assert_eq!(
            error.to_string(),
            "`hello@^1` is not a file or directory here, so an installed spirit's name, which `cargo spirit sign` does not take\nhelp: give a build directory or a `.spirit` package"
        );
        let missing = Target::classify(Some(Path::new("no/such")), BuildOptions::default());
        assert!(matches!(missing, Err(TargetError::NotFound(_))));
    }
}
