//! This library as a tool: the version it records in what it writes.

/// The version of this library, recorded in every manifest it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
