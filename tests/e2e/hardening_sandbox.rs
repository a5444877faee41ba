//! Issue 12, the sandbox's part: absurd limits, unbounded input, exit
//! codes, the code cache bound to its module, storage that belongs to name
//! and author, and a store left broken by a full disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use snapbox::str;

use crate::support::{cargo_spirit, wasm_file};

const NOP: &str = r#"(module (memory (export "memory") 1) (func (export "run")))"#;

/// Reads the whole input into memory at 0, so its length is observable.
const READ_INPUT: &str = r#"(module
    (import "vudo" "host_input_len" (func $len (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32) (call $len)))"#;

fn nop(dir: &Path) -> PathBuf {
    wasm_file(dir, "nop.wasm", NOP)
}

/// Every limit flag out of its range is refused by the parser, in words,
/// before anything runs; none reaches a panic.
#[test]
fn every_limit_flag_is_range_checked_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = nop(tmp.path());
    let cases: &[(&[&str], &str)] = &[
        (
            &["--timeout", "18446744073709551615s"],
            "it must be at most 365 days",
        ),
        (
            &["--timeout", "99999999999d"],
            "it must be at most 365 days",
        ),
        (&["--timeout", "0s"], "it must be longer than zero"),
        (
            &["--max-memory", "99999G"],
            "the memory limit must be between 64 KiB and 4 GiB",
        ),
        (
            &["--max-memory", "5GiB"],
            "the memory limit must be between 64 KiB and 4 GiB",
        ),
        (
            &["--max-memory", "99999999999999999999G"],
            "invalid size `99999999999999999999G`",
        ),
        (
            &["--max-memory", "1K"],
            "the memory limit must be between 64 KiB and 4 GiB",
        ),
        (
            &["--fuel", "0"],
            "the fuel limit must be at least 1 unit, not 0",
        ),
        (&["--fuel", "-1"], "invalid fuel `-1`"),
        (&["--fuel", "18446744073709551616"], "invalid fuel"),
        (
            &["--max-input", "3GiB"],
            "the input limit must be between 1 byte and 2.0 GiB",
        ),
        (&["--max-input", "0"], "the input limit must be between"),
        (
            &["--deterministic", "--seed", "18446744073709551616"],
            "invalid value '18446744073709551616' for '--seed <N>'",
        ),
        (
            &["--deterministic", "--seed", "-1"],
            "invalid value '-1' for '--seed <N>'",
        ),
    ];
    for (args, message) in cases {
        let output = cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The largest values in range run.
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--timeout", "365d", "--fuel", "18446744073709551615"])
        .args(["--max-memory", "4GiB", "--max-input", "2147483647"])
        .args(["--deterministic", "--seed", "18446744073709551615"])
        .assert()
        .success();
}

/// A build directory whose manifest carries `[run]` values out of range
/// (as a hand-made package can) is refused in words, never run with them.
#[test]
fn a_manifests_run_limits_out_of_range_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(NOP).unwrap();
    for (run, message) in [
        (
            "fuel = 0\ntimeout-ms = 1000\nmax-memory = 1048576",
            "the fuel limit must be at least 1 unit, not 0",
        ),
        (
            "fuel = 1000\ntimeout-ms = 0\nmax-memory = 1048576",
            "the timeout must be between 1ms and 365 days, not 0ns",
        ),
        (
            "fuel = 1000\ntimeout-ms = 9223372036854775807\nmax-memory = 1048576",
            "the timeout must be between 1ms and 365 days",
        ),
        (
            "fuel = 1000\ntimeout-ms = 1000\nmax-memory = 9223372036854775807",
            "the memory limit must be between 64 KiB and 4 GiB",
        ),
        (
            "fuel = 1000\ntimeout-ms = 1000\nmax-memory = 1048576\nmax-input = 4294967296",
            "the input limit must be between 1 byte and 2.0 GiB",
        ),
    ] {
        let dir = build_dir(tmp.path(), "limits", &wasm, run);
        let output = cargo_spirit(tmp.path())
            .arg("run")
            .arg(&dir)
            .arg("-q")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{run}: {stderr}");
        // Refused when the manifest is read, naming the key and its line.
        assert!(
            stderr.contains("invalid manifest") && stderr.contains("`run."),
            "{run}: {stderr}"
        );
        assert!(stderr.contains(message), "{run}: {stderr}");
    }
}

/// An unsigned build directory named `name`, with `run` as its `[run]`
/// table.
fn build_dir(parent: &Path, name: &str, wasm: &[u8], run: &str) -> PathBuf {
    build_dir_with(parent, &format!("build-{name}"), name, wasm, run, "[]")
}

