//! What a new user hits first (issue 21): a rebuild never leaves a stale
//! signature, a new spirit's `Cargo.toml` is portable, JSON messages are
//! complete enough for CI, and the everyday flags work as cargo's do.

use std::path::Path;

use crate::support::{cargo_spirit, new_spirit};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn bump_version(dir: &Path, to: &str) {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("version = \"0.1.0\"", &format!("version = \"{to}\""), 1),
    )
    .unwrap();
}

#[test]
fn install_from_the_crate_works_after_a_version_bump() {
    let (tmp, dir) = new_spirit("resign-bump", "hello");
    let home = tmp.path().join("home");
    let run = |args: &[&str]| {
        cargo_spirit(&dir)
            .env("VUDO_HOME", &home)
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone()
    };
    run(&["keygen", "-q"]);
    run(&["install"]);
    bump_version(&dir, "0.2.0");
    // The rebuild signs its new bytes again with the key that signed the
    // old ones, and says so; install then just works.
    let install = run(&["install"]);
    let err = stderr(&install);
    assert!(
        err.contains("Re-signed spirit `resign-bump` v0.2.0"),
        "{err}"
    );
    assert!(err.contains("Installed resign-bump v0.2.0"), "{err}");
    run(&["verify", "--release", "-q"]);
}

#[test]
fn a_rebuild_removes_a_signature_it_cannot_renew() {
    let (tmp, dir) = new_spirit("resign-foreign", "hello");
    let home = tmp.path().join("home");
    // A key this machine does not keep: not in VUDO_HOME/keys, not in the
    // environment.
    let key = tmp.path().join("elsewhere.key");
    std::fs::write(&key, spirit_build::sign::Key::generate().unwrap().to_hex()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let spirit = |args: &[&str]| {
        cargo_spirit(&dir)
            .env("VUDO_HOME", &home)
            .args(args)
            .assert()
    };
    spirit(&["build", "-q"]).success();
    cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["sign", "-q", "--key"])
        .arg(&key)
        .assert()
        .success();
    spirit(&["verify", "-q"]).success();
    bump_version(&dir, "0.3.0");
    let build = spirit(&["build"]).success().get_output().clone();
    let err = stderr(&build);
    assert!(
        err.contains("warning: removed the signature by ")
            && err.contains("of spirit `resign-foreign` v0.3.0")
            && err.contains("help: sign it again with `cargo spirit sign`"),
        "{err}"
    );
    let verify = spirit(&["verify"]).failure().get_output().clone();
    let err = stderr(&verify);
    assert!(
        err.contains("unsigned") && err.contains("cargo spirit sign"),
        "{err}"
    );
}

