//! A spirit that copies its input to its output.
//!
//! ```text
//! $ echo hello | cargo spirit run --input -
//! hello
//! ```
//!
//! Input and output are the plain way to pass data in and out of a spirit:
//! `cargo spirit run --input FILE` (or `-` for standard input) supplies the
//! input, and the output goes to standard output. Neither needs a
//! capability, so this spirit declares none.

// Spirits do not need the standard library; without it they stay tiny.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

use spirit_sdk::{HostError, input, output};

/// The entry point: the host calls it once per run. Returning `Err` ends the
/// run with the error's message, which `cargo spirit run` prints.
#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    // The input may be larger than any buffer we want on the stack: copy
    // it a chunk at a time.
    let mut chunk = [0u8; 4096];
    let mut offset = 0;
    loop {
        let n = input::read(offset, &mut chunk)?;
        if n == 0 {
            // The end of the input.
            return Ok(());
        }
        output::write(&chunk[..n])?;
        offset += n;
    }
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host: set the
    // input, run, and look at the output.
    use spirit_sdk::mock;

    #[test]
    fn copies_the_input() {
        mock::set_input(b"hello, spirit\n");
        super::run().unwrap();
        assert_eq!(mock::output(), b"hello, spirit\n");
    }

    #[test]
    fn copies_an_input_larger_than_its_buffer() {
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        mock::set_input(&big);
        super::run().unwrap();
        assert_eq!(mock::output(), big);
    }

    #[test]
    fn empty_input_gives_empty_output() {
        super::run().unwrap();
        assert!(mock::output().is_empty());
    }
}

// `cargo spirit test` runs these as WebAssembly in the real sandbox, with the
// capabilities and limits of Cargo.toml; every other build leaves them out.
#[spirit_sdk::test]
mod sandbox {
    // A sandbox test has no input: this is the real host's empty input.
    #[spirit_sdk::test]
    fn an_empty_input_is_copied() -> Result<(), spirit_sdk::HostError> {
        assert_eq!(spirit_sdk::input::len(), 0);
        super::run()
    }
}
