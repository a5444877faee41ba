//! Writes a template as a new spirit crate: `cargo spirit new` and `init`.
//!
//! The templates themselves are the `spirit-templates` crate
//! (`templates/` at the repository root), which embeds their files so an
//! installed cargo-spirit needs no source tree; they are re-exported here.
//! Files ending in `.in` have `{{name}}` and `{{sdk}}` replaced, and
//! `gitignore` becomes `.gitignore` (cargo would not package a dotfile
//! template).

use std::path::{Path, PathBuf};

pub use spirit_templates::{File, TEMPLATES, Template, find};

/// Where a new spirit's `spirit-sdk` dependency comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdkSource {
    /// A path dependency on a local checkout of the SDK.
    Path(PathBuf),
    /// A version requirement on crates.io.
    Version(String),
}

impl SdkSource {
    /// What `cargo spirit new` writes: the version requirement of this
    /// cargo-spirit's SDK ([`crate::sdk::requirement`]), portable to any
    /// machine; until the SDK is on crates.io, cargo-spirit supplies it
    /// through a `[patch]` (see [`crate::sdk`]).
    ///
    /// ```
    /// use spirit_build::template::SdkSource;
    /// assert_eq!(SdkSource::detect(), SdkSource::Version("0.1".into()));
    /// ```
    pub fn detect() -> SdkSource {
        SdkSource::Version(crate::sdk::requirement())
    }

    /// The dependency as an inline TOML value.
    fn to_toml(&self) -> String {
        match self {
            SdkSource::Path(path) => {
                let path = toml_edit::Value::from(path.to_string_lossy().as_ref());
                format!("{{ path = {path} }}")
            }
            SdkSource::Version(v) => toml_edit::Value::from(v.as_str()).to_string(),
        }
    }

    /// The dependency with the SDK's `allocator` feature (`{{sdk+allocator}}`
    /// in a template), for a template that allocates (`fetch`).
    fn to_toml_with_allocator(&self) -> String {
        match self {
            SdkSource::Path(path) => {
                let path = toml_edit::Value::from(path.to_string_lossy().as_ref());
                format!("{{ path = {path}, features = [\"allocator\"] }}")
            }
            SdkSource::Version(v) => {
                let v = toml_edit::Value::from(v.as_str());
                format!("{{ version = {v}, features = [\"allocator\"] }}")
            }
        }
    }
}

/// Why a spirit could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The name is not a valid package name.
    #[error(
        "invalid spirit name `{name}`: {reason}\nhelp: use letters, digits, `-` and `_`, starting with a letter, such as `hello-spirit`"
    )]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The destination exists.
    #[error("destination `{}` already exists\nhelp: choose another name or `--path`; cargo-spirit never overwrites files", .0.display())]
    Exists(PathBuf),
    /// No template by that name.
    #[error("unknown template `{0}`\nhelp: {help}", help = template_help(.0))]
    UnknownTemplate(String),
    /// `cargo spirit init` in a directory that is already a package.
    #[error("`{}` already exists\nhelp: `cargo spirit init` starts a spirit where there is no package yet; to turn this package into a spirit, add `crate-type = [\"cdylib\"]` under `[lib]` and a `[package.metadata.spirit]` table (see the README)", .0.display())]
    AlreadyAPackage(PathBuf),
    /// The directory's name cannot be the spirit's name.
    #[error("cannot name a spirit after the directory `{}`{}\nhelp: give it a name with `--name NAME`", dir.display(), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    NoName {
        /// The directory.
        dir: PathBuf,
        /// Why its name is not a valid spirit name, if it has one.
        reason: Option<String>,
    },
    /// Writing failed.
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
}

fn template_help(name: &str) -> String {
    let names: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
    crate::suggest::did_you_mean(name, &names)
}

