//! A key-value store driven by its input: one command per line.
//!
//! ```text
//! $ printf 'set color blue\nget color\n' | cargo spirit run --input -
//! ok
//! blue
//! $ printf 'delete color\nget color\n' | cargo spirit run --input -
//! deleted
//! (none)
//! ```
//!
//! | command | output |
//! | --- | --- |
//! | `set KEY VALUE` | `ok` (the value is the rest of the line, spaces included) |
//! | `get KEY` | the value, or `(none)` |
//! | `delete KEY` | `deleted`, or `(none)` |
//!
//! The store is the spirit's persistent storage, which the host keeps under
//! `$VUDO_HOME` (by default `~/.vudo`) across runs.

// Spirits do not need the standard library; without it they stay tiny.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

use core::fmt;

use spirit_sdk::{HostError, input, output, storage};

/// The most input this spirit reads, and the largest value it prints. Both
/// live on the stack: no allocator needed.
const MAX_INPUT: usize = 4096;
const MAX_VALUE: usize = 1024;

/// The entry point: the host calls it once per run. Returning `Err` ends the
/// run with the error's message, which `cargo spirit run` prints.
#[spirit_sdk::main]
fn run() -> Result<(), Error> {
    let mut buf = [0u8; MAX_INPUT];
    if input::len() > buf.len() {
        return Err(Error::Usage("the input is longer than 4096 bytes"));
    }
    let n = input::read(0, &mut buf)?;
    for line in buf[..n].split(|&b| b == b'\n') {
        // Accept Windows line endings, and skip blank lines.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            execute(line)?;
        }
    }
    Ok(())
}

/// Runs one command line and writes its result.
fn execute(line: &[u8]) -> Result<(), Error> {
    let mut words = line.splitn(3, |&b| b == b' ');
    let command = words.next().unwrap_or_default();
    let key = words.next().filter(|k| !k.is_empty());
    let value = words.next();
    match (command, key, value) {
        (b"set", Some(key), Some(value)) => {
            // Needs `storage_write`.
            storage::set(key, value)?;
            output::write(b"ok\n")?;
        }
        (b"get", Some(key), None) => {
            let mut value = [0u8; MAX_VALUE];
            // Needs `storage_read`.
            match storage::get_into(key, &mut value)? {
                Some(len) => {
                    output::write(&value[..len])?;
                    output::write(b"\n")?;
                }
                None => output::write(b"(none)\n")?,
            }
        }
        (b"delete", Some(key), None) => {
            // Needs `storage_delete`.
            let deleted = storage::delete(key)?;
            output::write(if deleted { "deleted\n" } else { "(none)\n" })?;
        }
        _ => {
            return Err(Error::Usage(
                "expected `set KEY VALUE`, `get KEY` or `delete KEY` on each line",
            ));
        }
    }
    Ok(())
}

/// Why a run failed: a host call, or input this spirit does not understand.
#[derive(Debug, PartialEq)]
enum Error {
    Host(HostError),
    Usage(&'static str),
}

// `?` turns a `HostError` into an `Error`.
impl From<HostError> for Error {
    fn from(error: HostError) -> Error {
        Error::Host(error)
    }
}

// The entry point prints an error with `Display`.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Host(error) => error.as_str(),
            Error::Usage(message) => message,
        })
    }
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host: set the
    // input, run, and look at the output and the storage.
    use spirit_sdk::mock;

    #[test]
    fn set_get_delete() {
        mock::set_input("set color deep blue\nget color\ndelete color\nget color\n");
        super::run().unwrap();
        assert_eq!(
            String::from_utf8(mock::output()).unwrap(),
            "ok\ndeep blue\ndeleted\n(none)\n"
        );
        assert_eq!(mock::stored("color"), None);
    }

    #[test]
    fn values_persist_in_storage() {
        mock::store("name", "Ada");
        mock::set_input("get name\r\n");
        super::run().unwrap();
        assert_eq!(mock::output(), b"Ada\n");
    }

    #[test]
    fn unknown_commands_are_refused() {
        mock::set_input("fly away\n");
        assert!(matches!(super::run(), Err(super::Error::Usage(_))));
    }
}

// `cargo spirit test` runs these as WebAssembly in the real sandbox, with the
// capabilities and limits of Cargo.toml; every other build leaves them out.
#[spirit_sdk::test]
mod sandbox {
    use spirit_sdk::storage;

    // Each test starts with a storage of its own, empty.
    #[spirit_sdk::test]
    fn set_then_delete_in_real_storage() -> Result<(), super::Error> {
        let mut value = [0u8; 16];
        super::execute(b"set color deep blue")?;
        assert_eq!(storage::get_into("color", &mut value)?, Some(9));
        super::execute(b"delete color")?;
        assert_eq!(storage::get_into("color", &mut value)?, None);
        Ok(())
    }
}
