//! The JSON-path query against hand-written cases and against serde_json's
//! reading of the same documents.

extern crate std;

use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use super::*;

/// The selection's JSON text, or the error.
fn json(doc: &str, path: &str) -> Result<String, Error> {
    select(doc, path, Output::Json)
}

/// The selected string's contents, or the error.
fn unquoted(doc: &str, path: &str) -> Result<String, Error> {
    select(doc, path, Output::Unquoted)
}

fn select(doc: &str, path: &str, output: Output) -> Result<String, Error> {
    let needed = query(doc.as_bytes(), path.as_bytes(), output, &mut [])?;
    let mut out = vec![0u8; needed];
    assert_eq!(
        query(doc.as_bytes(), path.as_bytes(), output, &mut out),
        Ok(needed)
    );
    Ok(String::from_utf8(out).expect("the output is UTF-8"))
}

#[test]
fn the_documented_subset() {
    let doc = r#" { "a": {"b": [true, null, {"c": -1.5e3}]}, "k y": "v", "é": 1, "": 2 } "#;
    assert_eq!(json(doc, "$").unwrap(), doc.trim());
    assert_eq!(
        json(doc, "$.a.b").unwrap(),
        r#"[true, null, {"c": -1.5e3}]"#
    );
    assert_eq!(json(doc, "$.a.b[0]").unwrap(), "true");
    assert_eq!(json(doc, "$.a.b[1]").unwrap(), "null");
    assert_eq!(json(doc, "$.a.b[2].c").unwrap(), "-1.5e3");
    assert_eq!(json(doc, r#"$["a"]["b"][2]["c"]"#).unwrap(), "-1.5e3");
    assert_eq!(json(doc, r#"$["k y"]"#).unwrap(), r#""v""#);
    assert_eq!(unquoted(doc, r#"$["k y"]"#).unwrap(), "v");
    assert_eq!(json(doc, "$.é").unwrap(), "1");
    assert_eq!(json(doc, r#"$[""]"#).unwrap(), "2");
}

#[test]
fn what_selects_nothing() {
    let doc = r#"{"a": {"b": [1, 2]}, "s": "text"}"#;
    for path in [
        "$.x", "$.a.c", "$.a.b[2]", "$.a[0]", "$.a.b.c", "$.s[0]", "$.s.x", "$[0]",
    ] {
        assert_eq!(json(doc, path), Err(Error::NotFound), "{path}");
    }
    assert_eq!(json("[]", "$[0]"), Err(Error::NotFound));
    assert_eq!(json("{}", "$.a"), Err(Error::NotFound));
    assert_eq!(json("[1]", "$[4294967295]"), Err(Error::NotFound));
}

#[test]
fn paths_outside_the_subset_are_refused() {
    for path in [
        "",
        "a",
        "$.",
        "$..a",
        "$.*",
        "$[*]",
        "$[-1]",
        "$[01]",
        "$[1:2]",
        "$[ 1]",
        "$. a",
        "$.a b",
        "$['a']",
        "$[\"a\"",
        "$[\"a]",
        "$[\"\\x\"]",
        "$[4294967296]",
        "$a",
        "$.a.",
        "$[]",
        "$.a[0",
        "$[\"a\"]x",
        "$.a\"b",
    ] {
        assert_eq!(json("{}", path), Err(Error::InvalidPath), "{path:?}");
    }
    assert_eq!(
        query(b"{}", b"$.\xff", Output::Json, &mut []),
        Err(Error::InvalidPath)
    );
}

#[test]
fn the_path_is_checked_before_the_document() {
    assert_eq!(json("{", "x"), Err(Error::InvalidPath));
    assert_eq!(json("{", "$.a"), Err(Error::InvalidInput));
}

#[test]
fn invalid_documents_are_refused_wherever_the_fault_is() {
    for doc in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "[1 2]",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e+",
        "+1",
        "0x10",
        "NaN",
        "Infinity",
        "tru",
        "nul",
        "truex",
        "\"abc",
        "\"a\nb\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\uD800\"",
        "\"\\uDC00\"",
        "\"\\uD800\\u0041\"",
        "\"\\uDC00\\uD800\"",
        "1 2",
        "{} {}",
        "[1]]",
        "{\"a\":1}x",
        "\u{feff}{}",
    ] {
        assert_eq!(json(doc, "$"), Err(Error::InvalidInput), "{doc:?}");
    }
    // A fault after the selected value still makes the document invalid.
    assert_eq!(json(r#"{"a": 1, "b": [}"#, "$.a"), Err(Error::InvalidInput));
    assert_eq!(
        query(b"\"\xff\"", b"$", Output::Json, &mut []),
        Err(Error::InvalidInput),
        "not UTF-8"
    );
}

#[test]
fn escapes_and_unicode_are_decoded() {
    let doc = r#"{"s": "a\"b\\c\/d\b\f\n\r\t", "u": "\u00e9\u4e2d\ud83d\ude00", "raw": "é中😀"}"#;
    assert_eq!(unquoted(doc, "$.s").unwrap(), "a\"b\\c/d\u{8}\u{c}\n\r\t");
    assert_eq!(unquoted(doc, "$.u").unwrap(), "é中😀");
    assert_eq!(unquoted(doc, "$.raw").unwrap(), "é中😀");
    assert_eq!(json(doc, "$.u").unwrap(), r#""\u00e9\u4e2d\ud83d\ude00""#);
    assert_eq!(unquoted(r#""\u0000""#, "$").unwrap(), "\0");
    assert_eq!(unquoted(r#""\uFFFF""#, "$").unwrap(), "\u{ffff}");
    assert_eq!(unquoted(r#""\uDBFF\uDFFF""#, "$").unwrap(), "\u{10ffff}");
}

#[test]
fn keys_match_after_decoding_on_both_sides() {
    let doc = r#"{"\u00e9t\u00e9": 1, "a\"b": 2, "tab\t": 3, "x/y": 4}"#;
    assert_eq!(json(doc, "$.été").unwrap(), "1");
    assert_eq!(json(doc, r#"$["\u00e9t\u00e9"]"#).unwrap(), "1");
    assert_eq!(json(doc, r#"$["été"]"#).unwrap(), "1");
    assert_eq!(json(doc, r#"$["a\"b"]"#).unwrap(), "2");
    assert_eq!(json(doc, r#"$["a\u0022b"]"#).unwrap(), "2");
    assert_eq!(json(doc, r#"$["tab\t"]"#).unwrap(), "3");
    assert_eq!(json(doc, r#"$["x\/y"]"#).unwrap(), "4");
    assert_eq!(json(doc, r#"$["x/y"]"#).unwrap(), "4");
    assert_eq!(json(doc, r#"$["ete"]"#), Err(Error::NotFound));
}

#[test]
fn the_last_duplicate_key_counts() {
    assert_eq!(json(r#"{"a": 1, "a": 2}"#, "$.a").unwrap(), "2");
    assert_eq!(
        json(r#"{"a": {"b": 1}, "a": {"c": 2}}"#, "$.a.b"),
        Err(Error::NotFound)
    );
    assert_eq!(
        json(r#"{"a": {"c": 2}, "a": {"b": 1}}"#, "$.a.b").unwrap(),
        "1"
    );
    assert_eq!(
        json(r#"{"a": {"b": 1, "b": 3}, "x": 0}"#, "$.a.b").unwrap(),
        "3"
    );
}

#[test]
fn numbers_are_returned_as_written_at_any_size() {
    for number in [
        "0",
        "-0",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551616",
        "1.7976931348623157e308",
        "5e-324",
        "1e400",
        "-0.0E-0",
        "123456789012345678901234567890",
    ] {
        let doc = format!(r#"{{"n": {number}}}"#);
        assert_eq!(json(&doc, "$.n").unwrap(), number);
        assert_eq!(unquoted(&doc, "$.n"), Err(Error::NotAString));
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
    assert!(json(&nested(MAX_DEPTH), "$").is_ok());
    assert_eq!(json(&nested(MAX_DEPTH + 1), "$"), Err(Error::TooLarge));
    // However little of it the path needs, and however deep the rest goes.
    let deep_tail = format!(r#"{{"a": 1, "b": {}}}"#, nested(100_000));
    assert_eq!(json(&deep_tail, "$.a"), Err(Error::TooLarge));
    let objects = r#"{"a":"#.repeat(MAX_DEPTH + 1) + "1" + &"}".repeat(MAX_DEPTH + 1);
    assert_eq!(json(&objects, "$.a"), Err(Error::TooLarge));
    // The deepest value can be selected.
    let path = format!("${}", "[0]".repeat(MAX_DEPTH - 1));
    let doc = "[".repeat(MAX_DEPTH) + "7" + &"]".repeat(MAX_DEPTH);
    assert_eq!(json(&doc, &path).unwrap(), "[7]");
}

#[test]
fn paths_over_the_limits_are_refused() {
    let steps = |n: usize| format!("${}", ".a".repeat(n));
    assert_eq!(json("{}", &steps(MAX_DEPTH)), Err(Error::NotFound));
    assert_eq!(json("{}", &steps(MAX_DEPTH + 1)), Err(Error::TooLarge));
    let long_name = format!("$.{}", "k".repeat(MAX_PATH - 2));
    assert_eq!(json("{}", &long_name), Err(Error::NotFound));
    let too_long = format!("$.{}", "k".repeat(MAX_PATH - 1));
    assert_eq!(json("{}", &too_long), Err(Error::TooLarge));
}

#[test]
fn documents_over_the_input_limit_are_refused() {
    let mut big = vec![b' '; crate::MAX_INPUT + 1];
    big[0] = b'1';
    assert_eq!(
        query(&big, b"$", Output::Json, &mut []),
        Err(Error::TooLarge)
    );
}

#[test]
fn a_buffer_too_small_gets_nothing_and_the_size_needed() {
    let doc = br#"{"s": "\u00e9!", "a": [1, 2]}"#;
    let mut out = [0xAAu8; 8];
    assert_eq!(query(doc, b"$.s", Output::Unquoted, &mut out[..2]), Ok(3));
    assert_eq!(query(doc, b"$.a", Output::Json, &mut out[..5]), Ok(6));
    assert!(out.iter().all(|&b| b == 0xAA));
    assert_eq!(query(doc, b"$.s", Output::Unquoted, &mut out[..3]), Ok(3));
    assert_eq!(&out[..3], "é!".as_bytes());
}

/// Documents to compare with serde_json.
const CORPUS: &[&str] = &[
    r#"{"name": "Ada", "age": 36, "langs": ["en", "fr"], "address": {"city": "London", "zip": null}}"#,
    r#"[{"id": 1, "tags": []}, {"id": 2, "tags": ["x", {"deep": [[[true]]]}]}]"#,
    r#"{"a": 1, "a": {"b": 2}, "\u0061": [3]}"#,
    r#"{"esc": "\ud83d\ude00 \" \\ \/", "num": -0.5e-10, "big": 123456789012345678901234567890}"#,
    r#""just a string""#,
    "  17  ",
    r#"{"": {"": [0, {"": false}]}}"#,
];

/// Every path into a serde_json value, in the subset's syntax.
fn paths(value: &serde_json::Value, prefix: String, all: &mut Vec<(String, serde_json::Value)>) {
    all.push((prefix.clone(), value.clone()));
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let quoted = serde_json::to_string(key).unwrap();
                paths(child, format!("{prefix}[{quoted}]"), all);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                paths(child, format!("{prefix}[{i}]"), all);
            }
        }
        _ => {}
    }
}

#[test]
fn every_selection_agrees_with_serde_json() {
    for doc in CORPUS {
        let value: serde_json::Value = serde_json::from_str(doc).unwrap();
        let mut all = Vec::new();
        paths(&value, "$".into(), &mut all);
        for (path, expected) in all {
            let text = json(doc, &path).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, expected, "{doc} {path}");
            if let serde_json::Value::String(s) = &expected {
                assert_eq!(&unquoted(doc, &path).unwrap(), s);
            } else {
                assert_eq!(unquoted(doc, &path), Err(Error::NotAString));
            }
        }
    }
}

#[test]
fn validity_agrees_with_serde_json() {
    let cases = [
        "[1,2",
        "{\"a\":}",
        "\"\\ud800\"",
        "[-]",
        "{\"a\":1,\"a\":2}",
        "[\"\\u0000\"]",
        "\"\u{7f}\"",
        "[0.0e+0]",
        "[1,[2,[3]]]",
        "{\"k\":\"\\t\"}",
        "\"\t\"",
    ];
    for doc in CORPUS.iter().chain(&cases) {
        let ours = json(doc, "$").is_ok();
        let theirs = serde_json::from_str::<serde_json::Value>(doc).is_ok();
        assert_eq!(ours, theirs, "{doc:?}");
    }
}
