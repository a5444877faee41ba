//! Write spirits: small Rust plugins that run in cargo-spirit's sandbox.
//!
//! A spirit is a `cdylib` crate compiled to `wasm32-unknown-unknown`. It talks
//! to its host only through the functions of the [host ABI](abi), each gated
//! by a capability the spirit declares in `[package.metadata.spirit]`. This
//! crate wraps those calls in a safe, typed API, grouped by topic.
//!
//! ```
//! #[spirit_sdk::main]
//! fn run() {
//!     spirit_sdk::log::info("Hello from a spirit!");
//! }
//! # run();
//! # assert_eq!(spirit_sdk::mock::logs(), ["[INFO] Hello from a spirit!"]);
//! ```
//!
//! The crate is `#![no_std]` and has no dependencies beyond `core`, so a
//! spirit that only logs compiles to well under a kilobyte.
#![no_std]
#![deny(missing_docs)]

#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod abi;
pub mod entry;
pub mod log;

mod sys;

#[cfg(all(target_arch = "wasm32", not(test)))]
mod panic;

#[cfg(not(target_arch = "wasm32"))]
pub mod mock;

/// Exports a function as the spirit's entry point (`run` by default).
///
/// The function takes no arguments and returns `()`, an `i32` status
/// (`0` is success), or `Result<(), E>` with `E: Display`, whose error
/// ends the run with its message.
///
/// ```no_run
/// #[spirit_sdk::main]
/// fn run() -> Result<(), &'static str> {
///     spirit_sdk::log::info("starting");
///     Ok(())
/// }
/// ```
#[cfg(feature = "macros")]
pub use spirit_sdk_macros::main;
