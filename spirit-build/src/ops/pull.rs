//! `cargo spirit pull` (and `install REGISTRY/REPOSITORY:TAG`): a spirit
//! from an OCI registry into the local registry, every byte checked against
//! its digest, then installed through the same checks as a package file.

use std::path::Path;

use serde::Serialize;

use super::registry::install_files;
use crate::oci::{Client, ClientOptions, Digest, OciError, Reference, layout};
use crate::registry::{Entry, InstallOptions, Installed, Registry, RegistryError};
use crate::{Error, Shell, package};

/// What `pull` does.
#[derive(Clone, Debug)]
pub struct PullOptions {
    /// What to pull: `REGISTRY/REPOSITORY:TAG` or `…@sha256:DIGEST`.
    pub reference: Reference,
    /// How to reach the registry.
    pub client: ClientOptions,
    /// As for `install`: `allow_unsigned`, `force`.
    pub install: InstallOptions,
}

/// A pulled spirit.
#[derive(Clone, Debug, Serialize)]
pub struct Pulled {
    /// What was pulled.
    pub reference: Reference,
    /// The digest of its image manifest.
    pub digest: Digest,
    /// The installed spirit.
    pub spirit: Entry,
    /// Whether exactly this spirit was installed already (nothing changed).
    pub unchanged: bool,
}

/// Pulls the spirit `options.reference` names and installs it.
///
/// The image manifest is fetched (by digest when the reference has one,
/// which its content must match) and checked against the Wasm OCI layout;
/// the config and the module are fetched by their digests, each read
/// within its size and refused if its digest differs. The `.spirit`
/// package the artifact holds is rebuilt and read back as strictly as a
/// package file, then installed in one transaction of the local registry,
/// which verifies the wasm's hash, the signature and a trusted author
/// exactly as `install` does. Nothing is installed when any check fails;
/// pulling what is installed already changes nothing.
///
/// # Errors
///
/// Fails on a reference without tag or digest, any registry error (401,
/// 404, …), a digest mismatch, an artifact that is not a spirit, and
/// everything `install` refuses; a tag that now names other content than
/// the installed version of the same name is reported as moved.
pub fn pull(shell: &Shell, registry: &Registry, options: &PullOptions) -> Result<Pulled, Error> {
    let reference = &options.reference;
    let Some(name) = reference.manifest_name() else {
        return Err(OciError::InvalidReference {
            reference: reference.to_string(),
            reason: "it names neither a tag nor a digest, and a spirit is never pushed as `latest`"
                .to_owned(),
        }
        .into());
    };
    shell.status("Pulling", reference);
    let mut client = Client::new(reference, &options.client, false);
    let (manifest_bytes, digest) = client.get_manifest(&name)?;
    let not_a_spirit = |reason: String| OciError::NotASpirit {
        reference: reference.to_string(),
        reason,
    };
    let manifest = layout::check_manifest(&manifest_bytes).map_err(not_a_spirit)?;
    let config = client.get_blob(&manifest.config, "the config")?;
    layout::check_config(&config, &manifest).map_err(not_a_spirit)?;
    let wasm = client.get_blob(&manifest.layers[0], "the module")?;
    let package = layout::package_bytes(&manifest, &wasm);
    let files = package::parse_package(Path::new(&reference.to_string()), &package)?;
    let installed = install_files(
        shell,
        registry,
        std::slice::from_ref(&files),
        options.install,
    )
    .map_err(|e| match e {
        Error::Registry(RegistryError::Conflict { name, version, .. })
            if reference.digest().is_none() =>
        {
            OciError::TagMoved {
                reference: reference.to_string(),
                reference_repository: format!(
                    "{}/{}",
                    reference.registry(),
                    reference.repository()
                ),
                digest: digest.to_string(),
                name,
                version: version.to_string(),
            }
            .into()
        }
        e => e,
    })?;
    let installed = installed.into_iter().next();
    let unchanged = matches!(installed, Some(Installed::Unchanged(_)));
    let spirit = installed
        .map(|i| i.entry().clone())
        .ok_or_else(|| not_a_spirit("nothing was installed from it".to_owned()))?;
    Ok(Pulled {
        reference: reference.clone(),
        digest,
        spirit,
        unchanged,
    })
}
