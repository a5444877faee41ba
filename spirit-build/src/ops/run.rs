//! `cargo spirit run`: build the spirit if needed, then run it in the sandbox.

use std::path::PathBuf;

use spirit_sdk::abi::Capability;

use crate::manifest::Manifest;
use crate::ops::build::{BuildOptions, build};
use crate::sandbox::{Limits, Outcome, Policy, RunRequest, Sandbox, SpiritIo};
use crate::{Error, Shell};

/// What to run.
#[derive(Clone, Debug)]
pub enum RunTarget {
    /// The spirit crate(s) the build options select: built first.
    Crate(BuildOptions),
    /// A `.wasm` file; only `--allow`ed capabilities are granted.
    Wasm(PathBuf),
}

/// How to run it.
#[derive(Debug)]
pub struct RunOptions {
    /// The spirit.
    pub target: RunTarget,
    /// Capabilities granted beyond the manifest's (`--allow`).
    pub allow: Vec<Capability>,
    /// Capabilities withheld (`--deny`), which win over everything.
    pub deny: Vec<Capability>,
    /// The limits.
    pub limits: Limits,
    /// The input bytes.
    pub input: Vec<u8>,
    /// Where logs and output go.
    pub io: Box<dyn SpiritIo>,
}

/// Runs the spirit and returns how it went.
///
/// # Errors
///
/// Fails when the spirit cannot be built or loaded, is refused by the
/// policy, or its run ends in a limit, a trap or an abort.
pub fn run(shell: &Shell, options: RunOptions) -> Result<Outcome, Error> {
    let (name, wasm, declared, entry) = match &options.target {
        RunTarget::Crate(build_options) => {
            let built = build(shell, build_options)?;
            let spirit = match built.as_slice() {
                [one] => one,
                _ => {
                    return Err(crate::project::ProjectError::NotASpirit {
                        name: "(several)".to_owned(),
                        reason: "more than one spirit was selected; run one at a time",
                    }
                    .into());
                }
            };
            let manifest = Manifest::read(&spirit.manifest_path)?;
            let wasm = crate::fs::read(&spirit.wasm_path)?;
            (manifest.name, wasm, manifest.capabilities, manifest.entry)
        }
        RunTarget::Wasm(path) => {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                name,
                crate::fs::read(path)?,
                Vec::new(),
                spirit_sdk::abi::DEFAULT_ENTRY.to_owned(),
            )
        }
    };
    let policy = Policy::allow(
        declared
            .into_iter()
            .chain(options.allow.iter().copied())
            .filter(|c| !options.deny.contains(c)),
    );
    shell.status("Running", format_args!("spirit `{name}`"));
    let sandbox = Sandbox::new()?;
    let spirit = sandbox.load(&name, &wasm)?;
    let request = RunRequest {
        entry,
        policy,
        limits: options.limits,
        input: options.input,
        io: options.io,
    };
    sandbox.run(&spirit, request).map_err(|error| Error::Run {
        spirit: name,
        error,
    })
}
