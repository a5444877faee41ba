//! The hostile-module corpus (SECURITY.md): each module goes through
//! `cargo spirit check` and `cargo spirit run` and must end with its
//! documented outcome: a clear message and a non-zero exit, from a process
//! that exited normally (never killed by a signal). Afterwards another
//! spirit's storage and an installed spirit must be exactly as they were.

use std::path::Path;
use std::process::Output;

use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::sign::Key;

use crate::support::bin;

/// Every capability that has host functions is granted to every case: the
/// corpus tests what the host does with hostile calls, not the policy.
const ALLOW: &[&str] = &crate::support::ALLOW_ALL;

const LIMITS: &[&str] = &[
    "--fuel",
    "20000000",
    "--timeout",
    "60s",
    "--max-memory",
    "16MiB",
];

/// What a command must do with a case: its exit code and a line of stderr.
struct Expect {
    code: i32,
    stderr: &'static str,
}

const OK: Expect = Expect {
    code: 0,
    stderr: "",
};

struct Case {
    name: &'static str,
    wasm: Vec<u8>,
    check: Expect,
    run: Expect,
}

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

const LOG: &str = r#"(import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))"#;
const MEM: &str = r#"(memory (export "memory") 1)"#;

/// A module whose `run` returns what one host call returns.
fn returns(import: &str, call: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module {import} {MEM} (func (export "run") (result i32) {call}))"#
    ))
}

