//! What can go wrong between us and an OCI registry, in words: each
//! message says what failed, for which reference, and how to fix it.

/// Why a push or pull failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The argument is not an OCI reference.
    #[error(
        "invalid OCI reference `{reference}`: {reason}\nhelp: write REGISTRY/REPOSITORY[:TAG] or REGISTRY/REPOSITORY@sha256:DIGEST, e.g. `ghcr.io/team/hello:1.0.0`"
    )]
    InvalidReference {
        /// The argument, escaped.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry could not be reached, or the connection failed.
    #[error("could not reach registry `{registry}` ({url}): {reason}{}", if *plain_http { "" } else { "\nhelp: for a registry that serves plain HTTP (on loopback or a lab network), pass `--plain-http`" })]
    Connect {
        /// The registry.
        registry: String,
        /// The URL asked for.
        url: String,
        /// What failed.
        reason: String,
        /// Whether plain HTTP was used already.
        plain_http: bool,
    },
    /// 401: no credentials, or wrong ones.
    #[error("registry `{registry}` refused {action} `{reference}`: 401 Unauthorized{}\nhelp: log in with `docker login {registry}` (cargo-spirit reads Docker's credentials), or pass `--username USER --password-stdin`", if *had_credentials { ", the credentials given are wrong" } else { ", it requires credentials" })]
    Unauthorized {
        /// The registry.
        registry: String,
        /// The reference.
        reference: String,
        /// `pulling` or `pushing`.
        action: &'static str,
        /// Whether credentials were sent.
        had_credentials: bool,
    },
    /// 403: the credentials are valid but not allowed to do this.
    #[error(
        "registry `{registry}` denied {action} `{reference}`: 403 Forbidden\nhelp: the account has no {action} access to this repository; ask its owner"
    )]
    Denied {
        /// The registry.
        registry: String,
        /// The reference.
        reference: String,
        /// `pulling` or `pushing`.
        action: &'static str,
    },
    /// 404: the repository, tag or digest is not in the registry.
    #[error(
        "`{reference}` was not found in registry `{registry}`: {what}\nhelp: check the repository and the tag or digest; `cargo spirit push` puts a spirit there"
    )]
    NotFound {
        /// The registry.
        registry: String,
        /// The reference.
        reference: String,
        /// What was missing.
        what: String,
    },
    /// Any other answer the registry should not have given.
    #[error("registry `{registry}` answered {status} to {what}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The registry.
        registry: String,
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer, escaped.
        body: String,
    },
    /// Content whose digest or size is not what was asked for.
    #[error(
        "{what} from `{reference}` does not match its digest: {detail}; refused, nothing was installed\nhelp: the registry's copy is damaged or was altered; push the spirit again"
    )]
    DigestMismatch {
        /// The reference.
        reference: String,
        /// The manifest, the config or the module.
        what: &'static str,
        /// Expected and actual.
        detail: String,
    },
    /// Content larger than allowed.
    #[error("{what} from `{reference}` is larger than the {limit} bytes allowed; refused")]
    TooLarge {
        /// The reference.
        reference: String,
        /// The manifest, the config or the module.
        what: &'static str,
        /// The bound.
        limit: u64,
    },
    /// The artifact is not a spirit in the Wasm OCI layout.
    #[error("`{reference}` is not a spirit: {reason}")]
    NotASpirit {
        /// The reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry's bearer-token service failed or answered nonsense.
    #[error("the token service of registry `{registry}` ({realm}) failed: {reason}")]
    Token {
        /// The registry.
        registry: String,
        /// The token service's URL.
        realm: String,
        /// What failed.
        reason: String,
    },
    /// Docker's configuration or a credential helper failed.
    #[error(
        "could not read the credentials for registry `{registry}` from Docker's configuration: {reason}\nhelp: check `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`), or pass `--username USER --password-stdin`"
    )]
    Credentials {
        /// The registry.
        registry: String,
        /// What failed.
        reason: String,
    },
    /// `push` was given a digest.
    #[error(
        "cannot push to `{0}`: a reference with a digest names existing content\nhelp: push to a tag (REGISTRY/REPOSITORY:TAG), or leave the tag out to use the spirit's version"
    )]
    PushToDigest(String),
    /// The tag names other content than the installed spirit of the same
    /// name and version.
    #[error(
        "the tag `{reference}` now names different content ({digest}) than the installed `{name}` v{version}: the tag was moved since it was installed; nothing was changed\nhelp: pull by digest (`{reference_repository}@{digest}`) to know what you get; `--force` replaces the installed version"
    )]
    TagMoved {
        /// The reference pulled.
        reference: String,
        /// The reference without tag or digest.
        reference_repository: String,
        /// The manifest digest the tag names now.
        digest: String,
        /// The spirit.
        name: String,
        /// Its version.
        version: String,
    },
}
