//! `cargo spirit list`, `search`, `info` and `uninstall`: what the local
//! registry holds, as data that prints as a table or text ([`Display`]) for
//! people and as JSON ([`Serialize`]) for tools.

use std::fmt::{self, Display};
use std::path::PathBuf;

use semver::Version;
use serde::Serialize;

use super::target::TargetError;
use crate::manifest::Manifest;
use crate::net::Allowlist;
use crate::registry::{Entry, Registry, split_spec};
use crate::shell::escape;
use crate::{Error, Shell};

/// Installed spirit versions, by name then version: a table, or a JSON
/// array of index entries.
///
/// ```
/// use spirit_build::ops::SpiritList;
/// use spirit_build::registry::Entry;
///
/// let entry = Entry {
///     name: "hello".into(),
///     version: "0.1.0".parse().unwrap(),
///     description: None,
///     capabilities: vec!["actuator_log".into()],
///     blake3: "ab".into(),
///     author: None,
///     unsigned: true,
///     dependencies: vec![],
/// };
/// let list = SpiritList(vec![entry]);
/// assert_eq!(
///     list.to_string(),
///     "NAME   VERSION  AUTHOR      CAPABILITIES\nhello  0.1.0    (unsigned)  actuator_log\n"
/// );
/// assert!(serde_json::to_string(&list).unwrap().starts_with(r#"[{"name":"hello""#));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SpiritList(pub Vec<Entry>);

impl Display for SpiritList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let author = |e: &Entry| match &e.author {
            Some(a) => a.chars().take(16).collect::<String>(),
            None => "(unsigned)".to_owned(),
        };
        let header = ["NAME", "VERSION", "AUTHOR", "CAPABILITIES"].map(str::to_owned);
        let rows: Vec<[String; 4]> = self
            .0
            .iter()
            .map(|e| {
                // Index entries hold a package's text: escaped, and the
                // widths measured on what is printed.
                [
                    escape(&e.name).to_string(),
                    e.version.to_string(),
                    escape(&author(e)).to_string(),
                    escape(&e.capabilities.join(",")).to_string(),
                ]
            })
            .collect();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        for row in std::iter::once(&header).chain(&rows) {
            writeln!(
                f,
                "{:w0$}  {:w1$}  {:w2$}  {}",
                row[0], row[1], row[2], row[3]
            )?;
        }
        Ok(())
    }
}

/// Every installed spirit version.
///
/// # Errors
///
/// Fails when the index cannot be read.
pub fn list(registry: &Registry) -> Result<SpiritList, Error> {
    Ok(SpiritList(registry.list()?))
}

/// One page of the installed spirit versions: at most `limit`, after the
/// first `offset` (by name then version), read without reading the rest of
/// the index.
///
/// # Errors
///
/// Fails when the index cannot be read.
pub fn list_page(registry: &Registry, offset: usize, limit: usize) -> Result<SpiritList, Error> {
    Ok(SpiritList(registry.list_page(offset, limit)?))
}

/// The installed versions whose name or description contains `query`, or
/// that declare a capability equal to it (case-insensitive).
///
/// # Errors
///
/// Fails when the index cannot be read.
pub fn search(registry: &Registry, query: &str) -> Result<SpiritList, Error> {
    Ok(SpiritList(registry.search(query)?))
}

/// One installed spirit version, as `info` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiritInfo {
    /// Its index entry.
    pub entry: Entry,
    /// The directory holding its files.
    pub path: PathBuf,
    /// Every installed version of the spirit, lowest first.
    pub installed: Vec<Version>,
    /// Where its manifest lets it connect and listen.
    pub network: Allowlist,
    /// The installed spirits that depend on this version, as
    /// `name@version`.
    pub dependents: Vec<String>,
}

/// The entry's fields and `path` (its JSON has always been the index
/// entry with the path added, keys in alphabetical order).
impl Serialize for SpiritInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.entry).map_err(serde::ser::Error::custom)?;
        value["path"] = serde_json::json!(self.path);
        if !self.network.is_empty() {
            let strings = |items: Vec<String>| serde_json::json!(items);
            value["network"] = serde_json::json!({
                "connect": strings(self.network.connect.iter().map(ToString::to_string).collect()),
                "listen": strings(self.network.listen.iter().map(ToString::to_string).collect()),
            });
        }
        value["dependents"] = serde_json::json!(self.dependents);
        value.serialize(serializer)
    }
}

