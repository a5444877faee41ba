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

use crate::limits::{Limits, check};
use crate::net::{Allowlist, ConnectRule, ListenRule};

/// The file name of a manifest.
pub const FILE_NAME: &str = "manifest.toml";

/// Everything the manifest records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The spirit's name (its package name).
    pub name: String,
    /// Its version.
    pub version: semver::Version,
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
    /// Where the spirit may connect and listen (`[network]`, from
    /// `[package.metadata.spirit.network]`); granted with its capabilities.
    pub network: Allowlist,
    /// The spirits it may call, each pinned to the exact version the build
    /// resolved (`[dependencies.NAME]`), sorted by name.
    pub dependencies: Vec<Dependency>,
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

/// One spirit this spirit may call, as the build resolved it: the
/// requirement from `Cargo.toml` and the installed spirit it matched, by
/// exact version, wasm hash and author. The manifest (and so its
/// signature) holds it, as `Cargo.lock` holds a crate's resolution.
///
/// ```
/// use spirit_build::manifest::{Dependency, Manifest};
///
/// let mut manifest = Manifest::for_module("pipeline", "1.0.0".parse().unwrap(), b"");
/// manifest.dependencies.push(Dependency {
///     name: "echo".into(),
///     req: "^1.0".into(),
///     version: "1.2.0".parse().unwrap(),
///     blake3: "ab".repeat(32),
///     author: None,
/// });
/// let text = manifest.to_toml();
/// assert!(text.contains("[dependencies.echo]\nreq = \"^1.0\"\nversion = \"1.2.0\"\n"));
/// assert_eq!(Manifest::from_toml(&text).unwrap(), manifest);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The dependency's spirit name.
    pub name: String,
    /// The requirement written in `Cargo.toml` (`^1.0`).
    pub req: String,
    /// The exact version the build resolved.
    pub version: semver::Version,
    /// That version's wasm blake3, 64 lowercase hex characters.
    pub blake3: String,
    /// Who signed it (an ed25519 public key in hex), or `None` when it was
    /// installed unsigned.
    pub author: Option<String>,
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
    pub fn for_module(name: &str, version: semver::Version, wasm: &[u8]) -> Manifest {
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
            network: Allowlist::default(),
            dependencies: Vec::new(),
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
        // Written only when set, so the manifests (and signatures) of
        // spirits that keep the default stay as they were.
        if self.run.max_input != crate::limits::DEFAULT_MAX_INPUT {
            run.insert("max-input", int(self.run.max_input));
        }
        if self.run.metering != crate::limits::Metering::Fuel {
            run.insert("metering", value(self.run.metering.as_str()));
        }
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

        // Written only when declared, so other manifests keep their bytes.
        if !self.network.is_empty() {
            let mut table = Table::new();
            let connect = self.network.connect.iter().map(|r| r.to_string());
            table.insert("connect", value(connect.collect::<Array>()));
            let listen = self.network.listen.iter().map(|r| r.to_string());
            table.insert("listen", value(listen.collect::<Array>()));
            doc.insert("network", Item::Table(table));
        }
        // Written only when there are some, so the manifests (and
        // signatures) of spirits without dependencies stay as they were.
        if !self.dependencies.is_empty() {
            let mut all = Table::new();
            all.set_implicit(true);
            for dependency in &self.dependencies {
                let mut table = Table::new();
                table.insert("req", value(&dependency.req));
                table.insert("version", value(dependency.version.to_string()));
                table.insert("blake3", value(&dependency.blake3));
                if let Some(author) = &dependency.author {
                    table.insert("author", value(author));
                }
                all.insert(&dependency.name, Item::Table(table));
            }
            doc.insert("dependencies", Item::Table(all));
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

    /// Reads a manifest from its text. Every key is checked: an error names
    /// the key and its line. Text values must be one line of printable
    /// characters (no [terminal control](crate::shell::is_terminal_control)),
    /// and the run defaults are range-checked as `run`'s flags are.
    ///
    /// ```
    /// use spirit_build::manifest::Manifest;
    /// let mut manifest = Manifest::for_module("x", "1.0.0".parse().unwrap(), b"");
    /// manifest.description = Some("fine\ncaps    none".into());
    /// let error = Manifest::from_toml(&manifest.to_toml()).unwrap_err();
    /// assert!(error.message.starts_with("`description` (line 4) holds a control character, U+000A"), "{error}");
    /// ```
    ///
    /// # Errors
    ///
    /// Names the missing or malformed key, and its line.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let line = line_of(text, span.start);
                    match key_on_line(text, line) {
                        Some(key) => format!("`{key}` (line {line}): "),
                        None => format!("line {line}: "),
                    }
                })
                .unwrap_or_default();
            err(format!(
                "{at}{}",
                crate::shell::escape(e.message().trim_end())
            ))
        })?;
        let fields = Fields { text };
        let root = doc.as_table();
        let wasm = fields.table(root, "wasm")?;
        let build = fields.table(root, "build")?;
        let limits = fields.table(root, "limits")?;
        let run = fields.table(root, "run")?;
        let version = fields.string(root, "", "version")?;
        Ok(Manifest {
            name: fields.string(root, "", "name")?,
            version: version.parse().map_err(|e| {
                err(format!(
                    "`version` ({}) is not a semantic version: {}",
                    fields.line(root, "version"),
                    crate::shell::escape(&format!("{e}"))
                ))
            })?,
            description: fields.opt_string(root, "", "description")?,
            authors: fields.strings(root, "authors")?.unwrap_or_default(),
            license: fields.opt_string(root, "", "license")?,
            repository: fields.opt_string(root, "", "repository")?,
            entry: fields.string(root, "", "entry")?,
            capabilities: fields
                .strings(root, "capabilities")?
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    Capability::from_name(c).ok_or_else(|| {
                        err(format!(
                            "`capabilities` ({}): unknown capability `{c}`",
                            fields.line(root, "capabilities")
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            limits: ModuleLimits {
                max_size: fields.integer(limits, "limits", "max-size")?,
                memory: MemoryLimits {
                    initial_pages: fields.integer(limits, "limits", "memory-initial-pages")?,
                    maximum_pages: fields.integer(limits, "limits", "memory-maximum-pages")?,
                },
            },
            run: Limits {
                fuel: fields.limit(run, "fuel", check::fuel)?,
                timeout: fields.limit(run, "timeout-ms", |ms| {
                    check::timeout(Duration::from_millis(ms))
                })?,
                max_memory: fields.limit(run, "max-memory", check::max_memory)?,
                max_input: match run.get("max-input") {
                    None => crate::limits::DEFAULT_MAX_INPUT,
                    Some(_) => fields.limit(run, "max-input", check::max_input)?,
                },
                metering: match run.get("metering") {
                    None => crate::limits::Metering::Fuel,
                    Some(_) => {
                        fields
                            .string(run, "run", "metering")?
                            .parse()
                            .map_err(|why: String| {
                                err(format!(
                                    "`run.metering` ({}): {why}",
                                    fields.line(run, "metering")
                                ))
                            })?
                    }
                },
                ..Limits::default()
            },
            pricing: match root.get("pricing") {
                None => None,
                Some(_) => {
                    let pricing = fields.table(root, "pricing")?;
                    Some(Pricing {
                        base_cost: fields.integer(pricing, "pricing", "base_cost")?,
                        per_fuel_cost: fields.integer(pricing, "pricing", "per_fuel_cost")?,
                        min_balance: match pricing.get("min-balance") {
                            None => None,
                            Some(_) => Some(fields.integer(pricing, "pricing", "min-balance")?),
                        },
                    })
                }
            },
            network: match root.get("network") {
                None => Allowlist::default(),
                Some(_) => fields.network(fields.table(root, "network")?)?,
            },
            dependencies: match root.get("dependencies") {
                None => Vec::new(),
                Some(_) => fields.dependencies(fields.table(root, "dependencies")?)?,
            },
            wasm: WasmInfo {
                file: fields.string(wasm, "wasm", "file")?,
                size: fields.integer(wasm, "wasm", "size")?,
                blake3: fields.string(wasm, "wasm", "blake3")?,
            },
            build: BuildInfo {
                tool: fields.string(build, "build", "tool")?,
                rustc: fields.opt_string(build, "build", "rustc")?,
                target: fields.string(build, "build", "target")?,
                profile: fields.string(build, "build", "profile")?,
                cargo_lock: fields.opt_string(build, "build", "cargo-lock")?,
            },
        })
    }

    /// Reads `manifest.toml` from a file.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read or is not a manifest.
    pub fn read(path: &Path) -> Result<Manifest, ReadError> {
        let bytes = crate::fs::read_bounded(path, crate::fs::MAX_TEXT_FILE, "a manifest")?;
        let invalid = |error| ReadError::Invalid {
            path: path.to_owned(),
            error,
        };
        let text = String::from_utf8(bytes).map_err(|_| invalid(err("not UTF-8")))?;
        Manifest::from_toml(&text).map_err(invalid)
    }
}

/// A `Cargo.toml` description as a manifest holds it: one line. A
/// multi-line description (`description = """…"""`, common in crates) has
/// its line breaks and tabs folded into single spaces; any other text is
/// kept as it is (and a control character in it is refused when the
/// manifest is read, in words).
///
/// ```
/// use spirit_build::manifest::one_line;
/// assert_eq!(one_line("Says hello\n  to the world.\n"), "Says hello to the world.");
/// assert_eq!(one_line("two  spaces"), "two  spaces");
/// ```
pub fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r', '\t']) {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text.to_owned()
    }
}

