//! `cargo spirit build`: compile → validate → strip → hash → manifest.
//!
//! A spirit whose compiled module and configuration are what they were at
//! the last build is `Fresh`: its outputs are left as they are, without
//! post-processing (see [`crate::fingerprint`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::examine::examine;
use super::plan::{Plan, artifact_dir};
use crate::compile::{self, CompileUnit, WasmArtifact};
use crate::fingerprint::{Fingerprint, Stamp};
use crate::manifest::{self, BuildInfo, Manifest, WasmInfo};
use crate::options::BuildOptions;
use crate::project::{self, SpiritPackage};
use crate::sign::{self, Key, SignaturePolicy, Signed, SpiritSignature};
use crate::strip::StripOptions;
use crate::units::Bytes;
use crate::validate::{Expectations, Problem};
use crate::{Error, Shell, toolchain};

/// A spirit the build produced.
#[derive(Clone, Debug)]
pub struct BuiltSpirit {
    /// Its manifest, as written.
    pub manifest: Manifest,
    /// The directory holding the stripped wasm and the manifest:
    /// `<target>/spirit/<profile>/<name>/`.
    pub dir: PathBuf,
    /// The stripped module.
    pub wasm_path: PathBuf,
    /// `manifest.toml`.
    pub manifest_path: PathBuf,
    /// The module cargo produced, before stripping.
    pub original_path: PathBuf,
    /// Its size before stripping.
    pub original_size: u64,
    /// Whether the outputs were already up to date (nothing was rewritten).
    pub fresh: bool,
    /// The validation warnings (replayed when fresh).
    pub warnings: Vec<Problem>,
}

/// The line `--message-format json` prints for each spirit.
///
/// ```
/// use spirit_build::ops::ArtifactMessage;
/// let line = r#"{"reason":"spirit-artifact","name":"hello","version":"0.1.0","manifest_path":"/h/Cargo.toml","wasm":"/t/hello.wasm","manifest":"/t/manifest.toml","original":"/t/o.wasm","size_before":14540,"size_after":812,"blake3":"ab","capabilities":["actuator_log"],"entry":"run","fresh":false,"warnings":[]}"#;
/// let message: ArtifactMessage = serde_json::from_str(line).unwrap();
/// assert_eq!(message.size_after, 812);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactMessage {
    /// Always `spirit-artifact`, beside cargo's `compiler-artifact`.
    pub reason: String,
    /// The spirit's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The stripped module.
    pub wasm: PathBuf,
    /// Its `manifest.toml`.
    pub manifest: PathBuf,
    /// The module cargo produced.
    pub original: PathBuf,
    /// The size cargo's module had.
    pub size_before: u64,
    /// The size of the stripped module.
    pub size_after: u64,
    /// The stripped module's blake3, in hex.
    pub blake3: String,
    /// The declared capabilities.
    pub capabilities: Vec<String>,
    /// The entry function.
    pub entry: String,
    /// Whether the outputs were up to date.
    pub fresh: bool,
    /// Validation warnings, rendered (`message` then `help:` line).
    pub warnings: Vec<String>,
}

/// Builds the selected spirits and writes each one's stripped module and
/// manifest under `<target>/spirit/<profile>/<name>/`.
///
/// # Errors
///
/// Fails on the first spirit that does not compile or validate; every
/// validation problem of that spirit is in the error.
pub fn build(shell: &Shell, options: &BuildOptions) -> Result<Vec<BuiltSpirit>, Error> {
    build_for(shell, options, false)
}

