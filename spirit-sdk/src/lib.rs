//! Write spirits: small Rust plugins that run in cargo-spirit's sandbox.
//!
//! A spirit is a `cdylib` crate compiled to `wasm32-unknown-unknown`. It talks
//! to its host only through the functions of the [host ABI](abi), each gated
//! by a capability the spirit declares in `[package.metadata.spirit]`. This
//! crate wraps those calls in a safe, typed API, grouped by topic:
//!
//! | module | what | capability |
//! | --- | --- | --- |
//! | [`log`] | log messages (and `info!` & co. with `alloc`) | `actuator_log` |
//! | [`time`] | the wall clock | `sensor_time` |
//! | [`random`] | random bytes and numbers | `sensor_random` |
//! | [`storage`] | persistent key-value storage | `storage_read`, `storage_write`, `storage_delete` |
//! | [`credit`] | balances, transfers and reservations of credits | `actuator_credit` |
//! | [`message`] | messages to the other spirits of a séance | `network_broadcast` (receiving: none) |
//! | [`net`] | TCP connections, listeners and broadcast | `network_connect`, `network_listen`, `network_broadcast` |
//! | [`http`] (with `alloc`) | HTTP(S) requests | `network_connect` |
//! | [`input`], [`output`] | the run's input and output bytes | none |
//! | [`hash`] | BLAKE3 hashes and their constant-time check, by the host | none |
//! | [`json`] | values out of a JSON document by path, by the host | none |
//! | [`base64`] | base64 encoding and decoding, by the host | none |
//! | [`spirits`] | calling declared dependencies, each in a sandbox of its own | `cross_sandbox_call` |
//!
//! Every fallible call returns `Result<_, `[`HostError`]`>`. One attribute
//! exports the entry point:
//!
//! ```
//! #[spirit_sdk::main]
//! fn run() -> Result<(), spirit_sdk::HostError> {
//!     spirit_sdk::log::info("Hello from a spirit!");
//!     spirit_sdk::output::write(b"done\n")
//! }
//! # run().unwrap();
//! # assert_eq!(spirit_sdk::mock::logs(), ["[INFO] Hello from a spirit!"]);
//! ```
//!
//! On other targets than wasm32 the same API runs against an in-memory
//! [`mock`] host, so `cargo test` tests a spirit's logic natively.
//!
//! The crate is `#![no_std]` and has no dependencies beyond `core` (the
//! `#[main]` attribute's small proc-macro crate aside), so a spirit that only
//! logs compiles to a few hundred bytes.
//!
//! # Features
//!
//! | feature | default | what |
//! | --- | --- | --- |
//! | `macros` | yes | `#[spirit_sdk::main]` (without it, use [`entry!`]) |
//! | `panic-message` | yes | formatted panic messages (about 2.5 KiB of `core::fmt`) |
//! | `alloc` | | `storage::get`, `input::read_all`, [`http`], `spirits::call_vec`, the formatting log macros |
//! | `allocator` | | `alloc` plus a small bump [`allocator`] as `#[global_allocator]` |
//! | `std` | | for spirits that link `std`: a panic hook instead of the SDK's panic handler |
//! | `mock-hash` | | [`hash`] in native tests (the mock host builds the host's BLAKE3); no change to the wasm |
#![no_std]
#![deny(missing_docs)]

// The mock host uses std; so do spirits built with the `std` feature.
#[cfg(any(not(target_arch = "wasm32"), feature = "std"))]
extern crate std;

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod abi;
pub mod allocator;
pub mod base64;
pub mod credit;
pub mod entry;
mod error;
pub mod hash;
#[cfg(feature = "alloc")]
pub mod http;
pub mod input;
pub mod json;
pub mod log;
pub mod message;
pub mod net;
pub mod number;
pub mod output;
pub mod panic;
pub mod random;
pub mod sandbox_test;
pub mod spirits;
pub mod storage;
mod sys;
pub mod time;

#[cfg(not(target_arch = "wasm32"))]
pub mod mock;

pub use error::HostError;

/// Exports a function as the spirit's entry point (`run` by default).
///
/// The function takes no arguments and returns `()`, an `i32` status
/// (`0` is success), or a `Result` whose `Ok` is one of those and whose
/// error (any `Display`, such as [`HostError`]) ends the run with its
/// message. `#[spirit_sdk::main(export = "start")]` names the export.
///
/// ```
/// #[spirit_sdk::main]
/// fn run() -> Result<(), spirit_sdk::HostError> {
///     spirit_sdk::log::info("starting");
///     Ok(())
/// }
/// # run().unwrap();
/// ```
#[cfg(feature = "macros")]
pub use spirit_sdk_macros::main;

/// Marks a sandbox test: `cargo spirit test` compiles it for wasm32 and
/// runs it in the real sandbox (a fresh instance and a fresh storage per
/// test, the capabilities and limits of `[package.metadata.spirit]`). In
/// every other build, native `cargo test` included, it compiles to nothing.
///
/// The function takes no arguments and returns `()`, an `i32` status (`0`
/// passes) or a `Result` whose `Err` fails the test with its message.
/// `#[ignore]`, `#[ignore = "why"]`, `#[should_panic]` and
/// `#[should_panic(expected = "text")]` work as in libtest. On a `mod`, it
/// keeps the whole module out of every other build, as `#[cfg(test)]` does.
///
/// ```
/// #[spirit_sdk::test]
/// mod sandbox {
///     use spirit_sdk::{HostError, storage};
///
///     #[spirit_sdk::test]
///     fn storage_starts_empty() -> Result<(), HostError> {
///         assert_eq!(storage::get_into("count", &mut [0; 8])?, None);
///         Ok(())
///     }
///
///     #[spirit_sdk::test]
///     #[should_panic(expected = "overflow")]
///     fn overflows() {
///         let _ = [u8::MAX].map(|x| x.checked_add(1).expect("overflow"));
///     }
/// }
/// ```
#[cfg(feature = "macros")]
pub use spirit_sdk_macros::test;

/// What the SDK's exported macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "alloc")]
    pub use alloc::format;
}
