//! The registry at scale: 10,000 installed spirits.
//!
//! In process (the library): `list`, `search`, resolving `NAME@REQ`, and one
//! more install (without and with the ahead-of-time compile). As processes
//! (the release `cargo-spirit` binary, when it has been built): the same
//! commands and `cargo spirit run NAME` of a hello spirit from the
//! precompiled cache, against the baseline of `cargo-spirit --version`
//! measured in the same run.
//!
//! Run with:
//! `cargo build --release -p cargo-spirit && cargo bench -p spirit-build --bench registry`

mod support;

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::registry::{InstallOptions, Registry};
use spirit_build::sandbox::{Sandbox, SandboxConfig};
use spirit_build::sign::Key;
use spirit_sdk::abi::Capability;

const SPIRITS: usize = 10_000;

const HELLO: &str = r#"(module
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "Hello from hello!")
    (func (export "run") (drop (call $log (i32.const 2) (i32.const 16) (i32.const 17)))))"#;

fn spirit(
    key: &Key,
    name: &str,
    version: &str,
    wat: &str,
    capabilities: &[Capability],
) -> SpiritFiles {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let mut manifest = Manifest::for_module(name, version.parse().expect("version"), &wasm);
    manifest.description = Some(format!("benchmark spirit {name}"));
    manifest.capabilities = capabilities.to_vec();
    SpiritFiles::new(manifest, wasm, Some(key))
}

fn process(bin: &Path, home: &Path, args: &[&str], rounds: usize) -> Duration {
    support::median_of(rounds, || {
        let status = Command::new(bin)
            .args(args)
            .env("VUDO_HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("runs");
        assert!(status.success(), "`cargo-spirit {}` failed", args.join(" "));
    })
}

fn main() {
    let mut out = std::io::stdout().lock();
    let home = tempfile::tempdir().expect("temp dir");
    let registry = Registry::new(home.path());
    let key = Key::generate().expect("randomness");
    registry.trust(key.author()).expect("trust");

    let trivial = r#"(module (memory (export "memory") 1) (func (export "run")))"#;
    let caps: [&[Capability]; 3] = [
        &[Capability::ActuatorLog],
        &[Capability::StorageRead],
        &[Capability::ActuatorLog, Capability::SensorTime],
    ];
    let all: Vec<SpiritFiles> = (0..SPIRITS)
        .map(|i| {
            spirit(
                &key,
                &format!("s{i:05}"),
                &format!("1.{}.0", i % 7),
                trivial,
                caps[i % caps.len()],
            )
        })
        .collect();
    let start = Instant::now();
    registry
        .install_many(&all, InstallOptions::default())
        .expect("bulk install");
    let _ = writeln!(
        out,
        "set-up: {SPIRITS} spirits installed in one batch in {:.2?}",
        start.elapsed()
    );
    let index = spirit_build::home::registry_index(home.path());
    let _ = writeln!(
        out,
        "index.json: {} KiB",
        std::fs::metadata(&index)
            .map(|m| m.len() / 1024)
            .unwrap_or(0)
    );

    let rounds = 15;
    let list = support::median_of(rounds, || {
        black_box(registry.list().expect("list"));
    });
    let search = support::median_of(rounds, || {
        black_box(registry.search("s0999").expect("search"));
    });
    let resolve = support::median_of(rounds, || {
        black_box(registry.resolve("s05000", Some("^1")).expect("resolve"));
    });
    let mut n = 0;
    let install = support::median_of(rounds, || {
        n += 1;
        let one = spirit(&key, &format!("extra{n}"), "1.0.0", trivial, &[]);
        registry
            .install(&one, InstallOptions::default())
            .expect("install");
    });
    let sandbox = Sandbox::with_config(SandboxConfig {
        pooling: false,
        ..SandboxConfig::in_memory()
    })
    .expect("sandbox");
    let hello = spirit(&key, "hello", "1.0.0", HELLO, &[Capability::ActuatorLog]);
    let aot = support::median_of(rounds, || {
        black_box(sandbox.load("hello", &hello.wasm).expect("compiles"));
    });
    let _ = writeln!(
        out,
        "\nin process, with {SPIRITS} installed (median of {rounds}):"
    );
    let _ = writeln!(out, "  list                    {list:>10.2?}");
    let _ = writeln!(out, "  search \"s0999\"          {search:>10.2?}");
    let _ = writeln!(out, "  resolve s05000@^1       {resolve:>10.2?}");
    let _ = writeln!(
        out,
        "  install one more        {install:>10.2?}  (+ AOT compile of hello {aot:.2?})"
    );

    // The release binary sits beside this benchmark's directory when built.
    let bin: PathBuf = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|d| d.join("cargo-spirit")))
        .filter(|b| b.is_file())
        .unwrap_or_default();
    if bin.as_os_str().is_empty() {
        let _ = writeln!(
            out,
            "\n(no release cargo-spirit binary: run `cargo build --release -p cargo-spirit` first for process timings)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let hello_pkg = dir.path().join("hello-1.0.0.spirit");
    spirit_build::fs::write_atomic(&hello_pkg, &hello.to_package()).expect("write package");
    let status = Command::new(&bin)
        .arg("install")
        .arg(&hello_pkg)
        .env("VUDO_HOME", home.path())
        .stderr(Stdio::null())
        .status()
        .expect("install");
    assert!(status.success());
    let rounds = 21;
    let h = home.path();
    let version = process(&bin, h, &["--version"], rounds);
    let list = process(&bin, h, &["list", "--json"], rounds);
    let search = process(&bin, h, &["search", "s0999"], rounds);
    let info = process(&bin, h, &["info", "s05000@^1"], rounds);
    let run = process(&bin, h, &["run", "hello", "-q"], rounds);
    let mut m = 0;
    let install = support::median_of(rounds, || {
        m += 1;
        let one = spirit(&key, &format!("proc{m}"), "1.0.0", trivial, &[]);
        let pkg = dir.path().join(one.package_name());
        spirit_build::fs::write_atomic(&pkg, &one.to_package()).expect("write package");
        let status = Command::new(&bin)
            .args(["install", "-q"])
            .arg(&pkg)
            .env("VUDO_HOME", h)
            .status()
            .expect("install");
        assert!(status.success());
    });
    let ratio = |d: Duration| d.as_secs_f64() / version.as_secs_f64();
    let _ = writeln!(
        out,
        "\nprocesses (release binary, median of {rounds}; baseline `cargo-spirit --version`):"
    );
    let _ = writeln!(out, "  --version (baseline)    {version:>10.2?}");
    let _ = writeln!(
        out,
        "  list --json             {list:>10.2?}  {:.1}x",
        ratio(list)
    );
    let _ = writeln!(
        out,
        "  search s0999            {search:>10.2?}  {:.1}x",
        ratio(search)
    );
    let _ = writeln!(
        out,
        "  info s05000@^1          {info:>10.2?}  {:.1}x",
        ratio(info)
    );
    let _ = writeln!(
        out,
        "  install one more (+AOT) {install:>10.2?}  {:.1}x",
        ratio(install)
    );
    let _ = writeln!(
        out,
        "  run hello (cached)      {run:>10.2?}  {:.1}x",
        ratio(run)
    );
}
