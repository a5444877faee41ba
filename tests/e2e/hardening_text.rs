//! Issue 12's text and file defects: what a hostile package, module or key
//! file can make cargo-spirit print or read. Text from a package reaches
//! the terminal escaped (or is refused by manifest validation), small files
//! are read with a bound, key files are checked, and errors never echo the
//! content of a file that is not what was expected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use spirit_build::manifest::Manifest;
use spirit_build::package::SpiritFiles;
use spirit_build::sign::Key;

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

/// What a hostile author puts in text: a forged line, escape sequences that
/// erase lines or set the title, a carriage return, a bell, a right-to-left
/// override, a C1 control (CSI).
const HOSTILE: [&str; 6] = [
    "fine\ncaps    none\nsigned  by a trusted author (verified)",
    "fine\x1b[2K\x1b[1A\x1b[2K",
    "fine\x1b]0;owned\x07",
    "fine\rcaps    none",
    "fine \u{202e}enon spac",
    "fine\u{9b}2K",
];

fn all_output(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn control_characters_in_a_manifest_are_refused_and_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(MODULE).unwrap();
    let key = Key::generate().unwrap();
    for (i, text) in HOSTILE.iter().enumerate() {
        let mut described = Manifest::for_module("forged", "1.0.0".parse().unwrap(), &wasm);
        described.description = Some((*text).to_owned());
        let mut named = Manifest::for_module("forged", "1.0.0".parse().unwrap(), &wasm);
        named.authors = vec![(*text).to_owned()];
        for (field, manifest) in [("description", described), ("authors", named)] {
            let files = SpiritFiles::new(manifest, wasm.clone(), Some(&key));
            let package = tmp.path().join(format!("forged-{i}-{field}.spirit"));
            std::fs::write(&package, files.to_package()).unwrap();
            for command in ["inspect", "verify", "install"] {
                let output = cargo_spirit(tmp.path())
                    .arg(command)
                    .arg(&package)
                    .output()
                    .unwrap();
                let printed = all_output(&output);
                assert!(!output.status.success(), "{command} accepted {text:?}");
                assert!(
                    printed.contains(&format!("`{field}` (line "))
                        && printed.contains("holds a control character, U+"),
                    "{command} {text:?}: {printed}"
                );
                assert_no_terminal_controls(&printed);
            }
        }
    }
}

#[test]
fn names_from_a_hostile_module_are_escaped_by_inspect_and_check() {
    let tmp = tempfile::tempdir().unwrap();
    // Export, import, function and custom-section names, each with a
    // control: ESC, CR, LF, BEL, U+202E and the C1 CSI (U+009B).
    let wasm = tmp.path().join("names.wasm");
    std::fs::write(
        &wasm,
        wat::parse_str(
            r#"(module
                (import "env\1b]0;title\07" "f\0acaps    none" (func))
                (memory (export "memory") 1)
                (func (@name "hidden\1b[8m") (export "run\0d\u{202e}x\c2\9b2K") (result i32) i32.const 0)
                (@custom "sec\1b[2J" "data"))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let output = cargo_spirit(tmp.path())
        .arg("inspect")
        .arg(&wasm)
        .output()
        .unwrap();
    let printed = all_output(&output);
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.contains(r"env\u{1b}]0;title\u{7}.f\ncaps    none")
            && printed.contains(r"run\r\u{202e}x\u{9b}2K")
            && printed.contains(r"hidden\u{1b}[8m")
            && printed.contains(r"sec\u{1b}[2J"),
        "{printed}"
    );
    assert_no_terminal_controls(&printed);
    let output = cargo_spirit(tmp.path())
        .arg("check")
        .arg(&wasm)
        .output()
        .unwrap();
    let printed = all_output(&output);
    assert!(!output.status.success());
    assert!(printed.contains(r"env\u{1b}]0;title\u{7}"), "{printed}");
    assert_no_terminal_controls(&printed);
}

