//! The library without its `build` feature (`--no-default-features`, see
//! ARCHITECTURE.md, "Features"): a `.wasm` module runs; a crate and a
//! `.spirit` package, which need building or unpacking, are refused in
//! words. Run by `.ci/run` with
//! `cargo test -p spirit-build --no-default-features --test runtime_only`.
#![cfg(not(feature = "build"))]
#![allow(clippy::unwrap_used)]

use std::path::Path;

use spirit_build::ops::{BuildOptions, RunOptions, Target};
use spirit_build::package::PackageError;
use spirit_build::sandbox::SandboxConfig;
use spirit_build::{Error, Shell, Verbosity};

fn quiet() -> Shell {
    Shell::from_writers(
        Verbosity::Quiet,
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
    )
}

fn options(target: &Path, home: &Path) -> RunOptions {
    let target = Target::classify(Some(target), BuildOptions::default()).unwrap();
    RunOptions::new(target, SandboxConfig::in_home(home))
}

/// Why running `target` failed.
fn refusal(target: &Path, home: &Path) -> Error {
    match spirit_build::run(&quiet(), options(target, home)) {
        Ok(_) => panic!("`{}` ran", target.display()),
        Err(error) => error,
    }
}

#[test]
fn a_wasm_module_runs() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("tiny.wasm");
    let module = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    spirit_build::fs::write_atomic(&wasm, &module).unwrap();
    spirit_build::run(&quiet(), options(&wasm, &dir.path().join("home"))).unwrap();
}

#[test]
fn a_crate_is_refused_naming_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("hello");
    std::fs::create_dir(&krate).unwrap();
    spirit_build::fs::write_atomic(&krate.join("Cargo.toml"), b"[package]\nname = \"hello\"\n")
        .unwrap();
    let error = refusal(&krate, &dir.path().join("home"));
    assert!(
        matches!(error, Error::NeedsBuildFeature { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("running a crate (building it) needs the `build` feature"),
        "{text}"
    );
    assert!(
        text.contains("help: depend on spirit-build with its default features"),
        "{text}"
    );
}

#[test]
fn a_package_is_refused_naming_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("hello-0.1.0.spirit");
    spirit_build::fs::write_atomic(&package, b"not read without the feature").unwrap();
    let error = refusal(&package, &dir.path().join("home"));
    assert!(
        matches!(&error, Error::Package(PackageError::NeedsBuildFeature(p)) if p == &package),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("compiled without the `build` feature, which reads packages"),
        "{error}"
    );
}