/// An unsigned build directory `parent/dir` of spirit `name`.
fn build_dir_with(
    parent: &Path,
    dir: &str,
    name: &str,
    wasm: &[u8],
    run: &str,
    capabilities: &str,
) -> PathBuf {
    let dir = parent.join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.wasm")), wasm).unwrap();
    let manifest = format!(
        "# Written by cargo-spirit: what this spirit is, may do, and which bytes it is.\n\
         name = \"{name}\"\nversion = \"0.1.0\"\nentry = \"run\"\ncapabilities = {capabilities}\n\n\
         [limits]\nmax-size = 1048576\nmemory-initial-pages = 1\nmemory-maximum-pages = 16\n\n\
         [run]\n{run}\n\n\
         [wasm]\nfile = \"{name}.wasm\"\nsize = {}\nblake3 = \"{}\"\n\n\
         [build]\ntool = \"cargo-spirit 0.1.0\"\nrustc = \"rustc 1.0.0\"\ntarget = \"wasm32-unknown-unknown\"\nprofile = \"release\"\n",
        wasm.len(),
        blake3::hash(wasm).to_hex()
    );
    std::fs::write(dir.join("manifest.toml"), manifest).unwrap();
    dir
}

/// `/dev/zero` as input ends at once with the input limit, in words; the
/// limit is a flag, and a stream that never ends is cut by the timeout.
#[test]
fn input_is_capped_while_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "reader.wasm", READ_INPUT);
    let started = Instant::now();
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--timeout", "20s", "--input", "/dev/zero"])
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: the input from `/dev/zero` is larger than the input limit of 64 MiB
help: raise the limit with `--max-input SIZE` or the manifest's `run.max-input` (at most 2 GiB)

"#]]);
    assert!(started.elapsed() < Duration::from_secs(15));

    let input = tmp.path().join("eleven.bin");
    std::fs::write(&input, b"eleven byte").unwrap();
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--max-input", "10", "--input"])
        .arg(&input)
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: the input from `[..]eleven.bin` is larger than the input limit of 10 B
help: raise the limit with `--max-input SIZE` or the manifest's `run.max-input` (at most 2 GiB)

"#]]);
    // At the limit it runs, and the spirit sees every byte (status 11).
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--max-input", "11", "--input"])
        .arg(&input)
        .assert()
        .code(11);

    // A pipe that nobody writes to: the run's timeout covers reading it.
    let fifo = tmp.path().join("never.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let started = Instant::now();
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--timeout", "500ms", "--input"])
        .arg(&fifo)
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: reading the input from `[..]never.fifo` did not finish within the run's timeout of 500ms
help: raise the limit with `--timeout DURATION`, or give a file instead of a stream that does not end

"#]]);
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The exit code is the status's low byte, and 1 when that is 0 but the
/// status is not (README's exit-code table).
#[test]
fn exit_codes_follow_the_status_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    for (status, code) in [
        (0, 0),
        (1, 1),
        (255, 255),
        (256, 1),
        (257, 1),
        (513, 1),
        (-1, 255),
        (-256, 1),
    ] {
        // 257 is 0x101: its low byte is 1.
        let wasm = wasm_file(
            tmp.path(),
            "status.wasm",
            &format!(
                r#"(module (memory (export "memory") 1)
                    (func (export "run") (result i32) (i32.const {status})))"#
            ),
        );
        let output = cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .arg("-q")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(code), "status {status}");
    }
}

/// A table far past the limit is reported with the documented limit, not
/// the pooling allocator's reservation.
#[test]
fn a_huge_table_reports_the_documented_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(
        tmp.path(),
        "table.wasm",
        r#"(module (memory (export "memory") 1) (table 10000000 funcref) (func (export "run")))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: spirit `table` was refused before compiling: table limit of 10000 elements reached (its table starts with 10000000)

"#]]);
    // Past the run's limit but within what the pool reserves: the run
    // refuses it with the same limit.
    let wasm = wasm_file(
        tmp.path(),
        "table2.wasm",
        r#"(module (memory (export "memory") 1) (table 50000 funcref) (func (export "run")))"#,
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: spirit `table2` failed: table limit of 10000 elements reached

"#]]);
}

/// Compiling counts against the run's timeout: a module that takes longer
/// to compile than the timeout is given up in words, not compiled for as
/// long as it takes.
#[test]
fn compiling_is_bounded_by_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let body = "(drop (i32.add (local.get 0) (i32.mul (local.get 0) (i32.const 7))))".repeat(200);
    let functions: String = (0..3000)
        .map(|i| format!("(func $f{i} (param i32) {body})\n"))
        .collect();
    let wasm = wasm_file(
        tmp.path(),
        "big.wasm",
        &format!(r#"(module (memory (export "memory") 1) {functions} (func (export "run")))"#),
    );
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["-q", "--timeout", "1ms"])
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: compiling spirit `big` did not finish within the run's timeout of 1ms
help: raise the limit with `--timeout DURATION`, or install the spirit (`cargo spirit install` compiles it ahead of time)

"#]]);
}