#[test]
fn list_info_and_search_escape_what_the_index_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(MODULE).unwrap();
    let mut manifest = Manifest::for_module("indexed", "1.0.0".parse().unwrap(), &wasm);
    manifest.description = Some("PLACEHOLDER".to_owned());
    let files = SpiritFiles::new(manifest, wasm, None);
    let package = tmp.path().join(files.package_name());
    std::fs::write(&package, files.to_package()).unwrap();
    cargo_spirit(tmp.path())
        .arg("install")
        .arg(&package)
        .arg("--allow-unsigned")
        .assert()
        .success();
    // An index written by an older version (`index.json`, migrated into the
    // database by the next command), or edited: JSON escapes keep the file
    // valid while its strings hold controls.
    let listed = cargo_spirit(tmp.path())
        .args(["list", "--json"])
        .output()
        .unwrap();
    let entries = String::from_utf8(listed.stdout).unwrap();
    assert!(entries.contains("PLACEHOLDER"), "{entries}");
    let entry = entries.trim().trim_start_matches('[').trim_end_matches(']');
    let text = format!("{{\"version\":1,\"spirits\":{{\"indexed\":{{\"1.0.0\":{entry}}}}}}}");
    let registry = tmp.path().join(".vudo/registry");
    std::fs::remove_file(registry.join("index.redb")).unwrap();
    std::fs::write(
        registry.join("index.json"),
        text.replace(
            "PLACEHOLDER",
            r"pwned\u001b]0;title\u0007\ncapabilities: -\r\u202e\u009b",
        ),
    )
    .unwrap();
    for args in [&["info", "indexed"][..], &["list"], &["search", "pwned"]] {
        let output = cargo_spirit(tmp.path()).args(args).output().unwrap();
        let printed = all_output(&output);
        assert!(output.status.success(), "{args:?}: {printed}");
        assert_no_terminal_controls(&printed);
    }
    let output = cargo_spirit(tmp.path())
        .args(["info", "indexed"])
        .output()
        .unwrap();
    assert!(
        all_output(&output)
            .contains(r"description:  pwned\u{1b}]0;title\u{7}\ncapabilities: -\r\u{202e}\u{9b}"),
        "{}",
        all_output(&output)
    );
}

#[test]
fn errors_name_the_missing_file_and_never_echo_an_unexpected_one() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["keygen", "-q"])
        .assert()
        .success();
    // A path that does not exist is reported as such, not as a spirit
    // without `manifest.toml`.
    for command in ["verify", "sign", "pack", "inspect"] {
        let output = cargo_spirit(tmp.path())
            .arg(command)
            .arg("no-such.spirit")
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("`no-such.spirit` does not exist") && !stderr.contains("manifest.toml"),
            "{command}: {stderr}"
        );
    }
    // A build directory that lacks its wasm names it, with its path.
    let wasm = wat::parse_str(MODULE).unwrap();
    let dir = build_dir(
        tmp.path(),
        &Manifest::for_module("partial", "1.0.0".parse().unwrap(), &wasm),
        &wasm,
    );
    std::fs::remove_file(dir.join("partial.wasm")).unwrap();
    let output = cargo_spirit(tmp.path())
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!(
            "`{}` is missing: the module `manifest.toml` names",
            dir.join("partial.wasm").display()
        )),
        "{stderr}"
    );
    // A secret-looking file given as a package: its bytes never appear.
    let secret = tmp.path().join("shadow.spirit");
    let mut bytes = b"root:$6$SECRETSALT$SECRETHASH:19000:0:99999:7:::\n".repeat(4);
    bytes.resize(2048, 0);
    std::fs::write(&secret, &bytes).unwrap();
    for command in ["verify", "inspect", "install"] {
        let output = cargo_spirit(tmp.path())
            .arg(command)
            .arg(&secret)
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert!(!output.status.success());
        assert!(
            !stderr.contains("SECRET") && !stderr.contains("root:"),
            "{command} echoed the file: {stderr}"
        );
        assert!(stderr.contains("is not a `.spirit` package"), "{stderr}");
    }
}

#[test]
fn a_manifest_is_range_checked_like_the_flags_and_names_its_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(MODULE).unwrap();
    let manifest = Manifest::for_module("ranged", "1.0.0".parse().unwrap(), &wasm);
    let text = manifest.to_toml();
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.starts_with(key))
            .map(|i| i + 1)
            .unwrap()
    };
    let cases = [
        (
            "timeout-ms = ",
            "timeout-ms = 0",
            format!(
                "`run.timeout-ms` (line {}): the timeout must be between 1ms and 365 days, not 0ns",
                line_of("timeout-ms")
            ),
        ),
        (
            "timeout-ms = ",
            "timeout-ms = 31622400000",
            format!(
                "`run.timeout-ms` (line {}): the timeout must be between 1ms and 365 days, not 31622400s",
                line_of("timeout-ms")
            ),
        ),
        (
            "fuel = ",
            "fuel = 99999999999999999999",
            format!("`run.fuel` (line {}): ", line_of("fuel = ")),
        ),
        (
            "fuel = ",
            "fuel = 0",
            format!(
                "`run.fuel` (line {}): the fuel limit must be at least 1 unit, not 0",
                line_of("fuel = ")
            ),
        ),
    ];
    for (i, (key, replacement, expected)) in cases.iter().enumerate() {
        let edited: String = text
            .lines()
            .map(|l| if l.starts_with(key) { *replacement } else { l })
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = tmp.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.toml"), &edited).unwrap();
        std::fs::write(dir.join("ranged.wasm"), &wasm).unwrap();
        let output = cargo_spirit(tmp.path())
            .arg("verify")
            .arg(&dir)
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains(expected.as_str()),
            "{replacement}: {stderr}"
        );
    }
}
