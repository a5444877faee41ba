//! What building takes: the option types of cargo's flags (which packages,
//! how to run cargo, what stripping keeps). They are plain data, present
//! without the `build` feature too, so that a TARGET classifies the same
//! way in every build of the library (see `ops::Target`); the modules that
//! act on them (`compile`, `strip`, `project`) re-export them.

use std::path::PathBuf;

use crate::message::MessageFormat;

/// What to build and how.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Which packages.
    pub selection: Selection,
    /// How to run cargo (and `--message-format`).
    pub compile: CompileOptions,
    /// What stripping keeps.
    pub strip: StripOptions,
}

/// Which packages to build, as cargo's package-selection flags say.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--manifest-path`: the `Cargo.toml` to start from (default: found
    /// from the current directory upwards).
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package`: these packages (by name, or `name@version`), each
    /// of which must be a spirit.
    pub packages: Vec<String>,
    /// `--workspace`: every spirit of the workspace (other members are
    /// skipped).
    pub workspace: bool,
    /// `--exclude`: with `workspace`, leave these out.
    pub exclude: Vec<String>,
}

/// How to invoke cargo: the flags `cargo build` takes, passed on as they are.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// The cargo profile (`dev` when `None`).
    pub profile: Option<String>,
    /// `--target-dir`.
    pub target_dir: Option<PathBuf>,
    /// `--features` (each entry may itself be a comma- or space-separated list).
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--locked`: fail rather than change `Cargo.lock`.
    pub locked: bool,
    /// `--offline`: do not touch the network.
    pub offline: bool,
    /// `--frozen`: both `--locked` and `--offline`.
    pub frozen: bool,
    /// How messages are printed.
    pub message_format: MessageFormat,
}

impl CompileOptions {
    /// The profile name cargo uses.
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("dev")
    }

    /// `--target-dir` made absolute against the current directory: cargo
    /// runs from the workspace root, but the user meant it from here.
    pub fn absolute_target_dir(&self) -> Option<PathBuf> {
        self.target_dir
            .as_deref()
            .map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()))
    }

    /// The directory cargo names after the profile (`dev` builds go to `debug`).
    pub fn profile_dir(&self) -> &str {
        match self.profile_name() {
            "dev" | "test" => "debug",
            "release" | "bench" => "release",
            other => other,
        }
    }
}

/// What to keep.
#[derive(Clone, Copy, Debug, Default)]
pub struct StripOptions {
    /// Keep the name section, for profiling and readable traps.
    pub keep_names: bool,
}
