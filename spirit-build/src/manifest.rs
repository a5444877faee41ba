//! The spirit manifest: `manifest.toml`, written beside the stripped wasm.
//!
//! It says what the spirit is (name, version, authors, …), what it may do
//! (capabilities, entry), within which limits and at what price it runs,
//! which bytes it is (the wasm's blake3 and size) and how it was built. It is written with `toml_edit` in a fixed key order, so
//! the same spirit always gives the same bytes, and it reads back into the
//! same [`Manifest`].

use std::fmt;
use std::path::Path;
use std::time::Duration;

use spirit_sdk::abi::Capability;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::limits::Limits;

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
    /// The limits the module was checked against at build time.
    pub limits: ModuleLimits,
    /// The limits a run uses unless the caller overrides them (`[run]`).
    pub run: Limits,
    /// What a run costs, when the author set a price.
    pub pricing: Option<Pricing>,
    /// The stripped module.
    pub wasm: WasmInfo,
    /// How it was built.
    pub build: BuildInfo,
}

/// One WebAssembly page: 64 KiB.
pub const PAGE_SIZE: u64 = 64 << 10;

/// The limits a module is checked against when it is built
/// (`max-size` and `memory` in `[package.metadata.spirit]`).
///
/// ```
/// use spirit_build::manifest::ModuleLimits;
/// let limits = ModuleLimits::default();
/// assert_eq!(limits.max_size, 1 << 20);
/// assert_eq!(limits.memory.maximum_pages, 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleLimits {
    /// The most bytes the module may have after stripping (default 1 MiB).
    pub max_size: u64,
    /// Its memory, in pages.
    pub memory: MemoryLimits,
}

impl Default for ModuleLimits {
    fn default() -> ModuleLimits {
        ModuleLimits {
            max_size: 1 << 20,
            memory: MemoryLimits::default(),
        }
    }
}

/// How much linear memory a module may declare, in 64 KiB pages.
///
/// ```
/// use spirit_build::manifest::MemoryLimits;
/// // rustc gives a cdylib 17 pages (1 MiB of stack and its data) to start with.
/// assert!(MemoryLimits::default().initial_pages >= 17);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimits {
    /// The most pages the module's memory may start with (default 32: 2 MiB).
    pub initial_pages: u64,
    /// The most pages it may declare as its maximum (default 1024: 64 MiB,
    /// the sandbox's default memory cap).
    pub maximum_pages: u64,
}

impl Default for MemoryLimits {
    fn default() -> MemoryLimits {
        MemoryLimits {
            initial_pages: 32,
            maximum_pages: 1024,
        }
    }
}

/// The limits a run uses by default (`run` in `[package.metadata.spirit]`,
/// `[run]` in the manifest): the sandbox's own [`Limits`], of which the
/// manifest records `fuel`, `timeout` and `max_memory` (the table and
/// storage limits are the host's, and read back as their defaults).
///
/// ```
/// use spirit_build::manifest::RunDefaults;
/// assert_eq!(RunDefaults::default(), spirit_build::limits::Limits::default());
/// ```
pub type RunDefaults = Limits;

/// What running the spirit costs, in credits (`[pricing]`): the same type
/// the run reports and receipts use.
pub use crate::limits::Pricing;

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
    /// The blake3 of the workspace's `Cargo.lock`, when there is one.
    pub cargo_lock: Option<String>,
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub struct ManifestError {
    /// What is wrong.
    pub message: String,
}

