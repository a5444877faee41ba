//! What to do about an error, in this command line's flags: the library
//! says which limit a run reached and its value; the binary says which flag
//! raises it.

use spirit_build::error::Error;
use spirit_build::ops::InputError;
use spirit_build::sandbox::{RunError, SandboxError};

/// The `help:` line for `error`, when a flag of `cargo spirit run` is the
/// way out.
pub(crate) fn help(error: &Error) -> Option<&'static str> {
    Some(match error {
        Error::Run { failure, .. } => match failure.error {
            RunError::OutOfFuel(_) => "raise the limit with `--fuel UNITS`",
            RunError::Timeout(_) => "raise the limit with `--timeout DURATION`",
            RunError::MemoryLimit(_) => "raise the limit with `--max-memory SIZE`",
            RunError::InputTooLarge(_) => "raise the limit with `--max-input SIZE` (at most 2 GiB)",
            RunError::NeedsFuel(_) => {
                "run it with `--metering fuel` (the default), which overrides a manifest's `run.metering = \"time\"`"
            }
            _ => return None,
        },
        Error::Sandbox(SandboxError::CompileTimeout { .. }) => {
            "raise the limit with `--timeout DURATION`, or install the spirit (`cargo spirit install` compiles it ahead of time)"
        }
        Error::Input(InputError::TooLarge { .. }) => {
            "raise the limit with `--max-input SIZE` or the manifest's `run.max-input` (at most 2 GiB)"
        }
        Error::Input(InputError::TimedOut { .. }) => {
            "raise the limit with `--timeout DURATION`, or give a file instead of a stream that does not end"
        }
        _ => return None,
    })
}
