//! Spirits calling spirits (issue 16), with real crates built, signed,
//! packed and installed by the binary: pinned resolution, tampering,
//! uninstalling, capabilities, cycles, fuel and storage.
//!
//! The fixtures are built once: `callee16` 1.0.0, `sneaky16` (another
//! author, declares `sensor_time`), `caller16` 0.1.0 (pinned to callee
//! 1.0.0), `callee16` 1.1.0 (which depends on `caller16` 0.1.0) and
//! `caller16` 0.2.0 (pinned to callee 1.1.0), as packages in one
//! directory. Each test installs them into its own `VUDO_HOME`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use spirit_build::sign::Key;

use crate::support::{cargo_spirit, ensure_wasm_target};

const CALLEE: &str = r#"#![cfg_attr(not(test), no_std)]
use spirit_sdk::{HostError, input, output, spirits, storage};

/// `callee <version>: <input>`.
#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    output::write(b"callee ")?;
    output::write(env!("CARGO_PKG_VERSION").as_bytes())?;
    output::write(b": ")?;
    let mut buf = [0u8; 256];
    let n = input::read(0, &mut buf)?;
    output::write(&buf[..n])
}

/// Writes `k` = `callee` in its own storage.
#[unsafe(no_mangle)]
pub extern "C" fn store() -> i32 {
    if storage::set("k", "callee").is_ok() { 0 } else { 1 }
}

/// Outputs its own `k`.
#[unsafe(no_mangle)]
pub extern "C" fn read() -> i32 {
    let mut buf = [0u8; 64];
    match storage::get_into("k", &mut buf) {
        Ok(Some(n)) => if output::write(&buf[..n]).is_ok() { 0 } else { 1 },
        _ => 2,
    }
}

/// Never returns.
#[unsafe(no_mangle)]
pub extern "C" fn spin() -> i32 {
    let mut n: u64 = 0;
    loop {
        n = core::hint::black_box(n.wrapping_add(1));
    }
}

/// Calls `caller16` back and outputs why that failed.
#[unsafe(no_mangle)]
pub extern "C" fn back() -> i32 {
    let mut out = [0u8; 256];
    match spirits::call("caller16", b"callee16 - again", &mut out) {
        Ok(_) => 0,
        Err(_) => {
            let mut why = [0u8; 1024];
            let n = spirits::last_error(&mut why).min(why.len());
            let _ = output::write(&why[..n]);
            0
        }
    }
}
"#;

const CALLER: &str = r#"#![cfg_attr(not(test), no_std)]
use spirit_sdk::{HostError, input, output, spirits, storage, time};

/// Input `TARGET EXPORT PAYLOAD` (`-` for the entry): calls TARGET and
/// writes its output, or `error: <why>`; then ` [caller k=<its own k>]`.
#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    let mut line = [0u8; 256];
    let n = input::read(0, &mut line)?;
    let mut words = line[..n].splitn(3, |b| *b == b' ');
    let target = words.next().unwrap_or_default();
    let export = words.next().unwrap_or_default();
    let payload = words.next().unwrap_or_default();
    let target = core::str::from_utf8(target).unwrap_or("");
    let export = match core::str::from_utf8(export).unwrap_or("") {
        "-" => "",
        e => e,
    };
    storage::set("k", "caller")?;
    let mut out = [0u8; 1024];
    match spirits::call_export(target, export, payload, &mut out) {
        Ok(m) => output::write(&out[..m])?,
        Err(_) => {
            let mut why = [0u8; 1024];
            let m = spirits::last_error(&mut why).min(why.len());
            output::write(b"error: ")?;
            output::write(&why[..m])?;
        }
    }
    let mut mine = [0u8; 64];
    let m = storage::get_into("k", &mut mine)?.unwrap_or(0);
    output::write(b" [caller k=")?;
    output::write(&mine[..m])?;
    output::write(b"]")
}

/// What only the caller may do: read the clock.
#[unsafe(no_mangle)]
pub extern "C" fn clock() -> i32 {
    if time::now().is_ok() { 0 } else { 1 }
}
"#;

const SNEAKY: &str = r#"#![cfg_attr(not(test), no_std)]
use spirit_sdk::{HostError, output, time};

