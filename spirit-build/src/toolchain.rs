//! The Rust toolchain a spirit is compiled with: finding `cargo`, and making
//! sure the `wasm32-unknown-unknown` standard library is installed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Shell;

/// The target every spirit is compiled for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Why the toolchain cannot build spirits.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    /// `rustc` could not be run.
    #[error(
        "could not run `{rustc}` to find the toolchain's sysroot: {error}\n\
             help: install Rust with rustup (https://rustup.rs), or set RUSTC to the compiler to use"
    )]
    Rustc {
        /// The compiler that was run.
        rustc: String,
        /// Why it failed.
        error: std::io::Error,
    },
    /// The target is missing and there is no rustup to install it.
    #[error(
        "the `{WASM_TARGET}` standard library is not installed in {sysroot}, and `rustup` was not found to install it\n\
             help: install rustup (https://rustup.rs) and run `rustup target add {WASM_TARGET}`, \
             or install your distribution's rust-std package for {WASM_TARGET}"
    )]
    NoRustup {
        /// The toolchain's sysroot.
        sysroot: String,
    },
    /// `rustup target add` failed.
    #[error(
        "`rustup target add {WASM_TARGET}` failed ({status})\n\
             help: run it yourself to see why; spirits cannot be compiled without it"
    )]
    RustupFailed {
        /// How rustup exited.
        status: std::process::ExitStatus,
    },
    /// `rustup` could not be started.
    #[error("could not run `rustup`: {0}")]
    RustupSpawn(std::io::Error),
}

/// The cargo to run: `$CARGO` (set when we run as `cargo spirit`), else `cargo`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The compiler cargo will use: `$RUSTC`, else the `rustc` beside `$CARGO`
/// (as `cargo spirit`, cargo is the toolchain's own binary, and calling its
/// sibling skips rustup's proxy), else `rustc` from the `PATH`.
fn rustc() -> OsString {
    if let Some(rustc) = std::env::var_os("RUSTC") {
        return rustc;
    }
    toolchain_dir()
        .map(|dir| {
            dir.join("bin")
                .join(format!("rustc{}", std::env::consts::EXE_SUFFIX))
        })
        .filter(|rustc| rustc.is_file())
        .map_or_else(|| "rustc".into(), PathBuf::into_os_string)
}

/// The `rustc` beside `$CARGO`, when that is the compiler cargo uses (no
/// `$RUSTC`).
pub(crate) fn toolchain_rustc() -> Option<PathBuf> {
    toolchain_dir()
        .map(|dir| {
            dir.join("bin")
                .join(format!("rustc{}", std::env::consts::EXE_SUFFIX))
        })
        .filter(|rustc| rustc.is_file())
}

/// The toolchain `$CARGO` belongs to (`<toolchain>/bin/cargo`), when there
/// is no `$RUSTC` to say that another compiler is used.
fn toolchain_dir() -> Option<PathBuf> {
    if std::env::var_os("RUSTC").is_some() {
        return None;
    }
    let cargo = PathBuf::from(std::env::var_os("CARGO")?);
    let dir = cargo.parent()?.parent()?;
    dir.join("lib/rustlib").is_dir().then(|| dir.to_owned())
}

/// The sysroot of the toolchain that builds in `dir` (rustup honours
/// `rust-toolchain.toml` files, so the directory matters). When cargo runs
/// us, its toolchain is the sysroot, found without starting a process.
fn sysroot(dir: &Path) -> Result<PathBuf, ToolchainError> {
    if let Some(toolchain) = toolchain_dir() {
        return Ok(toolchain);
    }
    let rustc = rustc();
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .map_err(|error| ToolchainError::Rustc {
            rustc: rustc.to_string_lossy().into_owned(),
            error,
        })?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// Makes sure the wasm target's standard library is installed for the
/// toolchain used in `dir`, running `rustup target add` when it is not.
///
/// # Errors
///
/// Fails when the target is missing and cannot be installed; the message
/// says what to install.
pub fn ensure_wasm_target(shell: &Shell, dir: &Path) -> Result<(), ToolchainError> {
    let sysroot = sysroot(dir)?;
    if sysroot
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .join("lib")
        .is_dir()
    {
        return Ok(());
    }
    let rustup = std::env::var_os("RUSTUP").unwrap_or_else(|| "rustup".into());
    if Command::new(&rustup).arg("--version").output().is_err() {
        return Err(ToolchainError::NoRustup {
            sysroot: sysroot.display().to_string(),
        });
    }
    shell.status(
        "Installing",
        format_args!("{WASM_TARGET} target (rustup target add {WASM_TARGET})"),
    );
    let status = Command::new(&rustup)
        .args(["target", "add", WASM_TARGET])
        .current_dir(dir)
        .status()
        .map_err(ToolchainError::RustupSpawn)?;
    if !status.success() {
        return Err(ToolchainError::RustupFailed { status });
    }
    Ok(())
}

/// `rustc -vV`'s first line, for the manifest's build information.
pub fn rustc_version(dir: &Path) -> Option<String> {
    let output = Command::new(rustc())
        .arg("-V")
        .current_dir(dir)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
