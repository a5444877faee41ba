//! `cargo spirit new`: create a spirit crate from a template (and add it
//! to the enclosing workspace).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser};
use spirit_build::Shell;
use spirit_build::ops::NewOptions;
use spirit_build::template::{SdkSource, TEMPLATES};

use crate::args::FormatArg;

/// Create a new spirit crate from a template
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cargo spirit new hello && cd hello && cargo spirit run
  cargo spirit new tally --template counter")]
pub(crate) struct NewArgs {
    /// The spirit's name (also its package name)
    name: String,
    /// Where to create it [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    #[command(flatten)]
    template: TemplateArg,
    #[command(flatten)]
    format: FormatArg,
}

/// `--template`, shared with `init`: its help lists every template.
#[derive(Debug, Args)]
pub(crate) struct TemplateArg {
    /// The template to start from
    #[arg(long, value_name = "TEMPLATE", default_value = "hello", value_parser = templates())]
    pub(crate) template: String,
}

/// The templates as clap's possible values, each with its description.
fn templates() -> PossibleValuesParser {
    PossibleValuesParser::new(
        TEMPLATES
            .iter()
            .map(|t| PossibleValue::new(t.name).help(t.description)),
    )
}

impl NewArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let options = NewOptions {
            name: self.name,
            path: self.path,
            template: self.template.template,
            sdk: SdkSource::detect(),
        };
        let dir = spirit_build::new_spirit(shell, &options)?;
        self.format.emit(
            shell,
            &serde_json::json!({ "reason": "spirit-created", "name": options.name, "path": dir }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
