//! A spirit that counts its runs: each run reads the count from the
//! spirit's persistent storage, adds one, stores it back and prints it.
//!
//! ```text
//! $ cargo spirit run
//! 1
//! $ cargo spirit run
//! 2
//! ```
//!
//! The host keeps each spirit's storage under `$VUDO_HOME` (by default
//! `~/.vudo`), by spirit name, across runs.

// Spirits do not need the standard library; without it they stay tiny.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

use spirit_sdk::number::Decimal;
use spirit_sdk::{HostError, output, storage};

/// The storage key the count lives under.
const KEY: &str = "count";

/// The entry point: the host calls it once per run. Returning `Err` ends the
/// run with the error's message, which `cargo spirit run` prints.
#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    let count = increment()?;
    // `Decimal` turns the number into text without `core::fmt`, which
    // would add a few kilobytes to the spirit.
    output::write(Decimal::from(count).as_bytes())?;
    output::write(b"\n")
}

/// Reads the count (0 when nothing is stored yet), adds one, stores it back
/// and returns it.
fn increment() -> Result<u64, HostError> {
    // Storage holds bytes: the count is stored as 8 little-endian bytes.
    let mut bytes = [0u8; 8];
    // Needs `storage_read`, declared in Cargo.toml.
    let previous = match storage::get_into(KEY, &mut bytes)? {
        Some(8) => u64::from_le_bytes(bytes),
        // Nothing stored yet (or something else than a count): start over.
        _ => 0,
    };
    let count = previous.saturating_add(1);
    // Needs `storage_write`, declared in Cargo.toml.
    storage::set(KEY, count.to_le_bytes())?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host: the same
    // calls, with storage and output you can inspect.
    use spirit_sdk::mock;

    #[test]
    fn counts_across_runs() {
        super::run().unwrap();
        super::run().unwrap();
        assert_eq!(mock::output(), b"1\n2\n");
        assert_eq!(mock::stored("count"), Some(2u64.to_le_bytes().to_vec()));
    }

    #[test]
    fn continues_from_the_stored_count() {
        mock::store("count", 41u64.to_le_bytes());
        super::run().unwrap();
        assert_eq!(mock::output(), b"42\n");
    }

    #[test]
    fn reports_a_refused_write() {
        mock::deny(spirit_sdk::abi::Capability::StorageWrite);
        assert_eq!(super::increment(), Err(spirit_sdk::HostError::StorageWrite));
    }
}

// `cargo spirit test` runs these as WebAssembly in the real sandbox, with the
// capabilities and limits of Cargo.toml; every other build leaves them out.
#[spirit_sdk::test]
mod sandbox {
    use spirit_sdk::HostError;

    // Each test starts with a storage of its own, empty.
    #[spirit_sdk::test]
    fn counts_from_one_in_real_storage() -> Result<(), HostError> {
        assert_eq!(super::increment()?, 1);
        assert_eq!(super::increment()?, 2);
        Ok(())
    }
}
