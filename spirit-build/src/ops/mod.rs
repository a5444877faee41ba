//! The operations behind the commands, one per command. Each takes a
//! [`Shell`](crate::Shell) and an options struct, strings the pipeline's
//! steps together and returns what it produced.

mod build;
mod check;
mod init;
mod inspect;
mod new;
mod registry;
mod run;
mod sign;

pub use build::{ArtifactMessage, BuildOptions, BuiltSpirit, build};
pub use check::{CheckMessage, CheckTarget, CheckedModule, check};
pub use init::{InitOptions, init};
pub use inspect::{PackageInspection, inspect, inspect_package};
pub use new::{NewOptions, new_spirit};
pub use registry::{InstallSource, install, trust, upgrade};
pub use run::{LimitOverrides, ReceiptRequest, RunOptions, RunTarget, run};
pub use sign::{SpiritTarget, Verified, artifact_dir, build_and_sign, keygen, pack, sign, verify};
