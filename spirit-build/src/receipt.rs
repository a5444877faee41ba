//! Execution receipts (Tenzik's model): a signed statement that a node ran
//! these wasm bytes on this input and got this output, with this much fuel.
//!
//! A receipt is a JSON object; its fields are signed with the node's ed25519
//! key over the message `"cargo-spirit/receipt/v1\0"` followed by the
//! receipt's canonical JSON without the `signature` field (keys in the order
//! below, no whitespace). The nonce (16 random bytes) makes every receipt
//! unique, so a receipt cannot be replayed as a different run. A charged
//! run's receipt also records the charge (payer, author, credits paid and
//! held, the ledger's run id); a receipt without a charge has no `charge`
//! field, so receipts of unpriced runs are as before.
//!
//! ```
//! use spirit_build::receipt::{Receipt, RunFacts};
//! use spirit_build::sign::Key;
//!
//! let key = Key::generate().unwrap();
//! let output = blake3::hash(b"hi");
//! let facts = RunFacts { spirit: "hello", wasm: b"\0asm", input: b"", output_blake3: output, fuel_used: 42, status: 0, charge: None };
//! let receipt = Receipt::new(&facts, &key).unwrap();
//! let json = receipt.to_json();
//! assert_eq!(Receipt::from_json(&json).unwrap().verify(), Ok(key.author()));
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::ledger::Settlement;
use crate::sign::{Author, Key, SignError, decode_hex, encode_hex};

const DOMAIN: &[u8] = b"cargo-spirit/receipt/v1\0";

/// What a run produced, for a receipt.
#[derive(Clone, Copy, Debug)]
pub struct RunFacts<'a> {
    /// The spirit's name.
    pub spirit: &'a str,
    /// The wasm that ran.
    pub wasm: &'a [u8],
    /// The input bytes.
    pub input: &'a [u8],
    /// The blake3 of the output bytes (hashed as they were written).
    pub output_blake3: blake3::Hash,
    /// Fuel used.
    pub fuel_used: u64,
    /// The entry's status.
    pub status: i32,
    /// What the run was charged, if it was.
    pub charge: Option<Settlement>,
}

/// The signed fields, in their canonical order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    version: u32,
    spirit: String,
    wasm_blake3: String,
    input_blake3: String,
    output_blake3: String,
    fuel_used: u64,
    status: i32,
    node: String,
    nonce: String,
    timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    charge: Option<Settlement>,
}

/// A signed execution receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    #[serde(flatten)]
    body: Body,
    signature: String,
}

/// Why a receipt is not valid.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a receipt.
    #[error("not a cargo-spirit receipt: {0}")]
    Malformed(String),
    /// The signature does not verify.
    #[error("receipt signature does not verify for node {0}: a field was changed after signing")]
    BadSignature(String),
    /// A commitment does not match the bytes given.
    #[error("{what} mismatch: the receipt has {receipt}, the file has {file}")]
    Commitment {
        /// Which commitment.
        what: &'static str,
        /// The receipt's hash.
        receipt: String,
        /// The file's hash.
        file: String,
    },
}

impl Receipt {
    /// Makes and signs a receipt for a run.
    ///
    /// # Errors
    ///
    /// Fails when no random nonce can be made.
    pub fn new(facts: &RunFacts<'_>, key: &Key) -> Result<Receipt, SignError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| SignError::Random(e.to_string()))?;
        let body = Body {
            version: 1,
            spirit: facts.spirit.to_owned(),
            wasm_blake3: blake3::hash(facts.wasm).to_hex().to_string(),
            input_blake3: blake3::hash(facts.input).to_hex().to_string(),
            output_blake3: facts.output_blake3.to_hex().to_string(),
            fuel_used: facts.fuel_used,
            status: facts.status,
            node: key.author().to_string(),
            nonce: encode_hex(&nonce),
            timestamp: timestamp(SystemTime::now()),
            charge: facts.charge,
        };
        let signature = key.sign_bytes(&message(&body));
        Ok(Receipt {
            body,
            signature: encode_hex(&signature),
        })
    }

