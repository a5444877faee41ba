//! `[package.metadata.spirit]`: its schema, and errors that name the key,
//! the file and line, and the accepted values.

use std::fmt;
use std::path::{Path, PathBuf};

use spirit_sdk::abi::Capability;
use toml_edit::{Item, TableLike};

use crate::manifest::{MemoryLimits, ModuleLimits, Pricing, RunDefaults, line_of};
use crate::net::{Allowlist, ConnectRule, ListenRule};
use crate::suggest::did_you_mean;

/// What `[package.metadata.spirit]` declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiritConfig {
    /// The capabilities the spirit asks for, sorted and without duplicates.
    pub capabilities: Vec<Capability>,
    /// The exported function the host calls (default `run`).
    pub entry: String,
    /// `max-size` and `memory`: what the module is checked against.
    pub limits: ModuleLimits,
    /// `run`: the limits a run uses by default.
    pub run: RunDefaults,
    /// `pricing`, when set.
    pub pricing: Option<Pricing>,
    /// `network`: where the spirit may connect and listen.
    pub network: Allowlist,
    /// `[package.metadata.spirit.dependencies]`: the spirits it may call,
    /// each with a semver requirement, sorted by name.
    pub dependencies: Vec<DependencyReq>,
}

/// One entry of `[package.metadata.spirit.dependencies]`: `echo = "^1.0"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyReq {
    /// The spirit's name.
    pub name: String,
    /// Its semver requirement, as written (it parses).
    pub req: String,
}

impl Default for SpiritConfig {
    fn default() -> SpiritConfig {
        SpiritConfig {
            capabilities: Vec::new(),
            entry: spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
            limits: ModuleLimits::default(),
            run: RunDefaults::default(),
            pricing: None,
            network: Allowlist::default(),
            dependencies: Vec::new(),
        }
    }
}

impl SpiritConfig {
    /// A network capability declared with no allowlist entry to use it on:
    /// it permits nothing, which is worth a build warning.
    ///
    /// ```
    /// use spirit_build::project::SpiritConfig;
    /// use spirit_sdk::abi::Capability;
    /// let config = SpiritConfig { capabilities: vec![Capability::NetworkConnect], ..SpiritConfig::default() };
    /// assert!(config.network_warnings()[0].contains("`connect` list is empty"));
    /// ```
    pub fn network_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let declared = |c| self.capabilities.contains(&c);
        if declared(Capability::NetworkConnect) && self.network.connect.is_empty() {
            warnings.push(
                "declares `network_connect` but its `connect` list is empty, so it may reach nothing\nhelp: add the hosts under `[package.metadata.spirit.network]`, such as `connect = [\"https://api.example.com\"]`".to_owned(),
            );
        }
        if declared(Capability::NetworkListen) && self.network.listen.is_empty() {
            warnings.push(
                "declares `network_listen` but its `listen` list is empty, so it may listen nowhere\nhelp: add addresses under `[package.metadata.spirit.network]`, such as `listen = [\"127.0.0.1:8080\"]`".to_owned(),
            );
        }
        warnings
    }
}

/// A bad key or value in `[package.metadata.spirit]`, with where it is.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The `Cargo.toml` it is in.
    pub path: PathBuf,
    /// 1-based line of the key, when known.
    pub line: Option<usize>,
    /// The full key, such as `package.metadata.spirit.capabilities`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` in {}", self.key, self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

const TABLE: &str = "package.metadata.spirit";
const KEYS: &[&str] = &[
    "capabilities",
    "dependencies",
    "entry",
    "max-size",
    "memory",
    "network",
    "pricing",
    "run",
];
const NETWORK_KEYS: &[&str] = &["connect", "listen"];
const MEMORY_KEYS: &[&str] = &["initial", "maximum"];
const RUN_KEYS: &[&str] = &["fuel", "max-memory", "max-input", "metering", "timeout"];
const PRICING_KEYS: &[&str] = &["base_cost", "per_fuel_cost", "min-balance"];
/// The most pages a 32-bit memory can have (4 GiB).
const MAX_PAGES: u64 = 65536;

