//! `cargo spirit test`: run a spirit's `#[spirit_sdk::test]`s as WebAssembly in the real sandbox.

use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::{Ignored, TestFilter, TestOptions};

use crate::args::{CargoArgs, FormatArg};

/// Run a spirit's sandbox tests (`#[spirit_sdk::test]`) in the sandbox
#[derive(Debug, Args)]
#[command(after_help = "\
The tests are built for wasm32 into <target-dir>/spirit-test/ (the normal
build's outputs are left alone), validated as `build` validates, and each one
runs in a fresh instance with a fresh temporary VUDO_HOME (its own storage),
the capabilities declared in Cargo.toml and its `run` limits.

Test options go after `--`, as with `cargo test`:
  --nocapture          Print every test's logs and output, not only the failures'
  --ignored            Run only the #[ignore]d tests
  --include-ignored    Run the #[ignore]d tests too
  --exact              Match TESTNAME exactly
  --skip FILTER        Leave out tests whose names contain FILTER (repeatable)
  --test-threads N     Run N tests at once [default: the number of CPUs]

Exit status: 0 when every test passed, 101 when one failed (as cargo test).

Examples:
  cargo spirit test                      Run the sandbox tests of the spirit here
  cargo spirit test counts -- --exact    Run the test named `counts`
  cargo spirit test --workspace --message-format json")]
pub(crate) struct TestArgs {
    /// Run only the tests whose names contain TESTNAME
    #[arg(value_name = "TESTNAME")]
    filter: Option<String>,
    #[command(flatten)]
    cargo: CargoArgs,
    /// `json`: cargo's messages, one `spirit-test` object per test and a
    /// `spirit-test-result` per spirit on standard output
    #[command(flatten)]
    format: FormatArg,
    /// Run every spirit's tests, even after one failed
    #[arg(long)]
    no_fail_fast: bool,
    /// Options for the test runner (see below)
    #[arg(last = true, value_name = "ARGS")]
    test_args: Vec<String>,
}

impl TestArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let mut build = self.cargo.options();
        build.compile.message_format = self.format.format;
        let mut options = TestOptions {
            build,
            filter: TestFilter {
                filters: self.filter.into_iter().collect(),
                ..TestFilter::default()
            },
            no_fail_fast: self.no_fail_fast,
            ..TestOptions::default()
        };
        runner_args(&mut options, &self.test_args)?;
        let run = spirit_build::ops::test(shell, &options)?;
        match run.failed_spirits().as_slice() {
            [] => Ok(ExitCode::SUCCESS),
            failed => {
                let specs: Vec<String> = failed.iter().map(|s| format!("-p {s}")).collect();
                shell.error(format_args!(
                    "test failed, to rerun pass `{}`",
                    specs.join(" ")
                ));
                Ok(ExitCode::from(101))
            }
        }
    }
}

/// libtest's options after `--`; any other word is a name filter.
fn runner_args(options: &mut TestOptions, args: &[String]) -> anyhow::Result<()> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--nocapture" | "--no-capture" => options.nocapture = true,
            "--ignored" => options.filter.ignored = Ignored::Only,
            "--include-ignored" => options.filter.ignored = Ignored::Include,
            "--exact" => options.filter.exact = true,
            "--skip" => match args.next() {
                Some(filter) => options.filter.skip.push(filter.clone()),
                None => anyhow::bail!("`--skip` needs a FILTER"),
            },
            "--test-threads" => {
                let n = args.next().and_then(|n| n.parse::<usize>().ok());
                match n {
                    Some(n) if n > 0 => options.threads = Some(n),
                    _ => anyhow::bail!("`--test-threads` needs a number of threads above 0"),
                }
            }
            flag if flag.starts_with('-') => anyhow::bail!(
                "unknown test option `{flag}`\nhelp: the test options are --nocapture, --ignored, --include-ignored, --exact, --skip FILTER and --test-threads N"
            ),
            filter => options.filter.filters.push(filter.to_owned()),
        }
    }
    Ok(())
}
