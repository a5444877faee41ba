//! The local registry: install, resolve and manage spirits by name; parallel
//! installs and processes killed mid-install never lose or corrupt entries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use snapbox::str;
use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::sign::Key;

use crate::support::{bin, cargo_spirit};

/// A signed `.spirit` package made through the library (no cargo build):
/// `padding` bytes of data segment make it as big as wanted.
fn package(dir: &Path, key: &Key, name: &str, version: &str, padding: usize) -> PathBuf {
    let wat = format!(
        r#"(module (memory (export "memory") {pages}) (data (i32.const 0) "{data}") (func (export "run")))"#,
        pages = padding / 65536 + 1,
        data = "x".repeat(padding)
    );
    let wasm = wat::parse_str(wat).unwrap();
    let mut manifest = Manifest::for_module(name, version.parse().unwrap(), &wasm);
    manifest.description = Some(format!("test spirit {name}"));
    let files = SpiritFiles::new(manifest, wasm, Some(key));
    let path = dir.join(files.package_name());
    std::fs::write(&path, files.to_package()).unwrap();
    path
}

/// A VUDO_HOME whose trusted.toml lists `key`.
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

fn list_json(dir: &Path) -> Vec<serde_json::Value> {
    let out = cargo_spirit(dir)
        .args(["list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice::<Vec<serde_json::Value>>(&out).expect("list --json prints a JSON array")
}

#[test]
fn install_list_info_search_upgrade_uninstall() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    trusting_home(tmp.path(), &key);
    let p = tmp.path();
    for v in ["1.0.0", "1.2.0", "1.2.5"] {
        cargo_spirit(p)
            .arg("install")
            .arg(package(p, &key, "greeter", v, 0))
            .arg("-q")
            .assert()
            .success();
    }
    cargo_spirit(p)
        .arg("install")
        .arg(package(p, &key, "other", "0.3.0", 0))
        .arg("-q")
        .assert()
        .success();
    cargo_spirit(p)
        .arg("list")
        .assert()
        .success()
        .stdout_eq(str![[r#"
NAME     VERSION  AUTHOR            CAPABILITIES
greeter  1.0.0    [..]  
greeter  1.2.0    [..]  
greeter  1.2.5    [..]  
other    0.3.0    [..]  

"#]]);
    let info = |spec: &str| {
        let out = cargo_spirit(p)
            .args(["info", spec, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()["version"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(info("greeter"), "1.2.5");
    assert_eq!(info("greeter@~1.2.0"), "1.2.5");
    assert_eq!(info("greeter@=1.2.0"), "1.2.0");
    assert_eq!(info("greeter@<1.2"), "1.0.0");
    cargo_spirit(p)
        .args(["info", "greeter@^2"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: no installed version of `greeter` matches `^2`; installed: 1.0.0, 1.2.0, 1.2.5

"#]]);
    let found = cargo_spirit(p)
        .args(["search", "test spirit oth", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        serde_json::from_slice::<Vec<serde_json::Value>>(&found)
            .unwrap()
            .len(),
        1
    );

    // upgrade: a newer package replaces every older version.
    cargo_spirit(p)
        .args(["upgrade", "greeter"])
        .arg(package(p, &key, "greeter", "1.0.1", 0))
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `greeter` 1.0.1 is not newer than the installed 1.2.5
help: `upgrade` installs a higher version; use `install --force` to replace the same one

"#]]);
    cargo_spirit(p)
        .args(["upgrade", "greeter"])
        .arg(package(p, &key, "greeter", "2.0.0", 0))
        .assert()
        .success()
        .stderr_eq(str![[r#"
    Upgraded greeter 1.0.0, 1.2.0, 1.2.5 → 2.0.0

"#]]);
    cargo_spirit(p)
        .args(["uninstall", "greeter@2.0.0"])
        .assert()
        .success();
    cargo_spirit(p)
        .args(["uninstall", "other"])
        .assert()
        .success();
    assert!(list_json(p).is_empty());
}

#[test]
fn unsigned_untrusted_and_conflicting_installs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let key = Key::generate().unwrap();
    let pkg = package(p, &key, "stranger", "1.0.0", 0);
    cargo_spirit(p)
        .arg("install")
        .arg(&pkg)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `stranger` is signed by [..], who is not trusted
help: if you trust them, run `cargo spirit trust [..]`

"#]]);
    cargo_spirit(p)
        .args(["trust", &key.author().to_string()])
        .assert()
        .success();
    cargo_spirit(p)
        .arg("install")
        .arg(&pkg)
        .arg("-q")
        .assert()
        .success();
    // Same name and version, other bytes.
    let other_dir = p.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let changed = package(&other_dir, &key, "stranger", "1.0.0", 10);
    cargo_spirit(p)
        .arg("install")
        .arg(&changed)
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `stranger@1.0.0` is already installed with different content (blake3 [..], this one [..])
help: bump the version, or replace it with `--force`

"#]]);
    cargo_spirit(p)
        .arg("install")
        .arg(&changed)
        .arg("--force")
        .assert()
        .success();
    cargo_spirit(p)
        .args(["untrust", &key.author().to_string()])
        .assert()
        .success();
    cargo_spirit(p)
        .arg("install")
        .arg(package(p, &key, "later", "1.0.0", 0))
        .assert()
        .failure();
}

#[test]
fn names_that_would_leave_the_registry_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for spec in ["../../etc", "a/b", "..@1.0.0"] {
        cargo_spirit(tmp.path())
            .args(["info", spec])
            .assert()
            .failure();
        cargo_spirit(tmp.path())
            .args(["uninstall", spec])
            .assert()
            .failure();
    }
    cargo_spirit(tmp.path())
        .args(["info", "../../etc"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: invalid spirit name `../../etc`: use letters, digits, `-` and `_`, starting with a letter

"#]]);
}

#[test]
fn eight_parallel_installs_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let home = trusting_home(tmp.path(), &key);
    let packages: Vec<PathBuf> = (0..8)
        .map(|i| package(tmp.path(), &key, &format!("par{i}"), "1.0.0", 1000))
        .collect();
    let children: Vec<_> = packages
        .iter()
        .map(|pkg| {
            Command::new(bin())
                .args(["install", "-q"])
                .arg(pkg)
                .env("VUDO_HOME", &home)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names: Vec<String> = list_json(tmp.path())
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, (0..8).map(|i| format!("par{i}")).collect::<Vec<_>>());
}

/// Kills installs with SIGKILL at pseudo-random moments; after each kill the
/// registry must read as a consistent state (every listed spirit loads), and
/// the next install must repair leftovers.
#[test]
fn installs_killed_at_random_points_leave_a_consistent_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let home = trusting_home(tmp.path(), &key);
    // Large enough that an install takes a few milliseconds.
    let packages: Vec<PathBuf> = (0..6)
        .map(|i| package(tmp.path(), &key, &format!("crash{i}"), "1.0.0", 2 << 20))
        .collect();
    let mut seed: u64 = 0x5eed_2026;
    let mut killed_running = 0;
    for round in 0..24 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_micros((seed >> 33) % 40_000);
        let pkg = &packages[round % packages.len()];
        let mut child = Command::new(bin())
            .args(["install", "-q", "--force"])
            .arg(pkg)
            .env("VUDO_HOME", &home)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        for entry in list_json(tmp.path()) {
            let name = entry["name"].as_str().unwrap();
            // `info` resolves it; `verify` re-reads and checks the stored files.
            let dir = home
                .join("registry/spirits")
                .join(name)
                .join(entry["version"].as_str().unwrap());
            cargo_spirit(tmp.path())
                .arg("verify")
                .arg(&dir)
                .arg("-q")
                .assert()
                .success();
        }
    }
    // Some kills must have landed while an install was running.
    assert!(killed_running > 0, "no install was killed while running");
    // A completed install repairs whatever the kills left behind.
    cargo_spirit(tmp.path())
        .arg("install")
        .arg(&packages[0])
        .args(["-q", "--force"])
        .assert()
        .success();
    let staging = home.join("registry/staging");
    assert_eq!(
        std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0),
        0,
        "staging was not cleared"
    );
}

#[test]
fn run_by_name_uses_the_precompiled_code_and_refuses_a_changed_wasm() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let home = trusting_home(tmp.path(), &key);
    let p = tmp.path();
    cargo_spirit(p)
        .arg("install")
        .arg(package(p, &key, "named", "1.0.0", 0))
        .assert()
        .success()
        .stderr_eq(str![[r#"
   Installed named v1.0.0
 Precompiled named v1.0.0 in [..]

"#]]);
    cargo_spirit(p)
        .args(["run", "named@^1", "-v"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
    Resolved named@^1 to 1.0.0
      Cached spirit `named` (compiled code from `[..]`)
     Running spirit `named`
    Finished in [..]

"#]]);
    let wasm = home.join("registry/spirits/named/1.0.0/named.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.push(0);
    std::fs::write(&wasm, bytes).unwrap();
    cargo_spirit(p).args(["run", "named"]).assert().failure().stderr_eq(str![[r#"
error: installed spirit `named@1.0.0` was changed on disk: wasm hash mismatch: the index has [..], the file has [..]
help: reinstall it with `cargo spirit install --force`

"#]]);
    cargo_spirit(p)
        .args(["run", "missing@^1"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: no spirit named `missing` is installed
help: `cargo spirit list` shows what is; `cargo spirit install` adds one

"#]]);
}
