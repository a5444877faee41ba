//! HTTP(S) requests for spirits, through `ureq` with `rustls` (the `ring`
//! provider): the request format a spirit writes, the response format it
//! reads, and the redirect loop that checks every hop against the
//! allowlist.
//!
//! The client follows no redirect and uses no proxy; its resolver answers
//! only with the addresses this module checked for the hop it is on (a
//! *pin*), so the connection goes where the check said it may.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::http::{self, Uri};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::allow::{Allowlist, Host, Scheme};
use super::error::NetError;
use super::limits::NetLimits;
use super::resolve::checked_addresses;

/// The largest file of extra trusted roots read.
const MAX_ROOTS_FILE: u64 = 1 << 20;

/// A file of extra trusted roots that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    /// It could not be read.
    #[error("cannot read trusted roots from `{}`: {error}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// It is too large.
    #[error("trusted roots file `{}` is over 1 MiB", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// It holds no PEM certificate.
    #[error(
        "`{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)\nhelp: give a PEM file of the certificate authorities to trust",
        .path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
}

/// The DER certificates of the PEM file at `path`, to trust as roots for
/// HTTPS in addition to Mozilla's (`--net-ca`, `SPIRIT_NET_CA_FILE`).
///
/// # Errors
///
/// The file cannot be read, is over 1 MiB, or holds no certificate.
pub fn read_roots(path: &Path) -> Result<Vec<Vec<u8>>, RootsError> {
    use std::io::Read as _;
    let read = |error| RootsError::Read {
        path: path.to_owned(),
        error,
    };
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(MAX_ROOTS_FILE + 1)
        .read_to_end(&mut pem)
        .map_err(read)?;
    if pem.len() as u64 > MAX_ROOTS_FILE {
        return Err(RootsError::TooLarge {
            path: path.to_owned(),
        });
    }
    let certs: Vec<Vec<u8>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.der().to_vec()),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(RootsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// A request as a spirit writes it: `METHOD URL\n`, `Name: value\n` per
/// header, `\n`, then the body.
#[derive(Debug)]
pub(super) struct HttpRequest {
    method: http::Method,
    url: String,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    body: Vec<u8>,
}

impl HttpRequest {
    pub(super) fn parse(bytes: &[u8], limits: &NetLimits) -> Result<HttpRequest, NetError> {
        let invalid = |what: String| NetError::Invalid(format!("malformed HTTP request: {what}"));
        let head_end = bytes
            .windows(2)
            .take(limits.max_header)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| {
                invalid(format!(
                    "no empty line ends its head within {} bytes",
                    limits.max_header
                ))
            })?;
        let head = std::str::from_utf8(&bytes[..head_end])
            .map_err(|_| invalid("its head is not UTF-8".to_owned()))?;
        let body = bytes[head_end + 2..].to_vec();
        if body.len() as u64 > limits.max_request {
            return Err(NetError::TooLarge {
                what: "the request body",
                limit: limits.max_request,
                help: "send less",
            });
        }
        let mut lines = head.split('\n');
        let first = lines.next().unwrap_or_default();
        let (method, url) = first
            .split_once(' ')
            .ok_or_else(|| invalid(format!("first line `{first}` is not `METHOD URL`")))?;
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| invalid(format!("`{method}` is not a method")))?;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("header line `{line}` has no `:`")))?;
            let name = http::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            let value = http::HeaderValue::from_str(value.trim())
                .map_err(|_| invalid(format!("the value of `{name}` is not a header value")))?;
            headers.push((name, value));
        }
        Ok(HttpRequest {
            method,
            url: url.to_owned(),
            headers,
            body,
        })
    }
}

/// Where a URL goes: scheme, host (as the URI writes it, for the pin) and
/// port.
struct Target {
    scheme: Scheme,
    host: Host,
    uri_host: String,
    port: u16,
}

