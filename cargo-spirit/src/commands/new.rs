use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::NewOptions;
use spirit_build::template::SdkSource;

/// Create a new spirit crate from a template
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  cargo spirit new hello && cd hello && cargo spirit run")]
pub(crate) struct NewArgs {
    /// The spirit's name (also its package name)
    name: String,
    /// Where to create it [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// The template to start from: hello (logs a greeting)
    #[arg(long, value_name = "TEMPLATE", default_value = "hello")]
    template: String,
}

impl NewArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let options = NewOptions {
            name: self.name,
            path: self.path,
            template: self.template,
            sdk: SdkSource::detect(),
        };
        spirit_build::new_spirit(shell, &options)?;
        Ok(ExitCode::SUCCESS)
    }
}
