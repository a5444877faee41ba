//! `cargo spirit verify-receipt`: check a signed execution receipt (from
//! `run --receipt`), its node and its commitments.

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use crate::error::ReceiptCheckError;
use crate::receipt::Receipt;
use crate::sign::Author;
use crate::{Error, Shell};

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct ReceiptCheck {
    /// The receipt (JSON).
    pub file: PathBuf,
    /// Require this node key.
    pub node: Option<Author>,
    /// Check the wasm commitment against this file.
    pub wasm: Option<PathBuf>,
    /// Check the input commitment against this file.
    pub input: Option<PathBuf>,
    /// Check the output commitment against this file.
    pub output: Option<PathBuf>,
}

/// A receipt that passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedReceipt {
    /// The spirit's name.
    pub spirit: String,
    /// Fuel the run used.
    pub fuel_used: u64,
    /// The node that signed it.
    #[serde(serialize_with = "crate::ops::serialize_display")]
    pub node: Author,
}

/// Checks the receipt's signature, then the node and each commitment asked
/// for.
///
/// ```
/// use spirit_build::ops::{ReceiptCheck, verify_receipt};
/// use spirit_build::receipt::{Receipt, RunFacts};
/// use spirit_build::sign::Key;
/// use spirit_build::{ColorChoice, Shell, Verbosity};
///
/// let dir = tempfile::tempdir().unwrap();
/// let key = Key::generate().unwrap();
/// let facts = RunFacts { spirit: "hello", wasm: b"\0asm", input: b"", output_blake3: blake3::hash(b"hi"), fuel_used: 42, status: 0, charge: None };
/// let file = dir.path().join("run.json");
/// spirit_build::fs::write_atomic(&file, Receipt::new(&facts, &key).unwrap().to_json().as_bytes()).unwrap();
/// let output = dir.path().join("out.bin");
/// spirit_build::fs::write_atomic(&output, b"hi").unwrap();
///
/// let shell = Shell::new(Verbosity::Quiet, ColorChoice::Never);
/// let check = ReceiptCheck { file, node: Some(key.author()), output: Some(output), ..Default::default() };
/// let verified = verify_receipt(&shell, &check).unwrap();
/// assert_eq!((verified.spirit.as_str(), verified.fuel_used), ("hello", 42));
/// ```
///
/// # Errors
///
/// Fails when a file cannot be read, the receipt is malformed or its
/// signature does not verify, another node signed it, or a commitment does
/// not match its file.
pub fn verify_receipt(shell: &Shell, check: &ReceiptCheck) -> Result<VerifiedReceipt, Error> {
    let bytes = crate::fs::read_bounded(&check.file, crate::fs::MAX_TEXT_FILE, "a receipt")?;
    let text = String::from_utf8_lossy(&bytes);
    let receipt = Receipt::from_json(text.trim()).map_err(ReceiptCheckError::from)?;
    let node = receipt.verify().map_err(ReceiptCheckError::from)?;
    if let Some(expected) = check.node
        && expected != node
    {
        return Err(ReceiptCheckError::WrongNode { node, expected }.into());
    }
    let commitments: [(&'static str, Option<&Path>); 3] = [
        ("wasm", check.wasm.as_deref()),
        ("input", check.input.as_deref()),
        ("output", check.output.as_deref()),
    ];
    for (what, path) in commitments {
        if let Some(path) = path {
            let bytes = crate::fs::read(path)?;
            receipt
                .check(what, &bytes)
                .map_err(ReceiptCheckError::from)?;
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
    Ok(VerifiedReceipt {
        spirit: receipt.spirit().to_owned(),
        fuel_used: receipt.fuel_used(),
        node,
    })
}