/// The cache entry of one module copied over another's is not run: the
/// entry names the wasm it was compiled from, under a MAC, so the second
/// module is compiled again and runs its own code.
#[test]
fn a_cache_entry_runs_only_for_the_module_it_was_compiled_from() {
    let tmp = tempfile::tempdir().unwrap();
    let status = |n: i32| {
        format!(
            r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const {n})))"#
        )
    };
    let a = wasm_file(tmp.path(), "a.wasm", &status(3));
    let b = wasm_file(tmp.path(), "b.wasm", &status(4));
    let run = |wasm: &Path, code: i32| {
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(wasm)
            .arg("-v")
            .assert()
            .code(code)
    };
    run(&a, 3);
    run(&b, 4);
    let cache = tmp.path().join(".vudo/cache");
    let entry = |wasm: &Path| {
        let hash = blake3::hash(&std::fs::read(wasm).unwrap()).to_hex();
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(hash.as_str())
            })
            .unwrap()
    };
    std::fs::copy(entry(&a), entry(&b)).unwrap();
    let output = run(&b, 4).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Compiled spirit `b`"), "{stderr}");
    // Compiled again, its entry is its own, and the next run uses it.
    let output = run(&b, 4).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Cached spirit `b`"), "{stderr}");
}

/// Counts its runs in storage: each run returns the count so far.
const COUNTER: &str = r#"(module
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "count")
    (func (export "run") (result i32)
        (local $n i32)
        (if (i32.eq (call $read (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)) (i32.const 4))
            (then (local.set $n (i32.load (i32.const 16)))))
        (i32.store (i32.const 16) (i32.add (local.get $n) (i32.const 1)))
        (if (i32.ne (call $write (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)) (i32.const 0))
            (then unreachable))
        (i32.load (i32.const 16))))"#;

const STORAGE: [&str; 4] = ["--allow", "storage_read", "--allow", "storage_write"];

/// A spirit's store belongs to its name and the author who signed it: a
/// package of another author (or unsigned) that takes the name opens a
/// store of its own, never the author's.
#[test]
fn storage_belongs_to_the_name_and_the_signing_author() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(COUNTER).unwrap();
    let caps = r#"["storage_read", "storage_write"]"#;
    let run = "fuel = 1000000\ntimeout-ms = 10000\nmax-memory = 1048576";
    let dirs: Vec<PathBuf> = ["author", "impostor", "unsigned"]
        .iter()
        .map(|d| build_dir_with(tmp.path(), d, "victim", &wasm, run, caps))
        .collect();
    for (key, dir) in ["author", "impostor"].iter().zip(&dirs) {
        cargo_spirit(tmp.path())
            .args(["keygen", "-q", "--name", key])
            .assert()
            .success();
        cargo_spirit(tmp.path())
            .arg("sign")
            .arg(dir)
            .arg("--key")
            .arg(tmp.path().join(format!(".vudo/keys/{key}.key")))
            .arg("-q")
            .assert()
            .success();
    }
    let count = |dir: &Path| {
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(dir)
            .arg("-q")
            .args(STORAGE)
            .output()
            .unwrap()
            .status
            .code()
    };
    let [author, impostor, unsigned] = [&dirs[0], &dirs[1], &dirs[2]];
    assert_eq!(count(author), Some(1));
    assert_eq!(count(author), Some(2));
    assert_eq!(
        count(impostor),
        Some(1),
        "the impostor opened the author's store"
    );
    assert_eq!(
        count(unsigned),
        Some(1),
        "an unsigned run opened a signed store"
    );
    assert_eq!(count(impostor), Some(2));
    assert_eq!(
        count(author),
        Some(3),
        "the author's store was written by another"
    );
    // A bare module of the same name shares only the unsigned namespace.
    let bare = tmp.path().join("victim.wasm");
    std::fs::write(&bare, &wasm).unwrap();
    assert_eq!(count(&bare), Some(2));
}

/// A full disk (here: a file-size limit, so every write past 4 KiB fails)
/// while a spirit's store is created leaves nothing behind: the warning
/// names the real cause, and once there is room again the next run works.
#[test]
fn a_store_creation_that_fails_for_space_leaves_no_broken_store() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "filler.wasm", COUNTER);
    // The code cache's entry fails too (a warning); the store is what
    // matters here.
    let home = tmp.path().join(".vudo");
    let mut limited = std::process::Command::new("sh");
    limited
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
        .arg(crate::support::bin())
        .arg("run")
        .arg(&wasm)
        .args(STORAGE)
        .env("VUDO_HOME", &home)
        .env("NO_COLOR", "1");
    let output = limited.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("creating the store failed: File too large"),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(home.join("storage/unsigned"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // With room again, the store is made and works.
    for expected in [1, 2] {
        let output = cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(STORAGE)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(expected), "{stderr}");
        assert!(!stderr.contains("warning"), "{stderr}");
    }
}

/// What the full disk left with earlier versions: a zero-filled store.
/// The next run replaces it, says why, and works.
#[test]
fn a_zero_filled_store_is_replaced_and_the_run_works() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "zeroed.wasm", COUNTER);
    let store = tmp.path().join(".vudo/storage/unsigned/zeroed.redb");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    std::fs::write(&store, vec![0; 1 << 20]).unwrap();
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(STORAGE)
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
     Running spirit `zeroed`
warning: the storage of spirit `zeroed` at `[..]zeroed.redb` was an empty file left by an interrupted creation (a crash or a full disk); it was replaced by an empty store
error: the spirit returned status 1

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .arg("-q")
        .args(STORAGE)
        .assert()
        .code(2);
}
