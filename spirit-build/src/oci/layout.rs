//! The artifact a spirit is pushed as: the CNCF Wasm OCI artifact layout
//! (an OCI image manifest, config `application/vnd.wasm.config.v0+json`,
//! exactly one `application/wasm` layer holding the stripped module), with
//! the spirit's `manifest.toml` and `signature.toml` as manifest
//! annotations (see `docs/registry.md` for why annotations). Building it for
//! `push`, and checking it and rebuilding the package for `pull`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use crate::package::{self, SpiritFiles};

/// The media type of an OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of an OCI image index (what a multi-platform image is).
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The config media type of the Wasm OCI artifact layout.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The media type of the one layer: the module itself.
pub const WASM_MEDIA_TYPE: &str = "application/wasm";
/// The annotation holding the spirit's `manifest.toml`, byte for byte.
pub const MANIFEST_ANNOTATION: &str = "io.github.cargo-spirit.manifest";
/// The annotation holding the spirit's `signature.toml` (absent when
/// unsigned).
pub const SIGNATURE_ANNOTATION: &str = "io.github.cargo-spirit.signature";
/// The standard annotation naming a layer's file (what `oras pull` writes
/// it as) and the standard ones describing the artifact.
const TITLE: &str = "org.opencontainers.image.title";
const VERSION: &str = "org.opencontainers.image.version";
const DESCRIPTION: &str = "org.opencontainers.image.description";

/// The largest image manifest read (the distribution server's own limit).
pub const MAX_MANIFEST: u64 = 4 << 20;
/// The largest config blob read.
pub const MAX_CONFIG: u64 = 64 << 10;

/// `config.created`: fixed, as a package's tar headers are, so the same
/// spirit always gives the same artifact and the same digest.
const CREATED: &str = "1970-01-01T00:00:00Z";

/// An OCI content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image manifest, with only the fields this layout uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MANIFEST_MEDIA_TYPE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers: exactly one here.
    pub layers: Vec<Descriptor>,
    /// The manifest's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The config blob of the Wasm OCI artifact layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// When the artifact was made (fixed, see above).
    pub created: String,
    /// Who wrote the module (the manifest's first author).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip1`, which the layout uses for any core module (a spirit
    /// imports the cargo-spirit host ABI, not WASI).
    pub os: String,
    /// The layers' digests, in order.
    pub layer_digests: Vec<Digest>,
}

/// A spirit as an artifact, ready to push: the manifest's and config's
/// exact bytes and the module.
///
/// ```
/// use spirit_build::manifest::Manifest;
/// use spirit_build::oci::{Artifact, layout};
/// use spirit_build::package::SpiritFiles;
///
/// let wasm = b"\0asm\x01\0\0\0".to_vec();
/// let files = SpiritFiles::new(Manifest::for_module("hello", "1.0.0".parse().unwrap(), &wasm), wasm, None);
/// let artifact = Artifact::new(&files);
/// assert_eq!(artifact.manifest.config.media_type, layout::CONFIG_MEDIA_TYPE);
/// assert_eq!(artifact.manifest.layers[0].media_type, layout::WASM_MEDIA_TYPE);
/// assert_eq!(Artifact::new(&files).manifest_bytes, artifact.manifest_bytes); // reproducible
/// ```
#[derive(Clone, Debug)]
pub struct Artifact<'a> {
    /// The image manifest.
    pub manifest: ImageManifest,
    /// Its exact bytes, as pushed.
    pub manifest_bytes: Vec<u8>,
    /// The config blob's bytes.
    pub config_bytes: Vec<u8>,
    /// The module.
    pub wasm: &'a [u8],
}

