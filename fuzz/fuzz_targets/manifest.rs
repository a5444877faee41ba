//! Manifest and `[package.metadata.spirit]` parsing of arbitrary text:
//! neither panics, and a manifest that parses re-serializes to text that
//! parses to the same value (and serializes to the same text again).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use spirit_build::manifest::Manifest;
use spirit_build::project::parse_config;

fuzz_target!(|text: &str| {
    if let Ok(manifest) = Manifest::from_toml(text) {
        let written = manifest.to_toml();
        let again = Manifest::from_toml(&written)
            .unwrap_or_else(|e| panic!("a re-serialized manifest does not parse: {e}\n{written}"));
        assert_eq!(
            again, manifest,
            "the round trip changed the manifest:\n{written}"
        );
        assert_eq!(again.to_toml(), written);
    }
    if let Ok(config) = parse_config(Path::new("Cargo.toml"), text) {
        // Parsing is a function of the text.
        assert_eq!(parse_config(Path::new("Cargo.toml"), text), Ok(config));
    }
});