/// Why a `manifest.toml` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    /// The file is not a valid manifest.
    #[error("{}: {error}", path.display())]
    Invalid {
        /// The manifest file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        error: ManifestError,
    },
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
    /// A manifest for a module that was not built from a crate (a
    /// hand-written or generated one): no capabilities, the `run` entry,
    /// default limits and run defaults, and the module's blake3 and size.
    /// Set the other fields as needed.
    ///
    /// ```
    /// use spirit_build::manifest::Manifest;
    ///
    /// let wasm = b"\0asm\x01\0\0\0";
    /// let manifest = Manifest::for_module("tiny", "1.0.0".parse().unwrap(), wasm);
    /// assert_eq!(manifest.wasm.file, "tiny.wasm");
    /// assert_eq!(manifest.wasm.size, 8);
    /// assert_eq!(Manifest::from_toml(&manifest.to_toml()).unwrap(), manifest);
    /// ```
    pub fn for_module(
        name: &str,
        version: cargo_metadata::semver::Version,
        wasm: &[u8],
    ) -> Manifest {
        Manifest {
            name: name.to_owned(),
            version,
            description: None,
            authors: Vec::new(),
            license: None,
            repository: None,
            entry: spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
            capabilities: Vec::new(),
            limits: ModuleLimits::default(),
            run: Limits::default(),
            pricing: None,
            wasm: WasmInfo {
                file: format!("{name}.wasm"),
                size: wasm.len() as u64,
                blake3: blake3::hash(wasm).to_hex().to_string(),
            },
            build: BuildInfo {
                tool: crate::VERSION.to_owned(),
                rustc: None,
                target: crate::toolchain::WASM_TARGET.to_owned(),
                profile: "release".to_owned(),
                cargo_lock: None,
            },
        }
    }

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

        let mut limits = Table::new();
        limits.insert("max-size", int(self.limits.max_size));
        limits.insert(
            "memory-initial-pages",
            int(self.limits.memory.initial_pages),
        );
        limits.insert(
            "memory-maximum-pages",
            int(self.limits.memory.maximum_pages),
        );
        doc.insert("limits", Item::Table(limits));

        let mut run = Table::new();
        run.insert("fuel", int(self.run.fuel));
        run.insert(
            "timeout-ms",
            int(u64::try_from(self.run.timeout.as_millis()).unwrap_or(u64::MAX)),
        );
        run.insert("max-memory", int(self.run.max_memory));
        doc.insert("run", Item::Table(run));

        if let Some(pricing) = &self.pricing {
            let mut table = Table::new();
            table.insert("base_cost", int(pricing.base_cost));
            table.insert("per_fuel_cost", int(pricing.per_fuel_cost));
            if let Some(min) = pricing.min_balance {
                table.insert("min-balance", int(min));
            }
            doc.insert("pricing", Item::Table(table));
        }

        let mut wasm = Table::new();
        wasm.insert("file", value(&self.wasm.file));
        wasm.insert("size", int(self.wasm.size));
        wasm.insert("blake3", value(&self.wasm.blake3));
        doc.insert("wasm", Item::Table(wasm));

        let mut build = Table::new();
        build.insert("tool", value(&self.build.tool));
        if let Some(r) = &self.build.rustc {
            build.insert("rustc", value(r));
        }
        build.insert("target", value(&self.build.target));
        build.insert("profile", value(&self.build.profile));
        if let Some(lock) = &self.build.cargo_lock {
            build.insert("cargo-lock", value(lock));
        }
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
        let limits = table(root, "limits")?;
        let run = table(root, "run")?;
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
            limits: ModuleLimits {
                max_size: integer(limits, "limits", "max-size")?,
                memory: MemoryLimits {
                    initial_pages: integer(limits, "limits", "memory-initial-pages")?,
                    maximum_pages: integer(limits, "limits", "memory-maximum-pages")?,
                },
            },
            run: Limits {
                fuel: integer(run, "run", "fuel")?,
                timeout: Duration::from_millis(integer(run, "run", "timeout-ms")?),
                max_memory: integer(run, "run", "max-memory")?,
                ..Limits::default()
            },
            pricing: match root.get("pricing") {
                None => None,
                Some(_) => {
                    let pricing = table(root, "pricing")?;
                    Some(Pricing {
                        base_cost: integer(pricing, "pricing", "base_cost")?,
                        per_fuel_cost: integer(pricing, "pricing", "per_fuel_cost")?,
                        min_balance: match pricing.get("min-balance") {
                            None => None,
                            Some(_) => Some(integer(pricing, "pricing", "min-balance")?),
                        },
                    })
                }
            },
            wasm: WasmInfo {
                file: string(wasm, "file")?,
                size: integer(wasm, "wasm", "size")?,
                blake3: string(wasm, "blake3")?,
            },
            build: BuildInfo {
                tool: string(build, "tool")?,
                rustc: opt_string(build, "rustc")?,
                target: string(build, "target")?,
                profile: string(build, "profile")?,
                cargo_lock: opt_string(build, "cargo-lock")?,
            },
        })
    }

    /// Reads `manifest.toml` from a file.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or is not a manifest.
    pub fn read(path: &Path) -> Result<Manifest, ReadError> {
        let bytes = crate::fs::read(path)?;
        let invalid = |error| ReadError::Invalid {
            path: path.to_owned(),
            error,
        };
        let text = String::from_utf8(bytes).map_err(|_| invalid(err("not UTF-8")))?;
        Manifest::from_toml(&text).map_err(invalid)
    }
}