impl<'a> Artifact<'a> {
    /// The artifact of a spirit's files.
    pub fn new(files: &'a SpiritFiles) -> Artifact<'a> {
        let wasm_digest = Digest::of(&files.wasm);
        let config = WasmConfig {
            created: CREATED.to_owned(),
            author: files.manifest.authors.first().cloned(),
            architecture: "wasm".to_owned(),
            os: "wasip1".to_owned(),
            layer_digests: vec![wasm_digest],
        };
        // Serializing plain strings and numbers cannot fail.
        let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
        let mut annotations = BTreeMap::new();
        annotations.insert(
            MANIFEST_ANNOTATION.to_owned(),
            // The manifest was read as UTF-8 (`Manifest::from_toml`).
            String::from_utf8_lossy(&files.manifest_bytes).into_owned(),
        );
        if let Some(signature) = &files.signature {
            annotations.insert(SIGNATURE_ANNOTATION.to_owned(), signature.to_toml());
        }
        annotations.insert(VERSION.to_owned(), files.manifest.version.to_string());
        if let Some(description) = &files.manifest.description {
            annotations.insert(DESCRIPTION.to_owned(), description.clone());
        }
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MANIFEST_MEDIA_TYPE.to_owned()),
            config: Descriptor {
                media_type: CONFIG_MEDIA_TYPE.to_owned(),
                digest: Digest::of(&config_bytes),
                size: config_bytes.len() as u64,
                annotations: BTreeMap::new(),
            },
            layers: vec![Descriptor {
                media_type: WASM_MEDIA_TYPE.to_owned(),
                digest: wasm_digest,
                size: files.wasm.len() as u64,
                annotations: BTreeMap::from([(TITLE.to_owned(), files.manifest.wasm.file.clone())]),
            }],
            annotations,
        };
        let manifest_bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        Artifact {
            manifest,
            manifest_bytes,
            config_bytes,
            wasm: &files.wasm,
        }
    }
}

/// Checks a pulled image manifest against the layout and returns it
/// parsed; the error says, in words, what makes it no spirit.
///
/// # Errors
///
/// Fails for anything but a Wasm OCI artifact carrying a spirit's manifest.
pub fn check_manifest(bytes: &[u8]) -> Result<ImageManifest, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        media_type: Option<String>,
    }
    let kind: Kind = serde_json::from_slice(bytes)
        .map_err(|e| format!("its manifest is not JSON an OCI manifest has ({e})"))?;
    if kind.media_type.as_deref() == Some(INDEX_MEDIA_TYPE) {
        return Err("it is an image index (several platforms), not one Wasm artifact".to_owned());
    }
    let manifest: ImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| format!("its manifest is not an OCI image manifest ({e})"))?;
    if manifest.schema_version != 2 {
        return Err(format!(
            "its manifest has schemaVersion {}, not 2",
            manifest.schema_version
        ));
    }
    if let Some(media_type) = &manifest.media_type
        && media_type != MANIFEST_MEDIA_TYPE
    {
        return Err(format!(
            "its manifest's media type is `{}`, not `{MANIFEST_MEDIA_TYPE}`",
            crate::shell::escape(media_type)
        ));
    }
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(format!(
            "its config's media type is `{}`, not `{CONFIG_MEDIA_TYPE}`: it is not a Wasm artifact",
            crate::shell::escape(&manifest.config.media_type)
        ));
    }
    if manifest.config.size > MAX_CONFIG {
        return Err(format!(
            "its config is {} bytes, more than the {MAX_CONFIG} allowed",
            manifest.config.size
        ));
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(format!(
            "it has {} layers; a Wasm artifact has exactly one",
            manifest.layers.len()
        ));
    };
    if layer.media_type != WASM_MEDIA_TYPE {
        return Err(format!(
            "its layer's media type is `{}`, not `{WASM_MEDIA_TYPE}`",
            crate::shell::escape(&layer.media_type)
        ));
    }
    if layer.size > package::MAX_WASM {
        return Err(format!(
            "its module is {} bytes, more than the {} a spirit may have",
            layer.size,
            package::MAX_WASM
        ));
    }
    for (key, what) in [
        (MANIFEST_ANNOTATION, "manifest.toml"),
        (SIGNATURE_ANNOTATION, "signature.toml"),
    ] {
        if manifest
            .annotations
            .get(key)
            .is_some_and(|text| text.len() as u64 > package::MAX_TEXT)
        {
            return Err(format!(
                "its `{what}` annotation is more than the {} bytes allowed",
                package::MAX_TEXT
            ));
        }
    }
    if !manifest.annotations.contains_key(MANIFEST_ANNOTATION) {
        return Err(format!(
            "it has no `{MANIFEST_ANNOTATION}` annotation: a Wasm module pushed by another tool, not a spirit (push spirits with `cargo spirit push`)"
        ));
    }
    Ok(manifest)
}

