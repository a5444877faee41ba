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
//! | [`input`], [`output`] | the run's input and output bytes | none |
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
//! | `alloc` | | `storage::get`, `input::read_all`, the formatting log macros |
//! | `allocator` | | `alloc` plus a small bump [`allocator`] as `#[global_allocator]` |
//! | `std` | | for spirits that link `std`: a panic hook instead of the SDK's panic handler |
#![no_std]
#![deny(missing_docs)]

// The mock host uses std; so do spirits built with the `std` feature.
#[cfg(any(not(target_arch = "wasm32"), feature = "std"))]
extern crate std;

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod abi;
pub mod allocator;
pub mod credit;
pub mod entry;
mod error;
pub mod input;
pub mod log;
pub mod number;
pub mod output;
pub mod panic;
pub mod random;
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

/// What the SDK's exported macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "alloc")]
    pub use alloc::format;
}
