//! `docs/HOST_ABI.md`'s function table is rendered from the ABI table
//! ([`spirit_sdk::abi::HostAbiTable`]); this test keeps the document equal
//! to it, and `SNAPSHOTS=overwrite` rewrites it.
#![allow(clippy::unwrap_used)]

use std::path::Path;

const BEGIN: &str = "<!-- host-functions: generated from spirit_sdk::abi::HOST_FUNCTIONS -->\n";
const END: &str = "<!-- /host-functions -->";

#[test]
fn host_abi_doc_matches_the_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/HOST_ABI.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(BEGIN).expect("the begin marker") + BEGIN.len();
    let end = doc.find(END).expect("the end marker");
    let expected = spirit_sdk::abi::HostAbiTable.to_string();
    if doc[start..end] != expected {
        if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
            let updated = format!("{}{expected}{}", &doc[..start], &doc[end..]);
            spirit_build::fs::write_atomic(&path, updated.as_bytes()).unwrap();
        } else {
            panic!(
                "docs/HOST_ABI.md is out of date with spirit_sdk::abi::HOST_FUNCTIONS; \
                 rewrite it with `SNAPSHOTS=overwrite cargo test -p spirit-build host_abi_doc`. \
                 Expected table:\n{expected}"
            );
        }
    }
}
