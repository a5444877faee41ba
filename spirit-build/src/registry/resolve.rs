//! Names, versions and requirements: which installed version a
//! `NAME[@REQ]` means (semver, highest match), and which entries a search
//! finds.

use semver::{Version, VersionReq};

use super::entry::{Versions, same_version};
use super::{Entry, RegistryError};
use crate::package::SpiritFiles;

/// Splits `name@req` into the name and the requirement.
///
/// ```
/// use spirit_build::registry::split_spec;
/// assert_eq!(split_spec("hello@^1.2"), ("hello", Some("^1.2")));
/// assert_eq!(split_spec("hello"), ("hello", None));
/// ```
pub fn split_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('@') {
        Some((name, req)) => (name, Some(req)),
        None => (spec, None),
    }
}

/// Refuses a name that cannot be a spirit's, so that no path built from it
/// leaves the registry.
pub(super) fn validate_name(name: &str) -> Result<(), RegistryError> {
    crate::template::validate_name(name).map_err(|_| RegistryError::BadName(name.to_owned()))
}

/// A version requirement; any version (the highest installed) when `None`
/// or `latest`.
pub(super) fn parse_req(name: &str, text: Option<&str>) -> Result<VersionReq, RegistryError> {
    let Some(text) = text.filter(|t| *t != "latest") else {
        return Ok(VersionReq::STAR);
    };
    VersionReq::parse(text).map_err(|e| RegistryError::BadRequirement {
        name: name.to_owned(),
        req: text.to_owned(),
        error: e.to_string(),
    })
}

/// The manifest's version as the registry records it: a semantic version
/// without build metadata, which is not part of a spirit's identity (as
/// semver and cargo say): `1.0.0+evil` is `1.0.0`.
pub(super) fn version_of(files: &SpiritFiles) -> Result<Version, RegistryError> {
    let text = files.manifest.version.to_string();
    let mut version = Version::parse(&text).map_err(|e| RegistryError::BadRequirement {
        name: files.manifest.name.clone(),
        req: text,
        error: e.to_string(),
    })?;
    version.build = semver::BuildMetadata::EMPTY;
    Ok(version)
}

/// Takes the versions that are `version` (build metadata ignored) out of
/// `versions`.
pub(super) fn take_version(versions: &mut Versions, version: &Version) -> Vec<Entry> {
    let keys: Vec<Version> = versions
        .keys()
        .filter(|k| same_version(k, version))
        .cloned()
        .collect();
    keys.iter().filter_map(|k| versions.remove(k)).collect()
}

/// The highest of `versions` that matches `req`; the error lists them all.
pub(super) fn highest_match(
    name: &str,
    versions: &Versions,
    req: &VersionReq,
) -> Result<Entry, RegistryError> {
    versions
        .values()
        .rev()
        .find(|e| req.matches(&e.version))
        .cloned()
        .ok_or_else(|| no_match(name, req.to_string(), versions))
}

/// Nothing of `name` matches `req`: says what is installed.
pub(super) fn no_match(name: &str, req: String, versions: &Versions) -> RegistryError {
    RegistryError::NoMatch {
        name: name.to_owned(),
        req,
        installed: versions
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Whether a search for `query` (already lowercase) finds `entry`: its name
/// or description contains it, or it declares a capability equal to it.
pub(super) fn found(entry: &Entry, query: &str) -> bool {
    entry.name.to_lowercase().contains(query)
        || entry
            .description
            .as_deref()
            .is_some_and(|d| d.to_lowercase().contains(query))
        || entry.capabilities.iter().any(|c| c == query)
}
