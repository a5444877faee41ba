//! The OCI distribution protocol over blocking HTTP (`ureq`, rustls with
//! ring): the handful of requests a push and a pull make, authentication on
//! a 401, and every answer checked (status, size, digest) before it is
//! used. One `Client` talks to one repository.

use std::io::Read;
use std::time::Duration;

use ureq::http::{self, Method, Response};

use super::auth::{self, Credentials};
use super::digest::{self, Digest, ReadProblem};
use super::error::OciError;
use super::layout::{self, Descriptor};
use super::reference::Reference;

/// How to reach a registry.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Speak plain HTTP instead of HTTPS (a registry on loopback or a lab
    /// network).
    pub plain_http: bool,
    /// What to authenticate with.
    pub credentials: Credentials,
}

/// The longest a registry may take to answer or to send the next bytes.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an error answer or a token answer that is read.
const MAX_SMALL_BODY: u64 = 1 << 20;

/// A connection to one repository of one registry.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    reference: Reference,
    origin: String,
    base: String,
    plain_http: bool,
    credentials: Credentials,
    authorization: Option<String>,
    action: &'static str,
}

impl Client {
    /// A client for `reference`'s repository; `pushing` says which access
    /// is asked for (for messages: `pushing` or `pulling`).
    pub fn new(reference: &Reference, options: &ClientOptions, pushing: bool) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(TIMEOUT))
            .timeout_recv_response(Some(TIMEOUT))
            .timeout_per_read(Some(TIMEOUT))
            .user_agent(format!("cargo-spirit/{}", crate::tool::VERSION))
            .build()
            .into();
        let scheme = if options.plain_http { "http" } else { "https" };
        let origin = format!("{scheme}://{}", reference.api_host());
        let base = format!("{origin}/v2/{}/", reference.repository());
        Client {
            agent,
            reference: reference.clone(),
            origin,
            base,
            plain_http: options.plain_http,
            credentials: options.credentials.clone(),
            authorization: None,
            action: if pushing { "pushing" } else { "pulling" },
        }
    }

    /// Fetches the image manifest the reference names (its digest, else
    /// its tag) and returns its bytes and digest, checked against the
    /// reference's digest and the registry's `Docker-Content-Digest`.
    ///
    /// # Errors
    ///
    /// Fails on any answer but the manifest, or a digest that differs.
    pub fn get_manifest(&mut self, name: &str) -> Result<(Vec<u8>, Digest), OciError> {
        let url = format!("{}manifests/{name}", self.base);
        let accept = format!(
            "{}, {}",
            layout::MANIFEST_MEDIA_TYPE,
            layout::INDEX_MEDIA_TYPE
        );
        let response = self.request(Method::GET, &url, Some(&accept), None)?;
        let response = self.expect(response, &[200], || {
            format!(
                "no manifest `{name}` in repository `{}`",
                self.reference.repository()
            )
        })?;
        let claimed =
            header(&response, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
        let (bytes, digest) = digest::read_checked(
            response.into_body().into_reader(),
            layout::MAX_MANIFEST,
            None,
        )
        .map_err(|problem| self.read_error("the manifest", layout::MAX_MANIFEST, problem))?;
        let mismatch = |expected: &Digest, source: &str| OciError::DigestMismatch {
            reference: self.reference.to_string(),
            what: "the manifest",
            detail: format!("{source} {expected}, its content has {digest}"),
        };
        if let Some(expected) = self.reference.digest()
            && *expected != digest
        {
            return Err(mismatch(expected, "the reference names"));
        }
        if let Some(claimed) = claimed
            && claimed != digest
        {
            return Err(mismatch(&claimed, "the registry says"));
        }
        Ok((bytes, digest))
    }

    /// Fetches a blob, reading at most its descriptor's size and checking
    /// its digest as it arrives.
    ///
    /// # Errors
    ///
    /// Fails when it is missing, longer or shorter, or has another digest.
    pub fn get_blob(
        &mut self,
        descriptor: &Descriptor,
        what: &'static str,
    ) -> Result<Vec<u8>, OciError> {
        let url = format!("{}blobs/{}", self.base, descriptor.digest);
        let response = self.request(Method::GET, &url, None, None)?;
        let response = self.expect(response, &[200], || {
            format!(
                "{what} ({}) is missing from the repository",
                descriptor.digest
            )
        })?;
        let expected = (descriptor.digest, descriptor.size);
        digest::read_checked(
            response.into_body().into_reader(),
            descriptor.size,
            Some(expected),
        )
        .map(|(bytes, _)| bytes)
        .map_err(|problem| match problem {
            ReadProblem::Short(got) => OciError::DigestMismatch {
                reference: self.reference.to_string(),
                what,
                detail: format!("the manifest says {} bytes, {got} came", descriptor.size),
            },
            problem => self.read_error(what, descriptor.size, problem),
        })
    }

    /// Uploads a blob unless the repository has it already (one `POST` and
    /// one monolithic `PUT`).
    ///
    /// # Errors
    ///
    /// Fails on any answer the protocol does not give for success.
    pub fn push_blob(&mut self, bytes: &[u8], what: &str) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        let url = format!("{}blobs/{digest}", self.base);
        let response = self.request(Method::HEAD, &url, None, None)?;
        if response.status() == 200 {
            return Ok(digest);
        }
        let url = format!("{}blobs/uploads/", self.base);
        let response = self.request(
            Method::POST,
            &url,
            None,
            Some((&[], "application/octet-stream")),
        )?;
        let response = self.expect(response, &[202], || {
            format!("uploads to repository `{}`", self.reference.repository())
        })?;
        let Some(location) = header(&response, "location") else {
            return Err(self.status_error(
                &format!("an upload of {what}"),
                202,
                "no Location header".to_owned(),
            ));
        };
        let mut url = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            format!("{}{location}", self.origin)
        } else {
            format!("{}{location}", self.base)
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={}", percent_encode(&digest.to_string())));
        let response = self.request(
            Method::PUT,
            &url,
            None,
            Some((bytes, "application/octet-stream")),
        )?;
        self.expect(response, &[201], || format!("the upload of {what}"))?;
        Ok(digest)
    }

    /// Uploads an image manifest under `tag` and returns its digest.
    ///
    /// # Errors
    ///
    /// Fails when the registry refuses it, or stores other bytes.
    pub fn put_manifest(&mut self, tag: &str, bytes: &[u8]) -> Result<Digest, OciError> {
        let url = format!("{}manifests/{tag}", self.base);
        let response = self.request(
            Method::PUT,
            &url,
            None,
            Some((bytes, layout::MANIFEST_MEDIA_TYPE)),
        )?;
        let response = self.expect(response, &[201], || {
            format!("repository `{}`", self.reference.repository())
        })?;
        let digest = Digest::of(bytes);
        if let Some(claimed) =
            header(&response, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok())
            && claimed != digest
        {
            return Err(OciError::DigestMismatch {
                reference: self.reference.to_string(),
                what: "the manifest pushed",
                detail: format!("the registry stored {claimed}, we sent {digest}"),
            });
        }
        Ok(digest)
    }

    /// Sends a request with the current authorization; on a 401, answers
    /// the registry's challenge once (Basic, or a bearer token) and sends
    /// it again.
    fn request(
        &mut self,
        method: Method,
        url: &str,
        accept: Option<&str>,
        body: Option<(&[u8], &str)>,
    ) -> Result<Response<ureq::Body>, OciError> {
        let mut answered = false;
        loop {
            let response = self.send(method.clone(), url, accept, body)?;
            if response.status() != 401 {
                return Ok(response);
            }
            if answered {
                return Err(self.unauthorized());
            }
            let challenge = header(&response, "www-authenticate").and_then(auth::parse_challenge);
            self.authorization = Some(self.answer(challenge)?);
            answered = true;
        }
    }

    fn send(
        &self,
        method: Method,
        url: &str,
        accept: Option<&str>,
        body: Option<(&[u8], &str)>,
    ) -> Result<Response<ureq::Body>, OciError> {
        let mut request = http::Request::builder().method(method).uri(url);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let result = match body {
            Some((bytes, content_type)) => request
                .header("Content-Type", content_type)
                .body(bytes)
                .map(|r| self.agent.run(r)),
            None => request.body(()).map(|r| self.agent.run(r)),
        };
        let connect = |reason: String| OciError::Connect {
            registry: self.reference.registry().to_owned(),
            url: url.to_owned(),
            reason,
            plain_http: self.plain_http,
        };
        result
            .map_err(|e| connect(format!("invalid request: {e}")))?
            .map_err(|e| connect(e.to_string()))
    }

    /// The `Authorization` that answers a challenge.
    fn answer(&self, challenge: Option<auth::Challenge>) -> Result<String, OciError> {
        match challenge {
            Some(c) if c.scheme == "basic" => self
                .credentials
                .basic_header()
                .ok_or_else(|| self.unauthorized()),
            Some(c) if c.scheme == "bearer" => self.token(&c),
            _ => Err(self.unauthorized()),
        }
    }

    /// A bearer token from the registry's token service, for the scope the
    /// challenge names.
    fn token(&self, challenge: &auth::Challenge) -> Result<String, OciError> {
        let realm = challenge.params.get("realm").cloned().unwrap_or_default();
        let failed = |reason: String| OciError::Token {
            registry: self.reference.registry().to_owned(),
            realm: realm.clone(),
            reason,
        };
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(failed(
                "its challenge names no token service URL (`realm`)".to_owned(),
            ));
        }
        let mut query = Vec::new();
        for key in ["service", "scope"] {
            if let Some(value) = challenge.params.get(key) {
                query.push(format!("{key}={}", percent_encode(value)));
            }
        }
        let result = if let Credentials::IdentityToken(token) = &self.credentials {
            query.extend([
                "grant_type=refresh_token".to_owned(),
                "client_id=cargo-spirit".to_owned(),
                format!("refresh_token={}", percent_encode(token)),
            ]);
            let form = query.join("&");
            self.agent
                .post(&realm)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(form.as_bytes())
        } else {
            let url = if query.is_empty() {
                realm.clone()
            } else {
                format!("{realm}?{}", query.join("&"))
            };
            let mut request = self.agent.get(&url);
            if let Some(basic) = self.credentials.basic_header() {
                request = request.header("Authorization", &basic);
            }
            request.call()
        };
        let response = result.map_err(|e| failed(e.to_string()))?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 => return Err(self.unauthorized()),
            status => return Err(failed(format!("it answered {status}"))),
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let (bytes, _) =
            digest::read_checked(response.into_body().into_reader(), MAX_SMALL_BODY, None)
                .map_err(|_| failed("its answer is too long or broke off".to_owned()))?;
        let token: Token = serde_json::from_slice(&bytes)
            .map_err(|e| failed(format!("its answer is not a token: {e}")))?;
        token
            .token
            .or(token.access_token)
            .map(|t| format!("Bearer {t}"))
            .ok_or_else(|| failed("its answer holds no `token`".to_owned()))
    }

    fn unauthorized(&self) -> OciError {
        OciError::Unauthorized {
            registry: self.reference.registry().to_owned(),
            reference: self.reference.to_string(),
            action: self.action,
            had_credentials: !self.credentials.is_anonymous(),
        }
    }

    /// The response when its status is one of `ok`; else the error its
    /// status means. `missing` says what a 404 is missing.
    fn expect(
        &self,
        response: Response<ureq::Body>,
        ok: &[u16],
        missing: impl FnOnce() -> String,
    ) -> Result<Response<ureq::Body>, OciError> {
        let status = response.status().as_u16();
        if ok.contains(&status) {
            return Ok(response);
        }
        Err(match status {
            401 => self.unauthorized(),
            403 => OciError::Denied {
                registry: self.reference.registry().to_owned(),
                reference: self.reference.to_string(),
                action: self.action,
            },
            404 => OciError::NotFound {
                registry: self.reference.registry().to_owned(),
                reference: self.reference.to_string(),
                what: missing(),
            },
            status => {
                let mut body = String::new();
                let _ = response
                    .into_body()
                    .into_reader()
                    .take(512)
                    .read_to_string(&mut body);
                self.status_error(&missing(), status, body)
            }
        })
    }

    fn status_error(&self, what: &str, status: u16, body: String) -> OciError {
        OciError::Status {
            registry: self.reference.registry().to_owned(),
            what: what.to_owned(),
            status,
            body: crate::shell::escape(body.trim()).to_string(),
        }
    }

    fn read_error(&self, what: &'static str, limit: u64, problem: ReadProblem) -> OciError {
        let reference = self.reference.to_string();
        match problem {
            ReadProblem::TooLong => OciError::TooLarge {
                reference,
                what,
                limit,
            },
            ReadProblem::Digest(actual) => OciError::DigestMismatch {
                reference,
                what,
                detail: format!("its content has {actual}"),
            },
            ReadProblem::Short(got) => OciError::DigestMismatch {
                reference,
                what,
                detail: format!("only {got} bytes came"),
            },
            ReadProblem::Io(reason) => OciError::Connect {
                registry: self.reference.registry().to_owned(),
                url: self.base.clone(),
                reason,
                plain_http: self.plain_http,
            },
        }
    }
}