impl Display for SpiritInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entry = &self.entry;
        let capabilities = if entry.capabilities.is_empty() {
            "-".to_owned()
        } else {
            entry.capabilities.join(", ")
        };
        // Everything but the path and versions is the package's text (or
        // an index that may have been edited): escaped.
        let installed: Vec<String> = self.installed.iter().map(ToString::to_string).collect();
        writeln!(f, "name:         {}", escape(&entry.name))?;
        writeln!(f, "version:      {}", entry.version)?;
        writeln!(
            f,
            "description:  {}",
            escape(entry.description.as_deref().unwrap_or("-"))
        )?;
        writeln!(f, "capabilities: {}", escape(&capabilities))?;
        if !self.network.is_empty() {
            writeln!(f, "network:      {}", self.network)?;
        }
        writeln!(
            f,
            "author:       {}",
            escape(
                entry
                    .author
                    .as_deref()
                    .unwrap_or("(unsigned, installed with --allow-unsigned)")
            )
        )?;
        writeln!(f, "blake3:       {}", escape(&entry.blake3))?;
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "-".to_owned()
            } else {
                items.join(", ")
            }
        };
        writeln!(
            f,
            "dependencies: {}",
            escape(&list(
                entry.dependencies.iter().map(ToString::to_string).collect()
            ))
        )?;
        writeln!(
            f,
            "dependents:   {}",
            escape(&list(self.dependents.clone()))
        )?;
        writeln!(f, "path:         {}", self.path.display())?;
        writeln!(f, "installed:    {}", installed.join(", "))
    }
}

/// The installed spirit `spec` names, `NAME` or `NAME@REQ`: the highest
/// matching version.
///
/// # Errors
///
/// Fails when the name is invalid, nothing matches, or the index cannot be
/// read.
pub fn info(registry: &Registry, spec: &str) -> Result<SpiritInfo, Error> {
    let (name, req) = split_spec(spec);
    let entry = registry.resolve(name, req)?;
    let path = registry.spirit_dir(&entry.name, &entry.version);
    let installed = registry
        .versions(&entry.name)?
        .into_iter()
        .map(|e| e.version)
        .collect();
    let network = Manifest::read(&path.join(crate::manifest::FILE_NAME))?.network;
    let dependents = registry
        .dependents(&entry.name, Some(&entry.version))?
        .into_iter()
        .map(|e| format!("{}@{}", e.name, e.version))
        .collect();
    Ok(SpiritInfo {
        entry,
        path,
        installed,
        network,
        dependents,
    })
}

/// Removes the spirit `spec` names, every version of `NAME` or just
/// `NAME@VERSION`, and returns what was removed. What installed spirits
/// depend on is removed only with `force` (`--force`), with a warning
/// naming them.
///
/// # Errors
///
/// Fails when the version does not parse, nothing matches, installed
/// spirits depend on it (without `force`), or the registry cannot be
/// changed.
pub fn uninstall(
    shell: &Shell,
    registry: &Registry,
    spec: &str,
    force: bool,
) -> Result<Vec<Entry>, Error> {
    let (name, version) = split_spec(spec);
    let version = version
        .map(|v| {
            v.parse::<Version>()
                .map_err(|source| TargetError::BadVersion {
                    version: v.to_owned(),
                    source,
                })
        })
        .transpose()?;
    let dependents: Vec<String> = if force {
        registry
            .dependents(name, version.as_ref())?
            .into_iter()
            .filter(|e| e.name != name)
            .map(|e| format!("{}@{}", e.name, e.version))
            .collect()
    } else {
        Vec::new()
    };
    let removed = registry.uninstall_with(name, version.as_ref(), force)?;
    for entry in &removed {
        shell.status("Removed", format_args!("{} v{}", entry.name, entry.version));
    }
    if !dependents.is_empty() {
        shell.warn(format_args!(
            "{} depend{} on `{name}`: {} calls to it fail until it is installed again",
            dependents.join(", "),
            if dependents.len() == 1 { "s" } else { "" },
            if dependents.len() == 1 {
                "its"
            } else {
                "their"
            },
        ));
    }
    Ok(removed)
}
