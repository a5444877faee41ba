//! A spirit that fetches a JSON document over HTTPS and prints one field.
//!
//! ```text
//! $ cargo spirit run
//! "Sample Slide Show"
//! $ cargo spirit run --input-text 'https://httpbin.org/json
//! $.slideshow.slides[0].title'
//! "Wake up to WonderWidgets!"
//! ```
//!
//! The input's first line is the URL (default [`URL`]), its second the
//! JSON path of the field (default [`PATH`]). The host sends the request:
//! only to hosts in `[package.metadata.spirit.network] connect`, following
//! redirects only to those, over TLS it checks. The host also picks the
//! field out of the document, so the spirit carries no JSON parser.

// Spirits do not need the standard library; without it they stay small.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

use core::fmt;

use spirit_sdk::http::Request;
use spirit_sdk::json::{self, JsonError};
use spirit_sdk::{HostError, input, output};

/// What it fetches when the input names nothing.
pub const URL: &str = "https://httpbin.org/json";
/// The field it prints when the input names none.
pub const PATH: &str = "$.slideshow.title";

/// The entry point: the host calls it once per run. Returning `Err` ends the
/// run with the error's message, which `cargo spirit run` prints.
#[spirit_sdk::main]
fn run() -> Result<(), Error> {
    let mut buf = [0u8; 2048];
    if input::len() > buf.len() {
        return Err(Error::Usage("the input is longer than 2048 bytes"));
    }
    let n = input::read(0, &mut buf)?;
    let text = core::str::from_utf8(&buf[..n]).map_err(|_| Error::Usage("the input is not UTF-8"))?;
    let mut lines = text.lines().map(str::trim);
    let url = lines.next().filter(|l| !l.is_empty()).unwrap_or(URL);
    let path = lines.next().filter(|l| !l.is_empty()).unwrap_or(PATH);

    let response = Request::get(url)
        .header("accept", "application/json")
        .send()?;
    if response.status != 200 {
        return Err(Error::Status(response.status));
    }
    // The field's JSON text: a string keeps its quotes.
    let mut field = [0u8; 1024];
    let field = json::get(&response.body, path, &mut field)?;
    output::write(field)?;
    output::write(b"\n")?;
    Ok(())
}

/// Why a run failed: a host call, the server, the JSON, or the input.
#[derive(Debug, PartialEq)]
enum Error {
    Host(HostError),
    Status(u16),
    Json(JsonError),
    Usage(&'static str),
}

// `?` turns the SDK's errors into an `Error`.
impl From<HostError> for Error {
    fn from(error: HostError) -> Error {
        Error::Host(error)
    }
}

impl From<JsonError> for Error {
    fn from(error: JsonError) -> Error {
        Error::Json(error)
    }
}

// The entry point prints an error with `Display`.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host(error) => f.write_str(error.as_str()),
            Error::Status(status) => write!(f, "the server answered with status {status}"),
            Error::Json(error) => f.write_str(error.as_str()),
            Error::Usage(message) => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host: script the
    // server's answer, run, and look at the output.
    use spirit_sdk::{HostError, mock};

    use super::{Error, PATH, URL};

    const DOC: &str = r#"{"slideshow": {"title": "Sample Slide Show", "slides": [{"title": "Wake up"}]}}"#;

    #[test]
    fn prints_the_default_field() {
        mock::script_response(URL, 200, &[("content-type", "application/json")], DOC);
        super::run().unwrap();
        assert_eq!(mock::output(), b"\"Sample Slide Show\"\n");
        let request = &mock::requests()[0];
        assert!(request.starts_with(b"GET https://httpbin.org/json\naccept: application/json\n"));
    }

    #[test]
    fn the_input_names_the_url_and_the_field() {
        mock::script_response("https://example.org/doc", 200, &[], DOC);
        mock::set_input("https://example.org/doc\n$.slideshow.slides[0].title");
        super::run().unwrap();
        assert_eq!(mock::output(), b"\"Wake up\"\n");
        let _ = PATH;
    }

    #[test]
    fn a_host_not_allowed_is_an_error() {
        // The mock answers only what a test scripted, as the sandbox
        // answers only hosts in the allowlist.
        mock::set_input("https://elsewhere.example/");
        assert_eq!(super::run(), Err(Error::Host(HostError::Network)));
    }

    #[test]
    fn a_status_other_than_200_is_an_error() {
        mock::script_response(URL, 404, &[], "");
        assert_eq!(super::run(), Err(Error::Status(404)));
    }
}
