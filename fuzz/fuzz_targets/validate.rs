//! Validation of arbitrary bytes: `validate` never panics and always
//! reports; when the bytes are a valid module, stripping either fails with
//! an error or gives a module that is still valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_build::strip::{StripOptions, strip};
use spirit_build::validate::{Expectations, SANDBOX_FEATURES, validate};
use spirit_sdk::abi::Capability;

fuzz_target!(|data: &[u8]| {
    let report = validate(
        data,
        &Expectations {
            capabilities: Capability::ALL,
            entry: "run",
        },
    );
    // Every problem is said in words.
    for problem in report.errors.iter().chain(&report.warnings) {
        assert!(!problem.message.is_empty());
    }
    let valid = wasmparser::Validator::new_with_features(SANDBOX_FEATURES)
        .validate_all(data)
        .is_ok();
    if valid {
        for keep_names in [false, true] {
            if let Ok(stripped) = strip(data, StripOptions { keep_names }) {
                if let Err(e) = wasmparser::Validator::new_with_features(SANDBOX_FEATURES)
                    .validate_all(&stripped)
                {
                    panic!("stripping (keep_names: {keep_names}) made a valid module invalid: {e}");
                }
            }
        }
    }
});
