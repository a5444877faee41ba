//! Building in a workspace: two spirits and an ordinary crate, selected
//! with cargo's flags; and a spirit with crates.io dependencies.

use std::path::Path;

use snapbox::str;

use crate::support::{artifact_dir, cargo_spirit, ensure_wasm_target};

/// A workspace with the spirits `ws-alpha` and `ws-beta` and the ordinary
/// library `ws-plain`.
fn workspace() -> tempfile::TempDir {
    ensure_wasm_target();
    let tmp = tempfile::tempdir().unwrap();
    for name in ["ws-alpha", "ws-beta"] {
        cargo_spirit(tmp.path())
            .args(["new", name])
            .assert()
            .success();
        // Profiles belong to the workspace root.
        let manifest = tmp.path().join(name).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let text = &text[..text.find("# Spirits are shipped small").unwrap()];
        std::fs::write(&manifest, text).unwrap();
    }
    let plain = tmp.path().join("ws-plain");
    std::fs::create_dir_all(plain.join("src")).unwrap();
    std::fs::write(
        plain.join("Cargo.toml"),
        "[package]\nname = \"ws-plain\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(
        plain.join("src/lib.rs"),
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"ws-alpha\", \"ws-beta\", \"ws-plain\"]\n",
    )
    .unwrap();
    tmp
}

fn built(name: &str) -> bool {
    artifact_dir("debug", name).join("manifest.toml").exists()
}

fn clean(names: &[&str]) {
    for name in names {
        let _ = std::fs::remove_dir_all(artifact_dir("debug", name));
    }
}

#[test]
fn a_workspace_builds_what_is_selected() {
    let tmp = workspace();
    let root = tmp.path();
    clean(&["ws-alpha", "ws-beta"]);

    cargo_spirit(root)
        .args(["build", "-p", "ws-alpha"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Built spirit `ws-alpha` v0.1.0 in [..]/spirit/debug/ws-alpha

"#]]);
    assert!(built("ws-alpha") && !built("ws-beta"));

    cargo_spirit(root)
        .args(["build", "--workspace", "--exclude", "ws-alpha"])
        .assert()
        .success();
    assert!(built("ws-beta"));

    // The virtual manifest: every spirit, and the library is left alone.
    cargo_spirit(root)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
    Finished `dev` profile [..]
       Fresh spirit `ws-alpha` v0.1.0
       Fresh spirit `ws-beta` v0.1.0

"#]]);
    cargo_spirit(root)
        .args(["build", "--workspace"])
        .assert()
        .success();

    // From inside a member, that member.
    cargo_spirit(&root.join("ws-beta"))
        .args(["build", "-q", "--message-format", "json"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
...
{"reason":"spirit-artifact","name":"ws-beta",[..]}

"#]]);
}

#[test]
fn selecting_a_package_that_is_not_a_spirit_says_why() {
    let tmp = workspace();
    cargo_spirit(tmp.path())
        .args(["build", "-p", "ws-plain"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: package `ws-plain` is not a spirit: it has no `cdylib` library target
help: a spirit has `crate-type = ["cdylib"]` under `[lib]` and a `[package.metadata.spirit]` table (see `cargo spirit new` for one)

"#]]);
    cargo_spirit(tmp.path())
        .args(["build", "-p", "ws-alfa"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: package `ws-alfa` is not in the workspace at `[..]`
help: did you mean `ws-alpha`? accepted: `ws-alpha`, `ws-beta`, `ws-plain`

"#]]);
    cargo_spirit(tmp.path())
        .args(["build", "--exclude", "ws-beta"])
        .assert()
        .code(2);
}

/// A spirit that parses JSON with serde_json (no_std + alloc, with a bump
/// allocator, since spirit-sdk brings none) and formats with itoa.
fn write_deps_spirit(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spirit-sdk");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "deps-json"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
itoa = "1"
serde_json = {{ version = "1", default-features = false, features = ["alloc"] }}
spirit-sdk = {{ path = {:?} }}

[package.metadata.spirit]
capabilities = ["actuator_log"]
"#,
            sdk.canonicalize().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        include_str!("../../benches/build/json-spirit/src/lib.rs"),
    )
    .unwrap();
}

#[test]
fn a_spirit_with_crates_io_dependencies_builds_and_runs() {
    ensure_wasm_target();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deps-json");
    write_deps_spirit(&dir);
    cargo_spirit(&dir)
        .args(["run", "--release"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
[..] spirit `deps-json` v0.1.0[..]
     Running spirit `deps-json`
[INFO deps-json] 42

"#]]);
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"serde_json\"") && lock.contains("name = \"itoa\""));
}

#[test]
fn a_spirit_at_a_workspace_root_is_built_alone() {
    ensure_wasm_target();
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "ws-root"])
        .assert()
        .success();
    let root = tmp.path().join("ws-root");
    // A host-only member that does not compile for wasm, and that cargo's
    // own default (`default-members`) would build.
    let host = root.join("host-only");
    std::fs::create_dir_all(host.join("src")).unwrap();
    std::fs::write(
        host.join("Cargo.toml"),
        "[package]\nname = \"host-only\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(
        host.join("src/lib.rs"),
        "#[cfg(target_arch = \"wasm32\")]\ncompile_error!(\"host only\");\n",
    )
    .unwrap();
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[workspace]\nmembers = [\"host-only\"]\ndefault-members = [\".\", \"host-only\"]\n"),
    )
    .unwrap();
    cargo_spirit(&root)
        .arg("build")
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
       Built spirit `ws-root` v0.1.0 in [..]

"#]]);
}

#[test]
fn sandbox_tests_run_for_each_selected_spirit() {
    let tmp = workspace();
    let root = tmp.path();
    let results = |args: &[&str]| {
        let output = cargo_spirit(root)
            .arg("test")
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (stdout.matches("test result: ok.").count(), stderr)
    };
    // Every spirit of the workspace, the ordinary crate left alone.
    let (suites, stderr) = results(&["--workspace"]);
    assert_eq!(suites, 2, "{stderr}");
    assert!(
        stderr.contains("ws-alpha") && stderr.contains("ws-beta"),
        "{stderr}"
    );
    assert!(!stderr.contains("ws-plain"), "{stderr}");
    // One package.
    let (suites, stderr) = results(&["-p", "ws-beta"]);
    assert_eq!(suites, 1, "{stderr}");
    assert!(
        stderr.contains("ws-beta") && !stderr.contains("ws-alpha"),
        "{stderr}"
    );
}
