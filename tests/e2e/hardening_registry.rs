//! Issue 12's registry defects, attacked through the real binary: a package
//! granting itself capabilities, links planted in `VUDO_HOME/registry`,
//! build metadata as a second version, a killed forced install, damaged
//! `trusted.toml` and an index of an unknown format.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapbox::str;
use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::sign::Key;
use spirit_sdk::abi::Capability;

use crate::support::{bin, cargo_spirit};

/// A module that logs `body` through `host_log` (so it needs
/// `actuator_log`) and returns 0.
fn logging_wasm(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "vudo" "host_log" (func $log (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "{body}")
            (func (export "run") (result i32)
                (drop (call $log (i32.const 2) (i32.const 16) (i32.const {len})))
                (i32.const 0)))"#,
        len = body.len()
    ))
    .unwrap()
}

/// A spirit declaring `actuator_log`, signed by `key` when given.
fn spirit(name: &str, version: &str, body: &str, key: Option<&Key>) -> SpiritFiles {
    let wasm = logging_wasm(body);
    let mut manifest = Manifest::for_module(name, version.parse().unwrap(), &wasm);
    manifest.capabilities = vec![Capability::ActuatorLog];
    SpiritFiles::new(manifest, wasm, key)
}

/// Writes `files` as a package in a directory of `dir` named by its
/// wasm's hash, so that two contents of one version are two files.
fn package(dir: &Path, files: &SpiritFiles) -> PathBuf {
    let dir = dir.join(&files.manifest.wasm.blake3[..12]);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(files.package_name());
    std::fs::write(&path, files.to_package()).unwrap();
    path
}

/// A VUDO_HOME (the one `cargo_spirit` uses) whose trusted.toml lists `key`.
fn trusting_home(tmp: &Path, key: &Key) -> PathBuf {
    let home = tmp.join(".vudo");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("trusted.toml"),
        format!("authors = [\"{}\"]\n", key.author()),
    )
    .unwrap();
    home
}

#[test]
fn a_package_is_granted_what_it_declares_only_when_a_trusted_author_signed_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let trusted = Key::generate().unwrap();
    let stranger = Key::generate().unwrap();
    trusting_home(p, &trusted);

    // Unsigned: runs with --allow only, and says why and how to grant.
    let unsigned = package(p, &spirit("asker", "1.0.0", "hello", None));
    cargo_spirit(p)
        .arg("run")
        .arg(&unsigned)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
warning: `[..]asker-1.0.0.spirit` runs without the capabilities it declares (actuator_log): it is unsigned, so who made it cannot be checked
help: to grant them, sign it with a key you trust, or grant them for this run with `--allow actuator_log`
     Running spirit `asker`
error: spirit `asker` failed: refused before running (1 problem)

