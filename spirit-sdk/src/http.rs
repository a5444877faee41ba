//! HTTP(S) requests for spirits (with the `alloc` feature): a [`Request`]
//! builder and the [`Response`]. The host sends the request when its URL
//! (and every redirect) is in the run's connect allowlist, over TLS for
//! `https://`, and answers with the whole response (at most the host's
//! response limit, 8 MiB by default).
//!
//! ```
//! use spirit_sdk::{http::Request, mock};
//!
//! mock::script_response("https://api.example.com/items", 201, &[], b"created");
//! let response = Request::post("https://api.example.com/items")
//!     .header("content-type", "application/json")
//!     .body(br#"{"name":"spirit"}"#.to_vec())
//!     .send()?;
//! assert_eq!(response.status, 201);
//! assert_eq!(response.text(), Some("created"));
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::HostError;
use crate::sys;

/// An HTTP request to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with `method` (`GET`, `POST`, …) to `url`.
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: String::from(method),
            url: String::from(url),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// A `POST` to `url`.
    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((String::from(name), String::from(value)));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    /// The request as the host reads it: `METHOD URL\n`, `Name: value\n`
    /// per header, `\n`, the body; `None` when a part holds a line break
    /// (or the method or URL a space), which would change its meaning.
    fn encode(&self) -> Option<Vec<u8>> {
        let breaks = |s: &str| s.contains(['\n', '\r']);
        if breaks(&self.method)
            || self.method.contains(' ')
            || breaks(&self.url)
            || self.url.contains(' ')
        {
            return None;
        }
        let mut out = Vec::with_capacity(self.url.len() + self.body.len() + 64);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.url.as_bytes());
        out.push(b'\n');
        for (name, value) in &self.headers {
            if breaks(name) || breaks(value) || name.contains(':') {
                return None;
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        Some(out)
    }

    /// Sends the request and reads the whole response.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: not allowed (the URL or a redirect), malformed
    /// (a line break in a part), too large, timed out, failed.
    pub fn send(&self) -> Result<Response, HostError> {
        let request = self.encode().ok_or(HostError::Network)?;
        let handle = sys::http_request(&request);
        if handle < 0 {
            return Err(HostError::Network);
        }
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        let read = loop {
            match sys::network_recv(handle, &mut chunk, 0) {
                0 => break Ok(()),
                n if n > 0 => {
                    let n = usize::try_from(n).unwrap_or(0).min(chunk.len());
                    raw.extend_from_slice(&chunk[..n]);
                }
                _ => break Err(HostError::Network),
            }
        };
        let _ = sys::network_close(handle);
        read?;
        Response::parse(&raw).ok_or(HostError::Network)
    }
}

/// A response: status, headers (names in lower case) and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code, such as `200`.
    pub status: u16,
    /// The headers, in order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text, when it is.
    pub fn text(&self) -> Option<&str> {
        core::str::from_utf8(&self.body).ok()
    }

    /// Reads the host's format: `status\n`, `name: value\n` per header,
    /// `\n`, the body.
    fn parse(raw: &[u8]) -> Option<Response> {
        let end = raw.windows(2).position(|w| w == b"\n\n")?;
        let head = core::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split('\n');
        let status = lines.next()?.trim().parse().ok()?;
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((String::from(name.trim()), String::from(value.trim())))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Response {
            status,
            headers,
            body: raw[end + 2..].to_vec(),
        })
    }
}

/// `GET url`.
///
/// # Errors
///
/// As [`Request::send`].
pub fn get(url: &str) -> Result<Response, HostError> {
    Request::get(url).send()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock;

    #[test]
    fn a_response_without_headers_parses() {
        let r = Response::parse(b"204\n\n").unwrap();
        assert_eq!((r.status, r.headers.len(), r.body.len()), (204, 0, 0));
        assert!(Response::parse(b"not a status\n\n").is_none());
    }

    #[test]
    fn a_line_break_in_a_header_is_refused_before_sending() {
        let request = Request::get("https://a.example/").header("x", "1\nHost: evil");
        assert_eq!(request.send(), Err(HostError::Network));
        assert!(mock::requests().is_empty());
    }

    #[test]
    fn a_url_not_scripted_fails_like_one_not_allowed() {
        assert_eq!(get("https://elsewhere.example/"), Err(HostError::Network));
    }
}
