//! The operations behind the commands, one per command. Each takes a
//! [`Shell`](crate::Shell) and an options struct, strings the pipeline's
//! steps together and returns what it produced.

mod build;
mod check;
mod inspect;
mod new;
mod run;

pub use build::{ArtifactMessage, BuildOptions, BuiltSpirit, build};
pub use check::{CheckMessage, CheckTarget, CheckedModule, check};
pub use inspect::inspect;
pub use new::{NewOptions, new_spirit};
pub use run::{RunOptions, RunTarget, run};
