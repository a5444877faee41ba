use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::{Registry, split_spec};

/// Show an installed spirit: NAME or NAME@REQ (highest match)
#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// NAME or NAME@REQ, such as hello@^1.2
    spec: String,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    format: super::MessageFormat,
}

impl InfoArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let (name, req) = split_spec(&self.spec);
        let registry = Registry::open_default().map_err(spirit_build::Error::from)?;
        let entry = registry
            .resolve(name, req)
            .map_err(spirit_build::Error::from)?;
        let dir = registry.spirit_dir(&entry.name, &entry.version);
        if self.json || self.format.is_json() {
            let mut value = serde_json::to_value(&entry)?;
            value["path"] = serde_json::json!(dir);
            shell.write_stdout(format!("{value}\n").as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        let others: Vec<String> = registry
            .versions(&entry.name)
            .map_err(spirit_build::Error::from)?
            .into_iter()
            .map(|e| e.version.to_string())
            .collect();
        let text = format!(
            "name:         {}\nversion:      {}\ndescription:  {}\ncapabilities: {}\nauthor:       {}\nblake3:       {}\npath:         {}\ninstalled:    {}\n",
            entry.name,
            entry.version,
            entry.description.as_deref().unwrap_or("-"),
            if entry.capabilities.is_empty() {
                "-".to_owned()
            } else {
                entry.capabilities.join(", ")
            },
            entry
                .author
                .as_deref()
                .unwrap_or("(unsigned, installed with --allow-unsigned)"),
            entry.blake3,
            dir.display(),
            others.join(", "),
        );
        shell.write_stdout(text.as_bytes())?;
        Ok(ExitCode::SUCCESS)
    }
}
