//! `cargo spirit init`: a spirit crate in an existing directory.

use std::path::PathBuf;

use crate::ops::new::{find_template, join_workspace};
use crate::template::{self, SdkSource, TemplateError};
use crate::{Error, Shell};

/// Where and what to initialise.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The directory (created when missing).
    pub dir: PathBuf,
    /// The spirit's name (default: the directory's name).
    pub name: Option<String>,
    /// The template's name.
    pub template: String,
    /// Where its `spirit-sdk` dependency comes from.
    pub sdk: SdkSource,
}

/// Writes a spirit crate into `options.dir`, keeping every file that is
/// already there, and returns the spirit's name. When the directory sits
/// inside a cargo workspace, the crate is added to its `members`.
///
/// ```
/// use spirit_build::{Shell, Verbosity, ops::InitOptions, template::SdkSource};
///
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path().join("my-spirit");
/// std::fs::create_dir(&dir).unwrap();
/// std::fs::write(dir.join("README.md"), "mine").unwrap();
/// let shell = Shell::from_writers(Verbosity::Quiet, Box::new(std::io::sink()), Box::new(std::io::sink()));
/// let options = InitOptions {
///     dir: dir.clone(),
///     name: None,
///     template: "hello".into(),
///     sdk: SdkSource::Version("0.1.0".into()),
/// };
/// assert_eq!(spirit_build::ops::init(&shell, &options).unwrap(), "my-spirit");
/// assert!(dir.join("Cargo.toml").is_file());
/// assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "mine");
/// ```
///
/// # Errors
///
/// Fails for an invalid name, an unknown template, or a directory that
/// already holds a `Cargo.toml` (nothing is written then).
pub fn init(shell: &Shell, options: &InitOptions) -> Result<String, Error> {
    let name = match &options.name {
        Some(name) => {
            template::validate_name(name)?;
            name.clone()
        }
        None => {
            let no_name = |reason| TemplateError::NoName {
                dir: options.dir.clone(),
                reason,
            };
            let absolute = std::path::absolute(&options.dir)
                .map_err(|e| crate::fs::FsError::new("resolve", &options.dir, e))?;
            let name = absolute
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
                .ok_or_else(|| no_name(None))?;
            match template::validate_name(&name) {
                Err(TemplateError::InvalidName { reason, .. }) => {
                    return Err(no_name(Some(reason)).into());
                }
                result => result?,
            }
            name
        }
    };
    let template = find_template(&options.template)?;
    let done = template::write_into(template, &name, &options.dir, &options.sdk)?;
    for kept in &done.kept {
        shell.note(format_args!(
            "kept the existing `{}`; the template's version was not written",
            kept.display()
        ));
    }
    shell.status(
        "Created",
        format_args!(
            "spirit `{name}` from template `{}` in {}",
            template.name,
            options.dir.display()
        ),
    );
    join_workspace(shell, &options.dir)?;
    super::new::patch_sdk(shell, &options.dir, &options.sdk);
    Ok(name)
}
