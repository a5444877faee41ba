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
    Patching spirit-sdk → [..] in [..]/.cargo/config.toml (for plain `cargo test`)

"#]]);
    let dir = tmp.path().join("greeter");
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("name = \"greeter\""));
    assert!(cargo_toml.contains("crate-type = [\"cdylib\"]"));
    assert!(cargo_toml.contains("capabilities = [\"actuator_log\"]"));
    // Portable: a version requirement, no path of this machine.
    assert!(
        cargo_toml.contains("spirit-sdk = \"0.1\"\n"),
        "{cargo_toml}"
    );
    assert!(!cargo_toml.contains("path ="), "{cargo_toml}");
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
fn new_with_an_unknown_template_lists_them() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "x", "--template", "helo"])
        .assert()
        .code(2)
        .stderr_eq(str![[r#"
error: invalid value 'helo' for '--template <TEMPLATE>'
  [possible values: hello, counter, echo, kv, json, fetch, pipeline]

  tip: a similar value exists: 'hello'

For more information, try '--help'.

"#]]);
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn new_help_describes_every_template() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "--help"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
...
      --template <TEMPLATE>
          The template to start from

          Possible values:
          - hello:    logs a greeting (actuator_log)
          - counter:  counts its runs in persistent storage (storage_read, storage_write)
          - echo:     copies its input to its output (no capabilities)
          - kv:       get/set/delete commands from its input on persistent storage (storage_read,
            storage_write, storage_delete)
          - json:     reads fields of a JSON input with the host's JSON-path queries (no
            capabilities)
...
"#]]);
}

const WORKSPACE: &str = r#"# Our tools and spirits.
[workspace]
resolver = "3"
members = [
    # The command line.
    "cli", # keep first
]

# Shared settings.
[workspace.package]
edition = "2024"
"#;

#[test]
fn new_inside_a_workspace_joins_its_members_keeping_comments() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Cargo.toml"), WORKSPACE).unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "tally", "--template", "counter", "--path", "spirits/tally"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Created spirit `tally` from template `counter` in spirits/tally
      Adding `spirits/tally` to the workspace members in [..]/Cargo.toml
note: a workspace member's profiles are ignored: for the smallest spirits, set `opt-level = "z"`, `lto = true`, `codegen-units = 1` and `panic = "abort"` in the workspace's `[profile.release]`
    Patching spirit-sdk → [..] in [..]/.cargo/config.toml (for plain `cargo test`)

"#]]);
    let after = std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap();
    assert_eq!(
        after,
        r#"# Our tools and spirits.
[workspace]
resolver = "3"
members = [
    # The command line.
    "cli", # keep first
    "spirits/tally",
]

# Shared settings.
[workspace.package]
edition = "2024"
"#
    );
    let spirit = std::fs::read_to_string(tmp.path().join("spirits/tally/Cargo.toml")).unwrap();
    assert!(!spirit.contains("[profile"), "{spirit}");
    assert!(spirit.contains("capabilities = [\"storage_read\", \"storage_write\"]"));

    // Already a member (here through a glob): the file is left alone.
    let globbed = WORKSPACE.replace("\"cli\", # keep first", "\"spirits/*\",");
    std::fs::write(tmp.path().join("Cargo.toml"), &globbed).unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "second", "--path", "spirits/second", "-q"])
        .assert()
        .success();
    let after = std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap();
    assert_eq!(after, globbed);
}

#[test]
fn a_spirit_created_in_a_workspace_builds_there() {
    crate::support::ensure_wasm_target();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = []\n",
    )
    .unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "ws-member", "-q"])
        .assert()
        .success();
    cargo_spirit(tmp.path())
        .args(["run", "ws-member"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
...
     Running spirit `ws-member`
[INFO ws-member] Hello from ws-member!

"#]]);
}

#[test]
fn a_broken_workspace_manifest_is_a_warning_not_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[workspace]\nmembers = \"all\"\n",
    )
    .unwrap();
    cargo_spirit(tmp.path())
        .args(["new", "loner"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Created spirit `loner` from template `hello` in loner
warning: could not add `loner` to the workspace in `[..]/Cargo.toml`: `workspace.members` is not an array
help: add `"loner"` to `workspace.members` by hand
    Patching spirit-sdk → [..] in [..]/.cargo/config.toml (for plain `cargo test`)

"#]]);
    assert!(tmp.path().join("loner/Cargo.toml").is_file());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap(),
        "[workspace]\nmembers = \"all\"\n"
    );
}

#[test]
fn init_writes_a_spirit_into_an_existing_directory_keeping_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("greeter");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "// mine\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    cargo_spirit(&dir)
        .args(["init", "--template", "echo"])
        .assert()
        .success()
        .stderr_eq(str![[r#"
note: kept the existing `./src/lib.rs`; the template's version was not written
     Created spirit `greeter` from template `echo` in .
    Patching spirit-sdk → [..] in [..]/.cargo/config.toml (for plain `cargo test`)

"#]]);
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("name = \"greeter\""));
    assert_eq!(
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(),
        "// mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(dir.join(".gitignore").is_file());

    // A second init finds the package and changes nothing.
    cargo_spirit(tmp.path())
        .args(["init", "greeter"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `greeter/Cargo.toml` already exists
help: `cargo spirit init` starts a spirit where there is no package yet; to turn this package into a spirit, add `crate-type = ["cdylib"]` under `[lib]` and a `[package.metadata.spirit]` table (see the README)

"#]]);
    assert_eq!(
        std::fs::read_to_string(dir.join("Cargo.toml")).unwrap(),
        cargo_toml
    );
}

#[test]
fn init_names_the_spirit_after_its_directory_or_asks_for_a_name() {
    let tmp = tempfile::tempdir().unwrap();
    cargo_spirit(tmp.path())
        .args(["init", "9lives"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: cannot name a spirit after the directory `9lives`: it starts with `9`, not a letter
help: give it a name with `--name NAME`

"#]]);
    cargo_spirit(tmp.path())
        .args(["init", "9lives", "--name", "lives", "-q"])
        .assert()
        .success();
    let cargo_toml = std::fs::read_to_string(tmp.path().join("9lives/Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("name = \"lives\""));
    cargo_spirit(tmp.path())
        .args(["init", "other", "--name", "fn"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: invalid spirit name `fn`: it is a Rust keyword or the name of a crate every spirit uses
help: use letters, digits, `-` and `_`, starting with a letter, such as `hello-spirit`

"#]]);
    assert!(!tmp.path().join("other").exists());
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
