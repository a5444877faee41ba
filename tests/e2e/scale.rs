//! Issue 19: `list` pages, and time-only metering on `run`.

use snapbox::str;

use crate::support::cargo_spirit;

const SPIN: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "run") (result i32) (i32.const 0))
    (func (export "spin") (loop (br 0))))"#;

/// `--metering time` runs with fuel off (`-v` says so), is still ended by
/// its timeout, and is refused in words for a deterministic run and beside
/// `--fuel`; an unknown value is refused by the flag.
#[test]
fn run_metering_time_is_bounded_by_the_timeout_and_refused_where_fuel_is_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = tmp.path().join("spin.wasm");
    std::fs::write(&wasm, wat::parse_str(SPIN).unwrap()).unwrap();
    let run = || {
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["--metering", "time"])
    };
    let output = run().arg("-v").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(": metered by time alone, peak memory"),
        "{stderr}"
    );

    run()
        .args(["--invoke", "spin", "--timeout", "200ms"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
     Running spirit `spin`
error: spirit `spin` failed: timed out after 200ms
help: raise the limit with `--timeout DURATION`

"#]]);
    run().arg("--deterministic").assert().failure().stderr_eq(str![[r#"
error: spirit `spin` failed: a deterministic run (where it stops must not depend on the machine's speed) needs fuel metering, but this run is metered by time alone
help: run it with `--metering fuel` (the default), which overrides a manifest's `run.metering = "time"`

"#]]);
    run().args(["--fuel", "1000"]).assert().failure().stderr_eq(str![[r#"
error: spirit `spin` failed: `--fuel` needs fuel metering, but this run is metered by time alone
help: run it with `--metering fuel` (the default), which overrides a manifest's `run.metering = "time"`

"#]]);
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--metering", "wall"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: invalid value 'wall' for '--metering <HOW>': unknown metering `wall`: use `fuel` or `time`

For more information, try '--help'.

"#]]);
}

/// `list --limit N --offset M` prints one page, by name then version.
#[test]
fn list_prints_one_page() {
    use spirit_build::manifest::Manifest;
    use spirit_build::package::SpiritFiles;

    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(SPIN).unwrap();
    for name in ["gamma", "alpha", "beta"] {
        let manifest = Manifest::for_module(name, "1.0.0".parse().unwrap(), &wasm);
        let files = SpiritFiles::new(manifest, wasm.clone(), None);
        let package = tmp.path().join(files.package_name());
        std::fs::write(&package, files.to_package()).unwrap();
        cargo_spirit(tmp.path())
            .args(["install", "-q", "--allow-unsigned"])
            .arg(&package)
            .assert()
            .success();
    }
    cargo_spirit(tmp.path())
        .args(["list", "--limit", "1", "--offset", "1"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
NAME  VERSION  AUTHOR      CAPABILITIES
beta  1.0.0    (unsigned)  

"#]]);
    cargo_spirit(tmp.path())
        .args(["list", "--offset", "3"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
NAME  VERSION  AUTHOR  CAPABILITIES

"#]]);
}

/// Writes storage, then spins (or, in `start`, spins before any call).
const WRITE_THEN_SPIN: &str = r#"(module
    (import "vudo" "host_storage_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "vudo" "host_storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "key")
    (data (i32.const 16) "value")
    (func (export "run") (result i32) (i32.const 0))
    (func (export "write") (result i32)
        (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5)))
    (func (export "write_then_spin")
        (drop (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5)))
        (loop (br 0)))
    (func (export "read") (result i32)
        (call $read (i32.const 0) (i32.const 3) (i32.const 64) (i32.const 64))))"#;

/// A time-metered run's code has no deadline checks: the process alarm
/// ends it, and what it wrote to storage before its time was up is not
/// applied (the same write, in a run that ends in time, is). A start
/// function that never returns is ended too.
#[test]
fn a_time_metered_run_ended_by_its_alarm_commits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = tmp.path().join("writer.wasm");
    std::fs::write(&wasm, wat::parse_str(WRITE_THEN_SPIN).unwrap()).unwrap();
    let run = |function: &str| {
        cargo_spirit(tmp.path())
            .arg("run")
            .arg(&wasm)
            .args(["--metering", "time", "--timeout", "300ms", "-q"])
            .args(["--allow", "storage_read", "--allow", "storage_write"])
            .args(["--invoke", function])
    };
    run("write_then_spin")
        .assert()
        .code(1)
        .stdout_eq("")
        .stderr_eq(str![[r#"
error: spirit `writer` failed: timed out after 300ms
help: raise the limit with `--timeout DURATION`

"#]]);
    // Nothing was stored: the key reads as missing.
    run("read").assert().success().stdout_eq("0\n");
    run("write").assert().success().stdout_eq("0\n");
    run("read").assert().success().stdout_eq("5\n");

    let start = tmp.path().join("start.wasm");
    std::fs::write(
        &start,
        wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func $spin (loop (br 0))) (start $spin)
                (func (export "run") (result i32) (i32.const 0)))"#,
        )
        .unwrap(),
    )
    .unwrap();
    cargo_spirit(tmp.path())
        .arg("run")
        .arg(&start)
        .args(["--metering", "time", "--timeout", "200ms", "-q"])
        .assert()
        .code(1)
        .stderr_eq(str![[r#"
error: spirit `start` failed: timed out after 200ms
help: raise the limit with `--timeout DURATION`

"#]]);
}

/// A parent that blocks `SIGALRM` (the mask is inherited across `exec`)
/// does not unbound the run: the thread that runs the spirit unblocks it.
#[cfg(unix)]
#[test]
fn a_blocked_alarm_signal_still_ends_the_run() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().unwrap();
    let wasm = tmp.path().join("spin.wasm");
    std::fs::write(&wasm, wat::parse_str(SPIN).unwrap()).unwrap();
    let mut command = std::process::Command::new(crate::support::bin());
    command
        .arg("run")
        .arg(&wasm)
        .args(["--invoke", "spin", "--timeout", "200ms", "-q"])
        .env("VUDO_HOME", tmp.path().join(".vudo"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGALRM);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the run outlived its 200ms timeout by 30s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out after 200ms"), "{stderr}");
}
