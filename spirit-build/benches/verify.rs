//! Verifying a 1 MB spirit (blake3 of the wasm and the manifest, then
//! ed25519), against the baseline of hashing the same bytes with blake3
//! alone, measured in the same run.
//!
//! Run with `cargo bench -p spirit-build --bench verify`.

mod support;

use std::hint::black_box;

use spirit_build::manifest::Manifest;
use spirit_build::sign::{self, Key, Requirements};

fn main() {
    let wasm: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut manifest = Manifest::for_module("big", "1.0.0".parse().expect("version"), &wasm);
    manifest.capabilities = vec![spirit_sdk::abi::Capability::ActuatorLog];
    let manifest = manifest.to_toml();
    let key = Key::generate().expect("randomness");
    let signature = key.sign(manifest.as_bytes(), &wasm);
    let rounds = 500;

    let hash = support::median_of(rounds, || {
        black_box(blake3::hash(black_box(&wasm)));
    });
    let verify = support::median_of(rounds, || {
        sign::verify(
            manifest.as_bytes(),
            black_box(&wasm),
            Some(&signature),
            &Requirements::default(),
        )
        .expect("verifies");
    });
    let ratio = verify.as_secs_f64() / hash.as_secs_f64();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    let _ = writeln!(out, "verify of a 1 MB spirit, median of {rounds} rounds");
    let _ = writeln!(out, "  blake3 of the wasm alone (baseline): {hash:>10.1?}");
    let _ = writeln!(
        out,
        "  full verify (hashes + ed25519):     {verify:>10.1?}  ({ratio:.2}x the baseline)"
    );
}