fn target(uri: &Uri) -> Result<Target, NetError> {
    let invalid = |why: &str| NetError::Invalid(format!("URL `{uri}` {why}"));
    let scheme = uri
        .scheme_str()
        .and_then(Scheme::from_name)
        .ok_or_else(|| invalid("is not an absolute `http://` or `https://` URL"))?;
    let uri_host = uri.host().ok_or_else(|| invalid("has no host"))?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(invalid("has a user name"));
    }
    let host = Host::parse_target(uri_host).map_err(|e| NetError::Invalid(e.to_string()))?;
    Ok(Target {
        scheme,
        host,
        uri_host: uri_host.to_owned(),
        port: uri.port_u16().unwrap_or_else(|| scheme.default_port()),
    })
}

/// The addresses checked for each host and port, the only answers the
/// client's resolver gives.
#[derive(Clone, Debug, Default)]
struct PinnedResolver {
    pins: Arc<Mutex<Vec<Pin>>>,
}

/// The addresses checked for one host (as the URI writes it) and port.
type Pin = (String, u16, Vec<SocketAddr>);

impl PinnedResolver {
    fn pin(&self, host: &str, port: u16, addrs: Vec<SocketAddr>) {
        let mut pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        pins.retain(|(h, p, _)| !(h == host && *p == port));
        pins.push((host.to_owned(), port, addrs));
    }
}

impl Resolver for PinnedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let port = uri
            .port_u16()
            .or_else(|| {
                uri.scheme_str()
                    .and_then(Scheme::from_name)
                    .map(Scheme::default_port)
            })
            .ok_or(ureq::Error::HostNotFound)?;
        let pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, _, addrs) = pins
            .iter()
            .find(|(h, p, _)| h == host && *p == port)
            .ok_or(ureq::Error::HostNotFound)?;
        let mut out = self.empty();
        for addr in addrs {
            let _ = out.try_push(*addr);
        }
        Ok(out)
    }
}

/// One run's HTTP client (made on its first request).
#[derive(Debug)]
pub(super) struct HttpClient {
    agent: ureq::Agent,
    resolver: PinnedResolver,
}

impl HttpClient {
    pub(super) fn new(extra_roots: &[Vec<u8>], limits: &NetLimits) -> HttpClient {
        let roots = if extra_roots.is_empty() {
            ureq::tls::RootCerts::WebPki
        } else {
            let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned());
            let extra = extra_roots
                .iter()
                .map(|der| ureq::tls::Certificate::from_der(der).to_owned());
            ureq::tls::RootCerts::from(mozilla.chain(extra))
        };
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(roots)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .tls_config(tls)
            .max_response_header_size(limits.max_header)
            .user_agent(concat!("cargo-spirit/", env!("CARGO_PKG_VERSION")))
            .build();
        let resolver = PinnedResolver::default();
        HttpClient {
            agent: ureq::Agent::with_parts(config, DefaultConnector::default(), resolver.clone()),
            resolver,
        }
    }

    /// Sends `request`, following redirects itself after checking each
    /// hop, and returns the final response as the spirit reads it.
    pub(super) fn send(
        &self,
        request: HttpRequest,
        list: &Allowlist,
        limits: &NetLimits,
        deadline: Instant,
        notes: &mut Vec<String>,
    ) -> Result<Vec<u8>, NetError> {
        let HttpRequest {
            mut method,
            url,
            mut headers,
            mut body,
        } = request;
        let first = url.clone();
        let mut uri: Uri = url
            .parse()
            .map_err(|e| NetError::Invalid(format!("`{url}` is not a URL: {e}")))?;
        for hop in 0..=limits.max_redirects {
            let to = target(&uri)?;
            let shown = format!("{}://{}:{}", to.scheme.as_str(), to.host, to.port);
            let rule = list
                .connect_rule(Some(to.scheme), &to.host, to.port)
                .ok_or_else(|| NetError::NotAllowed {
                    target: if hop == 0 {
                        uri.to_string()
                    } else {
                        format!("{uri} (a redirect from `{first}`)")
                    },
                    suggest: suggestion(&to),
                })?;
            let wait = limits.wait(deadline, None, &shown)?;
            let addrs = checked_addresses(list, rule, &to.host, to.port, wait)?;
            notes.push(format!(
                "{} {uri} ({}) allowed by `{rule}`",
                method, addrs[0]
            ));
            self.resolver.pin(&to.uri_host, to.port, addrs);
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(uri.clone());
            for (name, value) in &headers {
                builder = builder.header(name, value);
            }
            let request = builder
                .body(body.clone())
                .map_err(|e| NetError::Invalid(format!("malformed HTTP request: {e}")))?;
            let wait = limits.wait(deadline, None, &shown)?;
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(Some(wait))
                .build();
            let response = self.agent.run(request).map_err(|e| failed(&uri, e, wait))?;
            let status = response.status();
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            match location {
                Some(location) if status.is_redirection() => {
                    let next = join(&uri, &location)?;
                    // As browsers do: 303 (and 301/302 after a POST) become
                    // a GET without a body; a new host gets no credentials.
                    if status == http::StatusCode::SEE_OTHER
                        || (method == http::Method::POST && status.as_u16() < 303)
                    {
                        method = http::Method::GET;
                        body.clear();
                    }
                    if next.authority() != uri.authority() {
                        headers.retain(|(n, _)| {
                            n != http::header::AUTHORIZATION && n != http::header::COOKIE
                        });
                    }
                    uri = next;
                }
                _ => {
                    let (parts, mut body) = response.into_parts();
                    return read_response(&parts.headers, status, &mut body, &uri, limits, wait);
                }
            }
        }
        Err(NetError::Redirects {
            url: first,
            limit: limits.max_redirects,
        })
    }
}