    /// The receipt as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a receipt.
    ///
    /// # Errors
    ///
    /// Fails for anything but a receipt's fields.
    pub fn from_json(text: &str) -> Result<Receipt, ReceiptError> {
        serde_json::from_str(text).map_err(|e| ReceiptError::Malformed(e.to_string()))
    }

    /// Checks the signature; returns the node's key.
    ///
    /// # Errors
    ///
    /// Fails when a field was changed or the signature is not the node's.
    pub fn verify(&self) -> Result<Author, ReceiptError> {
        let bad = || ReceiptError::BadSignature(self.body.node.clone());
        let node = Author::from_hex(&self.body.node).map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&node.0).map_err(|_| bad())?;
        let signature = decode_hex::<64>(&self.signature).ok_or_else(bad)?;
        key.verify_strict(&message(&self.body), &Signature::from_bytes(&signature))
            .map_err(|_| bad())?;
        Ok(node)
    }

    /// Checks a commitment against bytes: `"wasm"`, `"input"` or `"output"`.
    ///
    /// # Errors
    ///
    /// Fails when the bytes' blake3 is not the one in the receipt.
    pub fn check(&self, what: &'static str, bytes: &[u8]) -> Result<(), ReceiptError> {
        let receipt = match what {
            "wasm" => &self.body.wasm_blake3,
            "input" => &self.body.input_blake3,
            _ => &self.body.output_blake3,
        };
        let file = blake3::hash(bytes).to_hex().to_string();
        if *receipt == file {
            Ok(())
        } else {
            Err(ReceiptError::Commitment {
                what,
                receipt: receipt.clone(),
                file,
            })
        }
    }

    /// The spirit's name.
    pub fn spirit(&self) -> &str {
        &self.body.spirit
    }

    /// What the run was charged, if it was.
    pub fn charge(&self) -> Option<&Settlement> {
        self.body.charge.as_ref()
    }

    /// Fuel used by the run.
    pub fn fuel_used(&self) -> u64 {
        self.body.fuel_used
    }
}

fn message(body: &Body) -> Vec<u8> {
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(serde_json::to_string(body).unwrap_or_default().as_bytes());
    message
}

/// ISO 8601 in UTC to the second, such as `2026-11-21T05:30:00Z`.
fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> (Receipt, Key) {
        let key = Key::generate().unwrap();
        let facts = RunFacts {
            spirit: "echo",
            wasm: b"wasm",
            input: b"in",
            output_blake3: blake3::hash(b"out"),
            fuel_used: 7,
            status: 0,
            charge: None,
        };
        (Receipt::new(&facts, &key).unwrap(), key)
    }

    #[test]
    fn timestamps_are_iso_8601() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // Both from `date -u -d … +%s`.
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_219_200 + 3_661);
        assert_eq!(timestamp(t), "2026-11-21T01:01:01Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_868_799);
        assert_eq!(timestamp(leap), "2000-02-29T23:59:59Z");
    }

    #[test]
    fn every_field_is_covered() {
        let (receipt, _) = receipt();
        let json: serde_json::Value = serde_json::from_str(&receipt.to_json()).unwrap();
        for (field, _) in json.as_object().unwrap() {
            if field == "signature" {
                continue;
            }
            let mut tampered = json.clone();
            tampered[field] = match &json[field] {
                serde_json::Value::String(s) => serde_json::Value::String(format!("{s}0")),
                serde_json::Value::Number(n) => serde_json::json!(n.as_i64().unwrap() + 1),
                other => panic!("unexpected {other}"),
            };
            let tampered = Receipt::from_json(&tampered.to_string()).unwrap();
            assert!(
                tampered.verify().is_err(),
                "changing `{field}` still verifies"
            );
        }
    }

    #[test]
    fn commitments_are_checked() {
        let (receipt, key) = receipt();
        assert_eq!(receipt.verify(), Ok(key.author()));
        assert!(receipt.check("output", b"out").is_ok());
        assert!(matches!(
            receipt.check("output", b"other"),
            Err(ReceiptError::Commitment { .. })
        ));
        assert!(Receipt::from_json("{\"extra\": 1}").is_err());
    }
}