/// Parses `[package.metadata.spirit]` out of a `Cargo.toml`'s text.
///
/// ```
/// use spirit_build::project::parse_config;
/// use spirit_sdk::abi::Capability;
///
/// let toml = "[package]\nname = \"hello\"\n\n[package.metadata.spirit]\ncapabilities = [\"actuator_log\"]\nmax-size = \"64KiB\"\n";
/// let config = parse_config("Cargo.toml".as_ref(), toml).unwrap();
/// assert_eq!(config.capabilities, [Capability::ActuatorLog]);
/// assert_eq!(config.limits.max_size, 65536);
///
/// let bad = "[package.metadata.spirit]\ncapabilites = []\n";
/// let error = parse_config("Cargo.toml".as_ref(), bad).unwrap_err();
/// assert_eq!(error.line, Some(2));
/// assert!(error.help.unwrap().contains("did you mean `capabilities`"));
/// ```
///
/// # Errors
///
/// Names the key, the file and line, and the accepted values.
pub fn parse_config(path: &Path, text: &str) -> Result<SpiritConfig, ConfigError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| ConfigError {
        path: path.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        key: TABLE.to_owned(),
        message: format!("invalid TOML: {}", e.message()),
        help: None,
    })?;
    let parser = ConfigParser { path, text };
    let mut config = SpiritConfig::default();
    let Some(item) = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("spirit"))
    else {
        return Ok(config);
    };
    let table = parser.table(TABLE, item)?;
    for (key, item) in table.iter() {
        let at = Located {
            key: format!("{TABLE}.{key}"),
            span: table
                .key(key)
                .and_then(|k| k.span())
                .or_else(|| item.span()),
        };
        match key {
            "capabilities" => {
                let Some(array) = item.as_array() else {
                    return Err(parser.error(
                        &at,
                        "must be an array of capability names",
                        Some("for example `capabilities = [\"actuator_log\"]`".to_owned()),
                    ));
                };
                for value in array.iter() {
                    let at = Located {
                        key: at.key.clone(),
                        span: value.span().or(at.span.clone()),
                    };
                    let name = value
                        .as_str()
                        .ok_or_else(|| parser.error(&at, "must contain only strings", None))?;
                    let capability = Capability::from_name(name).ok_or_else(|| {
                        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                        parser.error(
                            &at,
                            format!("unknown capability `{name}`"),
                            Some(did_you_mean(name, &names)),
                        )
                    })?;
                    config.capabilities.push(capability);
                }
                config.capabilities.sort();
                config.capabilities.dedup();
            }
            "entry" => {
                let name = item.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
                    parser.error(
                        &at,
                        "must be the name of an exported function",
                        Some("for example `entry = \"run\"`".to_owned()),
                    )
                })?;
                config.entry = name.to_owned();
            }
            "max-size" => config.limits.max_size = parser.size(&at, item)?,
            "memory" => config.limits.memory = parser.memory(&at, item)?,
            "run" => config.run = parser.run(&at, item)?,
            "pricing" => config.pricing = Some(parser.pricing(&at, item)?),
            "network" => config.network = parser.network(&at, item)?,
            "dependencies" => config.dependencies = parser.dependencies(&at, item)?,
            _ => {
                return Err(parser.error(&at, "unknown key", Some(did_you_mean(key, KEYS))));
            }
        }
    }
    Ok(config)
}

/// A key and where it is in the file.
struct Located {
    key: String,
    span: Option<std::ops::Range<usize>>,
}

struct ConfigParser<'a> {
    path: &'a Path,
    text: &'a str,
}

