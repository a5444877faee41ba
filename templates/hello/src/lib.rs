//! A spirit that logs a greeting.
//!
//! Build and run it with `cargo spirit run`: the host prints
//! `[INFO {{name}}] Hello from {{name}}!` on its standard error.

// Spirits do not need the standard library; without it they stay tiny.
// (`cargo test` runs on your machine, where it is available.)
#![cfg_attr(not(test), no_std)]

/// The entry point: the host calls it once per run. Returning `()` means
/// success; return a `Result` to end the run with an error message.
#[spirit_sdk::main]
fn run() {
    // Needs the `actuator_log` capability, declared in Cargo.toml.
    spirit_sdk::log::info("Hello from {{name}}!");
}

#[cfg(test)]
mod tests {
    // On your machine the SDK talks to an in-memory mock host.
    #[test]
    fn greets() {
        super::run();
        assert_eq!(spirit_sdk::mock::logs(), ["[INFO] Hello from {{name}}!"]);
    }
}

// `cargo spirit test` runs these as WebAssembly in the real sandbox, with the
// capabilities and limits of Cargo.toml; every other build leaves them out.
#[spirit_sdk::test]
mod sandbox {
    #[spirit_sdk::test]
    fn greets_in_the_sandbox() {
        // A log call the manifest did not grant would fail the build.
        super::run();
    }
}