/// [`build`]; with `signing` (`build --sign`), a signature the new bytes no
/// longer match is removed without a word, since a new one follows.
pub(crate) fn build_for(
    shell: &Shell,
    options: &BuildOptions,
    signing: bool,
) -> Result<Vec<BuiltSpirit>, Error> {
    let plan = Plan::new(&options.selection)?;
    let (project, artifacts, rustc) = match &plan.hint {
        Some(name) => {
            // The package found is a spirit: cargo first, and when the
            // stamp holds, that is all there is to do.
            // `-p NAME`: a workspace root's `default-members` may name others.
            let unit = CompileUnit {
                name: name.clone(),
                spec: Some(name.clone()),
                manifest_path: plan.manifest_path.clone(),
            };
            let artifacts = compile::compile(
                shell,
                &plan.dir,
                std::slice::from_ref(&unit),
                &options.compile,
            )?;
            if let Some(built) = quick_fresh(shell, options, &unit, &artifacts[0])? {
                emit(shell, options, &unit.manifest_path, &built)?;
                return Ok(vec![built]);
            }
            let (project, rustc) = std::thread::scope(|scope| {
                let rustc = scope.spawn(|| toolchain::rustc_version(&plan.dir));
                let project = project::load_at(&options.selection, plan.manifest_path.clone());
                (project, rustc.join().ok().flatten())
            });
            let project = project?;
            let artifacts = match project.spirits.as_slice() {
                [spirit] if spirit.manifest_path == unit.manifest_path => artifacts,
                spirits => {
                    let units: Vec<CompileUnit> = spirits.iter().map(CompileUnit::of).collect();
                    compile::compile(shell, &plan.dir, &units, &options.compile)?
                }
            };
            (project, artifacts, rustc)
        }
        None => plan.load_and_compile(shell, options, true)?,
    };
    let target_dir = options
        .compile
        .absolute_target_dir()
        .unwrap_or(project.target_directory.clone());
    let root_manifest = project.workspace_root.join("Cargo.toml");
    let cargo_lock = project.workspace_root.join("Cargo.lock");
    let cargo_lock_hash = std::fs::read(&cargo_lock)
        .ok()
        .map(|bytes| blake3::hash(&bytes).to_hex().to_string());
    let mut built = Vec::new();
    for (spirit, artifact) in project.spirits.iter().zip(&artifacts) {
        // Before reading: a module changed after this is stamped as older.
        let original_file = crate::fingerprint::file_identity(&artifact.path);
        let original = crate::fs::read(&artifact.path)?;
        let build_info = BuildInfo {
            tool: crate::VERSION.to_owned(),
            rustc: rustc.clone(),
            target: toolchain::WASM_TARGET.to_owned(),
            profile: options.compile.profile_name().to_owned(),
            cargo_lock: cargo_lock_hash.clone(),
        };
        let mut files = vec![spirit.manifest_path.clone()];
        if root_manifest != spirit.manifest_path {
            files.push(root_manifest.clone());
        }
        files.push(cargo_lock.clone());
        let dependencies = pin_dependencies(spirit)?;
        let job = Job {
            spirit,
            dependencies,
            original: &original,
            original_path: &artifact.path,
            dir: &artifact_dir(&target_dir, options.compile.profile_dir(), &spirit.name),
            build: build_info,
            strip: options.strip,
            stamp: Stamp::new(
                &original,
                original_file,
                &files,
                options.compile.profile_name(),
                options.strip.keep_names,
            ),
            signing,
        };
        let spirit = job.run(shell)?;
        emit(shell, options, &job.spirit.manifest_path, &spirit)?;
        built.push(spirit);
    }
    Ok(built)
}

/// With `--message-format json`, the spirit's line on standard output.
fn emit(
    shell: &Shell,
    options: &BuildOptions,
    manifest_path: &Path,
    built: &BuiltSpirit,
) -> Result<(), Error> {
    options
        .compile
        .message_format
        .emit(shell, &artifact_message(manifest_path, built))
        .map_err(|e| compile::CompileError::Forward(e).into())
}