/// Checks a spirit name: a valid cargo package name that is also safe as a
/// file name in the registry.
///
/// ```
/// use spirit_build::template::validate_name;
/// assert!(validate_name("hello-spirit").is_ok());
/// assert!(validate_name("1st").is_err());
/// assert!(validate_name("../evil").is_err());
/// assert!(validate_name("fn").is_err());
/// ```
///
/// # Errors
///
/// Says what is wrong with the name.
pub fn validate_name(name: &str) -> Result<(), TemplateError> {
    let invalid = |reason: String| {
        Err(TemplateError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return invalid("it is empty".to_owned());
    };
    if !first.is_ascii_alphabetic() {
        return invalid(format!("it starts with `{first}`, not a letter"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return invalid(format!("`{c}` is not allowed in a name"));
    }
    if name.len() > 64 {
        return invalid("it is longer than 64 characters".to_owned());
    }
    const RESERVED: &[&str] = &[
        "as",
        "async",
        "await",
        "break",
        "const",
        "continue",
        "crate",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "gen",
        "macro",
        "override",
        "priv",
        "try",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "core",
        "std",
        "alloc",
        "proc_macro",
        "test",
        "spirit_sdk",
        "spirit-sdk",
    ];
    if RESERVED.contains(&name) {
        return invalid("it is a Rust keyword or the name of a crate every spirit uses".to_owned());
    }
    Ok(())
}

/// Writes `template` as a new crate named `name` in `dir`, which must not
/// exist yet. Returns the files written.
///
/// ```
/// use spirit_build::template::{self, SdkSource};
///
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path().join("greeter");
/// let hello = template::find("hello").unwrap();
/// let sdk = SdkSource::Version("0.1.0".into());
/// let files = template::write(hello, "greeter", &dir, &sdk).unwrap();
/// assert!(files.contains(&dir.join("Cargo.toml")));
/// assert!(template::write(hello, "greeter", &dir, &sdk).is_err(), "never overwrites");
/// ```
///
/// # Errors
///
/// Fails when `dir` exists or a file cannot be written.
pub fn write(
    template: &Template,
    name: &str,
    dir: &Path,
    sdk: &SdkSource,
) -> Result<Vec<PathBuf>, TemplateError> {
    if dir.exists() {
        return Err(TemplateError::Exists(dir.to_owned()));
    }
    let mut written = Vec::new();
    for (file, contents) in render(template, name, sdk) {
        let path = dir.join(file);
        write_file(&path, &contents)?;
        written.push(path);
    }
    Ok(written)
}

/// What [`write_into`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The files written.
    pub written: Vec<PathBuf>,
    /// The template's files that already existed and were left alone.
    pub kept: Vec<PathBuf>,
}

/// Writes `template` as a crate named `name` into `dir`, which may exist
/// (it is created when it does not) but must not hold a `Cargo.toml`.
/// Files that already exist are kept as they are, never overwritten.
///
/// ```
/// use spirit_build::template::{self, SdkSource};
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("src")).unwrap();
/// std::fs::write(dir.path().join("src/lib.rs"), "// mine").unwrap();
/// let hello = template::find("hello").unwrap();
/// let sdk = SdkSource::Version("0.1.0".into());
/// let done = template::write_into(hello, "greeter", dir.path(), &sdk).unwrap();
/// assert_eq!(done.kept, [dir.path().join("src/lib.rs")]);
/// assert_eq!(std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(), "// mine");
/// ```
///
/// # Errors
///
/// Fails when `dir` already holds a `Cargo.toml`, or a file cannot be
/// written.
pub fn write_into(
    template: &Template,
    name: &str,
    dir: &Path,
    sdk: &SdkSource,
) -> Result<Written, TemplateError> {
    let manifest = dir.join("Cargo.toml");
    if manifest.exists() {
        return Err(TemplateError::AlreadyAPackage(manifest));
    }
    let mut done = Written::default();
    for (file, contents) in render(template, name, sdk) {
        let path = dir.join(file);
        if path.exists() {
            done.kept.push(path);
        } else {
            write_file(&path, &contents)?;
            done.written.push(path);
        }
    }
    Ok(done)
}

/// The template's files for a crate called `name`: relative paths and
/// contents, placeholders replaced.
fn render(template: &Template, name: &str, sdk: &SdkSource) -> Vec<(&'static str, String)> {
    let with_allocator = sdk.to_toml_with_allocator();
    let sdk = sdk.to_toml();
    template
        .files
        .iter()
        .map(|&File { path, contents }| {
            let (file, contents) = match path.strip_suffix(".in") {
                Some(stem) => (
                    stem,
                    contents
                        .replace("{{sdk+allocator}}", &with_allocator)
                        .replace("{{sdk}}", &sdk),
                ),
                None => (path, contents.to_owned()),
            };
            let file = if file == "gitignore" {
                ".gitignore"
            } else {
                file
            };
            (file, contents.replace("{{name}}", name))
        })
        .collect()
}

fn write_file(path: &Path, contents: &str) -> Result<(), TemplateError> {
    if let Some(parent) = path.parent() {
        crate::fs::create_dir_all(parent)?;
    }
    crate::fs::write_atomic(path, contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_a_spirit_crate() {
        let sdk = SdkSource::Version("0.1.0".to_owned());
        for template in TEMPLATES {
            let files = render(template, "x-spirit", &sdk);
            let (_, manifest) = files
                .iter()
                .find(|(f, _)| *f == "Cargo.toml")
                .unwrap_or_else(|| panic!("{} has no Cargo.toml", template.name));
            let config = crate::project::parse_config(Path::new("Cargo.toml"), manifest)
                .unwrap_or_else(|e| panic!("{}: {e}", template.name));
            assert!(
                manifest.contains("name = \"x-spirit\""),
                "{}",
                template.name
            );
            assert!(
                manifest.contains("spirit-sdk = \"0.1.0\"")
                    || manifest.contains(
                        "spirit-sdk = { version = \"0.1.0\", features = [\"allocator\"] }"
                    ),
                "{}",
                template.name
            );
            assert!(!manifest.contains("{{"), "{}", template.name);
            assert!(files.iter().any(|(f, _)| *f == "src/lib.rs"));
            assert!(files.iter().any(|(f, _)| *f == ".gitignore"));
            // The description in `--template`'s help lists the capabilities.
            for capability in &config.capabilities {
                assert!(
                    template.description.contains(capability.as_str()),
                    "{}: {capability} is not in its description",
                    template.name
                );
            }
        }
    }
}
