//! Where a spirit's `spirit-sdk` comes from until the SDK is on crates.io.
//!
//! A new spirit depends on the SDK by a version requirement
//! (`spirit-sdk = "0.1"`, [`requirement`]), the line it keeps once the SDK
//! is published. Until then this machine's SDK ([`local`]: the directory in
//! `SPIRIT_SDK_PATH`, else the source tree cargo-spirit was built from)
//! satisfies it through cargo's `[patch.crates-io]`, given two ways:
//!
//! - on every cargo command cargo-spirit runs, as `--config` ([`Patch::config_arg`]);
//! - for plain `cargo test`, in `.cargo/config.toml` at the workspace root
//!   ([`Patch::write_cargo_config`]), a file naming a path of this machine,
//!   which cargo-spirit writes (and refreshes, when it is its own) and the
//!   templates' `.gitignore` keeps out of version control.
//!
//! A crate that names the SDK by path, or a crate that does not depend on
//! it, gets neither: cargo warns about a patch nothing uses.

use std::path::{Path, PathBuf};

use crate::fs::FsError;

/// The environment variable naming the `spirit-sdk` directory the patch
/// points at (overriding the source tree cargo-spirit was built from).
pub const SDK_PATH_ENV: &str = "SPIRIT_SDK_PATH";

/// The first line of a `.cargo/config.toml` cargo-spirit wrote, so that it
/// refreshes its own file and never touches one of the user's.
const MARKER: &str = "# Written by cargo-spirit";

/// The version requirement a new spirit's `Cargo.toml` gets: the
/// compatible releases of this cargo-spirit's SDK (`"0.1"` for 0.1.x).
///
/// ```
/// assert_eq!(spirit_build::sdk::requirement(), "0.1");
/// ```
pub fn requirement() -> String {
    let mut parts = crate::VERSION.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}"),
        (Some(major), _) => major.to_owned(),
        _ => crate::VERSION.to_owned(),
    }
}

/// This machine's SDK: `$SPIRIT_SDK_PATH` when set, else the `spirit-sdk`
/// directory of the source tree cargo-spirit was built from, when it is
/// still there; `None` once neither is (then crates.io must have it).
pub fn local() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(SDK_PATH_ENV) {
        let path = PathBuf::from(path);
        return Some(std::path::absolute(&path).unwrap_or(path));
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spirit-sdk");
    built_from
        .join("Cargo.toml")
        .is_file()
        .then(|| built_from.canonicalize().unwrap_or(built_from))
}

/// The `[patch.crates-io]` that gives a workspace this machine's SDK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    /// The SDK's directory.
    pub sdk: PathBuf,
    /// The workspace root (where `.cargo/config.toml` goes).
    pub root: PathBuf,
}

/// What [`Patch::write_cargo_config`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CargoConfig {
    /// The file was written (it was missing, or cargo-spirit's and stale).
    Written(PathBuf),
    /// cargo-spirit's file already says this.
    UpToDate,
    /// The user's own file is there: left alone.
    Foreign(PathBuf),
}

impl Patch {
    /// The patch the packages of `manifests` need: `Some` when one depends
    /// on `spirit-sdk` by version (directly, or through the workspace's
    /// `[workspace.dependencies]`) and this machine has an SDK ([`local`]).
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let manifest = tmp.path().join("Cargo.toml");
    /// std::fs::write(&manifest, "[package]\nname = \"a\"\n[dependencies]\nspirit-sdk = { path = \"../sdk\" }\n").unwrap();
    /// assert_eq!(spirit_build::sdk::Patch::for_manifests([manifest.as_path()]), None);
    /// ```
    pub fn for_manifests<'a>(manifests: impl IntoIterator<Item = &'a Path>) -> Option<Patch> {
        let root = manifests.into_iter().find_map(registry_dependent)?;
        Some(Patch {
            sdk: local()?,
            root,
        })
    }

    /// The argument of cargo's `--config` that applies the patch.
    ///
    /// ```
    /// use spirit_build::sdk::Patch;
    /// let patch = Patch { sdk: "/src/spirit-sdk".into(), root: "/w".into() };
    /// assert_eq!(patch.config_arg(), r#"patch.crates-io.spirit-sdk.path="/src/spirit-sdk""#);
    /// ```
    pub fn config_arg(&self) -> String {
        format!("patch.crates-io.spirit-sdk.path={}", self.path_value())
    }

    fn path_value(&self) -> toml_edit::Value {
        toml_edit::Value::from(self.sdk.to_string_lossy().as_ref())
    }

    /// The text of cargo-spirit's `.cargo/config.toml`.
    fn cargo_config(&self) -> String {
        format!(
            "{MARKER} so that plain `cargo test` finds spirit-sdk on this machine\n\
             # until it is on crates.io. It names a path of this machine: keep it out\n\
             # of version control. cargo-spirit refreshes it while this comment stays.\n\
             [patch.crates-io]\n\
             spirit-sdk = {{ path = {} }}\n",
            self.path_value()
        )
    }

    /// Writes the patch into `<root>/.cargo/config.toml` for plain `cargo`
    /// commands, unless the user has a file of their own there.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be written.
    pub fn write_cargo_config(&self) -> Result<CargoConfig, FsError> {
        let path = self.root.join(".cargo").join("config.toml");
        let text = self.cargo_config();
        match std::fs::read_to_string(&path) {
            Ok(old) if old == text => return Ok(CargoConfig::UpToDate),
            Ok(old) if !old.starts_with(MARKER) => return Ok(CargoConfig::Foreign(path)),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(FsError::new("read", &path, e));
            }
            _ => {}
        }
        if let Some(dir) = path.parent() {
            crate::fs::create_dir_all(dir)?;
        }
        crate::fs::write_atomic(&path, text.as_bytes())?;
        Ok(CargoConfig::Written(path))
    }
}