#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    let _ = time::now()?;
    output::write(b"read the clock")
}
"#;

/// A spirit crate's `Cargo.toml`.
fn manifest(name: &str, version: &str, capabilities: &str, dependencies: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "{version}"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
spirit-sdk = "0.1"

[package.metadata.spirit]
capabilities = [{capabilities}]

[package.metadata.spirit.dependencies]
{dependencies}
"#
    )
}

/// The built fixtures.
struct Fixtures {
    _tmp: tempfile::TempDir,
    /// Every package, in one directory.
    packages: PathBuf,
    /// The authors to trust.
    authors: [String; 2],
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        ensure_wasm_target();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let packages = root.join("packages");
        let (key, other) = (Key::generate().unwrap(), Key::generate().unwrap());
        let authors = [key.author().to_string(), other.author().to_string()];
        trust(root, &authors);
        let write = |name: &str, version: &str, caps: &str, deps: &str, lib: &str| {
            let dir = root.join(name);
            std::fs::create_dir_all(dir.join("src")).unwrap();
            std::fs::write(dir.join("Cargo.toml"), manifest(name, version, caps, deps)).unwrap();
            std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
            dir
        };
        let install_and_pack = |dir: &Path, key: &Key| {
            cargo_spirit(root)
                .env("SPIRIT_SIGNING_KEY", key.to_hex())
                .arg("install")
                .arg(dir)
                .arg("-q")
                .assert()
                .success();
            cargo_spirit(root)
                .arg("pack")
                .arg(dir)
                .arg("--release")
                .arg("--out-dir")
                .arg(&packages)
                .arg("-q")
                .assert()
                .success();
        };
        std::fs::create_dir_all(&packages).unwrap();
        let callee_caps = r#""cross_sandbox_call", "storage_read", "storage_write""#;
        let callee = write("callee16", "1.0.0", callee_caps, "", CALLEE);
        install_and_pack(&callee, &key);
        let sneaky = write("sneaky16", "0.1.0", r#""sensor_time""#, "", SNEAKY);
        install_and_pack(&sneaky, &other);
        let caller_caps = r#""cross_sandbox_call", "sensor_time", "storage_read", "storage_write""#;
        let caller_deps = "callee16 = \"^1\"\nsneaky16 = \"^0.1\"\n";
        let caller = write("caller16", "0.1.0", caller_caps, caller_deps, CALLER);
        install_and_pack(&caller, &key);
        write(
            "callee16",
            "1.1.0",
            callee_caps,
            "caller16 = \"=0.1.0\"\n",
            CALLEE,
        );
        install_and_pack(&callee, &key);
        write("caller16", "0.2.0", caller_caps, caller_deps, CALLER);
        install_and_pack(&caller, &key);
        Fixtures {
            _tmp: tmp,
            packages,
            authors,
        }
    })
}

/// `VUDO_HOME` (`dir/.vudo`, as `cargo_spirit` sets it) trusting `authors`.
fn trust(dir: &Path, authors: &[String]) {
    let home = dir.join(".vudo");
    std::fs::create_dir_all(&home).unwrap();
    let list: Vec<String> = authors.iter().map(|a| format!("\"{a}\"")).collect();
    std::fs::write(
        home.join("trusted.toml"),
        format!("authors = [{}]\n", list.join(", ")),
    )
    .unwrap();
}

/// A fresh `VUDO_HOME` with every fixture installed.
fn installed() -> tempfile::TempDir {
    let fixtures = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    trust(tmp.path(), &fixtures.authors);
    cargo_spirit(tmp.path())
        .arg("install")
        .arg(&fixtures.packages)
        .arg("-q")
        .assert()
        .success();
    tmp
}