/// TOML integers are i64; every count we record fits.
fn int(n: u64) -> Item {
    value(i64::try_from(n).unwrap_or(i64::MAX))
}

fn integer(t: &Table, table: &str, key: &str) -> Result<u64, ManifestError> {
    t.get(key)
        .and_then(Item::as_integer)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| err(format!("`{table}.{key}` must be a non-negative integer")))
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
            limits: ModuleLimits {
                max_size: 4096,
                memory: MemoryLimits {
                    initial_pages: 17,
                    maximum_pages: 64,
                },
            },
            run: Limits {
                fuel: 10_000,
                timeout: Duration::from_millis(1500),
                max_memory: 4 << 20,
                ..Limits::default()
            },
            pricing: Some(Pricing {
                base_cost: 100,
                per_fuel_cost: 1,
                min_balance: None,
            }),
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
                cargo_lock: Some("cd".repeat(32)),
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
    fn a_minimum_balance_round_trips() {
        let mut m = sample();
        m.pricing = Some(Pricing {
            base_cost: 100,
            per_fuel_cost: 1,
            min_balance: Some(1_000),
        });
        let text = m.to_toml();
        assert!(
            text.contains("per_fuel_cost = 1\nmin-balance = 1000\n"),
            "{text}"
        );
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
    }

    #[test]
    fn optional_parts_round_trip_when_absent() {
        let mut m = sample();
        m.pricing = None;
        m.description = None;
        m.build.cargo_lock = None;
        let text = m.to_toml();
        assert!(!text.contains("[pricing]"));
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
    }

    #[test]
    fn the_bytes_are_fixed() {
        assert_eq!(
            sample().to_toml(),
            format!(
                "# Written by cargo-spirit: what this spirit is, may do, and which bytes it is.
name = \"hello\"
version = \"1.2.3-beta.1\"
description = 'Says \"hello\"'
authors = [\"Ada <ada@example.com>\"]
license = \"MIT\"
entry = \"run\"
capabilities = [\"sensor_time\", \"actuator_log\"]

[limits]
max-size = 4096
memory-initial-pages = 17
memory-maximum-pages = 64

[run]
fuel = 10000
timeout-ms = 1500
max-memory = 4194304

[pricing]
base_cost = 100
per_fuel_cost = 1

[wasm]
file = \"hello.wasm\"
size = 812
blake3 = \"{}\"

[build]
tool = \"0.1.0\"
rustc = \"rustc 1.95.0\"
target = \"wasm32-unknown-unknown\"
profile = \"release\"
cargo-lock = \"{}\"
",
                "ab".repeat(32),
                "cd".repeat(32)
            )
        );
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
