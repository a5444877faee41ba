use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::registry::{Entry, Registry};

/// List the installed spirits
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    format: super::MessageFormat,
}

impl ListArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let entries = Registry::open_default()
            .map_err(spirit_build::Error::from)?
            .list()
            .map_err(spirit_build::Error::from)?;
        print_entries(shell, &entries, self.json || self.format.is_json())?;
        Ok(ExitCode::SUCCESS)
    }
}

/// A table (or JSON) of registry entries on standard output.
pub(crate) fn print_entries(shell: &Shell, entries: &[Entry], json: bool) -> anyhow::Result<()> {
    if json {
        shell.write_stdout(format!("{}\n", serde_json::to_string(entries)?).as_bytes())?;
        return Ok(());
    }
    let author = |e: &Entry| match &e.author {
        Some(a) => a.chars().take(16).collect::<String>(),
        None => "(unsigned)".to_owned(),
    };
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.version.to_string(),
                author(e),
                e.capabilities.join(","),
            ]
        })
        .collect();
    let header = ["NAME", "VERSION", "AUTHOR", "CAPABILITIES"];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    shell.write_stdout(out.as_bytes())?;
    Ok(())
}
