//! The operations behind the commands, one per command. Each takes a
//! [`Shell`](crate::Shell) and an options struct, strings the pipeline's
//! steps together and returns what it produced: data that prints for people
//! ([`Display`](std::fmt::Display)) and, where a command has a JSON form,
//! serializes for tools.
//!
//! `plan` (options, cargo, the output layout) and `examine` (the module
//! check) sit below `build` and `check`, which use them and not each other;
//! [`Target`] classifies a command-line TARGET for every operation that
//! takes one.

#[cfg(feature = "build")]
mod build;
#[cfg(feature = "build")]
mod check;
mod credit;
#[cfg(feature = "build")]
mod examine;
mod grant;
#[cfg(feature = "build")]
mod init;
mod inspect;
mod installed;
#[cfg(feature = "build")]
mod new;
#[cfg(feature = "build")]
mod plan;
#[cfg(feature = "build")]
mod pull;
#[cfg(feature = "build")]
mod push;
mod registry;
mod resolve;
mod run;
mod run_calls;
mod run_charge;
mod run_io;
mod seance;
mod sign;
mod target;
#[cfg(feature = "build")]
mod test;
mod test_report;
mod verify_receipt;

pub use crate::options::BuildOptions;
#[cfg(feature = "build")]
pub use build::{ArtifactMessage, BuiltSpirit, build};
#[cfg(feature = "build")]
pub use check::{CheckMessage, CheckOptions, CheckedModule, check};
pub use credit::{
    Balance, History, account, credit_balance, credit_history, credit_mint, credit_transfer,
};
#[cfg(feature = "build")]
pub use init::{InitOptions, init};
pub use inspect::{
    Inspected, PackageInspection, inspect, inspect_package, inspect_target, inspect_targets,
};
pub use installed::{SpiritInfo, SpiritList, info, list, list_page, search, uninstall};
#[cfg(feature = "build")]
pub use new::{NewOptions, new_spirit};
#[cfg(feature = "build")]
pub use plan::{artifact_dir, built_dirs};
#[cfg(feature = "build")]
pub use pull::{PullOptions, Pulled, pull};
#[cfg(feature = "build")]
pub use push::{PushOptions, Pushed, push};
pub use registry::{install, trust, upgrade};
pub use run::{GuardFactory, LimitOverrides, ReceiptRequest, RunOptions, RunTarget, run};
pub use run_charge::CreditOptions;
pub use run_io::{InputError, RunInput, TerminalIo, exit_code, read_input};
pub use seance::{
    InvocationSpec, SeanceOptions, SeanceReport, SummonOptions, parse_summons, seance, summon,
};
pub use sign::{Packaged, SignedSpirit, Verified, keygen, sign, verify, verify_requirements};
#[cfg(feature = "build")]
pub use sign::{build_and_sign, pack};
pub use target::{Target, TargetError, classify_for_run, split_run_positionals};
#[cfg(feature = "build")]
pub use test::{Ignored, TestFilter, TestOptions, test, test_target_dir};
pub use test_report::{Suite, SuiteMessage, TestMessage, TestResult, TestRun, TestStatus};
pub use verify_receipt::{ReceiptCheck, ReceiptCheckError, VerifiedReceipt, verify_receipt};

/// Serializes a value as its `Display` text (keys as their hex).
fn serialize_display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}
