//! The JSON-path query of `host_json_path` on arbitrary bytes: the path is
//! the input up to its first newline, the document the rest. Neither output
//! mode panics; they agree with each other; a selected value is itself a
//! document that selects itself; a too-small buffer is left untouched and
//! told the size it needs; and the document's validity agrees with
//! serde_json's (numbers of any size accepted on both sides, nesting past
//! either's limit aside).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_primitives::Error;
use spirit_primitives::json::{Output, query};

/// The output of `query`, with the needed size checked against a buffer
/// one byte too small.
fn select(doc: &[u8], path: &[u8], output: Output) -> Result<Vec<u8>, Error> {
    let needed = query(doc, path, output, &mut [])?;
    if needed > 0 {
        let mut short = vec![0xA5u8; needed - 1];
        assert_eq!(query(doc, path, output, &mut short), Ok(needed));
        assert!(short.iter().all(|&b| b == 0xA5), "a short buffer was written");
    }
    let mut out = vec![0u8; needed];
    assert_eq!(query(doc, path, output, &mut out), Ok(needed));
    Ok(out)
}

fuzz_target!(|input: &[u8]| {
    let (path, doc) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (&b"$"[..], input),
    };
    let json = select(doc, path, Output::Json);
    let unquoted = select(doc, path, Output::Unquoted);
    match (&json, &unquoted) {
        (Ok(text), Ok(contents)) => {
            assert_eq!(text.first(), Some(&b'"'));
            assert!(std::str::from_utf8(contents).is_ok());
            let parsed: String = serde_json::from_slice(text).expect("a selected string parses");
            assert_eq!(parsed.as_bytes(), contents.as_slice());
        }
        (Ok(text), Err(e)) => {
            assert_eq!(*e, Error::NotAString);
            assert_ne!(text.first(), Some(&b'"'));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (Err(_), Ok(_)) => panic!("unquoted succeeded where JSON text failed"),
    }
    if let Ok(text) = &json {
        // A selected value is a document whose `$` is itself.
        assert_eq!(select(text, b"$", Output::Json).as_ref(), Ok(text));
        assert!(text.len() <= doc.len());
    }

    let ours = query(doc, b"$", Output::Json, &mut []);
    let theirs = serde_json::from_slice::<serde_json::Value>(doc);
    match (&ours, &theirs) {
        (Err(Error::TooLarge), _) => {}
        (_, Err(e)) if e.to_string().contains("recursion limit") => {}
        (Ok(_), Ok(_)) | (Err(Error::InvalidInput), Err(_)) => {}
        _ => panic!("validity differs: ours {ours:?}, serde_json {theirs:?}"),
    }
});
