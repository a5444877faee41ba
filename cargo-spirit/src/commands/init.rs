//! `cargo spirit init`: make an existing directory a spirit crate from a
//! template.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::InitOptions;
use spirit_build::template::SdkSource;

use crate::args::FormatArg;
use crate::commands::new::TemplateArg;

/// Create a spirit crate in an existing directory (never overwrites files)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mkdir greeter && cd greeter && cargo spirit init
  cargo spirit init spirits/tally --template counter")]
pub(crate) struct InitArgs {
    /// The directory (created when missing)
    #[arg(value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The spirit's name [default: the directory's name]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    #[command(flatten)]
    template: TemplateArg,
    #[command(flatten)]
    format: FormatArg,
}

impl InitArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let options = InitOptions {
            dir: self.dir,
            name: self.name,
            template: self.template.template,
            sdk: SdkSource::detect(),
        };
        let name = spirit_build::ops::init(shell, &options)?;
        self.format.emit(
            shell,
            &serde_json::json!({ "reason": "spirit-created", "name": name }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
