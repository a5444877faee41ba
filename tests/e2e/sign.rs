//! Keys, signatures and packages: the tamper matrix, reproducibility, and
//! the CI packaging workflow of docs/ci.md.

use std::path::{Path, PathBuf};

use snapbox::str;

use crate::support::{artifact_dir, cargo_spirit, new_spirit};

/// A release-built, signed spirit and its package; returns the VUDO_HOME
/// holding the key, the build directory and the package.
fn signed_spirit(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let (tmp, dir) = new_spirit(name, "hello");
    let home = tmp.path().join("home");
    cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["build", "--release", "-q"])
        .assert()
        .success();
    cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["keygen", "-q"])
        .assert()
        .success();
    cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["sign", "--release", "-q"])
        .assert()
        .success();
    let output = cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["pack", "--release", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let package = PathBuf::from(String::from_utf8(output).unwrap().trim());
    (tmp, home, artifact_dir("release", name), package)
}

fn verify(dir: &Path, target: &Path) -> snapbox::cmd::OutputAssert {
    cargo_spirit(dir)
        .arg("verify")
        .arg(target)
        .arg("-q")
        .assert()
}

#[test]
fn keygen_prints_the_public_key_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cargo_spirit(tmp.path())
        .args(["keygen", "--name", "ci"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let author = String::from_utf8(out).unwrap();
    assert_eq!(author.trim().len(), 64);
    assert!(author.trim().chars().all(|c| c.is_ascii_hexdigit()));
    let key = tmp.path().join(".vudo/keys/ci.key");
    let before = std::fs::read(&key).unwrap();
    // The public key file holds what was printed; the private key is not it.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(".vudo/keys/ci.pub")).unwrap(),
        author
    );
    assert!(!author.contains(String::from_utf8_lossy(&before).trim()));
    cargo_spirit(tmp.path())
        .args(["keygen", "--name", "ci"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: a key named `ci` already exists at [..]/.vudo/keys/ci.key
help: cargo-spirit never overwrites a key; choose another name with `--name`

"#]]);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let keys = tmp.path().join(".vudo/keys");
        assert_eq!(
            std::fs::metadata(keys).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}

#[test]
fn a_signed_package_verifies_and_packing_is_reproducible() {
    let (tmp, home, build_dir, package) = signed_spirit("sign-ok");
    verify(tmp.path(), &build_dir).success();
    verify(tmp.path(), &package).success();
    let first = std::fs::read(&package).unwrap();
    std::fs::remove_file(&package).unwrap();
    cargo_spirit(tmp.path())
        .env("VUDO_HOME", &home)
        .arg("pack")
        .arg(&build_dir)
        .arg("-q")
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&package).unwrap(),
        first,
        "packing twice must give identical bytes"
    );
}

#[test]
fn the_tamper_matrix_is_refused() {
    let (tmp, _home, build_dir, package) = signed_spirit("tamper");
    let work = tmp.path().join("work");

    // One byte of the wasm.
    let copy = copy_dir(&build_dir, &work.join("wasm"));
    let wasm = copy.join("tamper.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&wasm, &bytes).unwrap();
    verify(tmp.path(), &copy).failure().stderr_eq(str![[r#"
error: [..]/wasm: wasm hash mismatch: manifest has [..], file has [..]

"#]]);

    // Each manifest field, changed in place (still valid, canonical TOML).
    let manifest = std::fs::read_to_string(build_dir.join("manifest.toml")).unwrap();
    let edits = [
        ("name = \"tamper\"", "name = \"tamperx\""),
        ("version = \"0.1.0\"", "version = \"0.1.1\""),
        (
            "description = \"A spirit that logs a greeting\"",
            "description = \"Trust me\"",
        ),
        ("entry = \"run\"", "entry = \"start\""),
        (
            "capabilities = [\"actuator_log\"]",
            "capabilities = [\"actuator_log\", \"storage_write\"]",
        ),
        ("profile = \"release\"", "profile = \"dev\""),
        (
            "target = \"wasm32-unknown-unknown\"",
            "target = \"wasm64-unknown-unknown\"",
        ),
    ];
    for (i, (from, to)) in edits.iter().enumerate() {
        assert!(
            manifest.contains(from),
            "the manifest has no `{from}`:\n{manifest}"
        );
        let copy = copy_dir(&build_dir, &work.join(format!("field{i}")));
        let mut edited = manifest.replace(from, to);
        if to.starts_with("name =") {
            // The wasm's file is named after the spirit (one rule, checked
            // before the signature): rename both, so the signature is what
            // refuses the new name.
            edited = edited.replace("file = \"tamper.wasm\"", "file = \"tamperx.wasm\"");
            std::fs::rename(copy.join("tamper.wasm"), copy.join("tamperx.wasm")).unwrap();
        }
        std::fs::write(copy.join("manifest.toml"), edited).unwrap();
        let stderr = verify(tmp.path(), &copy)
            .failure()
            .get_output()
            .stderr
            .clone();
        let stderr = String::from_utf8(stderr).unwrap();
        assert!(
            stderr.contains("signature does not verify for author"),
            "{from} → {to}: {stderr}"
        );
    }

    // A manifest reformatted by hand is refused even if its data is the same.
    let copy = copy_dir(&build_dir, &work.join("format"));
    std::fs::write(
        copy.join("manifest.toml"),
        manifest.replace("name = ", "name  = "),
    )
    .unwrap();
    verify(tmp.path(), &copy).failure().stderr_eq(str![[r#"
error: [..]/format: invalid manifest: it is not in the canonical form cargo-spirit writes (was it edited by hand?)

"#]]);

    // An unsigned copy.
    let copy = copy_dir(&build_dir, &work.join("unsigned"));
    std::fs::remove_file(copy.join("signature.toml")).unwrap();
    verify(tmp.path(), &copy).failure().stderr_eq(str![[r#"
error: [..]/unsigned: unsigned
help: sign it with `cargo spirit sign` (key from --key, SPIRIT_SIGNING_KEY, or `cargo spirit keygen`)

"#]]);

    // A truncated package, at several points.
    let bytes = std::fs::read(&package).unwrap();
    for len in [0, 100, 512, 1500, bytes.len() - 1024, bytes.len() - 1] {
        let cut = work.join(format!("cut{len}.spirit"));
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let stderr = verify(tmp.path(), &cut)
            .failure()
            .get_output()
            .stderr
            .clone();
        assert!(
            String::from_utf8(stderr)
                .unwrap()
                .contains("invalid package"),
            "truncated to {len}"
        );
    }

    // Another author required.
    verify(tmp.path(), &package).success();
    cargo_spirit(tmp.path())
        .arg("verify")
        .arg(&package)
        .args(["--author", &"ab".repeat(32), "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: [..]: signed by [..], but abababababababababababababababababababababababababababababababab was required

"#]]);

    // Untrusted unless listed in trusted.toml.
    let home = tmp.path().join("trusting");
    std::fs::create_dir_all(&home).unwrap();
    cargo_spirit(tmp.path())
        .env("VUDO_HOME", &home)
        .arg("verify")
        .arg(&package)
        .args(["--trusted", "-q"])
        .assert()
        .failure();
    let author = std::fs::read_to_string(tmp.path().join("home/keys/default.pub")).unwrap();
    std::fs::write(
        home.join("trusted.toml"),
        format!("authors = [\"{}\"]\n", author.trim()),
    )
    .unwrap();
    cargo_spirit(tmp.path())
        .env("VUDO_HOME", &home)
        .arg("verify")
        .arg(&package)
        .args(["--trusted", "-q"])
        .assert()
        .success();
}

#[test]
fn signatures_swapped_between_spirits_or_signed_by_another_key_are_refused() {
    let (tmp_a, home_a, dir_a, _) = signed_spirit("swap-a");
    let (_tmp_b, _home_b, dir_b, _) = signed_spirit("swap-b");
    let work = tmp_a.path().join("work");
    let copy = copy_dir(&dir_a, &work.join("swapped"));
    std::fs::copy(dir_b.join("signature.toml"), copy.join("signature.toml")).unwrap();
    let stderr = verify(tmp_a.path(), &copy)
        .failure()
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8(stderr)
            .unwrap()
            .contains("signature does not verify for author")
    );

    // Re-signing with a different key gives a different, valid author.
    let other = tmp_a.path().join("other-home");
    cargo_spirit(tmp_a.path())
        .env("VUDO_HOME", &other)
        .args(["keygen", "-q"])
        .assert()
        .success();
    let resigned = copy_dir(&dir_a, &work.join("resigned"));
    cargo_spirit(tmp_a.path())
        .env("VUDO_HOME", &other)
        .arg("sign")
        .arg(&resigned)
        .arg("-q")
        .assert()
        .success();
    let original = std::fs::read_to_string(home_a.join("keys/default.pub")).unwrap();
    cargo_spirit(tmp_a.path())
        .arg("verify")
        .arg(&resigned)
        .args(["--author", original.trim(), "-q"])
        .assert()
        .failure();
}

/// The steps of docs/ci.md's workflow, with the key only in the environment
/// and no terminal: build, sign, pack, verify, all with JSON output.
#[test]
fn the_ci_packaging_workflow_runs_without_a_terminal() {
    let (tmp, dir) = new_spirit("ci-spirit", "hello");
    let home = tmp.path().join("keys-home");
    let author = cargo_spirit(tmp.path())
        .env("VUDO_HOME", &home)
        .args(["keygen", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let author = String::from_utf8(author).unwrap().trim().to_owned();
    let secret = std::fs::read_to_string(home.join("keys/default.key"))
        .unwrap()
        .trim()
        .to_owned();

    // CI has no key files: a fresh VUDO_HOME, the key in SPIRIT_SIGNING_KEY.
    let ci = |args: &[&str]| {
        cargo_spirit(&dir)
            .env("VUDO_HOME", tmp.path().join("ci-home"))
            .env("SPIRIT_SIGNING_KEY", &secret)
            .env("CI", "true")
            .stdin("")
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone()
    };
    ci(&["build", "--release"]);
    let signed = ci(&["sign", "--release", "--message-format", "json"]);
    let signed: serde_json::Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!(signed["reason"], "spirit-signed");
    assert_eq!(signed["author"], author.as_str());
    let packed = ci(&["pack", "--release", "--message-format", "json"]);
    let packed: serde_json::Value = serde_json::from_slice(&packed.stdout).unwrap();
    let package = packed["path"].as_str().unwrap().to_owned();
    assert!(package.ends_with("ci-spirit-0.1.0.spirit"));
    let verified = ci(&[
        "verify",
        &package,
        "--author",
        &author,
        "--message-format",
        "json",
    ]);
    let verified: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["reason"], "spirit-verified");
    assert_eq!(verified["name"], "ci-spirit");
    // No output anywhere contains the private key.
    for output in [&signed, &packed, &verified] {
        assert!(!output.to_string().contains(&secret));
    }
}

fn copy_dir(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to.to_owned()
}

#[test]
fn packages_run_after_verification_and_receipts_round_trip() {
    let (tmp, home, _build_dir, package) = signed_spirit("receipted");
    let p = tmp.path();
    std::fs::write(p.join("in.txt"), "input bytes").unwrap();
    let out = cargo_spirit(p)
        .env("VUDO_HOME", &home)
        .arg("run")
        .arg(&package)
        .args(["--input", "in.txt", "--receipt", "receipt.json"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Running spirit `receipted`
[INFO receipted] Hello from receipted!
     Receipt receipt.json (signed by node [..])

"#]])
        .get_output()
        .stdout
        .clone();
    std::fs::write(p.join("out.bin"), &out).unwrap();
    let node = std::fs::read_to_string(home.join("keys/default.pub")).unwrap();
    cargo_spirit(p)
        .args([
            "verify-receipt",
            "receipt.json",
            "--node",
            node.trim(),
            "--input",
            "in.txt",
            "--output",
            "out.bin",
        ])
        .assert()
        .success()
        .stderr_eq(str![[r#"
    Verified receipt of spirit `receipted` ([..] units of fuel) signed by node [..]

"#]]);
    // Every field is signed: changing the fuel breaks it.
    let receipt = std::fs::read_to_string(p.join("receipt.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&receipt).unwrap();
    let fuel = json["fuel_used"].as_u64().unwrap();
    let forged = receipt.replace(
        &format!("\"fuel_used\":{fuel}"),
        &format!("\"fuel_used\":{}", fuel / 2),
    );
    std::fs::write(p.join("forged.json"), forged).unwrap();
    cargo_spirit(p)
        .args(["verify-receipt", "forged.json"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: receipt signature does not verify for node [..]: a field was changed after signing

"#]]);
    // The output commitment is checked against the bytes given.
    std::fs::write(p.join("other.bin"), "not the output").unwrap();
    cargo_spirit(p)
        .args(["verify-receipt", "receipt.json", "--output", "other.bin"])
        .assert()
        .failure();

    // A package whose wasm was changed does not run.
    let mut bytes = std::fs::read(&package).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\0asm").unwrap() + 8;
    bytes[at] ^= 0xff;
    std::fs::write(p.join("bad.spirit"), bytes).unwrap();
    cargo_spirit(p)
        .args(["run", "bad.spirit"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: bad.spirit: wasm hash mismatch: manifest has [..], file has [..]

"#]]);
}

#[test]
fn build_sign_signs_and_inspect_reads_packages() {
    let (tmp, dir) = new_spirit("signed-build", "hello");
    let home = tmp.path().join("home");
    cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["keygen", "-q"])
        .assert()
        .success();
    cargo_spirit(&dir)
        .env("VUDO_HOME", &home)
        .args(["build", "--release", "--sign"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
[..] spirit `signed-build` v0.1.0[..]
      Signed spirit `signed-build` v0.1.0 as [..]

"#]]);
    cargo_spirit(&dir)
        .args(["verify", "--release", "-q"])
        .assert()
        .success();
    let out = cargo_spirit(&dir)
        .args(["pack", "--release", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let package = String::from_utf8(out).unwrap().trim().to_owned();
    cargo_spirit(&dir)
        .args(["inspect", &package])
        .assert()
        .success()
        .stdout_eq(str![[r#"
[..]signed-build-0.1.0.spirit
spirit  signed-build v0.1.0
about   A spirit that logs a greeting
caps    actuator_log
signed  by [..] (verified)

size    [..]
...
imports (1)
  vudo.host_log  needs `actuator_log`
...
"#]]);
    // A package whose manifest was changed (same length, so the archive
    // stays well-formed) is still shown, with why it fails.
    let bytes = std::fs::read(&package).unwrap();
    let needle: &[u8] = b"logs a greeting";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut forged = bytes.clone();
    forged[at..at + needle.len()].copy_from_slice(b"logs a GREETING");
    let bad = tmp.path().join("bad.spirit");
    std::fs::write(&bad, forged).unwrap();
    let out = cargo_spirit(&dir)
        .arg("inspect")
        .arg(&bad)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("signed  NO: signature does not verify for author"),
        "{out}"
    );
}
