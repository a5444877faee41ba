//! Every template builds and runs with its expected output; the SDK's panic,
//! error and capability paths as a spirit author sees them.

use snapbox::str;

use crate::support::{artifact_dir, cargo_spirit, new_spirit};

#[test]
fn hello_logs_its_greeting() {
    let (_tmp, dir) = new_spirit("tpl-hello", "hello");
    cargo_spirit(&dir)
        .arg("run")
        .assert()
        .success()
        .stdout_eq(str![""])
        .stderr_eq(str![[r#"
...
     Running spirit `tpl-hello`
[INFO tpl-hello] Hello from tpl-hello!

"#]]);
}

#[test]
fn echo_copies_its_input_to_its_output() {
    let (_tmp, dir) = new_spirit("tpl-echo", "echo");
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("hello, spirit\n")
        .assert()
        .success()
        .stdout_eq(str![[r#"
hello, spirit

"#]])
        .stderr_eq(str![""]);
    // Larger than its 4 KiB buffer, from a file.
    let big: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.join("big.txt"), &big).unwrap();
    let output = cargo_spirit(&dir)
        .args(["run", "-q", "--input", "big.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(output).unwrap(), big);
}

// Needs the sandbox's storage functions (issue 4).
#[test]
fn counter_counts_across_runs() {
    let (_tmp, dir) = new_spirit("tpl-counter", "counter");
    for expected in ["1\n", "2\n"] {
        cargo_spirit(&dir)
            .args(["run", "-q"])
            .assert()
            .success()
            .stdout_eq(expected)
            .stderr_eq(str![""]);
    }
}

// Needs the sandbox's storage functions (issue 4).
#[test]
fn kv_sets_gets_and_deletes_across_runs() {
    let (_tmp, dir) = new_spirit("tpl-kv", "kv");
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("set color deep blue\nget color\n")
        .assert()
        .success()
        .stdout_eq(str![[r#"
ok
deep blue

"#]]);
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("get color\ndelete color\nget color\ndelete color\n")
        .assert()
        .success()
        .stdout_eq(str![[r#"
deep blue
deleted
(none)
(none)

"#]]);
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("fly away\n")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `tpl-kv` failed: expected `set KEY VALUE`, `get KEY` or `delete KEY` on each line

"#]]);
}

#[test]
fn json_reads_fields_through_the_host_and_stays_under_4_kib() {
    let (_tmp, dir) = new_spirit("tpl-json", "json");
    cargo_spirit(&dir)
        .args(["build", "--release", "-q"])
        .assert()
        .success();
    cargo_spirit(&dir)
        .args(["run", "--release", "-q", "--input", "-"])
        .stdin(r#"{"user": {"name": "Z\u00e9 \"Z\"", "age": 36, "langs": ["en", "fr"]}}"#)
        .assert()
        .success()
        .stdout_eq(str![[r#"
Zé "Z" (36) speaks en

"#]])
        .stderr_eq(str![""]);
    cargo_spirit(&dir)
        .args(["run", "--release", "-q", "--input", "-"])
        .stdin(r#"{"user": {"name": "Ada", "age": "36"}}"#)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `tpl-json` failed: the JSON value is not of the type asked for

"#]]);
    cargo_spirit(&dir)
        .args(["run", "--release", "-q", "--input", "-"])
        .stdin("{\"user\": ")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `tpl-json` failed: the document is not valid JSON

"#]]);
    // The point of the host primitives: no JSON parser, no allocator.
    let manifest = artifact_dir("release", "tpl-json").join("manifest.toml");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    let size: u64 = manifest
        .lines()
        .find_map(|line| line.strip_prefix("size = "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(size < 4096, "the json template's spirit is {size} bytes");
}

#[test]
fn every_template_passes_its_own_unit_tests_natively() {
    for template in [
        "hello", "counter", "echo", "kv", "json", "fetch", "pipeline",
    ] {
        let (_tmp, dir) = new_spirit(&format!("unit-{template}"), template);
        snapbox::cmd::Command::new(env!("CARGO"))
            .current_dir(&dir)
            .args(["test", "-q"])
            .env("CARGO_TARGET_DIR", crate::support::shared_target())
            .assert()
            .success();
    }
}

/// A spirit from the hello template with `lib` as its `src/lib.rs`.
fn spirit_with(name: &str, lib: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = new_spirit(name, "hello");
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    (tmp, dir)
}

#[test]
fn a_panic_shows_its_message_and_location() {
    let (_tmp, dir) = spirit_with(
        "sdk-panic",
        r#"#![no_std]

#[spirit_sdk::main]
fn run() {
    if spirit_sdk::input::is_empty() {
        panic!("the input is empty");
    }
    let n = spirit_sdk::input::len();
    panic!("got {n} bytes");
}
"#,
    );
    cargo_spirit(&dir)
        .args(["run", "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `sdk-panic` failed: panicked at src/lib.rs:6:9: the input is empty

"#]]);
    // A formatted message needs `core::fmt`: the default `panic-message`
    // feature pays for it.
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("four")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `sdk-panic` failed: panicked at src/lib.rs:9:5: got 4 bytes

"#]]);
}

#[test]
fn a_spirit_using_std_reports_panics_through_the_hook() {
    let (_tmp, dir) = spirit_with(
        "sdk-std",
        r#"// This spirit links std: the SDK's `std` feature swaps its panic
// handler for a panic hook.
#[spirit_sdk::main]
fn run() {
    let words: Vec<String> = vec!["a".to_string()];
    let i = spirit_sdk::input::len();
    spirit_sdk::log::info(&words[i]);
}
"#,
    );
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace(
            "spirit-sdk = \"0.1\"",
            "spirit-sdk = { version = \"0.1\", features = [\"std\"] }",
        );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    cargo_spirit(&dir)
        .arg("run")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
     Running spirit `sdk-std`
[INFO sdk-std] a

"#]]);
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("xy")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `sdk-std` failed: panicked at src/lib.rs:7:33: index out of bounds: the len is 1 but the index is 2

"#]]);
}

#[test]
fn an_error_returned_from_the_entry_ends_the_run_with_its_message() {
    let (_tmp, dir) = spirit_with(
        "sdk-error",
        r#"#![no_std]

// Exported as `start`, the entry named in Cargo.toml.
#[spirit_sdk::main(export = "start")]
fn check() -> Result<(), &'static str> {
    spirit_sdk::log::info("checking the input");
    if spirit_sdk::input::is_empty() {
        return Err("no input: pass one with --input FILE");
    }
    Ok(())
}
"#,
    );
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace(
            "capabilities = [\"actuator_log\"]",
            "capabilities = [\"actuator_log\"]\nentry = \"start\"",
        );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    cargo_spirit(&dir)
        .arg("run")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
...
     Running spirit `sdk-error`
[INFO sdk-error] checking the input
error: spirit `sdk-error` failed: no input: pass one with --input FILE

"#]]);
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("x")
        .assert()
        .success();
}

#[test]
fn the_allocator_feature_gives_no_std_spirits_vec_and_format() {
    let (_tmp, dir) = spirit_with(
        "sdk-alloc",
        r#"#![no_std]

extern crate alloc;

use alloc::vec::Vec;

#[spirit_sdk::main]
fn run() -> Result<(), spirit_sdk::HostError> {
    let input = spirit_sdk::input::read_all()?;
    let words: Vec<&[u8]> = input.split(|&b| b == b' ').collect();
    spirit_sdk::info!("{} words, {} bytes", words.len(), input.len());
    for word in words.iter().rev() {
        spirit_sdk::output::write(word)?;
        spirit_sdk::output::write(b"\n")?;
    }
    Ok(())
}
"#,
    );
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace(
            "spirit-sdk = \"0.1\"",
            "spirit-sdk = { version = \"0.1\", features = [\"allocator\"] }",
        );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    cargo_spirit(&dir)
        .args(["run", "--input", "-"])
        .stdin("one two three")
        .assert()
        .success()
        .stdout_eq(str![[r#"
three
two
one

"#]])
        .stderr_eq(str![[r#"
...
     Running spirit `sdk-alloc`
[INFO sdk-alloc] 3 words, 13 bytes

"#]]);
}

#[test]
fn using_storage_without_declaring_it_fails_the_build() {
    let (_tmp, dir) = spirit_with(
        "sdk-undeclared",
        r#"#![no_std]

#[spirit_sdk::main]
fn run() -> Result<(), spirit_sdk::HostError> {
    spirit_sdk::log::info("saving");
    spirit_sdk::storage::set("key", "value")
}
"#,
    );
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
...
error: spirit `sdk-undeclared` failed validation (1 problem)

imports `vudo.host_storage_write`, which needs the capability `storage_write`, but the spirit does not declare it
help: declare it in Cargo.toml, under [package.metadata.spirit]:
    capabilities = ["actuator_log", "storage_write"]

"#]]);
}

#[test]
fn without_default_features_entry_exports_and_panics_keep_their_location() {
    let (_tmp, dir) = spirit_with(
        "sdk-minimal",
        r#"#![no_std]

fn start() -> i32 {
    let n = spirit_sdk::input::len();
    if n == 1 {
        panic!("one byte is not enough");
    }
    if n > 1 {
        panic!("{n} bytes");
    }
    7
}

spirit_sdk::entry!(start);
"#,
    );
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace(
            "spirit-sdk = \"0.1\"",
            "spirit-sdk = { version = \"0.1\", default-features = false }",
        )
        .replace("capabilities = [\"actuator_log\"]", "capabilities = []");
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    cargo_spirit(&dir)
        .args(["run", "-q"])
        .assert()
        .code(7)
        .stderr_eq(str![[r#"
error: the spirit returned status 7

"#]]);
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("1")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `sdk-minimal` failed: panicked at src/lib.rs:6:9: one byte is not enough

"#]]);
    cargo_spirit(&dir)
        .args(["run", "-q", "--input", "-"])
        .stdin("12")
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `sdk-minimal` failed: panicked at src/lib.rs:9:9: (a formatted message; enable spirit-sdk's `panic-message` feature to see it)

"#]]);
}

#[test]
fn time_random_log_input_and_output_work_in_the_sandbox() {
    let (_tmp, dir) = spirit_with(
        "sdk-calls",
        r#"#![no_std]

use spirit_sdk::{HostError, input, log, number::Decimal, output, random, time};

#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    // After 2020-01-01 and before 2100: a real clock in milliseconds.
    let now = time::now()?;
    if now > 1_577_836_800_000 && now < 4_102_444_800_000 {
        log::info("the clock is plausible");
    }
    let mut bytes = [0u8; 64];
    random::fill(&mut bytes)?;
    if bytes.iter().any(|&b| b != 0) && random::u64()? != random::u64()? {
        log::debug("random bytes vary");
    }
    let mut buf = [0u8; 16];
    let n = input::read(2, &mut buf)?;
    output::write(&buf[..n])?;
    output::write(b" ")?;
    output::write(Decimal::from(input::len()).as_bytes())
}
"#,
    );
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace(
            "capabilities = [\"actuator_log\"]",
            "capabilities = [\"actuator_log\", \"sensor_random\", \"sensor_time\"]",
        );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    cargo_spirit(&dir)
        .args(["run", "--input", "-"])
        .stdin("..input")
        .assert()
        .success()
        .stdout_eq(str!["input 7"])
        .stderr_eq(str![[r#"
...
     Running spirit `sdk-calls`
[INFO sdk-calls] the clock is plausible
[DEBUG sdk-calls] random bytes vary

"#]]);
}