/// The spirit's outputs, when the stamp of its last build still holds: no
/// `cargo metadata`, no `rustc -V`, no post-processing.
fn quick_fresh(
    shell: &Shell,
    options: &BuildOptions,
    unit: &CompileUnit,
    artifact: &WasmArtifact,
) -> Result<Option<BuiltSpirit>, Error> {
    // Cargo writes `<target>/wasm32-unknown-unknown/<profile>/<lib>.wasm`.
    let profile_dir = artifact.path.parent();
    let target_dir = profile_dir
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n == options.compile.profile_dir())
        })
        .and_then(Path::parent)
        .filter(|d| d.file_name().is_some_and(|n| n == toolchain::WASM_TARGET))
        .and_then(Path::parent);
    let Some(target_dir) = target_dir else {
        return Ok(None);
    };
    let dir = artifact_dir(target_dir, options.compile.profile_dir(), &unit.name);
    let Some(mut fingerprint) = Fingerprint::read(&dir) else {
        return Ok(None);
    };
    // Before the stamp hashes the module, if it does.
    let identity = crate::fingerprint::file_identity(&artifact.path);
    let holds = fingerprint.stamp.as_ref().is_some_and(|stamp| {
        stamp.holds(
            &unit.manifest_path,
            &artifact.path,
            identity,
            options.compile.profile_name(),
            options.strip.keep_names,
        )
    });
    // Cargo wrote the same bytes again (or the stamp predates identities):
    // stamp the module's new size and time, so that the next no-op build
    // need not hash it. Best effort: the stamp still holds without it.
    if let Some(stamp) = fingerprint
        .stamp
        .as_mut()
        .filter(|s| holds && s.wasm_file != identity)
    {
        stamp.wasm_file = identity;
        let _ = fingerprint.write(&dir);
    }
    let Some(built) = holds
        .then(|| outputs(&dir, &artifact.path, fingerprint))
        .flatten()
    else {
        return Ok(None);
    };
    // The stamp covers the crate, not the registry: pinned dependencies
    // are resolved again, and another resolution is a rebuild.
    if !built.manifest.dependencies.is_empty() && !pins_hold(&built.manifest.dependencies) {
        return Ok(None);
    }
    report_fresh(shell, &built);
    Ok(Some(built))
}

/// The outputs in `dir`, when they are all there and the module is the one
/// its manifest names (so a changed or damaged module is written again).
fn outputs(dir: &Path, original_path: &Path, fingerprint: Fingerprint) -> Option<BuiltSpirit> {
    let manifest_path = dir.join(manifest::FILE_NAME);
    let manifest = Manifest::read(&manifest_path).ok()?;
    let wasm_path = dir.join(&manifest.wasm.file);
    let wasm = std::fs::read(&wasm_path).ok()?;
    if wasm.len() as u64 != manifest.wasm.size
        || blake3::hash(&wasm).to_hex().as_str() != manifest.wasm.blake3
    {
        return None;
    }
    Some(BuiltSpirit {
        manifest,
        dir: dir.to_owned(),
        wasm_path,
        manifest_path,
        original_path: original_path.to_owned(),
        original_size: fingerprint.original_size,
        fresh: true,
        warnings: fingerprint.warnings,
    })
}

fn report_fresh(shell: &Shell, built: &BuiltSpirit) {
    for warning in &built.warnings {
        shell.warn(format_args!("spirit `{}`: {warning}", built.manifest.name));
    }
    shell.status(
        "Fresh",
        format_args!(
            "spirit `{}` v{}",
            built.manifest.name, built.manifest.version
        ),
    );
}

fn artifact_message(manifest_path: &Path, built: &BuiltSpirit) -> ArtifactMessage {
    ArtifactMessage {
        reason: "spirit-artifact".to_owned(),
        name: built.manifest.name.clone(),
        version: built.manifest.version.to_string(),
        manifest_path: manifest_path.to_owned(),
        wasm: built.wasm_path.clone(),
        manifest: built.manifest_path.clone(),
        original: built.original_path.clone(),
        size_before: built.original_size,
        size_after: built.manifest.wasm.size,
        blake3: built.manifest.wasm.blake3.clone(),
        capabilities: built
            .manifest
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        entry: built.manifest.entry.clone(),
        fresh: built.fresh,
        warnings: built.warnings.iter().map(ToString::to_string).collect(),
    }
}

