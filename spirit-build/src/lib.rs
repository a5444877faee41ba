//! Build, validate, strip, describe and run spirits: every operation of
//! cargo-spirit, usable without the command line.
//!
//! A spirit goes through the modules in this order (see `ARCHITECTURE.md`):
//! `project` finds it, `compile` builds it with cargo, [`validate`]
//! checks it against the [host ABI](spirit_sdk::abi), `strip` shrinks it,
//! [`manifest`] describes it, and [`sandbox`] runs it. The operations in
//! [`ops`] string those steps together, one per command. `project`,
//! `compile` and `strip` (and the operations that build) come with the
//! default `build` feature; without it the crate runs spirits only.
#![deny(missing_docs)]

#[cfg(feature = "build")]
pub mod compile;
pub mod error;
pub mod fingerprint;
pub mod fs;
pub mod home;
pub mod inspect;
pub mod ledger;
pub mod limits;
pub mod manifest;
pub mod message;
pub mod net;
pub mod oci;
pub mod ops;
pub mod options;
pub mod package;
#[cfg(feature = "build")]
pub mod project;
pub mod receipt;
pub mod registry;
pub mod sandbox;
pub mod sdk;
pub mod seance;
pub mod shell;
pub mod sign;
#[cfg(feature = "build")]
pub mod strip;
mod suggest;
pub mod template;
pub mod tool;
pub mod toolchain;
pub mod trust;
pub mod units;
pub mod validate;
#[cfg(feature = "build")]
pub mod workspace;

pub use error::Error;
pub use message::MessageFormat;
pub use ops::run;
#[cfg(feature = "build")]
pub use ops::{build, new_spirit};
pub use shell::{ColorChoice, Shell, Verbosity};
/// The host ABI an embedder needs (capabilities, log levels, the entry's
/// default name), without a second dependency on `spirit-sdk`.
pub use spirit_sdk::abi;
pub use spirit_sdk::abi::Capability;
pub use tool::VERSION;