/// The entry that would allow `to`.
fn suggestion(to: &Target) -> String {
    if to.port == to.scheme.default_port() {
        format!("{}://{}", to.scheme.as_str(), to.host)
    } else {
        format!("{}://{}:{}", to.scheme.as_str(), to.host, to.port)
    }
}

/// The response as the spirit reads it: `status\n`, `name: value\n` per
/// header, `\n`, the body (at most `max_response` bytes).
fn read_response(
    headers: &http::HeaderMap,
    status: http::StatusCode,
    body: &mut ureq::Body,
    uri: &Uri,
    limits: &NetLimits,
    wait: Duration,
) -> Result<Vec<u8>, NetError> {
    let mut head = format!("{}\n", status.as_u16());
    for (name, value) in headers {
        // A value with bytes outside visible ASCII is passed on lossily:
        // the spirit's parser splits on `\n`, which a value cannot hold.
        let _ = writeln!(
            head,
            "{}: {}",
            name,
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    head.push('\n');
    let body = body
        .with_config()
        .limit(limits.max_response)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => NetError::TooLarge {
                what: "the response body",
                limit: limits.max_response,
                help: "raise it with `--max-response`",
            },
            e => failed(uri, e, wait),
        })?;
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

fn failed(uri: &Uri, error: ureq::Error, wait: Duration) -> NetError {
    match error {
        ureq::Error::Timeout(_) => NetError::Timeout {
            what: uri.to_string(),
            limit: wait,
        },
        e => NetError::Io {
            target: uri.to_string(),
            reason: e.to_string(),
        },
    }
}

/// `location` resolved against `base`: absolute, scheme-relative,
/// absolute-path or relative-path.
fn join(base: &Uri, location: &str) -> Result<Uri, NetError> {
    let invalid = || NetError::Invalid(format!("redirect to `{location}` is not a URL"));
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let text = if location.contains("://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    text.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_from_the_spirit_format() {
        let limits = NetLimits::default();
        let r = HttpRequest::parse(
            b"POST https://a.example/x\nContent-Type: text/plain\n\nhello",
            &limits,
        )
        .unwrap();
        assert_eq!(r.method, http::Method::POST);
        assert_eq!(r.url, "https://a.example/x");
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.body, b"hello");
        for bad in [
            &b"GET\n\n"[..],
            b"GET https://a/ \nX\n\n",
            b"GET https://a/\nBad Name: v\n\n",
            b"GET https://a/",
        ] {
            assert!(HttpRequest::parse(bad, &limits).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let base: Uri = "https://a.example/dir/page?q".parse().unwrap();
        let joined = |l| join(&base, l).unwrap().to_string();
        assert_eq!(joined("http://b.example/x"), "http://b.example/x");
        assert_eq!(joined("//c.example/y"), "https://c.example/y");
        assert_eq!(joined("/z"), "https://a.example/z");
        assert_eq!(joined("other"), "https://a.example/dir/other");
    }
}