/// Each of the spirit's `[package.metadata.spirit.dependencies]` pinned
/// to the highest installed version that matches (see
/// [`Registry::pin`](crate::registry::Registry::pin)).
fn pin_dependencies(spirit: &SpiritPackage) -> Result<Vec<manifest::Dependency>, Error> {
    if spirit.config.dependencies.is_empty() {
        return Ok(Vec::new());
    }
    let registry = crate::registry::Registry::open_default()?;
    spirit
        .config
        .dependencies
        .iter()
        .map(|d| {
            registry
                .pin(&d.name, &d.req)
                .map_err(|error| Error::Dependency {
                    spirit: spirit.name.clone(),
                    dependency: d.name.clone(),
                    req: d.req.clone(),
                    error: Box::new(error),
                })
        })
        .collect()
}

/// Whether each pinned dependency still resolves to what is pinned.
fn pins_hold(pinned: &[manifest::Dependency]) -> bool {
    let Ok(registry) = crate::registry::Registry::open_default() else {
        return false;
    };
    pinned
        .iter()
        .all(|d| registry.pin(&d.name, &d.req).is_ok_and(|now| now == *d))
}

/// Post-processing one compiled module.
struct Job<'a> {
    spirit: &'a SpiritPackage,
    /// Its dependencies, pinned.
    dependencies: Vec<manifest::Dependency>,
    original: &'a [u8],
    original_path: &'a Path,
    dir: &'a Path,
    build: BuildInfo,
    strip: StripOptions,
    stamp: Option<Stamp>,
    /// `build --sign`: a new signature follows.
    signing: bool,
}

impl Job<'_> {
    /// The manifest, but for the stripped module's hash and size.
    fn manifest(&self, wasm: WasmInfo) -> Manifest {
        let spirit = self.spirit;
        Manifest {
            name: spirit.name.clone(),
            version: spirit.version.clone(),
            description: spirit.description.as_deref().map(manifest::one_line),
            authors: spirit.authors.clone(),
            license: spirit.license.clone(),
            repository: spirit.repository.clone(),
            entry: spirit.config.entry.clone(),
            capabilities: spirit.config.capabilities.clone(),
            limits: spirit.config.limits,
            run: spirit.config.run,
            pricing: spirit.config.pricing,
            network: spirit.config.network.clone(),
            dependencies: self.dependencies.clone(),
            wasm,
            build: self.build.clone(),
        }
    }

    fn file_name(&self) -> String {
        format!("{}.wasm", self.spirit.name)
    }

    /// blake3 of the compiled module, the manifest it gets (which holds
    /// the whole configuration and build information) and the strip options.
    fn inputs_hash(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.original);
        let manifest = self.manifest(WasmInfo {
            file: self.file_name(),
            size: 0,
            blake3: String::new(),
        });
        hasher.update(manifest.to_toml().as_bytes());
        hasher.update(&[u8::from(self.strip.keep_names)]);
        hasher.finalize().to_hex().to_string()
    }

    fn run(&self, shell: &Shell) -> Result<BuiltSpirit, Error> {
        let inputs = self.inputs_hash();
        if let Some(fingerprint) = Fingerprint::read(self.dir).filter(|f| f.inputs == inputs) {
            let stale_stamp = fingerprint.stamp != self.stamp;
            let refreshed = Fingerprint {
                stamp: self.stamp.clone(),
                ..fingerprint.clone()
            };
            if let Some(fresh) = outputs(self.dir, self.original_path, fingerprint) {
                // Same inputs, other stamp (a comment in Cargo.toml, say):
                // the next build can be quick again.
                if stale_stamp {
                    refreshed.write(self.dir)?;
                }
                report_fresh(shell, &fresh);
                return Ok(fresh);
            }
        }
        self.post_process(shell, inputs)
    }

    /// Validates, strips, hashes and describes the module, writing the
    /// stripped wasm, its manifest and the fingerprint into the directory.
    fn post_process(&self, shell: &Shell, inputs: String) -> Result<BuiltSpirit, Error> {
        let spirit = self.spirit;
        let expected = Expectations {
            capabilities: &spirit.config.capabilities,
            entry: &spirit.config.entry,
        };
        let (report, stripped) = examine(
            shell,
            &format!("spirit `{}`", spirit.name),
            self.original,
            &expected,
            &spirit.config.limits,
            self.strip,
            None,
        )?;
        for warning in spirit.config.network_warnings() {
            shell.warn(format_args!("spirit `{}`: {warning}", spirit.name));
        }
        let file = self.file_name();
        let original = self.original;
        shell.status(
            "Stripped",
            format_args!(
                "{file} {} → {} (-{}%)",
                Bytes(original.len() as u64),
                Bytes(stripped.len() as u64),
                100 - (stripped.len() * 100).div_ceil(original.len().max(1))
            ),
        );
        let manifest = self.manifest(WasmInfo {
            file: file.clone(),
            size: stripped.len() as u64,
            blake3: blake3::hash(&stripped).to_hex().to_string(),
        });
        let dir = self.dir;
        crate::fs::create_dir_all(dir)?;
        let wasm_path = dir.join(&file);
        let manifest_path = dir.join(manifest::FILE_NAME);
        Fingerprint::remove(dir)?;
        // The wasm first: a manifest never names bytes that are not there yet.
        crate::fs::write_atomic(&wasm_path, &stripped)?;
        let manifest_text = manifest.to_toml();
        crate::fs::write_atomic(&manifest_path, manifest_text.as_bytes())?;
        if self.signing {
            remove_signature(dir)?;
        } else {
            refresh_signature(shell, dir, &manifest, manifest_text.as_bytes(), &stripped)?;
        }
        let fingerprint = Fingerprint {
            inputs,
            original_size: original.len() as u64,
            warnings: report.warnings,
            stamp: self.stamp.clone(),
        };
        fingerprint.write(dir)?;
        shell.status(
            "Built",
            format_args!(
                "spirit `{}` v{} in {}",
                spirit.name,
                spirit.version,
                dir.display()
            ),
        );
        Ok(BuiltSpirit {
            manifest,
            dir: dir.to_owned(),
            wasm_path,
            manifest_path,
            original_path: self.original_path.to_owned(),
            original_size: original.len() as u64,
            fresh: false,
            warnings: fingerprint.warnings,
        })
    }
}