/// Checks a pulled config blob against the layout and the manifest's layer.
///
/// # Errors
///
/// Fails when it is not the layout's config or names other layers.
pub fn check_config(bytes: &[u8], manifest: &ImageManifest) -> Result<WasmConfig, String> {
    let config: WasmConfig = serde_json::from_slice(bytes)
        .map_err(|e| format!("its config is not a Wasm artifact config ({e})"))?;
    if config.architecture != "wasm" {
        return Err(format!(
            "its config's architecture is `{}`, not `wasm`",
            crate::shell::escape(&config.architecture)
        ));
    }
    let layers: Vec<Digest> = manifest.layers.iter().map(|l| l.digest).collect();
    if config.layer_digests != layers {
        return Err("its config's `layerDigests` do not name the manifest's layer".to_owned());
    }
    Ok(config)
}

#[cfg(feature = "build")]
/// The `.spirit` package a checked artifact holds: the annotations'
/// manifest and signature and the layer's module, under the layer's title
/// (which must be the manifest's `wasm.file`, as in a package).
pub fn package_bytes(manifest: &ImageManifest, wasm: &[u8]) -> Vec<u8> {
    let text = |key: &str| manifest.annotations.get(key).map(String::as_bytes);
    let title = manifest
        .layers
        .first()
        .and_then(|l| l.annotations.get(TITLE));
    package::assemble(
        text(MANIFEST_ANNOTATION).unwrap_or_default(),
        title.map_or("", String::as_str),
        wasm,
        text(SIGNATURE_ANNOTATION),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::sign::Key;

    fn files() -> SpiritFiles {
        let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
            .unwrap();
        let manifest = Manifest::for_module("hello", "1.0.0".parse().unwrap(), &wasm);
        SpiritFiles::new(manifest, wasm, Some(&Key::generate().unwrap()))
    }

    #[test]
    fn an_artifact_round_trips_to_the_same_package() {
        let files = files();
        let artifact = Artifact::new(&files);
        let manifest = check_manifest(&artifact.manifest_bytes).unwrap();
        assert_eq!(manifest, artifact.manifest);
        check_config(&artifact.config_bytes, &manifest).unwrap();
        assert_eq!(package_bytes(&manifest, &files.wasm), files.to_package());
    }

    #[test]
    fn what_is_not_the_layout_is_refused_in_words() {
        let files = files();
        let artifact = Artifact::new(&files);
        let changed = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut value: serde_json::Value =
                serde_json::from_slice(&artifact.manifest_bytes).unwrap();
            change(&mut value);
            check_manifest(&serde_json::to_vec(&value).unwrap()).unwrap_err()
        };
        assert!(
            changed(
                &|v| v["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json".into()
            )
            .contains("not a Wasm artifact")
        );
        assert!(changed(&|v| v["layers"] = serde_json::json!([])).contains("0 layers"));
        assert!(
            changed(&|v| v["layers"][0]["mediaType"] = "application/octet-stream".into())
                .contains("layer's media type")
        );
        assert!(changed(&|v| v["annotations"] = serde_json::json!({})).contains("not a spirit"));
        assert!(
            changed(&|v| v["layers"][0]["size"] = (package::MAX_WASM + 1).into())
                .contains("more than")
        );
        assert!(changed(&|v| v["mediaType"] = INDEX_MEDIA_TYPE.into()).contains("image index"));
        let mut manifest = artifact.manifest.clone();
        manifest.layers[0].digest = Digest::of(b"other");
        assert!(
            check_config(&artifact.config_bytes, &manifest)
                .unwrap_err()
                .contains("layerDigests")
        );
    }
}
