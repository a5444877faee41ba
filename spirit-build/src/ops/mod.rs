//! The operations behind the commands, one per command. Each takes a
//! [`Shell`](crate::Shell) and an options struct, strings the pipeline's
//! steps together and returns what it produced.

mod build;
mod init;
mod new;
mod registry;
mod run;
mod sign;

pub use build::{BuildOptions, BuiltSpirit, build};
pub use init::{InitOptions, init};
pub use new::{NewOptions, new_spirit};
pub use registry::{InstallSource, install, trust, upgrade};
pub use run::{ReceiptRequest, RunOptions, RunTarget, run};
pub use sign::{SpiritTarget, Verified, artifact_dir, keygen, pack, sign, verify};