fn corpus() -> Vec<Case> {
    let valid = wat(&format!(r#"(module {MEM} (func (export "run")))"#));
    vec![
        Case {
            name: "infinite-loop",
            wasm: wat(&format!(
                r#"(module {MEM} (func (export "run") (loop (br 0))))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `infinite-loop` failed: out of fuel after 20000000 units",
            },
        },
        Case {
            name: "start-loop",
            wasm: wat(&format!(
                r#"(module {MEM} (func $s (loop (br 0))) (start $s) (func (export "run")))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `start-loop` failed: out of fuel after 20000000 units",
            },
        },
        Case {
            name: "memory-bomb",
            wasm: wat(&format!(
                r#"(module {MEM} (func (export "run")
                    (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `memory-bomb` failed: memory limit of 16 MiB reached",
            },
        },
        Case {
            name: "table-bomb",
            wasm: wat(&format!(
                r#"(module {MEM} (table 1 funcref) (func (export "run")
                    (loop (br_if 0 (i32.ne (table.grow (ref.null func) (i32.const 1000)) (i32.const -1)))) unreachable))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `table-bomb` failed: table limit of 10000 elements reached",
            },
        },
        Case {
            name: "recursion",
            wasm: wat(&format!(
                r#"(module {MEM} (func $f (export "run") (call $f)))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `recursion` failed: stack overflow",
            },
        },
        Case {
            name: "huge-data",
            wasm: wat(
                r#"(module (memory (export "memory") 1700) (data (i32.const 104857600) "far away") (func (export "run")))"#,
            ),
            check: Expect {
                code: 1,
                stderr: "memory starts at 1700 pages (106.2 MiB)",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `huge-data` failed: memory limit of 16 MiB reached",
            },
        },
        Case {
            name: "many-functions",
            wasm: wat(&format!(
                r#"(module {MEM} {} (func (export "run")))"#,
                "(func)".repeat(20_000)
            )),
            check: Expect {
                code: 1,
                stderr: "the module defines 20001 functions, more than the 20000 a spirit may have",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `many-functions` was refused before compiling (1 problem)",
            },
        },
        Case {
            name: "many-imports",
            wasm: wat(&format!(
                r#"(module {} {MEM} (func (export "run")))"#,
                r#"(import "vudo" "host_time_now" (func (result i64)))"#.repeat(1_001)
            )),
            check: Expect {
                code: 1,
                stderr: "the module declares 1001 imports, more than the 1000 a spirit may have",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `many-imports` was refused before compiling (1 problem)",
            },
        },
        Case {
            name: "many-locals",
            wasm: wat(&format!(
                r#"(module {MEM} (func (export "run") {} (loop (br 0))))"#,
                "(local i64)".repeat(40_000)
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `many-locals` failed: out of fuel after 20000000 units",
            },
        },
        Case {
            name: "memory-import",
            wasm: wat(r#"(module (import "env" "memory" (memory 1)) (func (export "run")))"#),
            check: Expect {
                code: 1,
                stderr: "imports memory `env.memory`: spirits may import only host functions",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `memory-import` cannot be linked",
            },
        },
        Case {
            name: "table-import",
            wasm: wat(&format!(
                r#"(module (import "env" "table" (table 1 funcref)) {MEM} (func (export "run")))"#
            )),
            check: Expect {
                code: 1,
                stderr: "imports table `env.table`: spirits may import only host functions",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `table-import` cannot be linked",
            },
        },
        Case {
            name: "global-import",
            wasm: wat(&format!(
                r#"(module (import "env" "g" (global i32)) {MEM} (func (export "run")))"#
            )),
            check: Expect {
                code: 1,
                stderr: "imports global `env.g`: spirits may import only host functions",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `global-import` cannot be linked",
            },
        },
        Case {
            name: "unknown-module",
            wasm: wat(&format!(
                r#"(module (import "wasi_snapshot_preview1" "fd_write" (func)) {MEM} (func (export "run")))"#
            )),
            check: Expect {
                code: 1,
                stderr: "imports `wasi_snapshot_preview1.fd_write`, which is not a host function",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `unknown-module` cannot be linked",
            },
        },
        Case {
            name: "unknown-function",
            wasm: wat(&format!(
                r#"(module (import "vudo" "host_shell" (func)) {MEM} (func (export "run")))"#
            )),
            check: Expect {
                code: 1,
                stderr: "imports `vudo.host_shell`, which the host does not define",
            },
            run: Expect {
                code: 1,
                stderr: "error: spirit `unknown-function` cannot be linked",
            },
        },
        Case {
            name: "log-pointer-out-of-bounds",
            wasm: returns(
                LOG,
                "(call $log (i32.const 2) (i32.const -16) (i32.const 100))",
            ),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "log-length-overflow",
            wasm: returns(
                LOG,
                "(call $log (i32.const 2) (i32.const 65000) (i32.const 2147483647))",
            ),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "random-out-of-bounds",
            wasm: returns(
                r#"(import "vudo" "host_random_bytes" (func $r (param i32 i32) (result i32)))"#,
                "(call $r (i32.const 65530) (i32.const 64))",
            ),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "storage-key-out-of-bounds",
            wasm: returns(
                r#"(import "vudo" "host_storage_write" (func $w (param i32 i32 i32 i32) (result i32)))"#,
                "(call $w (i32.const -1) (i32.const 8) (i32.const 0) (i32.const 1))",
            ),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "storage-read-into-nowhere",
            wasm: returns(
                r#"(import "vudo" "host_storage_read" (func $rd (param i32 i32 i32 i32) (result i32)))"#,
                "(call $rd (i32.const 0) (i32.const 1) (i32.const 65535) (i32.const -2147483648))",
            ),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "input-out-of-bounds",
            wasm: returns(
                r#"(import "vudo" "host_input_read" (func $in (param i32 i32 i32) (result i32)))"#,
                "(call $in (i32.const 70000) (i32.const 16) (i32.const 0))",
            ),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "invalid-utf8-log",
            wasm: wat(&format!(
                r#"(module {LOG} {MEM} (data (i32.const 0) "\ff\fe\fd")
                    (func (export "run") (result i32) (call $log (i32.const 2) (i32.const 0) (i32.const 3))))"#
            )),
            check: OK,
            run: Expect {
                code: 255,
                stderr: "error: the spirit returned status -1",
            },
        },
        Case {
            name: "log-flood",
            // Ended by fuel or, on a loaded machine, by the timeout: either
            // is containment. What the case proves is the log cap (below).
            wasm: wat(&format!(
                r#"(module {LOG} {MEM} (data (i32.const 0) "flood")
                    (func (export "run") (loop (drop (call $log (i32.const 2) (i32.const 0) (i32.const 5))) (br 0))))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `log-flood` failed: ",
            },
        },
        Case {
            name: "storage-flood",
            // Writes 1 MiB values under keys 0, 1, 2, … until the host
            // refuses one (the quota), then traps.
            wasm: wat(r#"(module
                    (import "vudo" "host_storage_write" (func $w (param i32 i32 i32 i32) (result i32)))
                    (memory (export "memory") 17)
                    (func (export "run") (local $i i32)
                        (loop
                            (i32.store (i32.const 0) (local.get $i))
                            (local.set $i (i32.add (local.get $i) (i32.const 1)))
                            (br_if 0 (i32.eq (call $w (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 1048576)) (i32.const 0))))
                        unreachable))"#),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `storage-flood` failed: trap: unreachable",
            },
        },
        Case {
            name: "output-flood",
            // Writes 64 KiB chunks until the host refuses one (the 16 MiB
            // output cap), then traps.
            wasm: wat(&format!(
                r#"(module (import "vudo" "host_output_write" (func $o (param i32 i32) (result i32))) {MEM}
                    (func (export "run")
                        (loop (br_if 0 (i32.eq (call $o (i32.const 0) (i32.const 65536)) (i32.const 0))))
                        unreachable))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `output-flood` failed: trap: unreachable",
            },
        },
        Case {
            name: "unreachable",
            wasm: wat(&format!(
                r#"(module {MEM} (func (export "run") unreachable))"#
            )),
            check: OK,
            run: Expect {
                code: 1,
                stderr: "error: spirit `unreachable` failed: trap: unreachable",
            },
        },
        Case {
            name: "not-wasm",
            wasm: b"MZ\x90\0this is not a WebAssembly module".to_vec(),
            check: Expect {
                code: 1,
                // Its first bytes in a safe rendering, never a debug array.
                stderr: "not a WebAssembly module: it starts with `MZ\\x90\\x00` (expected `\\0asm`)",
            },
            run: Expect {
                code: 1,
                stderr: "error: could not compile spirit `not-wasm`",
            },
        },
        Case {
            name: "truncated",
            wasm: valid[..valid.len() - 3].to_vec(),
            check: Expect {
                code: 1,
                stderr: "not a valid WebAssembly module",
            },
            run: Expect {
                code: 1,
                stderr: "error: could not compile spirit `truncated`",
            },
        },
    ]
}

fn cargo_spirit(home: &Path, dir: &Path, args: &[&str], path: &Path) -> Output {
    std::process::Command::new(bin())
        .current_dir(dir)
        .env("VUDO_HOME", home)
        .env("NO_COLOR", "1")
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

/// Where a process ended, in words, when it was not the expected code.
fn describe(output: &Output) -> String {
    match output.status.code() {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal: the host did not survive".to_owned(),
    }
}

/// A victim: a spirit that stores a value, and one that prints it back.
const VICTIM_WRITE: &str = r#"(module
    (import "vudo" "host_storage_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 0) "keyprecious")
    (func (export "run") (result i32) (call $w (i32.const 0) (i32.const 3) (i32.const 3) (i32.const 8))))"#;
const VICTIM_READ: &str = r#"(module
    (import "vudo" "host_storage_read" (func $r (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $o (param i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 0) "key")
    (func (export "run") (result i32) (call $o (i32.const 16) (call $r (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 64)))))"#;

#[test]
fn every_hostile_module_is_contained_and_damages_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let dir = tmp.path();

    // State that must survive: a victim's storage and an installed spirit.
    let victim = tmp.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("victim.wasm"), wat(VICTIM_WRITE)).unwrap();
    std::fs::write(victim.join("victim-read.wasm"), wat(VICTIM_READ)).unwrap();
    // Both files are the same spirit: storage is per name, so the reader
    // is run under the writer's name through a copy.
    let write = cargo_spirit(
        &home,
        dir,
        &["run", "-q", "--allow", "storage_write"],
        &victim.join("victim.wasm"),
    );
    assert!(
        write.status.success(),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    let key = Key::generate().unwrap();
    std::fs::write(
        home.join("trusted.toml"),
        format!("authors = [\"{}\"]\n", key.author()),
    )
    .unwrap();
    let installed = wat(&format!(r#"(module {MEM} (func (export "run")))"#));
    let manifest = Manifest::for_module("keeper", "1.0.0".parse().unwrap(), &installed);
    let package = tmp.path().join("keeper-1.0.0.spirit");
    std::fs::write(
        &package,
        SpiritFiles::new(manifest, installed, Some(&key)).to_package(),
    )
    .unwrap();
    let install = cargo_spirit(&home, dir, &["install", "-q"], &package);
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );

    let cases = corpus();
    let mut failures = Vec::new();
    for case in &cases {
        let path = tmp.path().join(format!("{}.wasm", case.name));
        std::fs::write(&path, &case.wasm).unwrap();
        let check_args: Vec<&str> = ["check"].iter().chain(ALLOW).copied().collect();
        let run_args: Vec<&str> = ["run"].iter().chain(ALLOW).chain(LIMITS).copied().collect();
        for (what, args, expect) in [
            ("check", &check_args, &case.check),
            ("run", &run_args, &case.run),
        ] {
            let output = cargo_spirit(&home, dir, args, &path);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if output.status.code() != Some(expect.code) || !stderr.contains(expect.stderr) {
                failures.push(format!(
                    "{} / {what}: expected exit {} with `{}`, got {}:\n{stderr}",
                    case.name,
                    expect.code,
                    expect.stderr,
                    describe(&output)
                ));
            }
            if case.name == "output-flood" && what == "run" && output.stdout.len() > 16 << 20 {
                failures.push(format!(
                    "output-flood wrote {} bytes past the 16 MiB cap",
                    output.stdout.len()
                ));
            }
            if case.name == "log-flood" && what == "run" {
                let lines = stderr
                    .lines()
                    .filter(|l| l.starts_with("[INFO log-flood]"))
                    .count();
                if lines > 1000 || !stderr.contains("log limit of 1000 messages reached") {
                    failures.push(format!(
                        "log-flood printed {lines} log lines without the cap's warning"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases not contained:\n\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n\n")
    );

    // The storage quota held: the flood wrote until the host refused. The
    // database file is larger than the 64 MiB of data it holds (redb's
    // copy-on-write pages) and grows a little with each flood; it must stay
    // within three times the quota (SECURITY.md records the figures).
    let flood = home.join("storage/unsigned/storage-flood.redb");
    let size = || std::fs::metadata(&flood).map(|m| m.len()).unwrap_or(0);
    let first = size();
    let again: Vec<&str> = ["run", "-q"]
        .iter()
        .chain(ALLOW)
        .chain(LIMITS)
        .copied()
        .collect();
    for _ in 0..2 {
        cargo_spirit(&home, dir, &again, &tmp.path().join("storage-flood.wasm"));
    }
    let last = size();
    for bytes in [first, last] {
        assert!(
            bytes <= 3 * (64 << 20),
            "the flooding spirit's storage grew to {bytes} bytes"
        );
    }
    eprintln!("storage flood: {first} bytes after the first flood, {last} after two more");

    // Nothing else was damaged.
    std::fs::copy(victim.join("victim-read.wasm"), victim.join("victim.wasm")).unwrap();
    let read = cargo_spirit(
        &home,
        dir,
        &["run", "-q", "--allow", "storage_read"],
        &victim.join("victim.wasm"),
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "precious",
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let keeper = home.join("registry/spirits/keeper/1.0.0");
    let verify = cargo_spirit(&home, dir, &["verify", "-q"], &keeper);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