/// The workspace root of the package at `manifest` when it depends on
/// `spirit-sdk` from crates.io.
fn registry_dependent(manifest: &Path) -> Option<PathBuf> {
    let doc = read_toml(manifest)?;
    let dir = manifest.parent()?;
    let root = workspace_root(dir, &doc);
    let tables = ["dependencies", "dev-dependencies", "build-dependencies"];
    let targets = doc
        .get("target")
        .and_then(toml_edit::Item::as_table_like)
        .into_iter()
        .flat_map(|t| t.iter().map(|(_, item)| item));
    let mut owners = std::iter::once(doc.as_item()).chain(targets);
    let uses_registry = owners.any(|owner| {
        tables.iter().any(|table| {
            let dependency = owner.get(table).and_then(|t| t.get("spirit-sdk"));
            match dependency {
                Some(d) if d.get("workspace").and_then(toml_edit::Item::as_bool) == Some(true) => {
                    read_toml(&root.join("Cargo.toml"))
                        .and_then(|ws| {
                            ws.get("workspace")?
                                .get("dependencies")?
                                .get("spirit-sdk")
                                .map(from_registry)
                        })
                        .unwrap_or(false)
                }
                Some(d) => from_registry(d),
                None => false,
            }
        })
    });
    uses_registry.then_some(root)
}

/// Whether a dependency is a registry one: a version string, or a table
/// with neither `path` nor `git` (nor another registry).
fn from_registry(dependency: &toml_edit::Item) -> bool {
    if dependency.is_str() {
        return true;
    }
    dependency.as_table_like().is_some_and(|t| {
        !["path", "git", "registry", "workspace"]
            .iter()
            .any(|k| t.contains_key(k))
    })
}

/// The directory of the nearest `Cargo.toml` with a `[workspace]` at or
/// above `dir` (the package's own directory when there is none).
fn workspace_root(dir: &Path, doc: &toml_edit::DocumentMut) -> PathBuf {
    if doc.contains_key("workspace") {
        return dir.to_owned();
    }
    dir.ancestors()
        .skip(1)
        .find(|d| read_toml(&d.join("Cargo.toml")).is_some_and(|ws| ws.contains_key("workspace")))
        .unwrap_or(dir)
        .to_owned()
}

fn read_toml(path: &Path) -> Option<toml_edit::DocumentMut> {
    let bytes = crate::fs::read_bounded(path, crate::fs::MAX_TEXT_FILE, "a Cargo.toml").ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_version_requirement_needs_the_patch_at_the_workspace_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"a\", \"b\"]\n[workspace.dependencies]\nspirit-sdk = \"0.1\"\n",
        );
        let a = root.join("a/Cargo.toml");
        write(
            &a,
            "[package]\nname = \"a\"\n[dependencies]\nspirit-sdk.workspace = true\n",
        );
        let b = root.join("b/Cargo.toml");
        write(
            &b,
            "[package]\nname = \"b\"\n[target.'cfg(target_arch = \"wasm32\")'.dependencies]\nspirit-sdk = { version = \"0.1\", features = [\"alloc\"] }\n",
        );
        assert_eq!(registry_dependent(&a), Some(root.to_owned()));
        assert_eq!(registry_dependent(&b), Some(root.to_owned()));
        let c = root.join("c/Cargo.toml");
        write(
            &c,
            "[package]\nname = \"c\"\n[dependencies]\nserde = \"1\"\n",
        );
        assert_eq!(registry_dependent(&c), None);
    }

    #[test]
    fn the_cargo_config_is_written_refreshed_and_never_taken_from_the_user() {
        let tmp = tempfile::tempdir().unwrap();
        let patch = Patch {
            sdk: "/a/spirit-sdk".into(),
            root: tmp.path().to_owned(),
        };
        let file = tmp.path().join(".cargo/config.toml");
        assert_eq!(
            patch.write_cargo_config().unwrap(),
            CargoConfig::Written(file.clone())
        );
        assert_eq!(patch.write_cargo_config().unwrap(), CargoConfig::UpToDate);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("spirit-sdk = { path = \"/a/spirit-sdk\" }"),
            "{text}"
        );
        let moved = Patch {
            sdk: "/b/spirit-sdk".into(),
            ..patch
        };
        assert_eq!(
            moved.write_cargo_config().unwrap(),
            CargoConfig::Written(file.clone())
        );
        std::fs::write(&file, "[build]\njobs = 1\n").unwrap();
        assert_eq!(
            moved.write_cargo_config().unwrap(),
            CargoConfig::Foreign(file.clone())
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "[build]\njobs = 1\n"
        );
    }
}
