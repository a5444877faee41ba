//! The module check `build` and `check` share: validate against the host
//! ABI and the expectations, strip, then check the stripped size and the
//! memory against the limits.

use crate::manifest::ModuleLimits;
use crate::strip::{self, StripOptions};
use crate::validate::{self, Expectations, Report, ValidationError};
use crate::{Error, Shell};

/// Validates `wasm`, strips it and checks the stripped size and the memory
/// against `limits`; prints the warnings. Returns the report and the
/// stripped module, or every problem found. With `allow_command`, a missing
/// capability is to be granted with `--allow` on that command (a bare
/// module has no Cargo.toml to declare it in).
pub(crate) fn examine(
    shell: &Shell,
    subject: &str,
    wasm: &[u8],
    expected: &Expectations<'_>,
    limits: &ModuleLimits,
    strip: StripOptions,
    allow_command: Option<&str>,
) -> Result<(Report, Vec<u8>), Error> {
    let mut report = validate::validate(wasm, expected);
    if let Some(command) = allow_command {
        report.suggest_allow(command);
    }
    for warning in &report.warnings {
        shell.warn(format_args!("{subject}: {warning}"));
    }
    let stripped = match strip::strip(wasm, strip) {
        Ok(stripped) => Some(stripped),
        // The validation errors already say what is wrong.
        Err(_) if !report.is_ok() => None,
        Err(e) => return Err(e.into()),
    };
    validate::check_limits(
        &mut report,
        limits,
        stripped.as_ref().map(|s| s.len() as u64),
    );
    match stripped {
        Some(stripped) if report.is_ok() => Ok((report, stripped)),
        _ => Err(ValidationError {
            subject: subject.to_owned(),
            errors: report.errors,
        }
        .into()),
    }
}
