//! `cargo spirit test`: sandbox tests built for wasm32 and run in the real
//! sandbox, reported in libtest's format with cargo's exit codes.

use std::path::PathBuf;

use snapbox::str;

use crate::support::{artifact_dir, cargo_spirit, new_spirit};

/// A spirit crate `name` whose `src/lib.rs` is `lib` and whose
/// `[package.metadata.spirit]` table is `metadata`.
fn spirit(name: &str, metadata: &str, lib: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = new_spirit(name, "hello");
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let start = text.find("[package.metadata.spirit]").unwrap();
    let end = text.find("# Spirits are shipped small").unwrap();
    let text = format!(
        "{}[package.metadata.spirit]\n{metadata}\n\n{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    (tmp, dir)
}

const OUTCOMES: &str = r#"#![no_std]
#[spirit_sdk::main]
fn run() {}

#[spirit_sdk::test]
mod tests {
    use spirit_sdk::{HostError, log, storage};

    #[spirit_sdk::test]
    fn passes() {
        assert_eq!(1 + 1, 2);
    }

    #[spirit_sdk::test]
    fn panics() {
        log::info("about to fail");
        let answer = 41;
        assert_eq!(answer, 42, "the answer");
    }

    #[spirit_sdk::test]
    fn returns_an_error() -> Result<(), HostError> {
        Err(HostError::StorageWrite)
    }

    #[spirit_sdk::test]
    fn traps() {
        core::arch::wasm32::unreachable()
    }

    #[spirit_sdk::test]
    fn runs_out_of_fuel() {
        loop {
            core::hint::black_box(());
        }
    }

    #[spirit_sdk::test]
    #[ignore = "not today"]
    fn ignored() {
        panic!("ignored tests do not run");
    }

    #[spirit_sdk::test]
    #[should_panic(expected = "expected")]
    fn panics_as_expected() {
        panic!("as expected");
    }

    // Every test has a storage of its own: each finds it empty.
    #[spirit_sdk::test]
    fn storage_starts_empty_a() -> Result<(), HostError> {
        assert_eq!(storage::get_into("key", &mut [0; 4])?, None);
        storage::set("key", "a")
    }

    #[spirit_sdk::test]
    fn storage_starts_empty_b() -> Result<(), HostError> {
        assert_eq!(storage::get_into("key", &mut [0; 4])?, None);
        storage::set("key", "b")
    }
}
"#;

const OUTCOMES_METADATA: &str = r#"capabilities = ["actuator_log", "storage_read", "storage_write"]
run = { fuel = 5_000_000 }"#;

#[test]
fn passing_failing_and_ignored_tests_are_reported_as_libtest_does() {
    let (_tmp, dir) = spirit("t-outcomes", OUTCOMES_METADATA, OUTCOMES);
    cargo_spirit(&dir)
        .arg("test")
        .assert()
        .code(101)
        .stdout_eq(str![[r#"

running 9 tests
test tests::ignored ... ignored, not today
test tests::panics ... FAILED
test tests::panics_as_expected ... ok
test tests::passes ... ok
test tests::returns_an_error ... FAILED
test tests::runs_out_of_fuel ... FAILED
test tests::storage_starts_empty_a ... ok
test tests::storage_starts_empty_b ... ok
test tests::traps ... FAILED

failures:

---- tests::panics stdout ----
[INFO t-outcomes] about to fail
panicked at src/lib.rs:18:9: assertion `left == right` failed: the answer
  left: 41
 right: 42

---- tests::returns_an_error stdout ----
writing storage failed: is `storage_write` declared, and the key and value within the host's quota?

---- tests::runs_out_of_fuel stdout ----
out of fuel after 5000000 units
help: the limit is `run.fuel` under [package.metadata.spirit]

---- tests::traps stdout ----
trap: unreachable in function [..]


failures:
    tests::panics
    tests::returns_an_error
    tests::runs_out_of_fuel
    tests::traps

test result: FAILED. 4 passed; 4 failed; 1 ignored; 0 measured; 0 filtered out; finished in [..]s


"#]])
        .stderr_eq(str![[r#"
...
     Running sandbox tests of spirit `t-outcomes` ([..].wasm)
error: test failed, to rerun pass `-p t-outcomes`

"#]]);

    // Filtered: a name, exactly; the ignored ones only; one at a time.
    cargo_spirit(&dir)
        .args(["test", "-q", "tests::passes", "--", "--exact"])
        .assert()
        .success()
        .stdout_eq(str![[r#"

running 1 test
test tests::passes ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 8 filtered out; finished in [..]s


"#]]);
    cargo_spirit(&dir)
        .args(["test", "-q", "storage", "--", "--test-threads", "1"])
        .assert()
        .success()
        .stdout_eq(str![[r#"

running 2 tests
test tests::storage_starts_empty_a ... ok
test tests::storage_starts_empty_b ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 7 filtered out; finished in [..]s


"#]]);
    cargo_spirit(&dir)
        .args(["test", "-q", "--", "--ignored"])
        .assert()
        .code(101)
        .stdout_eq(str![[r#"

running 1 test
test tests::ignored ... FAILED

failures:

---- tests::ignored stdout ----
panicked at src/lib.rs:[..]: ignored tests do not run


failures:
    tests::ignored

test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 8 filtered out; finished in [..]s


"#]]);
}

#[test]
fn json_has_a_line_per_test_and_a_summary() {
    let (_tmp, dir) = spirit("t-json", OUTCOMES_METADATA, OUTCOMES);
    let output = cargo_spirit(&dir)
        .args(["test", "--message-format", "json", "-q", "tests::p"])
        .assert()
        .code(101)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["reason"].as_str().unwrap().starts_with("spirit-test"))
        .collect();
    let events: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|v| {
            (
                v["reason"].as_str().unwrap(),
                v["name"].as_str().unwrap_or(""),
                v["event"].as_str().or(v["result"].as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("spirit-test", "tests::panics", "failed"),
            ("spirit-test", "tests::panics_as_expected", "ok"),
            ("spirit-test", "tests::passes", "ok"),
            ("spirit-test-result", "", "failed"),
        ]
    );
    assert_eq!(lines[0]["logs"][0], "[INFO t-json] about to fail");
    assert!(lines[0]["message"].as_str().unwrap().contains("the answer"));
    assert_eq!(lines[3]["filtered_out"], 6);
}

#[test]
fn a_test_needing_an_undeclared_capability_fails_with_the_builds_message() {
    let lib = r#"#![no_std]
#[spirit_sdk::main]
fn run() {}

#[spirit_sdk::test]
fn reads_the_clock() {
    let _ = spirit_sdk::time::now();
}
"#;
    let (_tmp, dir) = spirit("t-undeclared", "capabilities = []", lib);
    let error = |command: &str, code: i32| -> String {
        let stderr = cargo_spirit(&dir)
            .arg(command)
            .assert()
            .code(code)
            .stdout_eq(str![""])
            .get_output()
            .stderr
            .clone();
        let stderr = String::from_utf8(stderr).unwrap();
        stderr[stderr.find("error:").unwrap_or(0)..].to_owned()
    };
    let message = error("test", 1);
    assert!(
        message.starts_with("error: spirit `t-undeclared` failed validation (1 problem)"),
        "{message}"
    );
    assert!(
        message.contains("declare it in Cargo.toml, under [package.metadata.spirit]")
            && message.contains(r#"capabilities = ["sensor_time"]"#),
        "{message}"
    );
    // The normal build leaves the test out, and with it the clock.
    error("build", 0);
}

#[test]
fn tests_leave_the_normal_build_alone() {
    let (_tmp, dir) = spirit("t-separate", OUTCOMES_METADATA, OUTCOMES);
    cargo_spirit(&dir).arg("build").assert().success();
    let built = artifact_dir("debug", "t-separate").join("t-separate.wasm");
    let before = std::fs::read(&built).unwrap();
    assert!(
        !exports(&before)
            .iter()
            .any(|e| e.starts_with("__spirit_test"))
    );
    cargo_spirit(&dir)
        .args(["test", "-q", "passes"])
        .assert()
        .success();
    // The build is still fresh: nothing was rebuilt or rewritten.
    cargo_spirit(&dir)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Fresh spirit `t-separate` v0.1.0[..]

"#]]);
    assert_eq!(std::fs::read(&built).unwrap(), before);
}

#[test]
fn every_template_passes_its_sandbox_tests() {
    for template in ["hello", "counter", "echo", "kv", "json"] {
        let (_tmp, dir) = new_spirit(&format!("t-tpl-{template}"), template);
        let output = cargo_spirit(&dir)
            .args(["test", "-q"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let output = String::from_utf8(output).unwrap();
        assert!(
            output.contains("test result: ok.") && !output.contains("ok. 0 passed"),
            "{template}: {output}"
        );
    }
}

fn exports(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(reader) = payload.unwrap() {
            names.extend(reader.into_iter().map(|e| e.unwrap().name.to_owned()));
        }
    }
    names
}
