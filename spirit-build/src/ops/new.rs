//! `cargo spirit new`: a new spirit crate from a template.

use std::path::PathBuf;

use crate::template::{self, SdkSource, TemplateError};
use crate::{Error, Shell};

/// What to create.
#[derive(Clone, Debug)]
pub struct NewOptions {
    /// The spirit's (package's) name.
    pub name: String,
    /// The directory to create (default: `./<name>`).
    pub path: Option<PathBuf>,
    /// The template's name.
    pub template: String,
    /// Where its `spirit-sdk` dependency comes from.
    pub sdk: SdkSource,
}

/// Writes a new spirit crate and returns its directory.
///
/// # Errors
///
/// Fails for an invalid name, an unknown template, or a destination that
/// already exists (nothing is touched then).
pub fn new_spirit(shell: &Shell, options: &NewOptions) -> Result<PathBuf, Error> {
    template::validate_name(&options.name)?;
    let template = template::find(&options.template)
        .ok_or_else(|| TemplateError::UnknownTemplate(options.template.clone()))?;
    let dir = options
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&options.name));
    template::write(template, &options.name, &dir, &options.sdk)?;
    shell.status(
        "Created",
        format_args!(
            "spirit `{}` from template `{}` in {}",
            options.name,
            template.name,
            dir.display()
        ),
    );
    Ok(dir)
}
