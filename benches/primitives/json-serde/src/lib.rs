//! The `json` template's task (`templates/json/src/lib.rs`) with the JSON
//! parsed in the spirit: serde_json (no_std + alloc) into a `Value`, on the
//! SDK's bump allocator. Same input, same output, same errors in words.
#![no_std]
extern crate alloc;

use core::fmt;

use spirit_sdk::number::Decimal;
use spirit_sdk::{HostError, input, output};

#[spirit_sdk::main]
fn run() -> Result<(), Error> {
    let doc = input::read_all()?;
    let value: serde_json::Value =
        serde_json::from_slice(&doc).map_err(|_| Error::Json("the document is not valid JSON"))?;
    let user = &value["user"];
    let name = user["name"]
        .as_str()
        .ok_or(Error::Json("`$.user.name` is not a string"))?;
    let age = user["age"]
        .as_u64()
        .ok_or(Error::Json("`$.user.age` is not a whole number"))?;
    output::write(name)?;
    output::write(b" (")?;
    output::write(Decimal::from(age).as_bytes())?;
    output::write(b")")?;
    if let Some(lang) = user["langs"][0].as_str() {
        output::write(b" speaks ")?;
        output::write(lang)?;
    }
    output::write(b"\n")?;
    Ok(())
}

enum Error {
    Host(HostError),
    Json(&'static str),
}

impl From<HostError> for Error {
    fn from(error: HostError) -> Error {
        Error::Host(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Host(error) => error.as_str(),
            Error::Json(message) => message,
        })
    }
}
