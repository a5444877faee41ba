//! Shared fixtures: the binary, temporary spirit crates, and a shared target
//! directory so each dependency is compiled once per test run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use snapbox::cmd::Command;

/// The binary under test.
pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cargo-spirit"))
}

/// The target directory every test spirit builds into.
pub(crate) fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("spirits")
}

/// `cargo-spirit` with a clean, predictable environment: no colour, the
/// shared target directory, and a private `VUDO_HOME`.
pub(crate) fn cargo_spirit(dir: &Path) -> Command {
    Command::new(bin())
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("VUDO_HOME", dir.join(".vudo"))
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("SPIRIT_SDK_PATH")
}

/// Makes sure the wasm target is installed before tests build in parallel,
/// so that at most one `rustup target add` runs (cargo-spirit runs it
/// itself when the target is missing; the first build here does).
pub(crate) fn ensure_wasm_target() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        cargo_spirit(tmp.path())
            .args(["new", "warmup"])
            .assert()
            .success();
        cargo_spirit(&tmp.path().join("warmup"))
            .arg("build")
            .assert()
            .success();
    });
}

/// A new spirit crate `name` from `template` in a fresh temporary directory.
pub(crate) fn new_spirit(name: &str, template: &str) -> (tempfile::TempDir, PathBuf) {
    ensure_wasm_target();
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", name, "--template", template])
        .assert()
        .success();
    let dir = tmp.path().join(name);
    (tmp, dir)
}

/// Where `cargo spirit build` puts a spirit's artifacts.
pub(crate) fn artifact_dir(profile: &str, name: &str) -> PathBuf {
    shared_target().join("spirit").join(profile).join(name)
}

/// A `.wasm` file written from WebAssembly text.
pub(crate) fn wasm_file(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

/// `--allow` for every capability that has host functions: for tests of
/// what the host does with calls, not of the policy.
pub(crate) const ALLOW_ALL: [&str; 12] = [
    "--allow",
    "sensor_time",
    "--allow",
    "sensor_random",
    "--allow",
    "actuator_log",
    "--allow",
    "storage_read",
    "--allow",
    "storage_write",
    "--allow",
    "storage_delete",
];