impl ConfigParser<'_> {
    fn error(&self, at: &Located, message: impl Into<String>, help: Option<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            line: at.span.clone().map(|s| line_of(self.text, s.start)),
            key: at.key.clone(),
            message: message.into(),
            help,
        }
    }

    fn table<'i>(&self, key: &str, item: &'i Item) -> Result<&'i dyn TableLike, ConfigError> {
        item.as_table_like().ok_or_else(|| {
            self.error(
                &Located {
                    key: key.to_owned(),
                    span: item.span(),
                },
                "must be a table",
                Some(format!("write it as `[{key}]`")),
            )
        })
    }

    /// Each key of a sub-table such as `memory`, checked against `accepted`.
    fn entries<'i>(
        &self,
        at: &Located,
        item: &'i Item,
        accepted: &[&str],
        example: &str,
    ) -> Result<Vec<(Located, &'i Item)>, ConfigError> {
        let table = item.as_table_like().ok_or_else(|| {
            self.error(
                at,
                "must be a table",
                Some(format!("for example `{example}`")),
            )
        })?;
        table
            .iter()
            .map(|(key, value)| {
                let located = Located {
                    key: format!("{}.{key}", at.key),
                    span: table
                        .key(key)
                        .and_then(|k| k.span())
                        .or_else(|| value.span())
                        .or(at.span.clone()),
                };
                if accepted.contains(&key) {
                    Ok((located, value))
                } else {
                    Err(self.error(&located, "unknown key", Some(did_you_mean(key, accepted))))
                }
            })
            .collect()
    }

    fn integer(&self, at: &Located, item: &Item, example: &str) -> Result<u64, ConfigError> {
        item.as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                self.error(
                    at,
                    "must be a non-negative integer",
                    Some(format!("for example `{example}`")),
                )
            })
    }

    /// A size: bytes as an integer, or a string with a unit (`"512KiB"`).
    fn size(&self, at: &Located, item: &Item) -> Result<u64, ConfigError> {
        let help = || {
            Some("write bytes or a size with a unit, such as `1048576` or `\"1MiB\"`".to_owned())
        };
        let size = match (item.as_integer(), item.as_str()) {
            (Some(n), _) => u64::try_from(n)
                .map_err(|_| self.error(at, format!("must not be negative, not {n}"), help()))?,
            (_, Some(text)) => {
                crate::units::parse_size(text).map_err(|message| self.error(at, message, help()))?
            }
            _ => return Err(self.error(at, "must be a size", help())),
        };
        if size == 0 {
            return Err(self.error(at, "must be larger than zero", help()));
        }
        Ok(size)
    }

    fn memory(&self, at: &Located, item: &Item) -> Result<MemoryLimits, ConfigError> {
        const EXAMPLE: &str = "memory = { initial = 17, maximum = 256 }";
        let mut memory = MemoryLimits::default();
        let mut initial_at = None;
        for (key, value) in self.entries(at, item, MEMORY_KEYS, EXAMPLE)? {
            let pages = self.integer(&key, value, EXAMPLE)?;
            if pages == 0 || pages > MAX_PAGES {
                return Err(self.error(
                    &key,
                    format!("must be between 1 and {MAX_PAGES} pages of 64 KiB, not {pages}"),
                    Some(format!("for example `{EXAMPLE}`")),
                ));
            }
            if key.key.ends_with(".initial") {
                memory.initial_pages = pages;
                initial_at = Some(key);
            } else {
                memory.maximum_pages = pages;
            }
        }
        if memory.initial_pages > memory.maximum_pages {
            return Err(self.error(
                initial_at.as_ref().unwrap_or(at),
                format!(
                    "the initial memory ({} pages) is larger than the maximum ({} pages)",
                    memory.initial_pages, memory.maximum_pages
                ),
                Some("raise `maximum` or lower `initial`".to_owned()),
            ));
        }
        Ok(memory)
    }

    fn run(&self, at: &Located, item: &Item) -> Result<RunDefaults, ConfigError> {
        const EXAMPLE: &str = "run = { fuel = 10000000, timeout = \"5s\", max-memory = \"16MiB\" }";
        let mut run = RunDefaults::default();
        for (key, value) in self.entries(at, item, RUN_KEYS, EXAMPLE)? {
            match key.key.rsplit('.').next() {
                Some("fuel") => {
                    run.fuel = self.integer(&key, value, "fuel = 10000000")?;
                    if run.fuel == 0 {
                        return Err(self.error(&key, "must be larger than zero", None));
                    }
                }
                Some("timeout") => {
                    let help = || Some("for example `timeout = \"500ms\"` or `\"5s\"`".to_owned());
                    let text = value
                        .as_str()
                        .ok_or_else(|| self.error(&key, "must be a duration string", help()))?;
                    run.timeout = crate::units::parse_duration(text)
                        .map_err(|message| self.error(&key, message, help()))?;
                }
                Some("metering") => {
                    let help = || {
                        Some(
                            "`metering = \"time\"` bounds a run by its timeout alone (fuel off); `\"fuel\"` is the default"
                                .to_owned(),
                        )
                    };
                    let text = value.as_str().ok_or_else(|| {
                        self.error(&key, "must be `\"fuel\"` or `\"time\"`", help())
                    })?;
                    run.metering = text
                        .parse()
                        .map_err(|message: String| self.error(&key, message, help()))?;
                }
                Some("max-input") => {
                    run.max_input = self.size(&key, value)?;
                    crate::limits::check::max_input(run.max_input)
                        .map_err(|e| self.error(&key, e.to_string(), None))?;
                }
                _ => {
                    run.max_memory = self.size(&key, value)?;
                    crate::limits::check::max_memory(run.max_memory)
                        .map_err(|e| self.error(&key, e.to_string(), None))?;
                }
            }
        }
        Ok(run)
    }

    /// `network = { connect = [...], listen = [...] }`, each entry parsed as
    /// `--allow-net` and `--allow-listen` parse theirs.
    fn network(&self, at: &Located, item: &Item) -> Result<Allowlist, ConfigError> {
        const EXAMPLE: &str =
            "[package.metadata.spirit.network]\nconnect = [\"https://api.example.com\"]";
        let mut network = Allowlist::default();
        for (key, value) in self.entries(at, item, NETWORK_KEYS, EXAMPLE)? {
            let not_strings = || {
                self.error(
                    &key,
                    "must be an array of strings",
                    Some(format!("for example `{EXAMPLE}`")),
                )
            };
            let array = value.as_array().ok_or_else(not_strings)?;
            for entry in array.iter() {
                let entry_at = Located {
                    key: key.key.clone(),
                    span: entry.span().or(key.span.clone()),
                };
                let text = entry.as_str().ok_or_else(not_strings)?;
                let bad = |e: crate::net::PatternError| self.error(&entry_at, e.to_string(), None);
                if key.key.ends_with(".connect") {
                    let rule = ConnectRule::parse(text).map_err(bad)?;
                    if !network.connect.contains(&rule) {
                        network.connect.push(rule);
                    }
                } else {
                    let rule = ListenRule::parse(text).map_err(bad)?;
                    if !network.listen.contains(&rule) {
                        network.listen.push(rule);
                    }
                }
            }
        }
        Ok(network)
    }

    /// `name = "req"` for each spirit called: the name a spirit's, the
    /// requirement semver's.
    fn dependencies(&self, at: &Located, item: &Item) -> Result<Vec<DependencyReq>, ConfigError> {
        const EXAMPLE: &str = "dependencies = { echo = \"^1.0\" }";
        let table = item.as_table_like().ok_or_else(|| {
            self.error(
                at,
                "must be a table",
                Some(format!("for example `{EXAMPLE}`")),
            )
        })?;
        let mut dependencies = Vec::new();
        for (name, value) in table.iter() {
            let key = Located {
                key: format!("{}.{name}", at.key),
                span: table
                    .key(name)
                    .and_then(|k| k.span())
                    .or_else(|| value.span())
                    .or(at.span.clone()),
            };
            if !crate::manifest::is_spirit_name(name) {
                return Err(self.error(
                    &key,
                    format!(
                        "`{}` is not a spirit name",
                        crate::shell::escape(name)
                    ),
                    Some(
                        "a spirit name has letters, digits, `-` and `_`, starts with a letter and is at most 64 characters"
                            .to_owned(),
                    ),
                ));
            }
            let req = value.as_str().ok_or_else(|| {
                self.error(
                    &key,
                    "must be a version requirement string",
                    Some(format!("for example `{EXAMPLE}`")),
                )
            })?;
            if let Err(e) = semver::VersionReq::parse(req) {
                return Err(self.error(
                    &key,
                    format!(
                        "`{}` is not a version requirement: {e}",
                        crate::shell::escape(req)
                    ),
                    Some(
                        "use semver syntax such as `^1.2`, `~1.2.3`, `>=1.0` or `=1.2.3`"
                            .to_owned(),
                    ),
                ));
            }
            dependencies.push(DependencyReq {
                name: name.to_owned(),
                req: req.to_owned(),
            });
        }
        dependencies.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(dependencies)
    }

    fn pricing(&self, at: &Located, item: &Item) -> Result<Pricing, ConfigError> {
        const EXAMPLE: &str = "pricing = { base_cost = 100, per_fuel_cost = 1 }";
        let mut pricing = Pricing::default();
        for (key, value) in self.entries(at, item, PRICING_KEYS, EXAMPLE)? {
            let n = self.integer(&key, value, EXAMPLE)?;
            if key.key.ends_with(".base_cost") {
                pricing.base_cost = n;
            } else if key.key.ends_with(".min-balance") {
                pricing.min_balance = Some(n);
            } else {
                pricing.per_fuel_cost = n;
            }
        }
        Ok(pricing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(table: &str) -> Result<SpiritConfig, ConfigError> {
        let text = format!("[package]\nname = \"x\"\n\n[package.metadata.spirit]\n{table}");
        parse_config(Path::new("Cargo.toml"), &text)
    }

    #[test]
    fn run_metering_is_fuel_or_time() {
        assert_eq!(
            parse("run = { metering = \"time\" }").unwrap().run.metering,
            crate::limits::Metering::Time
        );
        assert_eq!(
            parse("").unwrap().run.metering,
            crate::limits::Metering::Fuel
        );
        for table in ["run = { metering = \"wall\" }", "run = { metering = 1 }"] {
            let error = parse(table).unwrap_err();
            assert_eq!(error.key, "package.metadata.spirit.run.metering", "{table}");
            assert!(
                error
                    .help
                    .unwrap()
                    .contains("bounds a run by its timeout alone")
            );
        }
    }

    #[test]
    fn every_run_value_is_range_checked_naming_its_key() {
        for (table, key, message) in [
            ("run = { fuel = 0 }", "fuel", "must be larger than zero"),
            (
                "run = { fuel = -1 }",
                "fuel",
                "must be a non-negative integer",
            ),
            (
                "run = { timeout = \"0s\" }",
                "timeout",
                "it must be longer than zero",
            ),
            (
                "run = { timeout = \"99999999999d\" }",
                "timeout",
                "it must be at most 365 days",
            ),
            (
                "run = { max-memory = \"99999G\" }",
                "max-memory",
                "the memory limit must be between 64 KiB and 4 GiB",
            ),
            (
                "run = { max-memory = 1024 }",
                "max-memory",
                "the memory limit must be between 64 KiB and 4 GiB",
            ),
            (
                "run = { max-input = \"3GiB\" }",
                "max-input",
                "the input limit must be between 1 byte and 2.0 GiB",
            ),
            (
                "run = { max-input = 0 }",
                "max-input",
                "must be larger than zero",
            ),
            (
                "memory = { maximum = 65537 }",
                "maximum",
                "must be between 1 and 65536 pages",
            ),
        ] {
            let e = parse(&format!("{table}\n")).unwrap_err();
            assert!(e.key.ends_with(&format!(".{key}")), "{table}: {}", e.key);
            assert!(e.message.contains(message), "{table}: {}", e.message);
        }
        let c = parse("run = { max-input = \"1MiB\", max-memory = \"4GiB\" }\n").unwrap();
        assert_eq!(c.run.max_input, 1 << 20);
        assert_eq!(c.run.max_memory, 4 << 30);
    }

    #[test]
    fn defaults_when_empty() {
        assert_eq!(parse("").unwrap(), SpiritConfig::default());
    }

    #[test]
    fn unknown_capability_suggests_the_closest() {
        let e = parse("capabilities = [\"actuator_logs\"]\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.message, "unknown capability `actuator_logs`");
        assert!(e.help.unwrap().starts_with("did you mean `actuator_log`?"));
    }

    #[test]
    fn entry_must_be_a_string() {
        let e = parse("entry = 3\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.entry");
    }

    #[test]
    fn the_full_schema_parses() {
        let c = parse(
            "max-size = \"64KiB\"\n\
             memory = { initial = 17, maximum = 64 }\n\
             run = { fuel = 5000, timeout = \"250ms\", max-memory = 2097152 }\n\
             \n[package.metadata.spirit.pricing]\nbase_cost = 100\nper_fuel_cost = 2\n",
        )
        .unwrap();
        assert_eq!(c.limits.max_size, 65536);
        assert_eq!(
            c.limits.memory,
            MemoryLimits {
                initial_pages: 17,
                maximum_pages: 64
            }
        );
        assert_eq!(c.run.fuel, 5000);
        assert_eq!(c.run.timeout, std::time::Duration::from_millis(250));
        assert_eq!(c.run.max_memory, 2 << 20);
        assert_eq!(
            c.pricing,
            Some(Pricing {
                base_cost: 100,
                per_fuel_cost: 2,
                min_balance: None,
            })
        );
    }

    #[test]
    fn a_minimum_balance_is_read_from_min_balance() {
        let c =
            parse("pricing = { base_cost = 1, per_fuel_cost = 0, min-balance = 1000 }\n").unwrap();
        assert_eq!(c.pricing.unwrap().min_balance, Some(1000));
        let e = parse("pricing = { min_balance = 1000 }\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.pricing.min_balance");
    }

    #[test]
    fn nested_keys_are_named_with_their_line() {
        let e = parse("\n[package.metadata.spirit.run]\nfuel = 1\ntimout = \"5s\"\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.run.timout");
        assert_eq!(e.line, Some(8));
        assert!(e.help.unwrap().starts_with("did you mean `timeout`?"));

        let e = parse("memory = { initial = 64, maximum = 32 }\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.memory.initial");
        assert_eq!(
            e.message,
            "the initial memory (64 pages) is larger than the maximum (32 pages)"
        );

        let e = parse("max-size = \"big\"\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert!(e.message.starts_with("invalid size `big`"), "{}", e.message);

        let e = parse("pricing = { base_cost = -1 }\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.pricing.base_cost");
        assert_eq!(e.message, "must be a non-negative integer");
    }

    #[test]
    fn the_readme_example_is_the_defaults_plus_a_price() {
        let readme = include_str!("../../../README.md");
        // The reference section's example, not the tutorial's.
        let section = readme
            .find("## `[package.metadata.spirit]`")
            .expect("README has a section on the table");
        let start = section
            + readme[section..]
                .find("```toml\n[package.metadata.spirit]")
                .expect("README documents the table")
            + "```toml\n".len();
        let end = start + readme[start..].find("```").unwrap();
        let text = format!("[package]\nname = \"x\"\n{}", &readme[start..end]);
        let config = parse_config(Path::new("README.md"), &text).unwrap();
        assert_eq!(
            config,
            SpiritConfig {
                capabilities: vec![Capability::ActuatorLog],
                pricing: Some(Pricing {
                    base_cost: 100,
                    per_fuel_cost: 1,
                    min_balance: Some(1_000),
                }),
                ..SpiritConfig::default()
            }
        );
    }

    #[test]
    fn dependencies_are_read_sorted_and_checked() {
        let c =
            parse("[package.metadata.spirit.dependencies]\nzeta = \"=2.0.0\"\necho = \"^1.0\"\n")
                .unwrap();
        assert_eq!(
            c.dependencies,
            [
                DependencyReq {
                    name: "echo".into(),
                    req: "^1.0".into()
                },
                DependencyReq {
                    name: "zeta".into(),
                    req: "=2.0.0".into()
                }
            ]
        );
        let e = parse("dependencies = { echo = \"one\" }\n").unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.dependencies.echo");
        assert_eq!(e.line, Some(5));
        assert!(
            e.message.starts_with("`one` is not a version requirement"),
            "{e}"
        );
        let e = parse("dependencies = { echo = 1 }\n").unwrap_err();
        assert_eq!(e.message, "must be a version requirement string");
        let e = parse("dependencies = { \"../x\" = \"1\" }\n").unwrap_err();
        assert_eq!(e.message, "`../x` is not a spirit name");
        let e = parse("dependencies = [\"echo\"]\n").unwrap_err();
        assert_eq!(e.message, "must be a table");
    }

    #[test]
    fn capabilities_are_sorted_and_deduplicated() {
        let c = parse("capabilities = [\"storage_read\", \"actuator_log\", \"storage_read\"]\n")
            .unwrap();
        assert_eq!(
            c.capabilities,
            [Capability::ActuatorLog, Capability::StorageRead]
        );
    }

    #[test]
    fn the_network_table_is_parsed_and_its_bad_entries_named_with_their_line() {
        let c = parse(
            "[package.metadata.spirit.network]\nconnect = [\"api.example.com:443\", \"*.example.org:8443\", \"https://api.example.com\", \"127.0.0.1:6379\"]\nlisten = [\"127.0.0.1:8080\"]\n",
        )
        .unwrap();
        assert_eq!(c.network.connect.len(), 4);
        assert_eq!(c.network.listen[0].to_string(), "127.0.0.1:8080");
        let e = parse(
            "[package.metadata.spirit.network]\nconnect = [\n  \"ok.example:1\",\n  \"bad\",\n]\n",
        )
        .unwrap_err();
        assert_eq!(e.key, "package.metadata.spirit.network.connect");
        assert_eq!(e.line, Some(8));
        assert!(e.message.contains("names no port"), "{e}");
        let e =
            parse("[package.metadata.spirit.network]\nlisten = [\"localhost:80\"]\n").unwrap_err();
        assert!(e.message.contains("not an IP address and port"), "{e}");
        let e = parse("[package.metadata.spirit.network]\nconect = []\n").unwrap_err();
        assert!(e.help.unwrap().contains("did you mean `connect`"));
    }
}
