//! The registry at scale: 100,000 installed spirits against one, in the
//! same run.
//!
//! Two registries are set up through the library's API: one with a single
//! spirit, one with `SPIRIT_BENCH_SPIRITS` (default 100,000), installed with
//! `install_many` in batches of 10,000. Each operation is measured on both
//! and reported as the ratio large/one. In process (the library): one more
//! install, uninstall, resolving `NAME@REQ`, `search`, the first page of
//! `list`. As processes (the release `cargo-spirit` binary, when it has been
//! built): `run NAME` of a hello spirit from the precompiled cache, `info`,
//! `search`, `list --limit 50`, beside `cargo-spirit --version` (the
//! process's own start-up) measured in the same run.
//!
//! Run with:
//! `cargo build --release -p cargo-spirit && cargo bench -p spirit-build --bench registry`

mod support;

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::registry::{InstallOptions, Registry};
use spirit_build::sign::Key;
use spirit_sdk::abi::Capability;

const DEFAULT_SPIRITS: usize = 100_000;
const BATCH: usize = 10_000;

const HELLO: &str = r#"(module
    (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "Hello from hello!")
    (func (export "run") (drop (call $log (i32.const 2) (i32.const 16) (i32.const 17)))))"#;

const TRIVIAL: &str = r#"(module (memory (export "memory") 1) (func (export "run")))"#;

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

/// A registry of `count` spirits `s000000`… (plus nothing else), installed
/// in batches through `install_many`.
fn populate(out: &mut impl Write, registry: &Registry, key: &Key, count: usize) {
    let caps: [&[Capability]; 3] = [
        &[Capability::ActuatorLog],
        &[Capability::StorageRead],
        &[Capability::ActuatorLog, Capability::SensorTime],
    ];
    let start = Instant::now();
    for first in (0..count).step_by(BATCH) {
        let batch: Vec<SpiritFiles> = (first..count.min(first + BATCH))
            .map(|i| {
                spirit(
                    key,
                    &format!("s{i:06}"),
                    &format!("1.{}.0", i % 7),
                    TRIVIAL,
                    caps[i % caps.len()],
                )
            })
            .collect();
        registry
            .install_many(&batch, InstallOptions::default())
            .expect("batch install");
    }
    let index = spirit_build::home::registry_index(registry.home());
    let _ = writeln!(
        out,
        "set-up: {count} spirits installed in batches of {BATCH} in {:.2?} (index.redb: {} KiB)",
        start.elapsed(),
        std::fs::metadata(&index)
            .map(|m| m.len() / 1024)
            .unwrap_or(0)
    );
}

/// The in-process figures of one registry.
struct InProcess {
    install: Duration,
    uninstall: Duration,
    resolve: Duration,
    search: Duration,
    list_page: Duration,
}

fn in_process(registry: &Registry, key: &Key, middle: &str, rounds: usize) -> InProcess {
    let mut n = 0;
    let install = support::median_of(rounds, || {
        n += 1;
        let one = spirit(key, &format!("extra{n}"), "1.0.0", TRIVIAL, &[]);
        registry
            .install(&one, InstallOptions::default())
            .expect("install");
    });
    let mut m = 0;
    let uninstall = support::median_of(rounds, || {
        m += 1;
        registry
            .uninstall(&format!("extra{m}"), None)
            .expect("uninstall");
    });
    let resolve = support::median_of(rounds, || {
        black_box(registry.resolve(middle, Some("^1")).expect("resolve"));
    });
    let search = support::median_of(rounds, || {
        // Matches one name of either registry: its text is read for every
        // name, its entries decoded for one.
        black_box(registry.search(middle).expect("search"));
    });
    let list_page = support::median_of(rounds, || {
        black_box(registry.list_page(0, 50).expect("list"));
    });
    InProcess {
        install,
        uninstall,
        resolve,
        search,
        list_page,
    }
}

