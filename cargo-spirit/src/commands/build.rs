use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::compile::CompileOptions;
use spirit_build::ops::BuildOptions;
use spirit_build::project::Selection;
use spirit_build::strip::StripOptions;

/// Compile, validate and strip spirits, and write their manifests
#[derive(Debug, Args)]
#[command(
    after_help = "The stripped module and manifest.toml go to <target-dir>/spirit/<profile>/<name>/."
)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub(crate) cargo: CargoArgs,
}

/// The cargo flags shared by every command that builds.
#[derive(Clone, Debug, Args)]
pub(crate) struct CargoArgs {
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Build with the release profile
    #[arg(short, long, conflicts_with = "profile")]
    release: bool,
    /// Build with the given profile
    #[arg(long, value_name = "PROFILE-NAME")]
    profile: Option<String>,
    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIRECTORY")]
    target_dir: Option<PathBuf>,
    /// Keep the name section (for profiling and readable traps)
    #[arg(long)]
    keep_debug: bool,
}

impl CargoArgs {
    /// The options, with the release profile unless one was chosen (what
    /// `install` builds with, as `cargo install` does).
    pub(crate) fn release_options(mut self) -> BuildOptions {
        if self.profile.is_none() {
            self.release = true;
        }
        self.options()
    }

    /// Points `--manifest-path` at the crate in `dir`.
    pub(crate) fn set_manifest_dir(&mut self, dir: &std::path::Path) {
        self.manifest_path = Some(dir.join("Cargo.toml"));
    }

    pub(crate) fn options(self) -> BuildOptions {
        BuildOptions {
            selection: Selection {
                manifest_path: self.manifest_path,
            },
            compile: CompileOptions {
                profile: if self.release {
                    Some("release".to_owned())
                } else {
                    self.profile
                },
                target_dir: self.target_dir,
            },
            strip: StripOptions {
                keep_names: self.keep_debug,
            },
        }
    }
}

impl BuildArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        spirit_build::build(shell, &self.cargo.options())?;
        Ok(ExitCode::SUCCESS)
    }
}