/// TOML integers are i64; every count we record fits.
fn int(n: u64) -> Item {
    value(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The manifest's text, for the line of each key in messages.
struct Fields<'a> {
    text: &'a str,
}

impl Fields<'_> {
    /// `line N` of `key` in `t`, from its span.
    fn line(&self, t: &Table, key: &str) -> String {
        t.key(key)
            .and_then(|k| k.span())
            .or_else(|| t.get(key).and_then(Item::span))
            .map_or_else(
                || "line unknown".to_owned(),
                |span| format!("line {}", line_of(self.text, span.start)),
            )
    }

    fn integer(&self, t: &Table, table: &str, key: &str) -> Result<u64, ManifestError> {
        t.get(key)
            .and_then(Item::as_integer)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                err(format!(
                    "`{}` ({}) must be a non-negative integer",
                    qualified(table, key),
                    self.line(t, key)
                ))
            })
    }

    /// `run.<key>`, held to the range that flags, `Cargo.toml` and every
    /// run share ([`crate::limits::check`]); an error names the key and line.
    fn limit<T>(
        &self,
        run: &Table,
        key: &str,
        check: impl FnOnce(u64) -> Result<T, crate::limits::LimitError>,
    ) -> Result<T, ManifestError> {
        let n = self.integer(run, "run", key)?;
        check(n).map_err(|why| {
            err(format!(
                "`{}` ({}): {why}",
                qualified("run", key),
                self.line(run, key)
            ))
        })
    }

    /// `[dependencies.NAME]` tables: each name a spirit name, each key
    /// known, the version semantic, the hashes 64 hex characters.
    fn dependencies(&self, all: &Table) -> Result<Vec<Dependency>, ManifestError> {
        let mut dependencies = Vec::new();
        for (name, item) in all.iter() {
            let at = format!("dependencies.{name}");
            if !is_spirit_name(name) {
                return Err(err(format!(
                    "`{}` ({}): `{}` is not a spirit name (letters, digits, `-` and `_`, starting with a letter)",
                    crate::shell::escape(&at),
                    self.line(all, name),
                    crate::shell::escape(name)
                )));
            }
            let table = item
                .as_table()
                .ok_or_else(|| err(format!("`{at}` ({}) must be a table", self.line(all, name))))?;
            if let Some((key, _)) = table
                .iter()
                .find(|(k, _)| !matches!(*k, "req" | "version" | "blake3" | "author"))
            {
                return Err(err(format!(
                    "`{at}.{}` ({}): unknown key; a dependency has `req`, `version`, `blake3` and `author`",
                    crate::shell::escape(key),
                    self.line(table, key)
                )));
            }
            let version = self.string(table, &at, "version")?;
            let hex = |key: &str, text: String| {
                if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    Ok(text)
                } else {
                    Err(err(format!(
                        "`{at}.{key}` ({}) must be 64 lowercase hexadecimal characters",
                        self.line(table, key)
                    )))
                }
            };
            dependencies.push(Dependency {
                name: name.to_owned(),
                req: self.string(table, &at, "req")?,
                version: version.parse().map_err(|e| {
                    err(format!(
                        "`{at}.version` ({}) is not a semantic version: {}",
                        self.line(table, "version"),
                        crate::shell::escape(&format!("{e}"))
                    ))
                })?,
                blake3: hex("blake3", self.string(table, &at, "blake3")?)?,
                author: match self.opt_string(table, &at, "author")? {
                    None => None,
                    Some(author) => Some(hex("author", author)?),
                },
            });
        }
        Ok(dependencies)
    }

    fn table<'t>(&self, root: &'t Table, key: &str) -> Result<&'t Table, ManifestError> {
        root.get(key)
            .and_then(Item::as_table)
            .ok_or_else(|| err(format!("missing table `[{key}]`")))
    }

    fn opt_string(
        &self,
        t: &Table,
        table: &str,
        key: &str,
    ) -> Result<Option<String>, ManifestError> {
        match t.get(key) {
            None => Ok(None),
            Some(item) => {
                let text = item.as_str().ok_or_else(|| {
                    err(format!(
                        "`{}` ({}) must be a string",
                        qualified(table, key),
                        self.line(t, key)
                    ))
                })?;
                self.single_line(t, &qualified(table, key), key, text)?;
                Ok(Some(text.to_owned()))
            }
        }
    }

    fn string(&self, t: &Table, table: &str, key: &str) -> Result<String, ManifestError> {
        self.opt_string(t, table, key)?
            .ok_or_else(|| err(format!("missing key `{}`", qualified(table, key))))
    }

    /// `[network]`: each entry parsed as `--allow-net` and `--allow-listen`
    /// parse theirs.
    fn network(&self, t: &Table) -> Result<Allowlist, ManifestError> {
        let entries = |key: &str| -> Result<Vec<String>, ManifestError> {
            Ok(self.strings(t, key)?.unwrap_or_default())
        };
        let bad = |key: &str, e: crate::net::PatternError| {
            err(format!(
                "`network.{key}` ({}): {}",
                self.line(t, key),
                crate::shell::escape(&e.to_string())
            ))
        };
        Ok(Allowlist {
            connect: entries("connect")?
                .iter()
                .map(|e| ConnectRule::parse(e).map_err(|e| bad("connect", e)))
                .collect::<Result<_, _>>()?,
            listen: entries("listen")?
                .iter()
                .map(|e| ListenRule::parse(e).map_err(|e| bad("listen", e)))
                .collect::<Result<_, _>>()?,
        })
    }

    fn strings(&self, t: &Table, key: &str) -> Result<Option<Vec<String>>, ManifestError> {
        let Some(item) = t.get(key) else {
            return Ok(None);
        };
        let not_strings = || {
            err(format!(
                "`{key}` ({}) must be an array of strings",
                self.line(t, key)
            ))
        };
        let array = item.as_array().ok_or_else(not_strings)?;
        array
            .iter()
            .map(|v| {
                let text = v.as_str().ok_or_else(not_strings)?;
                self.single_line(t, key, key, text)?;
                Ok(text.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Refuses text holding a terminal control: a manifest's text is shown
    /// to people (`inspect`, `info`), where a newline forges a line and an
    /// escape sequence hides one.
    fn single_line(
        &self,
        t: &Table,
        name: &str,
        key: &str,
        text: &str,
    ) -> Result<(), ManifestError> {
        let Some((position, c)) = text
            .chars()
            .enumerate()
            .find(|&(_, c)| crate::shell::is_terminal_control(c))
        else {
            return Ok(());
        };
        Err(err(format!(
            "`{name}` ({}) holds a control character, U+{:04X} at character {}: \
             text in a manifest must be one line of printable characters\n\
             help: remove it (a manifest's text comes from `[package]` in Cargo.toml) and build again",
            self.line(t, key),
            u32::from(c),
            position + 1
        )))
    }
}

/// Whether `name` can be a spirit's: letters, digits, `-` and `_`,
/// starting with a letter, at most 64 characters (the rule of
/// `cargo spirit new`, whose reserved words a manifest may still name).
pub(crate) fn is_spirit_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn qualified(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    }
}

/// The 1-based line of byte `offset` in `text` (for errors in TOML files:
/// `Cargo.toml`'s metadata table too).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key assigned on `line` (1-based), qualified by the `[table]` above
/// it: what a TOML syntax error (an integer too large for TOML's i64, say)
/// is about. `None` when the line is not a plain `key = value`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let (key, _) = here.split_once('=')?;
    let key = key.trim();
    let bare = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !bare(key) {
        return None;
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim())
        .filter(|t| bare(t));
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    })
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
            network: Allowlist::default(),
            dependencies: Vec::new(),
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
    fn a_network_allowlist_round_trips_and_bad_entries_name_their_key() {
        let mut m = sample();
        m.network = Allowlist::parse(
            &[
                "https://api.example.com",
                "*.example.org:8443",
                "127.0.0.1:6379",
            ],
            &["127.0.0.1:8080"],
        )
        .unwrap();
        let text = m.to_toml();
        assert!(text.contains(
            "[network]\nconnect = [\"https://api.example.com\", \"*.example.org:8443\", \"127.0.0.1:6379\"]\nlisten = [\"127.0.0.1:8080\"]\n"
        ), "{text}");
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
        let bad = text.replace("\"127.0.0.1:6379\"", "\"127.0.0.1\"");
        let e = Manifest::from_toml(&bad).unwrap_err();
        assert!(e.message.starts_with("`network.connect` (line "), "{e}");
        assert!(e.message.contains("names no port"), "{e}");
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let text = m.to_toml();
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
        assert_eq!(Manifest::from_toml(&text).unwrap().to_toml(), text);
    }

    /// `run.metering` is written only when it is not the default (so the
    /// bytes, and signatures, of other manifests stay as they were), read
    /// back, and a value that is neither `fuel` nor `time` is refused.
    #[test]
    fn time_only_metering_round_trips() {
        let mut m = sample();
        assert!(!m.to_toml().contains("metering"));
        m.run.metering = crate::limits::Metering::Time;
        let text = m.to_toml();
        assert!(
            text.contains("max-memory = 4194304\nmetering = \"time\"\n"),
            "{text}"
        );
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
        let bad = text.replace("metering = \"time\"", "metering = \"none\"");
        let error = Manifest::from_toml(&bad).unwrap_err().to_string();
        assert!(
            error.contains(
                "`run.metering` (line 19): unknown metering `none`: use `fuel` or `time`"
            ),
            "{error}"
        );
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
    fn terminal_controls_are_refused_in_every_text_field() {
        let hostile = [
            "a\nb",
            "a\x1b[2Jb",
            "a\rb",
            "a\x07b",
            "a\u{202e}b",
            "a\u{9b}b",
            "a\tb",
        ];
        for text in hostile {
            type Set = fn(&mut Manifest, &str);
            let cases: [(&str, Set); 7] = [
                ("name", |m, t| m.name = t.into()),
                ("description", |m, t| m.description = Some(t.into())),
                ("authors", |m, t| m.authors = vec![t.into()]),
                ("license", |m, t| m.license = Some(t.into())),
                ("entry", |m, t| m.entry = t.into()),
                ("wasm.file", |m, t| m.wasm.file = t.into()),
                ("build.rustc", |m, t| m.build.rustc = Some(t.into())),
            ];
            for (key, set) in cases {
                let mut m = sample();
                set(&mut m, text);
                let message = Manifest::from_toml(&m.to_toml()).unwrap_err().message;
                assert!(
                    message.starts_with(&format!("`{key}` (line "))
                        && message.contains("holds a control character, U+")
                        && !message
                            .lines()
                            .next()
                            .unwrap()
                            .chars()
                            .any(crate::shell::is_terminal_control),
                    "{key} {text:?}: {message}"
                );
            }
        }
    }

    #[test]
    fn a_multi_line_description_is_folded_into_one() {
        let mut m = sample();
        m.description = Some(one_line("Says hello\n\tto everyone.\n"));
        assert_eq!(m.description.as_deref(), Some("Says hello to everyone."));
        assert_eq!(Manifest::from_toml(&m.to_toml()).unwrap(), m);
    }

    #[test]
    fn integers_out_of_range_name_their_key_and_line() {
        let text = sample().to_toml();
        let big = text.replace("fuel = 10000", "fuel = 99999999999999999999");
        let message = Manifest::from_toml(&big).unwrap_err().message;
        let line = text.lines().position(|l| l.starts_with("fuel")).unwrap() + 1;
        assert!(
            message.starts_with(&format!("`run.fuel` (line {line}): ")),
            "{message}"
        );
        let negative = text.replace("max-size = 4096", "max-size = -1");
        let message = Manifest::from_toml(&negative).unwrap_err().message;
        assert!(
            message.starts_with("`limits.max-size` (line ")
                && message.ends_with("must be a non-negative integer"),
            "{message}"
        );
        let zero = text.replace("timeout-ms = 1500", "timeout-ms = 0");
        let message = Manifest::from_toml(&zero).unwrap_err().message;
        assert!(
            message.ends_with("the timeout must be between 1ms and 365 days, not 0ns"),
            "{message}"
        );
    }

    #[test]
    fn dependencies_round_trip_and_bad_ones_are_named() {
        let mut m = sample();
        m.dependencies = vec![Dependency {
            name: "echo".into(),
            req: "^1.0".into(),
            version: "1.1.0".parse().unwrap(),
            blake3: "ef".repeat(32),
            author: Some("01".repeat(32)),
        }];
        let text = m.to_toml();
        assert!(
            text.contains(&format!(
                "\n[dependencies.echo]\nreq = \"^1.0\"\nversion = \"1.1.0\"\nblake3 = \"{}\"\nauthor = \"{}\"\n",
                "ef".repeat(32),
                "01".repeat(32)
            )),
            "{text}"
        );
        assert_eq!(Manifest::from_toml(&text).unwrap(), m);
        let short = text.replace(&"ef".repeat(32), "ef");
        let message = Manifest::from_toml(&short).unwrap_err().message;
        assert!(
            message.starts_with("`dependencies.echo.blake3` (line ")
                && message.ends_with("must be 64 lowercase hexadecimal characters"),
            "{message}"
        );
        let unknown = text.replace("req = ", "requirement = ");
        let message = Manifest::from_toml(&unknown).unwrap_err().message;
        assert!(
            message.starts_with("`dependencies.echo.requirement` (line "),
            "{message}"
        );
        let name = text.replace("[dependencies.echo]", "[dependencies.\"../x\"]");
        let message = Manifest::from_toml(&name).unwrap_err().message;
        assert!(message.contains("is not a spirit name"), "{message}");
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
