//! `cargo spirit new`: a new spirit crate from a template.

use std::path::{Path, PathBuf};

use crate::template::{self, SdkSource, TemplateError};
use crate::workspace::{self, Joined};
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

/// Writes a new spirit crate and returns its directory. When the crate sits
/// inside a cargo workspace, it is added to the workspace's `members`.
///
/// ```
/// use spirit_build::{Shell, Verbosity, ops::NewOptions, template::SdkSource};
///
/// let tmp = tempfile::tempdir().unwrap();
/// let shell = Shell::from_writers(Verbosity::Quiet, Box::new(std::io::sink()), Box::new(std::io::sink()));
/// let options = NewOptions {
///     name: "greeter".into(),
///     path: Some(tmp.path().join("greeter")),
///     template: "counter".into(),
///     sdk: SdkSource::Version("0.1.0".into()),
/// };
/// let dir = spirit_build::new_spirit(&shell, &options).unwrap();
/// assert!(dir.join("src/lib.rs").is_file());
/// ```
///
/// # Errors
///
/// Fails for an invalid name, an unknown template, or a destination that
/// already exists (nothing is touched then).
pub fn new_spirit(shell: &Shell, options: &NewOptions) -> Result<PathBuf, Error> {
    template::validate_name(&options.name)?;
    let template = find_template(&options.template)?;
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
    join_workspace(shell, &dir)?;
    Ok(dir)
}

pub(crate) fn find_template(name: &str) -> Result<&'static template::Template, TemplateError> {
    template::find(name).ok_or_else(|| TemplateError::UnknownTemplate(name.to_owned()))
}

/// Adds the new crate in `dir` to the workspace around it, if any, and
/// leaves the workspace's release profile in charge. A workspace manifest
/// that cannot be edited gets a warning saying what to add by hand.
pub(crate) fn join_workspace(shell: &Shell, dir: &Path) -> Result<(), Error> {
    let dir = dir
        .canonicalize()
        .map_err(|e| crate::fs::FsError::new("resolve", dir, e))?;
    let membership = match workspace::join(&dir) {
        Ok(Some(membership)) => membership,
        Ok(None) => return Ok(()),
        // The crate is written and usable on its own: a workspace that
        // cannot be edited is worth a warning, not a failure.
        Err(error) => {
            shell.warn(error);
            return Ok(());
        }
    };
    let manifest = membership.manifest.display();
    match membership.outcome {
        Joined::Added => shell.status(
            "Adding",
            format_args!(
                "`{}` to the workspace members in {manifest}",
                membership.member
            ),
        ),
        Joined::AlreadyMember => shell.note(format_args!(
            "`{}` is already a member of the workspace in {manifest}",
            membership.member
        )),
        Joined::Excluded => {
            shell.note(format_args!(
                "`{}` is excluded from the workspace in {manifest}; it stays a crate of its own",
                membership.member
            ));
            return Ok(());
        }
    }
    drop_release_profile(shell, &dir.join("Cargo.toml"))
}

/// Cargo ignores (and warns about) a member's own profiles: the template's
/// `[profile.release]` goes, and a note says what the workspace should set.
fn drop_release_profile(shell: &Shell, manifest: &Path) -> Result<(), Error> {
    let bytes = crate::fs::read(manifest)?;
    let Ok(mut doc) = String::from_utf8_lossy(&bytes).parse::<toml_edit::DocumentMut>() else {
        return Ok(());
    };
    if doc.remove("profile").is_some() {
        crate::fs::write_atomic(manifest, doc.to_string().as_bytes())?;
        shell.note(
            "a workspace member's profiles are ignored: for the smallest spirits, set \
             `opt-level = \"z\"`, `lto = true`, `codegen-units = 1` and `panic = \"abort\"` \
             in the workspace's `[profile.release]`",
        );
    }
    Ok(())
}