/// A build that rewrote the module and manifest leaves no signature they no
/// longer match: one that still verifies stays; one by a key this machine
/// holds ([`Key::held`]) is made again over the new bytes, and said so;
/// any other is removed, with a warning naming `cargo spirit sign`.
fn refresh_signature(
    shell: &Shell,
    dir: &Path,
    manifest: &Manifest,
    manifest_bytes: &[u8],
    wasm: &[u8],
) -> Result<(), Error> {
    let path = dir.join(sign::FILE_NAME);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let old = SpiritSignature::from_toml(&text).ok();
    if let Some(signature) = &old {
        let files = Signed {
            manifest: manifest_bytes,
            wasm,
            signature: Some(signature),
        };
        if sign::check_signed(files, &SignaturePolicy::CONSISTENT, &[]).is_ok() {
            return Ok(());
        }
    }
    let name = &manifest.name;
    let version = &manifest.version;
    if let Some(key) = old.and_then(|s| Key::held(s.author)) {
        let signature = key.sign(manifest_bytes, wasm);
        crate::fs::write_atomic(&path, signature.to_toml().as_bytes())?;
        shell.status(
            "Re-signed",
            format_args!(
                "spirit `{name}` v{version} as {} (the build changed its bytes; the old signature no longer matched)",
                signature.author
            ),
        );
        return Ok(());
    }
    remove_signature(dir)?;
    let by = old.map(|s| format!(" by {}", s.author)).unwrap_or_default();
    shell.warn(format_args!(
        "removed the signature{by} of spirit `{name}` v{version}: the build changed its bytes, so it no longer matched\nhelp: sign it again with `cargo spirit sign`{profile} (or build with `--sign`)",
        profile = match manifest.build.profile.as_str() {
            "dev" => String::new(),
            "release" => " --release".to_owned(),
            other => format!(" --profile {other}"),
        },
    ));
    Ok(())
}

fn remove_signature(dir: &Path) -> Result<(), Error> {
    let path = dir.join(sign::FILE_NAME);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(crate::fs::FsError::new("remove", &path, e).into())
        }
        _ => Ok(()),
    }
}
