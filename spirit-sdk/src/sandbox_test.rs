//! What [`#[spirit_sdk::test]`](crate::test) and `cargo spirit test` agree
//! on: the variable that marks a test build and the names of test exports.
//!
//! `cargo spirit test` runs cargo with [`TEST_ENV`]` = 1` (in a target
//! directory of its own, so the normal build's outputs stay as they are).
//! Only then does `#[spirit_sdk::test]` keep a test and export it, under
//! [`EXPORT_PREFIX`] followed by a JSON object: the test's `path`
//! (`module_path!()`), its `name`, and `ignore` and `should_panic` when set
//! (`true`, or the reason or expected text).
//!
//! ```
//! let export = r#"__spirit_test:{"path":"hello::tests","name":"greets","ignore":"slow"}"#;
//! let json = export.strip_prefix(spirit_sdk::sandbox_test::EXPORT_PREFIX).unwrap();
//! assert!(json.starts_with('{'));
//! ```

/// The environment variable `cargo spirit test` sets (to `1`) for cargo.
pub const TEST_ENV: &str = "SPIRIT_SDK_TEST";

/// The start of every test export's name.
pub const EXPORT_PREFIX: &str = "__spirit_test:";
