//! The properties of the `json_path` fuzz target (`fuzz/fuzz_targets/
//! json_path.rs`), checked on every run over a fixed set of mutated inputs:
//! the fuzzer explores further, this keeps what it checks from regressing
//! without nightly or libFuzzer.
#![allow(clippy::unwrap_used)]

use spirit_primitives::Error;
use spirit_primitives::json::{Output, query};

/// Seed inputs: a path, a newline, a document (as in `fuzz/seeds/json_path`).
const SEEDS: &[&str] = &[
    "$.user.langs[1]\n{\"user\": {\"name\": \"Ada\", \"age\": 36, \"admin\": true, \"langs\": [\"en\", \"fr\"], \"address\": null}}",
    "$[\"k\\u00e9y\"][\"a\\\"b\"]\n{\"k\\u00e9y\": {\"a\\\"b\": \"\\ud83d\\ude00 \\/ \\\\ \\n\"}, \"k\\u00e9y\": {\"a\\\"b\": \"last\"}}",
    "$[2][0]\n[-0, 1.5e-7, [9223372036854775808, -1E+400], 0.000, 123456789012345678901234567890]",
    "$.a.b\n{\"a\": {\"b\": [[[[{\"c\": \"d\"}]]]]}}",
];

/// Fragments a mutation inserts.
const TOKENS: &[&str] = &[
    "$", ".", "[", "]", "[0]", "[\"", "\"]", "{", "}", ":", ",", "\"", "\\\"", "\\\\", "\\u",
    "\\ud83d", "\\ude00", "\\u00e9", "true", "null", "-0.5e+10", "1E-7", "é", "\u{0}", " ",
];

/// xorshift64*: a fixed sequence, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(input: &mut Vec<u8>, rng: &mut Rng) {
    let at = rng.below(input.len() + 1);
    match rng.below(4) {
        0 if at < input.len() => input[at] = rng.next() as u8,
        1 => {
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            input.splice(at..at, token.iter().copied());
        }
        2 if at < input.len() => {
            let end = (at + 1 + rng.below(8)).min(input.len());
            input.drain(at..end);
        }
        _ => {
            let end = (at + rng.below(16)).min(input.len());
            let copy = input[at..end].to_vec();
            input.splice(at..at, copy);
        }
    }
}

fn select(doc: &[u8], path: &[u8], output: Output) -> Result<Vec<u8>, Error> {
    let needed = query(doc, path, output, &mut [])?;
    if needed > 0 {
        let mut short = vec![0xA5u8; needed - 1];
        assert_eq!(query(doc, path, output, &mut short), Ok(needed));
        assert!(
            short.iter().all(|&b| b == 0xA5),
            "a short buffer was written"
        );
    }
    let mut out = vec![0u8; needed];
    assert_eq!(query(doc, path, output, &mut out), Ok(needed));
    Ok(out)
}

/// The fuzz target's properties for one input.
fn check(input: &[u8]) {
    let (path, doc) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (&b"$"[..], input),
    };
    let json = select(doc, path, Output::Json);
    let unquoted = select(doc, path, Output::Unquoted);
    match (&json, &unquoted) {
        (Ok(text), Ok(contents)) => {
            assert_eq!(text.first(), Some(&b'"'));
            let parsed: String = serde_json::from_slice(text).unwrap();
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
        assert_eq!(select(text, b"$", Output::Json).as_ref(), Ok(text));
    }
    let ours = query(doc, b"$", Output::Json, &mut []);
    let theirs = serde_json::from_slice::<serde_json::Value>(doc);
    match (&ours, &theirs) {
        (Ok(_), Ok(_)) | (Err(Error::InvalidInput), Err(_)) => {}
        // serde_json refuses numbers beyond f64 (without its
        // `arbitrary_precision` feature, which the fuzz target enables).
        (Ok(_), Err(e)) if e.to_string().contains("number out of range") => {}
        _ => panic!(
            "validity differs on {:?}: ours {ours:?}, serde_json {theirs:?}",
            String::from_utf8_lossy(doc)
        ),
    }
}

/// `JSON_PATH_MUTATIONS=N` checks N mutations per seed instead of 25,000,
/// for a longer run without libFuzzer.
#[test]
fn mutated_inputs_keep_the_fuzz_targets_properties() {
    let per_seed: usize = std::env::var("JSON_PATH_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for seed in SEEDS {
        check(seed.as_bytes());
        for _ in 0..per_seed {
            let mut input = seed.as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                mutate(&mut input, &mut rng);
            }
            check(&input);
            let (path, doc) = input.split_at(input.iter().position(|&b| b == b'\n').unwrap_or(0));
            let doc = doc.strip_prefix(b"\n").unwrap_or(doc);
            accepted += usize::from(query(doc, path, Output::Json, &mut []).is_ok());
        }
    }
    // The mutations are mostly small: many inputs stay valid, so the
    // selection paths are exercised, not only the error paths.
    assert!(
        accepted > per_seed / 5,
        "{accepted} of {} selected a value",
        per_seed * SEEDS.len()
    );
}
