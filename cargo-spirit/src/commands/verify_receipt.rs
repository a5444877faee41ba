use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use spirit_build::Shell;
use spirit_build::receipt::Receipt;
use spirit_build::sign::Author;

/// Check a signed execution receipt (from `run --receipt`)
#[derive(Debug, Args)]
#[command(after_help = "\
Checks the receipt's signature, and optionally that it was signed by a given
node and that its commitments match the wasm, input and output you hold.

Example:
  cargo spirit verify-receipt run.json --node 3b6a… --input in.bin --output out.bin")]
pub(crate) struct VerifyReceiptArgs {
    /// The receipt (JSON)
    file: PathBuf,
    /// Require this node key (64 hex characters)
    #[arg(long, value_name = "HEX", value_parser = super::author)]
    node: Option<Author>,
    /// Check the wasm commitment against this file
    #[arg(long, value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// Check the input commitment against this file
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Check the output commitment against this file
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    format: super::MessageFormat,
}

impl VerifyReceiptArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let text = std::fs::read_to_string(&self.file)
            .with_context(|| format!("failed to read the receipt `{}`", self.file.display()))?;
        let receipt = Receipt::from_json(text.trim())?;
        let node = receipt.verify()?;
        if let Some(expected) = self.node
            && expected != node
        {
            anyhow::bail!("the receipt is signed by node {node}, but {expected} was required");
        }
        for (what, path) in [
            ("wasm", &self.wasm),
            ("input", &self.input),
            ("output", &self.output),
        ] {
            if let Some(path) = path {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("failed to read `{}`", path.display()))?;
                receipt.check(what, &bytes)?;
            }
        }
        shell.status(
            "Verified",
            format_args!(
                "receipt of spirit `{}` ({} units of fuel) signed by node {node}",
                receipt.spirit(),
                receipt.fuel_used()
            ),
        );
        self.format.emit_json(
            shell,
            serde_json::json!({
                "reason": "receipt-verified",
                "spirit": receipt.spirit(),
                "fuel_used": receipt.fuel_used(),
                "node": node.to_string(),
            }),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
