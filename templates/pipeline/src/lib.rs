//! A spirit that calls another: it passes its input, a chunk at a time,
//! through the installed `echo` spirit and upper-cases what comes back.
//!
//! ```text
//! $ cargo spirit new echo --template echo && cargo spirit install echo
//! $ echo hello | cargo spirit run --input -
//! HELLO
//! ```
//!
//! `echo` is declared in `[package.metadata.spirit.dependencies]`; the
//! build pins the installed version it resolved, and every call runs that
//! exact version in a sandbox of its own, with its own capabilities and
//! storage. Its fuel and time count against this spirit's.

// Spirits do not need the standard library; without it they stay tiny.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

use core::fmt;

use spirit_sdk::spirits::{self, SpiritCallError};
use spirit_sdk::{HostError, input, output};

/// The entry point: the host calls it once per run. Returning `Err` ends the
/// run with the error's message, which `cargo spirit run` prints.
#[spirit_sdk::main]
fn run() -> Result<(), Error> {
    let mut chunk = [0u8; 4096];
    let mut echoed = [0u8; 4096];
    let mut offset = 0;
    loop {
        let n = input::read(offset, &mut chunk)?;
        if n == 0 {
            // The end of the input.
            return Ok(());
        }
        let m = match spirits::call("echo", &chunk[..n], &mut echoed) {
            Ok(m) => m,
            Err(error) => {
                // Why the call failed (`echo` not installed, changed, …),
                // for the person running this spirit.
                let mut why = [0u8; 512];
                let len = spirits::last_error(&mut why).min(why.len());
                output::write(b"calling `echo` failed: ")?;
                output::write(&why[..len])?;
                output::write(b"\n")?;
                return Err(Error::Call(error));
            }
        };
        // The post-processing: upper-case what `echo` gave back.
        let out = &mut echoed[..m.min(4096)];
        out.make_ascii_uppercase();
        output::write(out)?;
        offset += n;
    }
}

/// Why a run failed: a host call, or the call of `echo`.
#[derive(Debug, PartialEq)]
enum Error {
    Host(HostError),
    Call(SpiritCallError),
}

// `?` turns the SDK's errors into an `Error`.
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
            Error::Call(error) => error.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host, which stands
    // in for `echo` too: register a fake with the same behaviour.
    use spirit_sdk::mock;
    use spirit_sdk::spirits::SpiritCallError;

    #[test]
    fn upper_cases_what_echo_returns() {
        mock::register_spirit("echo", |_export, input| Ok(input.to_vec()));
        mock::set_input(b"hello, spirit\n");
        super::run().unwrap();
        assert_eq!(mock::output(), b"HELLO, SPIRIT\n");
    }

    #[test]
    fn an_input_larger_than_a_chunk_takes_several_calls() {
        mock::register_spirit("echo", |_export, input| Ok(input.to_vec()));
        let big = vec![b'a'; 10_000];
        mock::set_input(&big);
        super::run().unwrap();
        assert_eq!(mock::output(), vec![b'A'; 10_000]);
    }

    #[test]
    fn a_failed_call_says_why() {
        mock::register_spirit("echo", |_, _| Err("`echo@0.1.0` is not installed".into()));
        mock::set_input(b"x");
        assert_eq!(
            super::run(),
            Err(super::Error::Call(SpiritCallError::Failed))
        );
        assert_eq!(
            mock::output(),
            b"calling `echo` failed: `echo@0.1.0` is not installed\n"
        );
    }
}
