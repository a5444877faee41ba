use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::compile::{CompileOptions, MessageFormat};
use spirit_build::ops::BuildOptions;
use spirit_build::project::Selection;
use spirit_build::sign::Key;
use spirit_build::strip::StripOptions;

/// Compile, validate and strip spirits, and write their manifests
#[derive(Debug, Args)]
#[command(after_help = "\
The stripped module and manifest.toml go to <target-dir>/spirit/<profile>/<name>/.

Examples:
  cargo spirit build                   Build the spirit here (every spirit, at a virtual root)
  cargo spirit build --workspace -r    Build every spirit of the workspace for release
  cargo spirit build -p hello --message-format json")]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub(crate) cargo: CargoArgs,
    /// `json`: cargo's messages and one `spirit-artifact` object per spirit
    /// on standard output
    #[command(flatten)]
    format: super::MessageFormat,
    /// Sign what was built (see `cargo spirit sign`)
    #[arg(long)]
    sign: bool,
    /// The private key to sign with [default: SPIRIT_SIGNING_KEY, else
    /// VUDO_HOME/keys/default.key]
    #[arg(long, value_name = "PATH", requires = "sign")]
    key: Option<PathBuf>,
}

/// The cargo flags shared by every command that builds.
#[derive(Clone, Debug, Args)]
pub(crate) struct CargoArgs {
    /// Package to build (see `cargo help pkgid`); repeatable
    #[arg(
        short,
        long = "package",
        value_name = "SPEC",
        help_heading = "Package Selection"
    )]
    package: Vec<String>,
    /// Build every spirit in the workspace
    #[arg(long, help_heading = "Package Selection")]
    workspace: bool,
    /// Exclude packages from the build (with --workspace)
    #[arg(
        long,
        value_name = "SPEC",
        requires = "workspace",
        help_heading = "Package Selection"
    )]
    exclude: Vec<String>,
    /// Space or comma separated list of features to activate
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Feature Selection"
    )]
    features: Vec<String>,
    /// Activate all available features
    #[arg(long, help_heading = "Feature Selection")]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long, help_heading = "Feature Selection")]
    no_default_features: bool,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH", help_heading = "Manifest Options")]
    manifest_path: Option<PathBuf>,
    /// Assert that `Cargo.lock` will remain unchanged
    #[arg(long, help_heading = "Manifest Options")]
    locked: bool,
    /// Run without accessing the network
    #[arg(long, help_heading = "Manifest Options")]
    offline: bool,
    /// Equivalent to specifying both --locked and --offline
    #[arg(long, help_heading = "Manifest Options")]
    frozen: bool,
    /// Build with the release profile
    #[arg(
        short,
        long,
        conflicts_with = "profile",
        help_heading = "Compilation Options"
    )]
    release: bool,
    /// Build with the given profile
    #[arg(
        long,
        value_name = "PROFILE-NAME",
        help_heading = "Compilation Options"
    )]
    profile: Option<String>,
    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIRECTORY", help_heading = "Compilation Options")]
    target_dir: Option<PathBuf>,
    /// Keep the name section (for profiling and readable traps)
    #[arg(long, help_heading = "Compilation Options")]
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
                packages: self.package,
                workspace: self.workspace,
                exclude: self.exclude,
            },
            compile: CompileOptions {
                profile: if self.release {
                    Some("release".to_owned())
                } else {
                    self.profile
                },
                target_dir: self.target_dir,
                features: self.features,
                all_features: self.all_features,
                no_default_features: self.no_default_features,
                locked: self.locked,
                offline: self.offline,
                frozen: self.frozen,
                message_format: MessageFormat::Human,
            },
            strip: StripOptions {
                keep_names: self.keep_debug,
            },
        }
    }
}

impl BuildArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let mut options = self.cargo.options();
        options.compile.message_format = self.format.compile();
        if self.sign {
            let key = Key::find(self.key.as_deref()).map_err(spirit_build::Error::Sign)?;
            spirit_build::ops::build_and_sign(shell, &options, &key)?;
        } else {
            spirit_build::build(shell, &options)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
