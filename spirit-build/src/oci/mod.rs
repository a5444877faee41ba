//! Sharing spirits through OCI registries (`cargo spirit push` and `pull`):
//! references, the Wasm OCI artifact layout a spirit travels in, and the
//! distribution protocol with its authentication.
//!
//! A spirit is pushed as a standard Wasm OCI artifact (config
//! `application/vnd.wasm.config.v0+json`, one `application/wasm` layer), so
//! any OCI tool gets a plain module from it; its `manifest.toml` and
//! `signature.toml` ride along as annotations of the image manifest, so one
//! manifest digest covers the module, the manifest and the signature, and
//! no registry needs the referrers API (`docs/registry.md`). Every byte
//! pulled is checked against the digest that names it before it is used;
//! `ops::pull` then rebuilds the `.spirit` package and installs it through
//! the same checks as a package file.

mod auth;
mod client;
mod digest;
mod error;
pub mod layout;
mod reference;

pub use auth::Credentials;
pub use client::{Client, ClientOptions};
pub use digest::Digest;
pub use error::OciError;
pub use layout::Artifact;
pub use reference::Reference;