imports `vudo.host_log`, which needs the capability `actuator_log`, but it is not granted
help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow actuator_log`

"#]]);
    cargo_spirit(p)
        .arg("run")
        .arg(&unsigned)
        .args(["--allow", "actuator_log"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
warning: `[..]asker-1.0.0.spirit` is unsigned: who made it cannot be checked
     Running spirit `asker`
[INFO asker] hello

"#]]);

    // Signed by someone not trusted: the same, naming who to trust.
    let untrusted = package(p, &spirit("asker", "1.0.1", "hello", Some(&stranger)));
    let assert = cargo_spirit(p)
        .arg("run")
        .arg(&untrusted)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let author = stranger.author();
    assert!(
        stderr.starts_with(&format!(
            "warning: `{}` runs without the capabilities it declares (actuator_log): it is signed by {author}, who is not trusted\nhelp: to grant them, trust its author (`cargo spirit trust {author}`), or grant them for this run with `--allow actuator_log`\n",
            untrusted.display()
        )),
        "{stderr}"
    );

    // The same files as a build directory are no different.
    let dir = p.join("unpacked");
    std::fs::create_dir(&dir).unwrap();
    let files = spirit("asker", "1.0.1", "hello", Some(&stranger));
    std::fs::write(dir.join("manifest.toml"), &files.manifest_bytes).unwrap();
    std::fs::write(dir.join("asker.wasm"), &files.wasm).unwrap();
    std::fs::write(
        dir.join("signature.toml"),
        files.signature.as_ref().unwrap().to_toml(),
    )
    .unwrap();
    cargo_spirit(p)
        .arg("run")
        .arg(&dir)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
warning: `[..]unpacked` runs without the capabilities it declares (actuator_log): it is signed by [..], who is not trusted
help: to grant them, trust its author (`cargo spirit trust [..]`), or grant them for this run with `--allow actuator_log`
...
"#]]);

    // Signed by a trusted author: granted, silently.
    let signed = package(p, &spirit("asker", "1.0.2", "trusted", Some(&trusted)));
    cargo_spirit(p)
        .arg("run")
        .arg(&signed)
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Running spirit `asker`
[INFO asker] trusted

"#]]);

    // Installed, then its author untrusted: the grant goes with the trust.
    cargo_spirit(p)
        .arg("install")
        .arg(&signed)
        .arg("-q")
        .assert()
        .success();
    cargo_spirit(p)
        .args(["run", "asker", "-q"])
        .assert()
        .success();
    cargo_spirit(p)
        .args(["untrust", &trusted.author().to_string(), "-q"])
        .assert()
        .success();
    cargo_spirit(p)
        .args(["run", "asker"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
warning: `asker@1.0.2` runs without the capabilities it declares (actuator_log): its author [..] is no longer trusted (`cargo spirit untrust` since it was installed)
help: to grant them, trust its author (`cargo spirit trust [..]`), or grant them for this run with `--allow actuator_log`
...
"#]]);
}

/// Every file and directory under `dir` with its contents, links not
/// followed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                todo.push(path.clone());
                all.push((path, None));
            } else {
                all.push((path.clone(), Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    all.sort();
    all
}

#[cfg(unix)]
#[test]
fn links_in_the_registry_never_send_install_run_or_uninstall_outside_the_home() {
    for level in [
        "registry/spirits",
        "registry/spirits/victim",
        "registry/spirits/victim/1.0.0",
        "registry/staging",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        let key = Key::generate().unwrap();
        let home = trusting_home(p, &key);
        let first = package(p, &spirit("victim", "1.0.0", "one", Some(&key)));
        let second = package(p, &spirit("victim", "1.0.0", "two", Some(&key)));
        cargo_spirit(p)
            .arg("install")
            .arg(&first)
            .arg("-q")
            .assert()
            .success();
        std::fs::create_dir_all(home.join("registry/staging")).unwrap();
        // What was there moves outside the home; a link takes its place.
        let outside = tempfile::tempdir().unwrap();
        let moved = outside.path().join("moved");
        std::fs::rename(home.join(level), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, home.join(level)).unwrap();
        let before = snapshot(outside.path());
        let commands: [&[&str]; 4] = [
            &["run", "victim"],
            &["install", "--force", second.to_str().unwrap()],
            &["uninstall", "victim@1.0.0"],
            &["uninstall", "victim"],
        ];
        for args in commands {
            let assert = cargo_spirit(p).args(args).assert().failure();
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            assert!(
                stderr.contains(&format!(
                    "error: refusing to follow the symbolic link `{}` inside the registry",
                    home.join(level).display()
                )),
                "{args:?} with a link at {level}: {stderr}"
            );
            assert_eq!(snapshot(outside.path()), before, "{args:?} at {level}");
        }
    }
}

/// `install --force` killed (SIGKILL) after it moved the new files into
/// place and before it wrote the index: the next `run` repairs (the old
/// version is back) instead of reporting tampering, and no temporary file
/// is left behind.
#[test]
fn a_forced_install_killed_before_its_index_write_is_repaired_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let key = Key::generate().unwrap();
    let home = trusting_home(p, &key);
    let old = package(p, &spirit("phoenix", "1.0.0", "old", Some(&key)));
    let new = package(p, &spirit("phoenix", "1.0.0", "new", Some(&key)));
    cargo_spirit(p)
        .arg("install")
        .arg(&old)
        .arg("-q")
        .assert()
        .success();
    for step in ["before-index-write", "after-index-write"] {
        let paused = p.join(format!("paused-{step}"));
        let mut child = Command::new(bin())
            .args(["install", "-q", "--force"])
            .arg(&new)
            .env("VUDO_HOME", &home)
            .env("CARGO_SPIRIT_TEST_PAUSE_AT", step)
            .env("CARGO_SPIRIT_TEST_PAUSED", &paused)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !paused.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the install never reached {step}"
            );
            assert!(child.try_wait().unwrap().is_none(), "exited before {step}");
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // A stale temporary file of a write killed half-way, as well.
        std::fs::write(home.join("registry/.index.json.4000000.tmp"), b"{").unwrap();
        let expected = if step == "before-index-write" {
            "old"
        } else {
            "new"
        };
        cargo_spirit(p)
            .args(["run", "phoenix", "--allow", "actuator_log"])
            .assert()
            .success()
            .stderr_eq(format!(
                "     Running spirit `phoenix`\n[INFO phoenix] {expected}\n"
            ));
        let registry = std::fs::read_dir(home.join("registry"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect::<Vec<_>>();
        assert_eq!(registry, Vec::<String>::new(), "after a kill at {step}");
        let staging = std::fs::read_dir(home.join("registry/staging")).unwrap();
        assert_eq!(staging.count(), 0, "after a kill at {step}");
        // Back to the old version for the next round.
        cargo_spirit(p)
            .arg("install")
            .arg(&old)
            .args(["-q", "--force"])
            .assert()
            .success();
    }
}

#[test]
fn build_metadata_is_not_another_version() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let key = Key::generate().unwrap();
    trusting_home(p, &key);
    let plain = package(p, &spirit("sb", "1.0.0", "plain", Some(&key)));
    let evil = package(p, &spirit("sb", "1.0.0+evil", "evil", Some(&key)));
    cargo_spirit(p)
        .arg("install")
        .arg(&plain)
        .arg("-q")
        .assert()
        .success();
    cargo_spirit(p)
        .arg("install")
        .arg(&evil)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `sb@1.0.0` is already installed with different content (blake3 [..], this one [..])
help: bump the version, or replace it with `--force`

"#]]);
    cargo_spirit(p)
        .args(["upgrade", "sb"])
        .arg(&evil)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `sb` 1.0.0 is not newer than the installed 1.0.0
help: `upgrade` installs a higher version; use `install --force` to replace the same one

"#]]);
    cargo_spirit(p)
        .args(["run", "sb@=1.0.0", "--allow", "actuator_log"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Running spirit `sb`
[INFO sb] plain

"#]]);
    cargo_spirit(p)
        .arg("install")
        .arg(&evil)
        .arg("--force")
        .assert()
        .success()
        .stderr_eq(str![[r#"
    Replaced sb v1.0.0
...
"#]]);
    cargo_spirit(p)
        .args(["run", "sb@=1.0.0", "--allow", "actuator_log"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Running spirit `sb`
[INFO sb] evil

"#]]);
    cargo_spirit(p)
        .args(["uninstall", "sb@1.0.0"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Removed sb v1.0.0

"#]]);
}

#[test]
fn a_damaged_trusted_file_is_named_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let key = Key::generate().unwrap();
    let home = p.join(".vudo");
    std::fs::create_dir_all(&home).unwrap();
    let damaged = "authors = [\"not a key\"]\n";
    std::fs::write(home.join("trusted.toml"), damaged).unwrap();
    let expected = str![[r#"
error: the trusted authors' file `[..]trusted.toml` is damaged: entry 1 of `authors` is not an author key (64 hex characters in quotes)
help: fix it by hand (it holds `authors = ["<64 hex>", …]`), or move it away and trust your authors again with `cargo spirit trust HEX`; cargo-spirit does not change a file it cannot read

"#]];
    cargo_spirit(p)
        .args(["trust", &key.author().to_string()])
        .assert()
        .failure()
        .stderr_eq(expected.clone());
    let pkg = package(p, &spirit("loner", "1.0.0", "x", Some(&key)));
    cargo_spirit(p)
        .arg("install")
        .arg(&pkg)
        .assert()
        .failure()
        .stderr_eq(expected);
    assert_eq!(
        std::fs::read_to_string(home.join("trusted.toml")).unwrap(),
        damaged
    );
}

#[test]
fn an_index_of_an_unknown_format_is_refused_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let index = p.join(".vudo/registry/index.json");
    std::fs::create_dir_all(index.parent().unwrap()).unwrap();
    std::fs::write(&index, "{\"version\":2,\"spirits\":{}}\n").unwrap();
    cargo_spirit(p).arg("list").assert().failure().stderr_eq(str![[r#"
error: the registry index `[..]index.json` has format version 2, but this cargo-spirit understands only version 1
help: a newer cargo-spirit wrote it: use that one; or move the index away and reinstall your spirits

"#]]);
}
