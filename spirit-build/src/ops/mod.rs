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

mod build;
mod check;
mod credit;
mod examine;
mod grant;
mod init;
mod inspect;
mod installed;
mod new;
mod plan;
mod pull;
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
mod test;
mod test_report;
mod verify_receipt;

pub use build::{ArtifactMessage, BuiltSpirit, build};
pub use check::{CheckMessage, CheckOptions, CheckedModule, check};
pub use credit::{
    Balance, History, account, credit_balance, credit_history, credit_mint, credit_transfer,
};
pub use init::{InitOptions, init};
pub use inspect::{
    Inspected, PackageInspection, inspect, inspect_package, inspect_target, inspect_targets,
};
pub use installed::{SpiritInfo, SpiritList, info, list, list_page, search, uninstall};
pub use new::{NewOptions, new_spirit};
pub use plan::{BuildOptions, artifact_dir, built_dirs};
pub use pull::{PullOptions, Pulled, pull};
pub use push::{PushOptions, Pushed, push};
pub use registry::{install, trust, upgrade};
pub use run::{LimitOverrides, ReceiptRequest, RunOptions, RunTarget, run};
pub use run_charge::CreditOptions;
pub use run_io::{InputError, RunInput, TerminalIo, exit_code, read_input};
pub use seance::{
    InvocationSpec, SeanceOptions, SeanceReport, SummonOptions, parse_summons, seance, summon,
};
pub use sign::{
    Packaged, SignedSpirit, Verified, build_and_sign, keygen, pack, sign, verify,
    verify_requirements,
};
pub use target::{Target, TargetError, classify_for_run, split_run_positionals};
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