fn main() {
    let spirits: usize = std::env::var("SPIRIT_BENCH_SPIRITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_SPIRITS);
    let mut out = std::io::stdout().lock();
    let key = Key::generate().expect("randomness");
    let small_home = tempfile::tempdir().expect("temp dir");
    let large_home = tempfile::tempdir().expect("temp dir");
    let small = Registry::new(small_home.path());
    let large = Registry::new(large_home.path());
    for registry in [&small, &large] {
        registry.trust(key.author()).expect("trust");
    }
    populate(&mut out, &small, &key, 1);
    populate(&mut out, &large, &key, spirits);
    let large_middle = format!("s{:06}", spirits / 2);

    let rounds = 15;
    // Interleaved, so that the machine's load falls on both alike.
    let one = in_process(&small, &key, "s000000", rounds);
    let many = in_process(&large, &key, &large_middle, rounds);
    let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
    let _ = writeln!(
        out,
        "\nin process (median of {rounds}): 1 installed | {spirits} installed | ratio"
    );
    for (name, a, b) in [
        ("install one more", one.install, many.install),
        ("uninstall one", one.uninstall, many.uninstall),
        ("resolve NAME@^1", one.resolve, many.resolve),
        ("search NAME", one.search, many.search),
        ("list, first page of 50", one.list_page, many.list_page),
    ] {
        let _ = writeln!(
            out,
            "  {name:<24} {a:>10.2?} | {b:>10.2?} | {:.2}x",
            ratio(a, b)
        );
    }

    let Some(bin) = support::release_binary() else {
        let _ = writeln!(
            out,
            "\n(no release cargo-spirit binary: run `cargo build --release -p cargo-spirit` first for process timings)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let hello = spirit(&key, "hello", "1.0.0", HELLO, &[Capability::ActuatorLog]);
    let hello_pkg = dir.path().join("hello-1.0.0.spirit");
    spirit_build::fs::write_atomic(&hello_pkg, &hello.to_package()).expect("write package");
    for home in [small_home.path(), large_home.path()] {
        // The op compiles ahead of time into the code cache.
        let status = Command::new(&bin)
            .arg("install")
            .arg(&hello_pkg)
            .env("VUDO_HOME", home)
            .stderr(Stdio::null())
            .status()
            .expect("install");
        assert!(status.success());
    }
    let rounds = 31;
    let mut rows: Vec<(String, Duration, Duration)> = Vec::new();
    let search_large = large_middle.clone();
    for (name, args_small, args_large) in [
        ("--version", vec!["--version"], vec!["--version"]),
        (
            "run hello (cached)",
            vec!["run", "hello", "-q"],
            vec!["run", "hello", "-q"],
        ),
        (
            "info NAME@^1",
            vec!["info", "s000000@^1"],
            vec!["info", "__middle__"],
        ),
        (
            "search NAME",
            vec!["search", "s000000"],
            vec!["search", "__search__"],
        ),
        (
            "list --limit 50",
            vec!["list", "--limit", "50"],
            vec!["list", "--limit", "50"],
        ),
    ] {
        let info_large = format!("{large_middle}@^1");
        let large_args: Vec<&str> = args_large
            .iter()
            .map(|a| match *a {
                "__middle__" => info_large.as_str(),
                "__search__" => search_large.as_str(),
                a => a,
            })
            .collect();
        let a = process(&bin, small_home.path(), &args_small, rounds);
        let b = process(&bin, large_home.path(), &large_args, rounds);
        rows.push((name.to_owned(), a, b));
    }
    let version = rows[0].1;
    let _ = writeln!(
        out,
        "\nprocesses (release binary, median of {rounds}): 1 installed | {spirits} installed | ratio | large / --version"
    );
    for (name, a, b) in &rows {
        let _ = writeln!(
            out,
            "  {name:<24} {a:>10.2?} | {b:>10.2?} | {:.2}x | {:.2}x",
            ratio(*a, *b),
            b.as_secs_f64() / version.as_secs_f64()
        );
    }
}