fn header<'a>(response: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Percent-encodes a query value (everything but unreserved characters).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use base64::Engine as _;

    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            percent_encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    /// A registry that only speaks the bearer-token flow, as Docker Hub,
    /// GHCR and Harbor do: `/v2/` answers 401 with a challenge naming its
    /// token service, which gives a token for `ci`/`s3cret` only. Returns
    /// its `host:port`.
    fn bearer_registry() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{host}/token");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut authorization = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("authorization: ") {
                        // Keep the original case of the credentials.
                        authorization = line[line.len() - value.len()..].trim().to_owned();
                    }
                }
                let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                let basic = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("ci:s3cret")
                );
                let (status, headers, body) = if path.starts_with("/token?") {
                    let scope_ok = path.contains("service=fake")
                        && path.contains("scope=repository%3Ateam%2Fhello%3Apull");
                    if authorization == basic && scope_ok {
                        ("200 OK", String::new(), r#"{"token":"t0k"}"#.to_owned())
                    } else {
                        ("401 Unauthorized", String::new(), String::new())
                    }
                } else if authorization == "Bearer t0k" {
                    let digest = Digest::of(b"{}");
                    (
                        "200 OK",
                        format!("Docker-Content-Digest: {digest}\r\n"),
                        "{}".to_owned(),
                    )
                } else {
                    (
                        "401 Unauthorized",
                        format!(
                            "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"fake\",scope=\"repository:team/hello:pull\"\r\n"
                        ),
                        String::new(),
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        host
    }

    fn pull_manifest(host: &str, credentials: Credentials) -> Result<Vec<u8>, OciError> {
        let reference: Reference = format!("{host}/team/hello:1.0.0").parse().unwrap();
        let options = ClientOptions {
            plain_http: true,
            credentials,
        };
        let mut client = Client::new(&reference, &options, false);
        client.get_manifest("1.0.0").map(|(bytes, _)| bytes)
    }

    #[test]
    fn the_bearer_token_flow_buys_a_token_with_the_credentials() {
        let host = bearer_registry();
        let basic = |password: &str| Credentials::Basic {
            username: "ci".to_owned(),
            password: password.to_owned(),
        };
        assert_eq!(pull_manifest(&host, basic("s3cret")).unwrap(), b"{}");
        let wrong = pull_manifest(&host, basic("nope")).unwrap_err().to_string();
        assert!(
            wrong.contains("401 Unauthorized, the credentials given are wrong"),
            "{wrong}"
        );
        let anonymous = pull_manifest(&host, Credentials::Anonymous)
            .unwrap_err()
            .to_string();
        assert!(
            anonymous.contains("401 Unauthorized, it requires credentials")
                && anonymous.contains("docker login"),
            "{anonymous}"
        );
    }
}
