//! A spirit that reads fields of a JSON input and writes a line about them.
//!
//! ```text
//! $ echo '{"user": {"name": "Ada", "age": 36, "langs": ["en", "fr"]}}' | cargo spirit run --input -
//! Ada (36) speaks en
//! ```
//!
//! The host does the JSON: `json::get_str_bytes` and `json::get_u64`
//! send it the document and a path (`$.user.name`: the member `name` of
//! the member `user`; `[0]`: an array's first element) and get back one
//! value. The spirit carries no JSON parser and no allocator, so it stays
//! a few KiB, and the queries need no capability.

// Spirits do not need the standard library; without it they stay tiny.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

use core::fmt;

use spirit_sdk::json::{self, JsonError};
use spirit_sdk::number::Decimal;
use spirit_sdk::{HostError, input, output};

/// The largest document this spirit reads: it lives on the stack.
const MAX_INPUT: usize = 8192;

/// The entry point: the host calls it once per run. Returning `Err` ends the
/// run with the error's message, which `cargo spirit run` prints.
#[spirit_sdk::main]
fn run() -> Result<(), Error> {
    let mut buf = [0u8; MAX_INPUT];
    if input::len() > buf.len() {
        return Err(Error::Usage("the input is longer than 8192 bytes"));
    }
    let n = input::read(0, &mut buf)?;
    let doc = &buf[..n];

    // A string's contents, escapes decoded (as UTF-8 bytes: `get_str`
    // gives a `&str`, at the cost of checking the UTF-8 again).
    let mut name = [0u8; 64];
    let name = json::get_str_bytes(doc, "$.user.name", &mut name)?;
    // A whole number.
    let age = json::get_u64(doc, "$.user.age")?;

    output::write(name)?;
    output::write(b" (")?;
    output::write(Decimal::from(age).as_bytes())?;
    output::write(b")")?;
    // An optional field: `NotFound` is an answer, not an error.
    let mut lang = [0u8; 16];
    match json::get_str_bytes(doc, "$.user.langs[0]", &mut lang) {
        Ok(lang) => {
            output::write(b" speaks ")?;
            output::write(lang)?;
        }
        Err(JsonError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    output::write(b"\n")?;
    Ok(())
}

/// Why a run failed: a host call, the JSON, or input this spirit does not
/// understand.
#[derive(Debug, PartialEq)]
enum Error {
    Host(HostError),
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
        f.write_str(match self {
            Error::Host(error) => error.as_str(),
            Error::Json(error) => error.as_str(),
            Error::Usage(message) => message,
        })
    }
}

// `cargo spirit test` runs these as WebAssembly in the real sandbox, with the
// capabilities and limits of Cargo.toml; every other build leaves them out.
#[spirit_sdk::test]
mod sandbox {
    use spirit_sdk::json::{self, JsonError};

    // The real host answers the queries `run` makes.
    #[spirit_sdk::test]
    fn the_host_answers_the_queries() -> Result<(), JsonError> {
        let doc = br#"{"user": {"name": "Ada", "age": 36, "langs": ["en"]}}"#;
        let mut name = [0u8; 16];
        assert_eq!(json::get_str_bytes(doc, "$.user.name", &mut name)?, b"Ada");
        assert_eq!(json::get_u64(doc, "$.user.age")?, 36);
        assert_eq!(json::get_u64(doc, "$.user.height"), Err(JsonError::NotFound));
        Ok(())
    }

    // A sandbox test has no input, and no input is not JSON.
    #[spirit_sdk::test]
    fn an_empty_input_is_refused() {
        assert_eq!(
            super::run(),
            Err(super::Error::Json(JsonError::InvalidJson))
        );
    }
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host, which runs
    // the same JSON code as the real host: set the input, run, and look at
    // the output.
    use spirit_sdk::json::JsonError;
    use spirit_sdk::mock;

    use super::Error;

    #[test]
    fn reads_the_fields() {
        mock::set_input(r#"{"user": {"name": "Ada", "age": 36, "langs": ["en", "fr"]}}"#);
        super::run().unwrap();
        assert_eq!(mock::output(), b"Ada (36) speaks en\n");
    }

    #[test]
    fn decodes_escapes_and_skips_a_missing_optional_field() {
        mock::set_input(r#"{"user": {"age": 7, "name": "Z\u00e9 \"Z\""}}"#);
        super::run().unwrap();
        assert_eq!(String::from_utf8(mock::output()).unwrap(), "Zé \"Z\" (7)\n");
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        mock::set_input(r#"{"user": {"name": "Ada"}}"#);
        assert_eq!(super::run(), Err(Error::Json(JsonError::NotFound)));
        mock::set_input(r#"{"user": {"name": "Ada", "age": -1}}"#);
        assert_eq!(super::run(), Err(Error::Json(JsonError::WrongType)));
        mock::set_input("not json");
        assert_eq!(super::run(), Err(Error::Json(JsonError::InvalidJson)));
    }
}
