//! Package parsing of arbitrary bytes: `parse_package` never panics, and a
//! package it accepts re-packs to identical bytes and parses to the same
//! files.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use spirit_build::package::parse_package;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.spirit");
    if let Ok(files) = parse_package(path, data) {
        let packed = files.to_package();
        assert_eq!(packed, data, "an accepted package re-packs differently");
        let again = parse_package(path, &packed).expect("a re-packed package parses");
        assert_eq!(again, files);
    }
});