/// `run SPEC --input-text INPUT`: its standard output and error, and
/// whether it succeeded.
fn run(dir: &Path, spec: &str, input: &str, extra: &[&str]) -> (String, String, bool) {
    let output = cargo_spirit(dir)
        .args(["run", spec, "--input-text", input])
        .args(extra)
        .output()
        .unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

#[test]
fn a_caller_keeps_calling_the_version_it_was_built_against() {
    let tmp = installed();
    let p = tmp.path();
    let (out, err, ok) = run(p, "caller16@=0.1.0", "callee16 - hi", &["-v"]);
    assert!(ok, "{err}");
    // 1.1.0 is installed too; 0.1.0 was built against 1.0.0.
    assert_eq!(out, "callee 1.0.0: hi [caller k=caller]");
    let called = err
        .lines()
        .find(|l| l.trim_start().starts_with("Called"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        called.contains("callee16@1.0.0 run: ") && called.contains(" units of fuel in "),
        "{called}"
    );
    // Rebuilt (0.2.0) against what was installed then: 1.1.0.
    let (out, _, ok) = run(p, "caller16@=0.2.0", "callee16 - hi", &[]);
    assert!(ok);
    assert_eq!(out, "callee 1.1.0: hi [caller k=caller]");

    let info = |spec: &str| {
        let out = cargo_spirit(p).args(["info", spec]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let caller = info("caller16@=0.1.0");
    assert!(
        caller.contains("dependencies: callee16@1.0.0, sneaky16@0.1.0\n")
            && caller.contains("dependents:   callee16@1.1.0\n"),
        "{caller}"
    );
    assert!(
        info("callee16@=1.0.0").contains("dependents:   caller16@0.1.0\n"),
        "{}",
        info("callee16@=1.0.0")
    );
}

#[test]
fn install_needs_the_pinned_dependencies() {
    let fixtures = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    trust(tmp.path(), &fixtures.authors);
    let output = cargo_spirit(tmp.path())
        .arg("install")
        .arg(fixtures.packages.join("caller16-0.1.0.spirit"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains(
            "error: spirit `caller16` depends on `callee16@1.0.0`, which is not installed\nhelp: install `callee16@1.0.0` first"
        ),
        "{err}"
    );
}

#[test]
fn a_changed_dependency_is_refused() {
    let tmp = installed();
    let wasm = tmp
        .path()
        .join(".vudo/registry/spirits/callee16/1.0.0/callee16.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.push(0);
    std::fs::write(&wasm, bytes).unwrap();
    let (out, _, ok) = run(tmp.path(), "caller16@=0.1.0", "callee16 - hi", &[]);
    assert!(ok);
    assert!(
        out.starts_with(
            "error: cannot call `callee16`: installed spirit `callee16@1.0.0` was changed on disk: wasm hash mismatch"
        ),
        "{out}"
    );
}

#[test]
fn an_uninstalled_dependency_fails_naming_it() {
    let tmp = installed();
    let p = tmp.path();
    let refused = cargo_spirit(p)
        .args(["uninstall", "callee16@1.0.0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8(refused.stderr).unwrap(),
        "error: `callee16` is needed by an installed spirit: caller16@0.1.0\nhelp: uninstall it first, or pass `--force` (their calls to `callee16` will fail)\n"
    );
    let forced = cargo_spirit(p)
        .args(["uninstall", "callee16@1.0.0", "--force"])
        .output()
        .unwrap();
    assert!(forced.status.success());
    assert!(
        String::from_utf8(forced.stderr).unwrap().contains(
            "warning: caller16@0.1.0 depends on `callee16`: its calls to it fail until it is installed again"
        )
    );
    let (out, _, _) = run(p, "caller16@=0.1.0", "callee16 - hi", &[]);
    assert!(
        out.starts_with("error: cannot call `callee16`: `callee16@1.0.0` is not installed"),
        "{out}"
    );
}

#[test]
fn a_callee_never_gets_its_callers_capabilities() {
    let tmp = installed();
    let p = tmp.path();
    // The caller may read the clock; `sneaky16` declares it, but its author
    // is trusted no more, so it is granted nothing.
    let untrust = cargo_spirit(p)
        .args(["untrust", &fixtures().authors[1]])
        .output()
        .unwrap();
    assert!(untrust.status.success());
    let (out, _, ok) = run(p, "caller16@=0.1.0", "sneaky16 - x", &[]);
    assert!(ok);
    assert!(
        out.starts_with(
            "error: `sneaky16@0.1.0` was refused: it is granted only what its own manifest declares"
        ) && out.contains("host_time_now")
            && out.contains("sensor_time"),
        "{out}"
    );
    let clock = cargo_spirit(p)
        .args(["run", "caller16@=0.1.0", "--invoke", "clock", "-q"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(clock.stdout).unwrap(), "0\n");
}

#[test]
fn cycles_are_refused() {
    let tmp = installed();
    // 0.2.0 → callee 1.1.0 → caller16 0.1.0: a cycle by name.
    let (out, _, ok) = run(tmp.path(), "caller16@=0.2.0", "callee16 back x", &[]);
    assert!(ok);
    assert_eq!(
        out,
        "calling `caller16` from `callee16` would be a cycle (`caller16` → `callee16` → `caller16`): a spirit cannot call itself, directly or through others [caller k=caller]"
    );
    // Not declared: refused as such.
    let (out, _, _) = run(tmp.path(), "caller16@=0.1.0", "caller16 - x", &[]);
    assert!(
        out.starts_with("error: `caller16` is not a dependency of `caller16`"),
        "{out}"
    );
}

#[test]
fn running_out_of_fuel_inside_the_callee_names_it() {
    let tmp = installed();
    let (_, err, ok) = run(
        tmp.path(),
        "caller16@=0.1.0",
        "callee16 spin x",
        &["--fuel", "20000000"],
    );
    assert!(!ok);
    assert!(
        err.contains(
            "error: spirit `caller16` failed: out of fuel in `callee16@1.0.0`, called by `caller16`, after it used "
        ),
        "{err}"
    );
}

#[test]
fn storage_is_separate_per_spirit() {
    let tmp = installed();
    let p = tmp.path();
    let (out, _, ok) = run(p, "caller16@=0.1.0", "callee16 store x", &[]);
    assert!(ok);
    assert_eq!(out, " [caller k=caller]");
    let (out, _, ok) = run(p, "caller16@=0.1.0", "callee16 read x", &[]);
    assert!(ok);
    assert_eq!(out, "callee [caller k=caller]");
}

#[test]
fn the_pipeline_template_calls_the_echo_template() {
    ensure_wasm_target();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let key = Key::generate().unwrap();
    trust(p, &[key.author().to_string()]);
    for (name, template) in [("echo", "echo"), ("pipeline16", "pipeline")] {
        cargo_spirit(p)
            .args(["new", name, "--template", template, "-q"])
            .assert()
            .success();
    }
    cargo_spirit(p)
        .env("SPIRIT_SIGNING_KEY", key.to_hex())
        .args(["install", "echo", "-q"])
        .assert()
        .success();
    let output = cargo_spirit(&p.join("pipeline16"))
        .env("VUDO_HOME", p.join(".vudo"))
        .args(["run", "-v", "--input-text", "hello, spirit"])
        .output()
        .unwrap();
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{err}");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "HELLO, SPIRIT");
    assert!(err.contains("Called echo@0.1.0 run: "), "{err}");
}

/// An upgrade keeps the older version that installed spirits pin: their
/// calls still reach the bytes they were built against, and the output says
/// so and how to remove it later.
#[test]
fn an_upgrade_keeps_the_versions_others_pin() {
    let fixtures = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    trust(p, &fixtures.authors);
    let package =
        |name: &str, version: &str| fixtures.packages.join(format!("{name}-{version}.spirit"));
    for (name, version) in [
        ("callee16", "1.0.0"),
        ("sneaky16", "0.1.0"),
        ("caller16", "0.1.0"),
    ] {
        cargo_spirit(p)
            .arg("install")
            .arg(package(name, version))
            .arg("-q")
            .assert()
            .success();
    }
    cargo_spirit(p)
        .args(["upgrade", "callee16"])
        .arg(package("callee16", "1.1.0"))
        .assert()
        .success()
        .stderr_eq(snapbox::str![[r#"
...
    Upgraded callee16 1.0.0 → 1.1.0
        Kept callee16 v1.0.0 (pinned by caller16@0.1.0; `cargo spirit uninstall callee16@1.0.0` once they no longer need it)

"#]]);
    let (out, err, ok) = run(p, "caller16", "callee16 - hi", &[]);
    assert!(ok, "{err}");
    assert_eq!(out, "callee 1.0.0: hi [caller k=caller]");
    // Both versions are installed.
    let listed = cargo_spirit(p).arg("list").output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("callee16") && listed.contains("1.0.0") && listed.contains("1.1.0"),
        "{listed}"
    );
}
