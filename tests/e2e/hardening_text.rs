//! Issue 12's text and file defects: what a hostile package, module or key
//! file can make cargo-spirit print or read. Text from a package reaches
//! the terminal escaped (or is refused by manifest validation), small files
//! are read with a bound, key files are checked, and errors never echo the
//! content of a file that is not what was expected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;

use crate::support::cargo_spirit;

const MODULE: &str =
    r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 0))"#;

/// A build directory written by hand: `manifest.toml` and the wasm, as
/// `cargo spirit build` lays them out.
fn build_dir(root: &Path, manifest: &Manifest, wasm: &[u8]) -> PathBuf {
    let dir = root.join(&manifest.name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("manifest.toml"), manifest.to_toml()).unwrap();
    std::fs::write(dir.join(&manifest.wasm.file), wasm).unwrap();
    dir
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// No byte that a terminal acts on: C0 controls but newline, DEL, C1
/// controls, bidirectional overrides.
fn assert_no_terminal_controls(text: &str) {
    for c in text.chars() {
        let control = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !control,
            "raw {:?} reached the terminal in:\n{text}",
            c.escape_unicode().to_string()
        );
    }
}

#[test]
fn key_files_are_bounded_and_public_keys_never_sign() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(MODULE).unwrap();
    let dir = build_dir(
        tmp.path(),
        &Manifest::for_module("keyed", "1.0.0".parse().unwrap(), &wasm),
        &wasm,
    );
    cargo_spirit(tmp.path())
        .args(["keygen", "-q"])
        .assert()
        .success();
    let keys = tmp.path().join(".vudo/keys");
    let sign = |key: &Path| {
        cargo_spirit(tmp.path())
            .arg("sign")
            .arg("--key")
            .arg(key)
            .arg(&dir)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap()
    };

    // An endless file is refused at once, in words.
    let output = sign(Path::new("/dev/zero"));
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("more than the 4096 bytes a key file may have"),
        "{}",
        stderr_of(&output)
    );

    // The public key, by its name or copied under another one, never signs.
    let public = keys.join("default.pub");
    let elsewhere = tmp.path().join("copied.key");
    std::fs::copy(&public, &elsewhere).unwrap();
    let beside = keys.join("copy.key");
    std::fs::copy(&public, &beside).unwrap();
    for key in [&public, &elsewhere, &beside] {
        let output = sign(key);
        assert!(!output.status.success(), "{} signed", key.display());
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("is a public key file, not a private key"),
            "{stderr}"
        );
    }
    assert!(!dir.join("signature.toml").exists());

    // A private key others may read signs, with ssh's warning and the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = keys.join("default.key");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
        let output = sign(&private);
        let stderr = stderr_of(&output);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains("may be read by others (mode 0644)")
                && stderr.contains(&format!("chmod 600 {}", private.display())),
            "{stderr}"
        );
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        let output = sign(&private);
        assert!(
            !stderr_of(&output).contains("warning"),
            "{}",
            stderr_of(&output)
        );
    }
}

#[test]
fn oversized_small_files_are_refused_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(MODULE).unwrap();
    let manifest = Manifest::for_module("padded", "1.0.0".parse().unwrap(), &wasm);
    let dir = build_dir(tmp.path(), &manifest, &wasm);
    // A signature file of 2 MiB (a comment is valid TOML).
    std::fs::write(
        dir.join("signature.toml"),
        format!("#{}\n", "x".repeat(2 << 20)),
    )
    .unwrap();
    let output = cargo_spirit(tmp.path())
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("signature.toml")
            && stderr.contains("more than the 1048576 bytes a signature file may have"),
        "{stderr}"
    );
    std::fs::remove_file(dir.join("signature.toml")).unwrap();
    std::fs::write(
        dir.join("manifest.toml"),
        format!("{}#{}\n", manifest.to_toml(), "x".repeat(2 << 20)),
    )
    .unwrap();
    let output = cargo_spirit(tmp.path())
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("more than the 1048576 bytes a manifest may have"),
        "{stderr}"
    );
}
