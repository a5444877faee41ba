//! `cargo spirit run` against `wasmtime run` (the wasmtime CLI) and against
//! the process's own start-up, on the same module, as processes.
//!
//! The module has no imports, so both runtimes run it as it is: `run`
//! computes a little and returns. Measured, interleaved round by round so
//! that the machine's load falls on every command alike:
//!
//! - `cargo-spirit --version`: the floor, the process's start-up;
//! - `cargo-spirit run FILE.wasm --invoke run` (code cached after the first
//!   run) against `wasmtime run --invoke run FILE.wasm` (wasmtime's own
//!   cache on, its default);
//! - `cargo-spirit run NAME` (installed: signature checked, code compiled
//!   at install) against `wasmtime run --allow-precompiled --invoke run
//!   FILE.cwasm` (compiled ahead with `wasmtime compile`);
//! - `wasmtime --version`, wasmtime's own start-up, so that each CLI's run
//!   is also set against its own floor.
//!
//! Needs the release binary and the wasmtime CLI (`cargo install
//! wasmtime-cli --version 48.0.8 --locked`, found as `WASMTIME` or
//! `wasmtime` on `PATH` or in `~/.cargo/bin`); without the CLI only
//! cargo-spirit's figures are printed. Run with:
//! `cargo build --release -p cargo-spirit && cargo bench -p spirit-build --bench run`
//! (or `benches/run.sh`). With `SPIRIT_BENCH_KEEP=1`, the home and the
//! module are kept and their paths printed, to profile the same commands.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::sign::Key;

/// A small loop, so that the run does some work but start-up dominates.
const MODULE: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (local $i i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
        (i32.const 0)))"#;

const ROUNDS: usize = 51;

/// The data of the large spirit, in bytes.
const BIG_BYTES: usize = 2 << 20;

/// One command: its name and how to start it.
struct Case {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    samples: Vec<Duration>,
}

fn wasmtime_cli() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("WASMTIME").map(PathBuf::from),
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("wasmtime"))
                .find(|p| p.is_file())
        }),
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/wasmtime")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn run_once(program: &Path, args: &[String], home: &Path) -> Duration {
    let start = Instant::now();
    // The same environment for every command, whatever the caller's
    // shell sets: no backtrace capture.
    let status = Command::new(program)
        .args(args)
        .env("VUDO_HOME", home)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("starts");
    let elapsed = start.elapsed();
    assert!(
        status.success(),
        "`{} {}` failed",
        program.display(),
        args.join(" ")
    );
    elapsed
}

/// `rounds` rounds, each running every case once in turn, so that the
/// machine's load falls on all of them alike.
fn interleave(cases: &mut [Case], rounds: usize, home: &Path) {
    for _ in 0..rounds {
        for case in cases.iter_mut() {
            let d = run_once(&case.program, &case.args, home);
            case.samples.push(d);
        }
    }
}

