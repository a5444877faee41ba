//! Where a build starts and where its outputs go: the [`BuildOptions`], the
//! selected packages compiled with cargo, and the
//! `<target>/spirit/<profile>/<name>/` layout. `ops::build` and
//! `ops::check` both stand on this module, and neither on the other.

use std::path::{Path, PathBuf};

use crate::compile::{self, CompileUnit, WasmArtifact};
use crate::options::BuildOptions;
use crate::project::{self, Project, Selection};
use crate::{Error, Shell, toolchain};

/// Where a build starts: the `Cargo.toml`, the directory cargo runs in, and
/// the package's name when that `Cargo.toml` is itself a spirit and the
/// selection is cargo's default.
pub(crate) struct Plan {
    pub(crate) manifest_path: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) hint: Option<String>,
}

impl Plan {
    pub(crate) fn new(selection: &Selection) -> Result<Plan, Error> {
        let manifest_path = project::selection_manifest(selection)?;
        let manifest_path = manifest_path.canonicalize().unwrap_or(manifest_path);
        let dir = manifest_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        let hint = (selection.packages.is_empty() && !selection.workspace)
            .then(|| project::spirit_name_hint(&manifest_path))
            .flatten();
        Ok(Plan {
            manifest_path,
            dir,
            hint,
        })
    }

    /// `cargo metadata`, then cargo on the spirits it selected; with
    /// `want_rustc`, `rustc -V` runs meanwhile, for the manifest.
    pub(crate) fn load_and_compile(
        &self,
        shell: &Shell,
        options: &BuildOptions,
        want_rustc: bool,
    ) -> Result<(Project, Vec<WasmArtifact>, Option<String>), Error> {
        std::thread::scope(|scope| {
            let rustc = want_rustc.then(|| scope.spawn(|| toolchain::rustc_version(&self.dir)));
            let project = project::load_at(&options.selection, self.manifest_path.clone())?;
            let units: Vec<CompileUnit> = project.spirits.iter().map(CompileUnit::of).collect();
            let artifacts = compile::compile(shell, &self.dir, &units, &options.compile)?;
            let rustc = rustc.and_then(|t| t.join().ok().flatten());
            Ok((project, artifacts, rustc))
        })
    }
}

/// Reads the workspace and compiles the selected spirits (what `check`
/// needs; `build` first tries the quicker path of [`Plan`]).
pub(crate) fn load_and_compile(
    shell: &Shell,
    options: &BuildOptions,
) -> Result<(Project, Vec<WasmArtifact>), Error> {
    let (project, artifacts, _) =
        Plan::new(&options.selection)?.load_and_compile(shell, options, false)?;
    Ok((project, artifacts))
}

/// Where `cargo spirit build` writes a spirit:
/// `<target>/spirit/<profile>/<name>/`.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::ops::artifact_dir(Path::new("target"), "release", "hello");
/// assert_eq!(dir, Path::new("target/spirit/release/hello"));
/// ```
pub fn artifact_dir(target_dir: &Path, profile_dir: &str, name: &str) -> PathBuf {
    target_dir.join("spirit").join(profile_dir).join(name)
}

/// The build directories of the spirits `options` selects, built or not
/// (what `sign`, `verify` and `pack` work on without a TARGET).
///
/// # Errors
///
/// Fails when the workspace cannot be read.
pub fn built_dirs(options: &BuildOptions) -> Result<Vec<PathBuf>, Error> {
    let project = project::load(&options.selection)?;
    let target = options
        .compile
        .target_dir
        .clone()
        .unwrap_or(project.target_directory);
    Ok(project
        .spirits
        .iter()
        .map(|s| artifact_dir(&target, options.compile.profile_dir(), &s.name))
        .collect())
}
