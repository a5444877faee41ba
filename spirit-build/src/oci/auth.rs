//! Credentials for a registry and the two ways registries ask for them:
//! Basic (the credentials on every request) and the bearer-token flow (the
//! registry names a token service; the credentials, or none, buy a token
//! for one repository and action). Credentials come from the command line
//! or from Docker's configuration and its credential helpers.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;

use super::error::OciError;

/// What we authenticate with.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// Nothing: public repositories, or a registry's anonymous token.
    #[default]
    Anonymous,
    /// A user name and password (or access token used as a password).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// A Docker identity token (what `docker login` stores for some
    /// registries): exchanged for an access token as an OAuth2 refresh
    /// token.
    IdentityToken(String),
}

/// Credentials never show their secret, not even in debug output.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

impl Credentials {
    /// The credentials Docker's configuration holds for `registry` (the
    /// host as in the reference, `ghcr.io` or `127.0.0.1:5000`): its
    /// `auths` entry, or what its credential helper (`credHelpers`,
    /// `credsStore`) answers. [`Credentials::Anonymous`] when there is no
    /// configuration or no entry. The file is `$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`.
    ///
    /// # Errors
    ///
    /// Fails when the file exists but cannot be read, or a helper fails.
    pub fn from_docker_config(registry: &str) -> Result<Credentials, OciError> {
        let Some(path) = docker_config_file() else {
            return Ok(Credentials::Anonymous);
        };
        if !path.is_file() {
            return Ok(Credentials::Anonymous);
        }
        let file = std::fs::File::open(&path).map_err(|e| OciError::Credentials {
            registry: registry.to_owned(),
            reason: format!("cannot open `{}`: {e}", path.display()),
        })?;
        // A configuration is a few KiB; a larger file is not one.
        let reader = std::io::Read::take(std::io::BufReader::new(file), 1 << 20);
        // Docker Hub's entry is keyed by its old URL.
        let key = if registry == "docker.io" {
            "https://index.docker.io/v1/"
        } else {
            registry
        };
        use docker_credential::{CredentialRetrievalError as E, DockerCredential};
        match docker_credential::get_credential_from_reader(reader, key) {
            Ok(DockerCredential::UsernamePassword(username, password)) => {
                Ok(Credentials::Basic { username, password })
            }
            Ok(DockerCredential::IdentityToken(token)) => Ok(Credentials::IdentityToken(token)),
            Err(E::NoCredentialConfigured) => Ok(Credentials::Anonymous),
            Err(e) => {
                let reason = match e {
                    E::ConfigReadError | E::ConfigNotFound => {
                        format!("`{}` is not a Docker configuration (JSON)", path.display())
                    }
                    // The helper's own output may hold secrets: only its name.
                    E::HelperFailure { helper, .. } => {
                        format!("the credential helper `{helper}` failed")
                    }
                    E::HelperCommunicationError => "the credential helper named there could not be run (is `docker-credential-<name>` on PATH?)".to_owned(),
                    E::MalformedHelperResponse => "the credential helper's answer is not what Docker's protocol says".to_owned(),
                    E::CredentialDecodingError => "its `auth` field is not base64 of `user:password`".to_owned(),
                    E::CredentialMismatchError => "its `auth` field and its `username`/`password` disagree".to_owned(),
                    E::NoCredentialConfigured => String::new(),
                };
                Err(OciError::Credentials {
                    registry: registry.to_owned(),
                    reason,
                })
            }
        }
    }

    /// Whether there is anything to send.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Credentials::Anonymous)
    }

    /// The `Authorization` value of Basic authentication, when there is a
    /// user name and password.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        }
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_file() -> Option<PathBuf> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")))?;
    Some(dir.join("config.json"))
}

/// A `WWW-Authenticate` challenge: its scheme (lowercase) and parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: BTreeMap<String, String>,
}

/// Parses the first challenge of a `WWW-Authenticate` header:
/// `Bearer realm="…",service="…",scope="repository:a/b:pull,push"`.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, mut rest) = match header.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest.trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end?..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        params.insert(key, value);
        rest = after.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (c.scheme.as_str(), c.params["realm"].as_str()),
            ("basic", "Registry Realm")
        );
        assert_eq!(parse_challenge(r#"Bearer realm="unterminated"#), None);
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn credentials_hide_their_secret() {
        let c = Credentials::Basic {
            username: "ci".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.basic_header().unwrap(), "Basic Y2k6aHVudGVyMg==");
    }
}