#[test]
fn a_new_spirit_is_portable_and_plain_cargo_test_works() {
    let (_tmp, dir) = new_spirit("portable-sdk", "counter");
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.contains("spirit-sdk = \"0.1\"\n"),
        "{cargo_toml}"
    );
    let config = dir.join(".cargo/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("[patch.crates-io]\nspirit-sdk = { path = "),
        "{text}"
    );
    let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(gitignore.contains("/.cargo/config.toml"), "{gitignore}");
    // Plain cargo, as a developer runs the native tests.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(&cargo)
        .args(["test", "--offline", "-q"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", crate::support::shared_target())
        .status()
        .unwrap();
    assert!(status.success(), "plain `cargo test` failed");
    // A teammate's fresh clone has no `.cargo/config.toml`: the build
    // supplies the SDK itself and writes the file again.
    std::fs::remove_dir_all(dir.join(".cargo")).unwrap();
    let build = cargo_spirit(&dir)
        .args(["build"])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr(&build);
    assert!(err.contains("Patching spirit-sdk → "), "{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    // SPIRIT_SDK_PATH picks the SDK.
    let missing = dir.join("no-sdk-here");
    let build = cargo_spirit(&dir)
        .env("SPIRIT_SDK_PATH", &missing)
        .args(["build"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = stderr(&build);
    assert!(err.contains("no-sdk-here"), "{err}");
    // cargo-spirit's own file is refreshed to the SDK in use; put it back.
    cargo_spirit(&dir).args(["build", "-q"]).assert().success();
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn with_reason<'a>(lines: &'a [serde_json::Value], reason: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["reason"] == reason).collect()
}

#[test]
fn json_messages_are_complete_enough_for_ci() {
    let (tmp, dir) = new_spirit("ci-json", "hello");
    // A warning of rustc's, to see cargo's `compiler-message` pass through.
    let lib = dir.join("src/lib.rs");
    let code = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{code}\nfn never_called() {{}}\n")).unwrap();
    let secret = spirit_build::sign::Key::generate().unwrap();
    let ci = |args: &[&str]| {
        cargo_spirit(&dir)
            .env("VUDO_HOME", tmp.path().join("ci-home"))
            .env("SPIRIT_SIGNING_KEY", secret.to_hex())
            .args(args)
            .args(["--message-format", "json"])
            .assert()
    };
    let author = secret.author().to_string();

    let build = ci(&["build", "--release", "--sign"])
        .success()
        .get_output()
        .clone();
    let lines = json_lines(&build.stdout);
    let warning = with_reason(&lines, "compiler-message");
    assert!(
        warning.iter().any(|m| m["message"]["rendered"]
            .as_str()
            .unwrap_or("")
            .contains("never_called")),
        "{lines:?}"
    );
    assert_eq!(with_reason(&lines, "spirit-artifact").len(), 1, "{lines:?}");
    let signed = with_reason(&lines, "spirit-signed");
    assert_eq!(signed.len(), 1, "{lines:?}");
    assert_eq!(signed[0]["name"], "ci-json");
    assert_eq!(signed[0]["version"], "0.1.0");
    assert_eq!(signed[0]["author"], author.as_str());
    // The artifact line comes first, as the spirit is built before it is signed.
    let position = |reason: &str| lines.iter().position(|l| l["reason"] == reason);
    assert!(position("spirit-artifact") < position("spirit-signed"));

    let sign = ci(&["sign", "--release"]).success().get_output().clone();
    let sign = json_lines(&sign.stdout);
    assert_eq!(sign[0]["reason"], "spirit-signed");
    assert_eq!(sign[0]["name"], "ci-json");
    assert_eq!(sign[0]["version"], "0.1.0");

    let pack = ci(&["pack", "--release"]).success().get_output().clone();
    let pack = json_lines(&pack.stdout);
    let package = &pack[0];
    assert_eq!(package["reason"], "spirit-packaged");
    assert_eq!(package["name"], "ci-json");
    assert_eq!(package["version"], "0.1.0");
    assert_eq!(package["author"], author.as_str());
    let bytes = std::fs::read(package["path"].as_str().unwrap()).unwrap();
    assert_eq!(package["size"], bytes.len() as u64);
    assert_eq!(package["blake3"], blake3::hash(&bytes).to_hex().as_str());

    // An error has a JSON line too (and still its words on standard error).
    let other = "ab".repeat(32);
    let failed = ci(&["verify", "--release", "--author", &other])
        .failure()
        .get_output()
        .clone();
    let error = json_lines(&failed.stdout);
    assert_eq!(error[0]["reason"], "spirit-error", "{error:?}");
    assert_eq!(error[0]["exit_code"], 1);
    assert!(
        error[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("but {other} was required")),
        "{error:?}"
    );
    assert!(stderr(&failed).contains("error: "), "{}", stderr(&failed));
}

#[test]
fn everyday_flags_work_as_cargo_users_expect() {
    let (tmp, dir) = new_spirit("everyday", "hello");
    let home = tmp.path().join("home");
    let spirit =
        |at: &Path, args: &[&str]| cargo_spirit(at).env("VUDO_HOME", &home).args(args).assert();
    spirit(&dir, &["keygen", "-q"]).success();
    spirit(&dir, &["install", "-q"]).success();

    // `inspect` takes the crate's build, as sign, pack and verify do.
    let inspect = spirit(&dir, &["inspect", "--release"])
        .success()
        .get_output()
        .clone();
    let out = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        out.contains("spirit/release/everyday") && out.contains("actuator_log"),
        "{out}"
    );

    // A directory `everyday` here and an installed `everyday`: the
    // directory runs, and the note says how to run the other.
    let run = spirit(tmp.path(), &["run", "everyday"])
        .success()
        .get_output()
        .clone();
    let err = stderr(&run);
    assert!(
        err.contains("note: `everyday` is both the directory `./everyday` and an installed spirit: running the directory")
            && err.contains("cargo spirit run everyday@latest"),
        "{err}"
    );
    let run = spirit(tmp.path(), &["run", "everyday@latest"])
        .success()
        .get_output()
        .clone();
    let err = stderr(&run);
    assert!(
        err.contains("Hello from everyday!") && !err.contains("note:"),
        "{err}"
    );

    // `--allow a,b` and `--deny a,b` as cargo's `-F a,b`; a denied
    // capability is said to be denied, not undeclared.
    let wasm = crate::support::artifact_dir("release", "everyday").join("everyday.wasm");
    cargo_spirit(tmp.path())
        .env("VUDO_HOME", &home)
        .args(["run", "-q", "--allow", "actuator_log,sensor_time"])
        .arg(&wasm)
        .assert()
        .success();
    let denied = spirit(&dir, &["run", "--deny", "sensor_time,actuator_log"])
        .failure()
        .get_output()
        .clone();
    let err = stderr(&denied);
    assert!(
        err.contains("but it was denied with `--deny actuator_log`")
            && err.contains("without `--deny actuator_log`")
            && !err.contains("declare it"),
        "{err}"
    );
}

#[test]
fn an_entry_returning_a_boxed_error_takes_inline_input() {
    let (_tmp, dir) = new_spirit("boxed-error", "echo");
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            "spirit-sdk = \"0.1\"",
            "spirit-sdk = { version = \"0.1\", features = [\"allocator\"] }",
        ),
    )
    .unwrap();
    // The README's example, as it is written there.
    let readme = include_str!("../../README.md");
    let start = readme
        .find("```rust\n#![cfg_attr(not(test), no_std)]\nextern crate alloc;")
        .unwrap()
        + 8;
    let end = start + readme[start..].find("```").unwrap();
    std::fs::write(dir.join("src/lib.rs"), &readme[start..end]).unwrap();
    cargo_spirit(&dir)
        .args(["run", "-q", "--input-text", "21"])
        .assert()
        .success()
        .stdout_eq("42");
    let failed = cargo_spirit(&dir)
        .args(["run", "-q", "--input-text", "twenty-one"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = stderr(&failed);
    assert!(err.contains("invalid digit found in string"), "{err}");
}
