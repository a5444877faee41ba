//! OCI references, `REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`: parsing,
//! the rule that tells one from a path or an installed spirit's name, and
//! the registry's API host.

use std::fmt;

use super::digest::Digest;
use super::error::OciError;

/// The longest reference accepted (the distribution server's limit for a
/// repository name is 255 characters; a tag is at most 128).
const MAX_REFERENCE: usize = 512;

/// A parsed OCI reference: the registry host, the repository, and a tag, a
/// digest or both (the digest is what is fetched then; the tag is only
/// checked).
///
/// ```
/// use spirit_build::oci::Reference;
///
/// let r: Reference = "ghcr.io/team/hello:1.2.0".parse()?;
/// assert_eq!((r.registry(), r.repository(), r.tag()), ("ghcr.io", "team/hello", Some("1.2.0")));
/// assert_eq!(r.to_string(), "ghcr.io/team/hello:1.2.0");
///
/// let pinned: Reference = "localhost:5000/hello@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".parse()?;
/// assert_eq!(pinned.registry(), "localhost:5000");
/// assert!(pinned.digest().is_some());
///
/// assert!("hello".parse::<Reference>().is_err()); // no registry
/// # Ok::<(), spirit_build::oci::OciError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Whether a command-line argument that is nothing on disk is an OCI
    /// reference rather than an installed spirit's `NAME[@REQ]`: it holds a
    /// `/`, and the part before the first `/` is a registry host, that is
    /// it starts with a letter or digit and holds a `.` or a `:`, or is
    /// `localhost` (Docker's rule for telling a registry from a
    /// repository's namespace). A spirit's name holds no `/`, so the two
    /// never overlap; what exists on disk is classified before this rule.
    ///
    /// ```
    /// use spirit_build::oci::Reference;
    /// assert!(Reference::looks_like("ghcr.io/team/hello:1.0.0"));
    /// assert!(Reference::looks_like("127.0.0.1:5000/hello"));
    /// assert!(Reference::looks_like("localhost/hello"));
    /// assert!(!Reference::looks_like("hello@^1.2"));
    /// assert!(!Reference::looks_like("spirits/hello"));
    /// assert!(!Reference::looks_like("./missing/dir"));
    /// assert!(!Reference::looks_like("../missing.spirit/x"));
    /// ```
    pub fn looks_like(arg: &str) -> bool {
        let Some((host, rest)) = arg.split_once('/') else {
            return false;
        };
        // `./x` and `../x` are paths; a host starts with a letter, a digit
        // or `[` (an IPv6 address).
        let starts_like_a_host = host
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '[');
        !rest.is_empty() && starts_like_a_host && (host.contains(['.', ':']) || host == "localhost")
    }

    /// The registry as written in the reference (`ghcr.io`,
    /// `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host the registry's API answers on: `docker.io` is served by
    /// `registry-1.docker.io`; any other registry is its own.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// The repository (`team/hello`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same repository at `tag` (and no digest).
    pub fn with_tag(&self, tag: String) -> Reference {
        Reference {
            tag: Some(tag),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository at `digest` (and no tag).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// What the registry's manifest endpoint is asked for: the digest when
    /// there is one, else the tag.
    pub fn manifest_name(&self) -> Option<String> {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => Some(digest.to_string()),
            (None, Some(tag)) => Some(tag.clone()),
            (None, None) => None,
        }
    }

    /// The tag a spirit's version gives: the version, with `+` (not allowed
    /// in a tag) written `_`, as Helm does.
    ///
    /// ```
    /// use spirit_build::oci::Reference;
    /// assert_eq!(Reference::tag_for_version(&"1.2.0-rc.1+g1234".parse().unwrap()), "1.2.0-rc.1_g1234");
    /// ```
    pub fn tag_for_version(version: &semver::Version) -> String {
        version.to_string().replace('+', "_")
    }
}

impl std::str::FromStr for Reference {
    type Err = OciError;

    fn from_str(text: &str) -> Result<Reference, OciError> {
        let invalid = |reason: &str| OciError::InvalidReference {
            reference: crate::shell::escape(&text.chars().take(MAX_REFERENCE).collect::<String>())
                .to_string(),
            reason: reason.to_owned(),
        };
        if text.len() > MAX_REFERENCE {
            return Err(invalid("it is longer than 512 characters"));
        }
        if !Reference::looks_like(text) {
            return Err(invalid(
                "it does not start with a registry host (a name with a `.` or a `:`, or `localhost`, then `/`)",
            ));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(
                    digest
                        .parse::<Digest>()
                        .map_err(|reason| invalid(&reason))?,
                ),
            ),
            None => (text, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("it has no repository"))?;
        if !registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(invalid("the registry host holds characters a host cannot"));
        }
        // A `:` after the last `/` starts the tag.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        if repository.len() > 255 {
            return Err(invalid("the repository is longer than 255 characters"));
        }
        for component in repository.split('/') {
            if !valid_component(component) {
                return Err(invalid(
                    "each part of the repository must be lowercase letters and digits, separated by `.`, `_`, `__` or dashes",
                ));
            }
        }
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(invalid(
                "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            ));
        }
        let mut repository = repository.to_owned();
        // Docker Hub's official images live under `library/`.
        if registry == "docker.io" && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        Ok(Reference {
            registry: registry.to_owned(),
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

/// One component of a repository name:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(dashes || matches!(separator, "." | "_" | "__")) {
            return false;
        }
    }
    true
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    tag.len() <= 128
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-')
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repository = match self.registry.as_str() {
            "docker.io" => self
                .repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository),
            _ => &self.repository,
        };
        write!(f, "{}/{repository}", self.registry)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Reference, String> {
        text.parse::<Reference>().map_err(|e| e.to_string())
    }

    #[test]
    fn parses_registry_repository_tag_and_digest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("127.0.0.1:5000/a/b-c:v1@{digest}")).unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b-c");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.manifest_name().unwrap(), digest);
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b-c:v1@{digest}"));
        let r = parse("localhost:5000/hello").unwrap();
        assert_eq!((r.tag(), r.digest()), (None, None));
        let r = parse("docker.io/hello:1").unwrap();
        assert_eq!(
            (r.api_host(), r.repository()),
            ("registry-1.docker.io", "library/hello")
        );
        assert_eq!(r.to_string(), "docker.io/hello:1");
    }

    #[test]
    fn refuses_what_is_not_a_reference_in_words() {
        for (text, words) in [
            ("hello", "registry host"),
            ("ghcr.io/", "registry host"),
            ("ghcr.io/Hello", "lowercase"),
            ("ghcr.io/a//b", "lowercase"),
            ("ghcr.io/a-:1", "lowercase"),
            ("ghcr.io/a:-x", "a tag is"),
            ("ghcr.io/a:", "a tag is"),
            ("ghcr.io/a@sha256:abc", "64"),
            ("ghcr.io/a@md5:abc", "sha256"),
            ("gh cr.io/a", "host"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(words), "{text}: {error}");
        }
        assert!(
            parse(&format!("ghcr.io/{}", "a".repeat(600)))
                .unwrap_err()
                .contains("512")
        );
    }

    #[test]
    fn components_follow_the_distribution_grammar() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "a1"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a..b", "a___b", "A", "a.-b"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }
}
