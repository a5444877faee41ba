//! The spirit manifest: `manifest.toml`, written beside the stripped wasm.
//!
//! It says what the spirit is (name, version, authors, …), what it may do
//! (capabilities, entry), which bytes it is (the wasm's blake3 and size) and
//! how it was built. It is written with `toml_edit` in a fixed key order, so
//! the same spirit always gives the same bytes, and it reads back into the
//! same [`Manifest`].

use std::fmt;
use std::path::Path;

use spirit_sdk::abi::Capability;
use toml_edit::{Array, DocumentMut, Item, Table, value};

/// The file name of a manifest.
pub const FILE_NAME: &str = "manifest.toml";

/// Everything the manifest records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The spirit's name (its package name).
    pub name: String,
    /// Its version.
    pub version: cargo_metadata::semver::Version,
    /// `package.description`.
    pub description: Option<String>,
    /// `package.authors`.
    pub authors: Vec<String>,
    /// `package.license`.
    pub license: Option<String>,
    /// `package.repository`.
    pub repository: Option<String>,
    /// The exported function the host calls.
    pub entry: String,
    /// The capabilities the spirit declares, sorted.
    pub capabilities: Vec<Capability>,
    /// The stripped module.
    pub wasm: WasmInfo,
    /// How it was built.
    pub build: BuildInfo,
}

/// Which bytes the spirit is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmInfo {
    /// The module's file name, beside the manifest.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its blake3 hash, as 64 lowercase hex characters.
    pub blake3: String,
}

/// How the spirit was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// The cargo-spirit (spirit-build) version.
    pub tool: String,
    /// `rustc -V`.
    pub rustc: Option<String>,
    /// The compilation target.
    pub target: String,
    /// The cargo profile.
    pub profile: String,
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub struct ManifestError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid spirit manifest: {}", self.message)
    }
}

fn err(message: impl Into<String>) -> ManifestError {
    ManifestError {
        message: message.into(),
    }
}

impl Manifest {
    /// The manifest's canonical text. The same manifest always gives the same
    /// bytes: keys in a fixed order, optional keys omitted when absent.
    pub fn to_toml(&self) -> String {
        let mut doc = DocumentMut::new();
        doc.insert("name", value(&self.name));
        doc.insert("version", value(self.version.to_string()));
        if let Some(d) = &self.description {
            doc.insert("description", value(d));
        }
        if !self.authors.is_empty() {
            doc.insert("authors", value(self.authors.iter().collect::<Array>()));
        }
        if let Some(l) = &self.license {
            doc.insert("license", value(l));
        }
        if let Some(r) = &self.repository {
            doc.insert("repository", value(r));
        }
        doc.insert("entry", value(&self.entry));
        doc.insert(
            "capabilities",
            value(
                self.capabilities
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Array>(),
            ),
        );

        let mut wasm = Table::new();
        wasm.insert("file", value(&self.wasm.file));
        wasm.insert("size", value(self.wasm.size as i64));
        wasm.insert("blake3", value(&self.wasm.blake3));
        doc.insert("wasm", Item::Table(wasm));

        let mut build = Table::new();
        build.insert("tool", value(&self.build.tool));
        if let Some(r) = &self.build.rustc {
            build.insert("rustc", value(r));
        }
        build.insert("target", value(&self.build.target));
        build.insert("profile", value(&self.build.profile));
        doc.insert("build", Item::Table(build));

        format!(
            "# Written by cargo-spirit: what this spirit is, may do, and which bytes it is.\n{doc}"
        )
    }

    /// Reads a manifest from its text.
    ///
    /// # Errors
    ///
    /// Names the missing or malformed key.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| err(e.message().to_owned()))?;
        let root = doc.as_table();
        let wasm = table(root, "wasm")?;
        let build = table(root, "build")?;
        let version = string(root, "version")?;
        Ok(Manifest {
            name: string(root, "name")?,
            version: version
                .parse()
                .map_err(|e| err(format!("`version` is not a semantic version: {e}")))?,
            description: opt_string(root, "description")?,
            authors: strings(root, "authors")?.unwrap_or_default(),
            license: opt_string(root, "license")?,
            repository: opt_string(root, "repository")?,
            entry: string(root, "entry")?,
            capabilities: strings(root, "capabilities")?
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    Capability::from_name(c).ok_or_else(|| err(format!("unknown capability `{c}`")))
                })
                .collect::<Result<_, _>>()?,
            wasm: WasmInfo {
                file: string(wasm, "file")?,
                size: wasm
                    .get("size")
                    .and_then(Item::as_integer)
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| err("`wasm.size` must be a non-negative integer"))?,
                blake3: string(wasm, "blake3")?,
            },
            build: BuildInfo {
                tool: string(build, "tool")?,
                rustc: opt_string(build, "rustc")?,
                target: string(build, "target")?,
                profile: string(build, "profile")?,
            },
        })
    }

    /// Reads `manifest.toml` from a file.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or is not a manifest.
    pub fn read(path: &Path) -> Result<Manifest, crate::Error> {
        let bytes = crate::fs::read(path)?;
        let text = String::from_utf8(bytes).map_err(|_| err("not UTF-8"))?;
        Manifest::from_toml(&text).map_err(|error| crate::Error::Manifest {
            path: path.to_owned(),
            error,
        })
    }
}

fn table<'a>(root: &'a Table, key: &str) -> Result<&'a Table, ManifestError> {
    root.get(key)
        .and_then(Item::as_table)
        .ok_or_else(|| err(format!("missing table `[{key}]`")))
}

fn opt_string(t: &Table, key: &str) -> Result<Option<String>, ManifestError> {
    match t.get(key) {
        None => Ok(None),
        Some(item) => item
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| err(format!("`{key}` must be a string"))),
    }
}

fn string(t: &Table, key: &str) -> Result<String, ManifestError> {
    opt_string(t, key)?.ok_or_else(|| err(format!("missing key `{key}`")))
}

fn strings(t: &Table, key: &str) -> Result<Option<Vec<String>>, ManifestError> {
    let Some(item) = t.get(key) else {
        return Ok(None);
    };
    let array = item
        .as_array()
        .ok_or_else(|| err(format!("`{key}` must be an array of strings")))?;
    array
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| err(format!("`{key}` must be an array of strings")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            name: "hello".into(),
            version: "1.2.3-beta.1".parse().unwrap(),
            description: Some("Says \"hello\"".into()),
            authors: vec!["Ada <ada@example.com>".into()],
            license: Some("MIT".into()),
            repository: None,
            entry: "run".into(),
            capabilities: vec![Capability::SensorTime, Capability::ActuatorLog],
            wasm: WasmInfo {
                file: "hello.wasm".into(),
                size: 812,
                blake3: "ab".repeat(32),
            },
            build: BuildInfo {
                tool: "0.1.0".into(),
                rustc: Some("rustc 1.95.0".into()),
                target: "wasm32-unknown-unknown".into(),
                profile: "release".into(),
            },
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let text = m.to_toml();
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
        assert_eq!(Manifest::from_toml(&text).unwrap().to_toml(), text);
    }

    #[test]
    fn missing_keys_are_named() {
        let text = sample().to_toml().replace("entry = \"run\"\n", "");
        assert_eq!(
            Manifest::from_toml(&text).unwrap_err().message,
            "missing key `entry`"
        );
    }
}
