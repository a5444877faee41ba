//! End-to-end tests: the real `cargo-spirit` binary on real spirit crates.
//!
//! Spirits built here share one cargo target directory (so `spirit-sdk` is
//! compiled once); each test gives its spirit a unique name.

// Fixtures write their files directly and panic when set-up fails: the
// atomic-write and no-unwrap rules are for the product, not its tests.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod support;

mod build;
mod check;
mod credit;
mod dependencies;
mod friction;
mod hardening_registry;
mod hardening_sandbox;
mod hardening_text;
mod hostile;
mod network;
mod new;
mod oci;
mod registry;
mod run;
mod sandbox;
mod scale;
mod seance;
mod sign;
mod templates;
mod test;
mod workspace;
