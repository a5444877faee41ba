//! The primitives (`host_hash_*`, `host_json_path`, `host_base64_*`) from
//! raw WebAssembly, through the public sandbox: each function's success and
//! every error code, output written only when it fits, overlapping ranges,
//! and fuel charged per byte.
#![allow(clippy::unwrap_used)]

use spirit_build::sandbox::{
    Arg, Call, CollectingIo, Limits, Policy, RunError, RunRequest, Sandbox, SandboxConfig, Value,
};
use spirit_sdk::abi;

/// A module importing every primitive, with `pages` of memory holding
/// `data` (offset, bytes). For each primitive `host_X` it exports `X`,
/// which takes the primitive's arguments and then `dump_ptr, dump_len`,
/// calls it, writes guest memory `dump_ptr..+dump_len` to the output (so a
/// test sees what was and was not written) and returns its result.
fn module(pages: u32, data: &[(u32, &[u8])]) -> Vec<u8> {
    // Imports come first in the text format.
    let mut imports = String::from(
        r#"(import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))"#,
    );
    let mut functions = String::from(r#"(func (export "run"))"#);
    for name in [
        "host_hash_commit",
        "host_hash_verify",
        "host_json_path",
        "host_base64_encode",
        "host_base64_decode",
    ] {
        let f = abi::host_function(name).unwrap();
        let params: String = f.params.iter().map(|_| " i32").collect();
        let args: String = (0..f.params.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        let n = f.params.len();
        imports += &format!(
            r#"
            (import "vudo" "{name}" (func ${name} (param{params}) (result i32)))"#
        );
        functions += &format!(
            r#"
            (func (export "{short}") (param{params} i32 i32) (result i32)
                (local $r i32)
                (local.set $r (call ${name}{args}))
                (drop (call $out (local.get {n}) (local.get {m})))
                (local.get $r))"#,
            short = &name["host_".len()..],
            m = n + 1,
        );
    }
    let mut wat = format!("(module\n{imports}\n(memory (export \"memory\") {pages})\n{functions}");
    for (offset, bytes) in data {
        let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        wat += &format!("\n(data (i32.const {offset}) \"{escaped}\")");
    }
    wat += ")";
    wat::parse_str(&wat).unwrap()
}

/// Calls the export `function` of `wasm` with `args`: its result and
/// output, or how the run ended.
fn call(
    wasm: &[u8],
    function: &str,
    args: &[i64],
    limits: Limits,
) -> Result<(i32, Vec<u8>), RunError> {
    let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    let spirit = sandbox.load("primitives", wasm).unwrap();
    let mut request = RunRequest::new(Policy::default(), limits);
    request.call = Call::Invoke {
        function: function.into(),
        args: args
            .iter()
            .map(|a| a.to_string().parse().unwrap())
            .collect(),
    };
    let outcome = sandbox.run(&spirit, request)?;
    let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
    match outcome.results.as_slice() {
        [Value::I32(r)] => Ok((*r, io.output)),
        other => panic!("{other:?}"),
    }
}

/// `call` with the default limits, expecting the run to end normally.
fn ok(wasm: &[u8], function: &str, args: &[i64]) -> (i32, Vec<u8>) {
    call(wasm, function, args, Limits::default()).unwrap()
}

const PAGE: i64 = 65536;
const DOC: &[u8] = br#"{"user": {"name": "Z\u00e9", "age": 36, "langs": ["en", "fr"]}}"#;

#[test]
fn hash_commit_and_verify() {
    let digest = *blake3::hash(b"abc").as_bytes();
    let wasm = module(1, &[(0, b"abc"), (64, &digest)]);
    // hash_commit(ptr, len, out_ptr, dump_ptr, dump_len)
    assert_eq!(
        ok(&wasm, "hash_commit", &[0, 3, 128, 128, 32]),
        (0, digest.to_vec())
    );
    // In place: the hash replaces the data it was computed from.
    assert_eq!(
        ok(&wasm, "hash_commit", &[0, 3, 0, 0, 32]),
        (0, digest.to_vec())
    );
    assert_eq!(
        ok(&wasm, "hash_commit", &[PAGE - 1, 2, 128, 0, 0]).0,
        -1,
        "data past the end"
    );
    assert_eq!(
        ok(&wasm, "hash_commit", &[0, 3, PAGE - 31, 0, 0]).0,
        -1,
        "no room for 32 bytes"
    );
    assert_eq!(ok(&wasm, "hash_commit", &[-1, 3, 128, 0, 0]).0, -1);
    // hash_verify(ptr, len, hash_ptr, dump_ptr, dump_len)
    assert_eq!(ok(&wasm, "hash_verify", &[0, 3, 64, 0, 0]).0, 1);
    assert_eq!(ok(&wasm, "hash_verify", &[0, 2, 64, 0, 0]).0, 0);
    assert_eq!(ok(&wasm, "hash_verify", &[0, 3, PAGE - 16, 0, 0]).0, -1);
}

#[test]
fn inputs_over_16_mib_are_refused() {
    let big = 16 << 20;
    let wasm = module(257, &[]);
    assert_eq!(
        ok(&wasm, "hash_commit", &[0, big + 1, 0, 0, 0]).0,
        abi::TOO_LARGE
    );
    assert_eq!(
        ok(&wasm, "hash_verify", &[0, big + 1, 0, 0, 0]).0,
        abi::TOO_LARGE
    );
    assert_eq!(
        ok(&wasm, "base64_encode", &[0, big + 1, 0, 0, 0, 0, 0]).0,
        abi::TOO_LARGE
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[0, big + 1, 0, 0, 1, 0, 0]).0,
        abi::TOO_LARGE
    );
    assert_eq!(ok(&wasm, "hash_commit", &[0, big, 0, 0, 0]).0, 0);
}

#[test]
fn json_path_selects_and_reports_each_error() {
    let wasm = module(
        1,
        &[
            (0, DOC),
            (1000, b"$.user.name"),
            (1100, b"$.user.langs"),
            (1200, b"$.user.email"),
            (1300, b"$.user..x"),
            (1400, b"{\"a\": [1,}"),
            (1500, &[b'['; 200]),
        ],
    );
    let doc = DOC.len() as i64;
    // json_path(doc, doc_len, path, path_len, out, out_cap, mode, dump_ptr, dump_len)
    let json = |path: i64, path_len: i64, cap: i64, mode: i64| {
        ok(
            &wasm,
            "json_path",
            &[0, doc, path, path_len, 4096, cap, mode, 4096, cap.max(0)],
        )
    };
    assert_eq!(
        json(1000, 11, 16, 0),
        (
            9,
            br#""Z\u00e9""#.to_vec().into_iter().chain([0; 7]).collect()
        )
    );
    assert_eq!(json(1000, 11, 3, 1), (3, "Zé".as_bytes().to_vec()));
    assert_eq!(json(1100, 12, 12, 0), (12, br#"["en", "fr"]"#.to_vec()));
    // Too small: the size needed, and nothing written.
    assert_eq!(json(1100, 12, 11, 0), (12, vec![0; 11]));
    assert_eq!(json(1000, 11, 2, 1), (3, vec![0; 2]));
    assert_eq!(json(1200, 12, 16, 0).0, abi::NOT_FOUND);
    assert_eq!(json(1300, 9, 16, 0).0, abi::INVALID_PATH);
    assert_eq!(json(1100, 12, 16, 1).0, abi::NOT_A_STRING);
    assert_eq!(json(1000, 11, 16, 2).0, abi::ERROR, "an unknown mode");
    assert_eq!(json(1000, 11, -1, 0).0, abi::ERROR, "a negative capacity");
    assert_eq!(json(1000, PAGE, 16, 0).0, abi::ERROR, "a path past the end");
    let invalid = ok(&wasm, "json_path", &[1400, 10, 1100, 12, 4096, 16, 0, 0, 0]);
    assert_eq!(invalid.0, abi::INVALID_INPUT);
    let deep = ok(&wasm, "json_path", &[1500, 200, 1100, 1, 4096, 16, 0, 0, 0]);
    assert_eq!(deep.0, abi::TOO_LARGE);
    let long_path = ok(&wasm, "json_path", &[0, doc, 0, 5000, 4096, 16, 0, 0, 0]);
    assert_eq!(long_path.0, abi::TOO_LARGE);
}

#[test]
fn base64_round_trips_and_reports_each_error() {
    let wasm = module(
        1,
        &[
            (0, b"hello"),
            (100, b"aGVsbG8="),
            (200, b"aGVsbG8"),
            (300, b"aGVsbG9="),
        ],
    );
    // base64_encode(ptr, len, out, out_cap, flags, dump_ptr, dump_len)
    assert_eq!(
        ok(&wasm, "base64_encode", &[0, 5, 1000, 8, 0, 1000, 8]),
        (8, b"aGVsbG8=".to_vec())
    );
    assert_eq!(
        ok(&wasm, "base64_encode", &[0, 5, 1000, 7, 1, 1000, 7]),
        (7, b"aGVsbG8".to_vec())
    );
    assert_eq!(
        ok(&wasm, "base64_encode", &[0, 5, 1000, 7, 0, 1000, 7]),
        (8, vec![0; 7])
    );
    assert_eq!(
        ok(&wasm, "base64_encode", &[0, 5, 1000, 8, 2, 0, 0]).0,
        abi::ERROR
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[100, 8, 1000, 5, 0, 1000, 5]),
        (5, b"hello".to_vec())
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[200, 7, 1000, 5, 1, 1000, 5]),
        (5, b"hello".to_vec())
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[100, 8, 1000, 4, 0, 1000, 4]),
        (5, vec![0; 4])
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[100, 8, 1000, 5, 1, 0, 0]).0,
        abi::INVALID_INPUT
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[300, 8, 1000, 5, 0, 0, 0]).0,
        abi::INVALID_INPUT
    );
    assert_eq!(
        ok(&wasm, "base64_decode", &[100, 8, PAGE - 2, 5, 0, 0, 0]).0,
        abi::ERROR
    );
    // In place, both ways: the input is read before the output is written.
    assert_eq!(
        ok(&wasm, "base64_decode", &[100, 8, 100, 8, 0, 100, 5]),
        (5, b"hello".to_vec())
    );
    assert_eq!(
        ok(&wasm, "base64_encode", &[0, 5, 0, 8, 0, 0, 8]),
        (8, b"aGVsbG8=".to_vec())
    );
}

#[test]
fn fuel_is_charged_per_byte_and_runs_out() {
    let wasm = module(2, &[]);
    let fuel = |len: i64| {
        let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
        let spirit = sandbox.load("primitives", &wasm).unwrap();
        let mut request = RunRequest::new(Policy::default(), Limits::default());
        request.call = Call::Invoke {
            function: "hash_commit".into(),
            args: [0, len, PAGE, 0, 0]
                .iter()
                .map(|&a| Arg::Int(a.into()))
                .collect(),
        };
        sandbox.run(&spirit, request).unwrap().fuel_used
    };
    // 100 + the bytes read + the 32 written: one unit more per byte hashed.
    assert_eq!(fuel(60_000) - fuel(10_000), 50_000);
    let limits = Limits {
        fuel: 30_000,
        ..Limits::default()
    };
    assert!(matches!(
        call(&wasm, "hash_commit", &[0, 60_000, PAGE, 0, 0], limits),
        Err(RunError::OutOfFuel(30_000))
    ));
}
