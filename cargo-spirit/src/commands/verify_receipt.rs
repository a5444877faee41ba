//! `cargo spirit verify-receipt`: check a signed execution receipt (from
//! `run --receipt`) against a node key and the files it commits to.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use spirit_build::Shell;
use spirit_build::ops::ReceiptCheck;
use spirit_build::sign::Author;

use crate::args::{FormatArg, author};

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
    #[arg(long, value_name = "HEX", value_parser = author)]
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
    format: FormatArg,
}

impl VerifyReceiptArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let check = ReceiptCheck {
            file: self.file,
            node: self.node,
            wasm: self.wasm,
            input: self.input,
            output: self.output,
        };
        let verified = spirit_build::ops::verify_receipt(shell, &check)?;
        self.format
            .emit_event(shell, "receipt-verified", &verified)?;
        Ok(ExitCode::SUCCESS)
    }
}
