use snapbox::str;

use crate::support::{bin, cargo_spirit};

#[test]
fn new_writes_a_crate_from_the_template() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "greeter"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Created spirit `greeter` from template `hello` in greeter

"#]]);
    let dir = tmp.path().join("greeter");
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("name = \"greeter\""));
    assert!(cargo_toml.contains("crate-type = [\"cdylib\"]"));
    assert!(cargo_toml.contains("capabilities = [\"actuator_log\"]"));
    let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../spirit-sdk")
        .canonicalize()
        .unwrap();
    assert!(
        cargo_toml.contains(&format!("spirit-sdk = {{ path = \"{}\" }}", sdk.display())),
        "{cargo_toml}"
    );
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("Hello from greeter!"));
    assert!(dir.join(".gitignore").is_file());
}

#[test]
fn new_refuses_an_existing_directory_and_leaves_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "taken"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: destination `taken` already exists
help: choose another name or `--path`; cargo-spirit never overwrites files

"#]]);
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn new_refuses_invalid_names() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "9lives"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: invalid spirit name `9lives`: it starts with `9`, not a letter
help: use letters, digits, `-` and `_`, starting with a letter, such as `hello-spirit`

"#]]);
    assert!(!tmp.path().join("9lives").exists());
}

#[test]
fn new_with_an_unknown_template_suggests_one() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "x", "--template", "helo"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: unknown template `helo`
help: did you mean `hello`? accepted: `hello`

"#]]);
}

#[test]
fn works_as_cargo_subcommand_and_directly() {
    for args in [&["spirit", "--version"][..], &["--version"][..]] {
        snapbox::cmd::Command::new(bin())
            .args(args)
            .assert()
            .success()
            .stdout_eq(str![[r#"
cargo-spirit 0.1.0

"#]]);
    }
}