/// One line a case: its median and its ratio to `baseline`.
fn rows(out: &mut impl Write, cases: &[Case], baseline: Duration) {
    for case in cases {
        let m = median(case);
        let _ = writeln!(
            out,
            "  {:<46} {:>10.2?}  {:>9.2}x",
            case.name,
            m,
            m.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

/// A case's median wall time.
fn median(case: &Case) -> Duration {
    let mut samples = case.samples.clone();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let mut out = std::io::stdout().lock();
    let Some(bin) = support::release_binary() else {
        let _ = writeln!(
            out,
            "no release cargo-spirit binary: run `cargo build --release -p cargo-spirit` first"
        );
        return;
    };
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    // Run as installed: `cargo install` copies the binary. The linker
    // writes its output through a shared mapping, which leaves it in the
    // page cache in 4 KiB pages: the first runs of a binary just linked
    // map their code a page at a time and start about 0.2 ms slower than
    // a copy (or the same file read back after a reboot), which the page
    // cache holds in larger pieces.
    let bin = {
        let copy = dir.path().join("cargo-spirit");
        std::fs::copy(&bin, &copy).expect("copy the release binary");
        copy
    };
    let wasm = wat::parse_str(MODULE).expect("valid wat");
    let wasm_path = dir.path().join("counter.wasm");
    spirit_build::fs::write_atomic(&wasm_path, &wasm).expect("write wasm");

    // Installed, signed by a trusted key: `run NAME` checks the signature.
    let key = Key::generate().expect("randomness");
    spirit_build::registry::Registry::new(home.path())
        .trust(key.author())
        .expect("trust");
    // And a spirit of 2 MiB (its data), to show what `run NAME` pays per
    // byte: reading, hashing and checking the module and its cached code.
    let big = wat::parse_str(format!(
        r#"(module (memory (export "memory") 64) (data (i32.const 0) "{}")
            (func (export "run") (result i32) (i32.const 0)))"#,
        "a".repeat(BIG_BYTES)
    ))
    .expect("valid wat");
    for (name, wasm) in [("counter", &wasm), ("big", &big)] {
        let manifest = Manifest::for_module(name, "1.0.0".parse().expect("version"), wasm);
        let files = SpiritFiles::new(manifest, wasm.clone(), Some(&key));
        let package = dir.path().join(files.package_name());
        spirit_build::fs::write_atomic(&package, &files.to_package()).expect("write package");
        let status = Command::new(&bin)
            .args(["install", "-q"])
            .arg(&package)
            .env("VUDO_HOME", home.path())
            .status()
            .expect("install");
        assert!(status.success(), "install failed");
    }

    let s = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let file = wasm_path.to_string_lossy().into_owned();
    let mut cases = vec![
        Case {
            name: "cargo-spirit --version (floor)",
            program: bin.clone(),
            args: s(&["--version"]),
            samples: vec![],
        },
        Case {
            name: "cargo-spirit run FILE.wasm --invoke run",
            program: bin.clone(),
            args: s(&["run", "-q", &file, "--invoke", "run"]),
            samples: vec![],
        },
        Case {
            name: "cargo-spirit run NAME",
            program: bin.clone(),
            args: s(&["run", "-q", "counter"]),
            samples: vec![],
        },
    ];
    let big_case = Case {
        name: "cargo-spirit run NAME, a 2 MiB module",
        program: bin.clone(),
        args: s(&["run", "-q", "big"]),
        samples: vec![],
    };
    let wasmtime = wasmtime_cli();
    if let Some(wasmtime) = &wasmtime {
        let cwasm = dir.path().join("counter.cwasm");
        let status = Command::new(wasmtime)
            .arg("compile")
            .arg(&wasm_path)
            .arg("-o")
            .arg(&cwasm)
            .status()
            .expect("wasmtime compile");
        assert!(status.success(), "wasmtime compile failed");
        let version = Command::new(wasmtime)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let _ = writeln!(out, "wasmtime CLI: {version} ({})", wasmtime.display());
        cases.push(Case {
            name: "wasmtime --version (its floor)",
            program: wasmtime.clone(),
            args: s(&["--version"]),
            samples: vec![],
        });
        cases.push(Case {
            name: "wasmtime run --invoke run FILE.wasm",
            program: wasmtime.clone(),
            args: s(&["run", "--invoke", "run", &file]),
            samples: vec![],
        });
        cases.push(Case {
            name: "wasmtime run --allow-precompiled FILE.cwasm",
            program: wasmtime.clone(),
            args: s(&[
                "run",
                "--allow-precompiled",
                "--invoke",
                "run",
                &cwasm.to_string_lossy(),
            ]),
            samples: vec![],
        });
    } else {
        let _ = writeln!(
            out,
            "(no wasmtime CLI: `cargo install wasmtime-cli --version 48.0.8 --locked`, or set WASMTIME)"
        );
    }
    // Last, so that the indices above stay as they are.
    cases.push(big_case);
    // Warm-up: caches filled, binaries in the page cache.
    for case in &cases {
        for _ in 0..3 {
            run_once(&case.program, &case.args, home.path());
        }
    }
    interleave(&mut cases, ROUNDS, home.path());
    let floor = median(&cases[0]);
    let _ = writeln!(
        out,
        "\nwall time per process, median of {ROUNDS} interleaved rounds:"
    );
    let _ = writeln!(
        out,
        "  {:<46} {:>10}  {:>10}",
        "command", "time", "/ --version"
    );
    rows(&mut out, &cases, floor);
    breakdown(&mut out, home.path());
    compute(&mut out, &bin, wasmtime.as_deref(), dir.path(), home.path());
    // For profiling the same commands (`perf record`): keep the files.
    if std::env::var_os("SPIRIT_BENCH_KEEP").is_some() {
        let (home, dir) = (home.keep(), dir.keep());
        let _ = writeln!(
            out,
            "\nkept: VUDO_HOME={} (spirit `counter` installed), module in {}",
            home.display(),
            dir.display()
        );
    }
    if cases.len() == 7 {
        let ratio =
            |a: usize, b: usize| median(&cases[a]).as_secs_f64() / median(&cases[b]).as_secs_f64();
        let _ = writeln!(out);
        // The last two: each CLI against its own start-up.
        for (label, a, b) in [
            ("run FILE.wasm / wasmtime run FILE.wasm", 1, 4),
            ("run NAME / wasmtime run --allow-precompiled", 2, 5),
            ("run NAME / cargo-spirit --version", 2, 0),
            ("wasmtime run --allow-precompiled / --version", 5, 3),
        ] {
            let _ = writeln!(out, "  {:<46} {:.2}x", format!("{label}:"), ratio(a, b));
        }
    }
}

/// What `run NAME` pays beyond the process's start-up, step by step, in
/// process (median of 51 after a warm-up): the registry (resolve, then load:
/// read the files, hash the wasm, verify the signature), the sandbox
/// (engine with a pool of 32 slots, of 1, or none, with the ticker thread
/// of deadline checks; and as `run` makes it: no pool, no checks, no
/// ticker) and the cached code (read, MAC check, deserialize).
fn breakdown(out: &mut impl Write, home: &Path) {
    use spirit_build::registry::Registry;
    use spirit_build::sandbox::{Sandbox, SandboxConfig};

    let registry = Registry::new(home);
    let rounds = 51;
    let mut entry = None;
    let resolve = support::median_of(rounds, || {
        entry = Some(registry.resolve("counter", None).expect("resolve"));
    });
    let entry = entry.expect("resolved");
    let mut files = None;
    let load = support::median_of(rounds, || {
        files = Some(registry.load(&entry).expect("load"));
    });
    let files = files.expect("loaded");
    let both = support::median_of(rounds, || {
        std::hint::black_box(
            registry
                .resolve_and_load("counter", None)
                .expect("resolve and load"),
        );
    });
    let trusted = support::median_of(rounds, || {
        std::hint::black_box(spirit_build::trust::trusted_authors(home).expect("trusted authors"));
    });
    let sandbox_with = |max_instances: u32, pooling: bool, deadline_checks: bool| {
        support::median_of(rounds, || {
            std::hint::black_box(
                Sandbox::with_config(SandboxConfig {
                    max_instances,
                    pooling,
                    deadline_checks,
                    ..SandboxConfig::in_home(home)
                })
                .expect("sandbox"),
            );
        })
    };
    let pool32 = sandbox_with(32, true, true);
    let pool1 = sandbox_with(1, true, true);
    let no_pool = sandbox_with(1, false, true);
    let as_run = sandbox_with(1, false, false);
    let sandbox = Sandbox::with_config(SandboxConfig {
        max_instances: 1,
        ..SandboxConfig::in_home(home)
    })
    .expect("sandbox");
    let cached = support::median_of(rounds, || {
        std::hint::black_box(sandbox.load("counter", &files.wasm).expect("cached code"));
    });
    let _ = writeln!(
        out,
        "\nwhat `run NAME` pays beyond start-up, in process (median of {rounds}):"
    );
    for (name, d) in [
        ("registry: resolve NAME", resolve),
        ("registry: load (read, blake3, ed25519)", load),
        ("registry: both under one lock (as `run` does)", both),
        ("trusted.toml", trusted),
        ("sandbox, pool of 32 (engine, ticker thread)", pool32),
        ("sandbox, pool of 1", pool1),
        ("sandbox, no pool", no_pool),
        ("sandbox, no pool, no ticker (as `run` makes it)", as_run),
        ("cached code: read, MAC, deserialize", cached),
    ] {
        let _ = writeln!(out, "  {name:<46} {d:>10.2?}");
    }
}

/// Metering as a user meets it: the hashing loop (2,000 rounds, 131 MB)
/// run by each CLI, with the code cached, interleaved round by round (median
/// of 11): `wasmtime run` with no metering at all (the baseline) and with a
/// timeout (`-W timeout`, epoch checks), `cargo spirit run --metering time`
/// (no checks: a process alarm ends it) and `cargo spirit run` (fuel, the
/// default, with epoch checks for its timeout).
fn compute(out: &mut impl Write, bin: &Path, wasmtime: Option<&Path>, dir: &Path, home: &Path) {
    let Some(wasmtime) = wasmtime else {
        return;
    };
    let wasm = wat::parse_str(support::HASHING).expect("valid wat");
    let path = dir.join("hashing.wasm");
    spirit_build::fs::write_atomic(&path, &wasm).expect("write wasm");
    let file = path.to_string_lossy().into_owned();
    let s = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let rounds = "2000";
    let mut cases = vec![
        Case {
            name: "wasmtime run (no metering; baseline)",
            program: wasmtime.to_owned(),
            args: s(&["run", "--invoke", "sum", &file, rounds]),
            samples: vec![],
        },
        Case {
            name: "wasmtime run -W timeout=60s (epoch checks)",
            program: wasmtime.to_owned(),
            args: s(&["run", "-W", "timeout=60s", "--invoke", "sum", &file, rounds]),
            samples: vec![],
        },
        Case {
            name: "cargo-spirit run --metering time",
            program: bin.to_owned(),
            args: s(&[
                "run",
                "-q",
                &file,
                "--metering",
                "time",
                "--timeout",
                "60s",
                "--invoke",
                "sum",
                rounds,
            ]),
            samples: vec![],
        },
        Case {
            name: "cargo-spirit run (fuel, the default)",
            program: bin.to_owned(),
            args: s(&[
                "run",
                "-q",
                &file,
                "--fuel",
                "100000000000",
                "--timeout",
                "60s",
                "--invoke",
                "sum",
                rounds,
            ]),
            samples: vec![],
        },
    ];
    for case in &cases {
        run_once(&case.program, &case.args, home);
    }
    interleave(&mut cases, 11, home);
    let baseline = median(&cases[0]);
    let _ = writeln!(
        out,
        "\nmetering, the hashing loop (FNV-1a, 131 MB) per process, median of 11 interleaved rounds:"
    );
    rows(out, &cases, baseline);
}
