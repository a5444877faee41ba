//! `cargo spirit`: build, sign, package and run spirits.
//!
//! Cargo runs `cargo-spirit spirit ARGS…` for `cargo spirit ARGS…`; the
//! binary also works as `cargo-spirit ARGS…`. Every command is a thin file in
//! `commands/` that parses its flags and calls one `spirit_build` operation.

mod advice;
#[cfg(unix)]
mod alarm;
mod args;
mod cli;
mod commands;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use spirit_build::MessageFormat;

fn main() -> ExitCode {
    let mut command = cli::Cli::command();
    let matches = command
        .try_get_matches_from_mut(args())
        .unwrap_or_else(|e| e.exit());
    // Built once per process and never used again: freeing its few thousand
    // allocations would cost more than parsing did; the process's exit
    // returns the memory.
    std::mem::forget(command);
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `--message-format`, as the command's flattened `FormatArg` parsed it.
    let format = matches
        .subcommand()
        .and_then(|(_, m)| m.try_get_one::<MessageFormat>("format").ok())
        .flatten()
        .copied()
        .unwrap_or_default();
    let shell = cli.global.shell();
    match commands::execute(cli.command, &shell) {
        Ok(code) => code,
        Err(error) => ExitCode::from(report(&error, &shell, format)),
    }
}

/// Prints why the command failed (on standard error, and as a JSON message
/// with `--message-format json`) and returns the exit code.
fn report(error: &anyhow::Error, shell: &spirit_build::Shell, format: MessageFormat) -> u8 {
    report_error(
        error.as_ref(),
        error.downcast_ref::<spirit_build::Error>(),
        shell,
        format,
    )
}

/// [`report`] of `error`, whose chain is printed (as anyhow's `{:#}`
/// prints it), and which is or wraps `ours`. It needs no `anyhow::Error`,
/// which captures a backtrace when `RUST_BACKTRACE` is set: the run's
/// alarm prepares its message with this before every run.
fn report_error(
    error: &(dyn std::error::Error + 'static),
    ours: Option<&spirit_build::Error>,
    shell: &spirit_build::Shell,
    format: MessageFormat,
) -> u8 {
    let code = ours.map_or(1, spirit_build::Error::exit_code);
    // Cargo has already printed why a compile failed.
    let already_reported = matches!(
        ours,
        Some(spirit_build::Error::Compile(
            spirit_build::compile::CompileError::Failed { .. }
        ))
    );
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(chain, ": {cause}");
        source = cause.source();
    }
    // The library names the limit; the flag that raises it is ours.
    let text = match ours.and_then(advice::help) {
        Some(help) => format!("{chain}\nhelp: {help}"),
        None => chain,
    };
    if !already_reported || shell.verbosity() != spirit_build::Verbosity::Quiet {
        shell.error(&text);
    }
    let message = spirit_build::message::ErrorMessage::new(&text, code);
    // Standard output may be gone; the error is on standard error.
    let _ = format.emit(shell, &message);
    u8::try_from(code.clamp(1, 255)).unwrap_or(1)
}

/// The arguments without the `spirit` that cargo inserts.
fn args() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "spirit") {
        args.remove(1);
    }
    args
}
