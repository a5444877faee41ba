//! `cargo spirit push`: a signed spirit to an OCI registry, as a standard
//! Wasm OCI artifact carrying its manifest and signature.

use std::path::PathBuf;

use serde::Serialize;

use super::registry::spirit_files;
use super::target::Target;
use crate::oci::{Artifact, Client, ClientOptions, Digest, OciError, Reference};
use crate::package::SpiritFiles;
use crate::registry::Registry;
use crate::sign::{self, Acceptance, SignaturePolicy};
use crate::{Error, Shell};

/// What `push` takes.
const PUSHABLE: &str =
    "a spirit crate, a build directory, a `.spirit` package or an installed NAME[@REQ]";

/// What `push` does.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// Where to: `REGISTRY/REPOSITORY[:TAG]`; without a tag, the spirit's
    /// version ([`Reference::tag_for_version`]).
    pub reference: Reference,
    /// How to reach the registry.
    pub client: ClientOptions,
    /// Push a spirit that has no signature.
    pub allow_unsigned: bool,
}

/// A pushed spirit.
#[derive(Clone, Debug, Serialize)]
pub struct Pushed {
    /// The spirit's name.
    pub name: String,
    /// Its version.
    pub version: semver::Version,
    /// Where it went, with its tag.
    pub reference: Reference,
    /// The digest of the image manifest: what `pull REGISTRY/REPOSITORY@DIGEST`
    /// fetches, always the same content.
    pub digest: Digest,
    /// Who signed it (the key's hex), or `None` when pushed unsigned.
    pub author: Option<String>,
}

impl std::fmt::Display for Pushed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.digest)
    }
}

/// Pushes the spirit `source` names to `options.reference`: its blobs (the
/// module and the config) unless the repository has them, then the image
/// manifest under the tag. The spirit's files must agree with each other
/// and its signature verify before anything is sent.
///
/// # Errors
///
/// Fails when the source is not one spirit, is unsigned (without
/// `allow_unsigned`) or inconsistent, or the registry refuses.
pub fn push(
    shell: &Shell,
    registry: &Registry,
    source: &Target,
    options: &PushOptions,
) -> Result<Pushed, Error> {
    if options.reference.digest().is_some() {
        return Err(OciError::PushToDigest(options.reference.to_string()).into());
    }
    let files = one_spirit(shell, registry, source)?;
    let what = format!("{} v{}", files.manifest.name, files.manifest.version);
    let policy = SignaturePolicy {
        unsigned: if options.allow_unsigned {
            Acceptance::Allow
        } else {
            Acceptance::Refuse
        },
        ..SignaturePolicy::CONSISTENT
    };
    let verdict =
        sign::check_signed(files.signed(), &policy, &[]).map_err(|error| Error::Verify {
            path: PathBuf::from(&what),
            error,
        })?;
    let reference = match options.reference.tag() {
        Some(_) => options.reference.clone(),
        None => options
            .reference
            .with_tag(Reference::tag_for_version(&files.manifest.version)),
    };
    let tag = reference.tag().unwrap_or_default().to_owned();
    shell.status("Pushing", format_args!("{what} to {reference}"));
    let artifact = Artifact::new(&files);
    let mut client = Client::new(&reference, &options.client, true);
    client.push_blob(artifact.wasm, "the module")?;
    client.push_blob(&artifact.config_bytes, "the config")?;
    let digest = client.put_manifest(&tag, &artifact.manifest_bytes)?;
    shell.status(
        "Pushed",
        format_args!("{what} as {}", reference.with_digest(digest)),
    );
    Ok(Pushed {
        name: files.manifest.name.clone(),
        version: files.manifest.version.clone(),
        reference,
        digest,
        author: verdict.author().map(|a| a.to_string()),
    })
}

/// The one spirit `source` names.
fn one_spirit(shell: &Shell, registry: &Registry, source: &Target) -> Result<SpiritFiles, Error> {
    if let Target::Installed { name, req } = source {
        let entry = registry.resolve(name, req.as_deref())?;
        return Ok(registry.load(&entry)?);
    }
    if matches!(
        source,
        Target::Wasm(_) | Target::Oci(_) | Target::PackageDir(_)
    ) {
        return Err(source.refuse("push", PUSHABLE));
    }
    let mut spirits = spirit_files(shell, source, "push")?;
    match spirits.len() {
        1 => Ok(spirits.remove(0)),
        _ => Err(crate::error::TargetError::NotAccepted {
            target: spirits
                .iter()
                .map(|s| s.manifest.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            kind: "several spirits",
            command: "push",
            accepted: "one spirit: select it with `-p NAME`, or give its build directory or package",
        }
        .into()),
    }
}
