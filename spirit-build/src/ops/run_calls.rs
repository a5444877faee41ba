//! What `run` gives a spirit that calls others: a [`DependencySource`]
//! reading each pinned dependency from the registry (exact version, wasm
//! hash, author), granting it what its own manifest declares only as
//! `run` would grant it (`ops/grant.rs`), and the call tree `-v` prints.

use std::path::Path;
use std::sync::Arc;

use spirit_sdk::abi::Capability;

use super::grant::{self, Grant};
use crate::manifest::Dependency;
use crate::net::{Allowlist, NetworkAccess};
use crate::registry::Registry;
use crate::sandbox::{
    CallRecord, Callee, Composition, DependencySource, Policy, Sandbox, StorageOwner,
};
use crate::sign::{self, Acceptance, Author, SignaturePolicy};
use crate::{Error, Shell};

/// Installed dependencies, as the registry holds them.
struct RegistrySource {
    registry: Registry,
    trusted: Vec<Author>,
    /// `--deny`: withheld from every spirit of the run.
    deny: Vec<Capability>,
}

impl DependencySource for RegistrySource {
    fn fetch(&self, dependency: &Dependency) -> Result<Callee, String> {
        let (entry, files) = self
            .registry
            .load_pinned(dependency)
            .map_err(|e| format!("cannot call `{}`: {e}", dependency.name))?;
        if dependency.author.is_some() && entry.author != dependency.author {
            return Err(format!(
                "cannot call `{}@{}`: it is signed by {}, not by {}, who signed the one its caller was built against",
                entry.name,
                entry.version,
                entry.author.as_deref().unwrap_or("nobody"),
                dependency.author.as_deref().unwrap_or("nobody"),
            ));
        }
        // Its capabilities and its network allowlist come with its
        // manifest, granted together or not at all.
        let (declared, network) = match grant::for_installed(&entry, &self.trusted) {
            Grant::Declared => (
                files.manifest.capabilities.clone(),
                files.manifest.network.clone(),
            ),
            Grant::Withheld { .. } => (Vec::new(), Allowlist::default()),
        };
        let verdict = sign::check_signed(
            files.signed(),
            &SignaturePolicy {
                unsigned: Acceptance::Allow,
                ..SignaturePolicy::CONSISTENT
            },
            &[],
        )
        .map_err(|e| format!("cannot call `{}`: {e}", dependency.name))?;
        Ok(Callee {
            wasm: files.wasm,
            entry: files.manifest.entry,
            policy: Policy::from_declared(declared, [], self.deny.iter().copied()),
            owner: verdict
                .author()
                .map_or(StorageOwner::Unsigned, |a| StorageOwner::Author(a.0)),
            dependencies: files.manifest.dependencies,
            network,
        })
    }
}

/// The composition of a run of a spirit with `dependencies`, read from the
/// registry under the run's `home` (its `SandboxConfig::home`, never the
/// environment's), its callees reaching their own allowlists within the
/// run's network limits and roots (`network`); `None` when it has none.
///
/// # Errors
///
/// Fails when there is no home to read the registry in, or the registry or
/// the trusted authors cannot be read.
pub(super) fn composition(
    sandbox: &Arc<Sandbox>,
    dependencies: &[Dependency],
    deny: &[Capability],
    home: Option<&Path>,
    network: &NetworkAccess,
) -> Result<Option<Arc<Composition>>, Error> {
    let Some(first) = dependencies.first() else {
        return Ok(None);
    };
    let home = home.ok_or_else(|| Error::NoHome(first.name.clone()))?;
    let registry = Registry::new(home);
    let trusted = crate::trust::trusted_authors(registry.home())?;
    let source = RegistrySource {
        registry,
        trusted,
        deny: deny.to_vec(),
    };
    Ok(Some(Composition::with_network(
        sandbox.clone(),
        Arc::new(source),
        dependencies.to_vec(),
        NetworkAccess {
            allowlist: Allowlist::default(),
            limits: network.limits,
            extra_roots: network.extra_roots.clone(),
        },
    )))
}

/// With `-v`, one line per call: indented by depth, with the callee's
/// version, export, fuel and time, and why it failed.
pub(super) fn report(shell: &Shell, composition: &Composition) {
    report_since(shell, composition, 0, 0);
}

/// [`report`] of the calls after the first `recorded` (and of the
/// unrecorded ones beyond `unrecorded`): what one invocation of a séance's
/// spirit called. Returns the counts to give next time.
pub(super) fn report_since(
    shell: &Shell,
    composition: &Composition,
    recorded: usize,
    unrecorded: u64,
) -> (usize, u64) {
    let calls = composition.calls();
    let more = composition.unrecorded_calls();
    shell.verbose(|s| {
        for call in calls.iter().skip(recorded) {
            s.status("Called", line(call));
        }
        let new = more.saturating_sub(unrecorded);
        if new > 0 {
            s.status("Called", format_args!("… and {new} more calls"));
        }
    });
    (calls.len(), more)
}

/// `  echo@1.0.0 run: 1234 units of fuel in 1.20ms` (and `: failed: …`).
fn line(call: &CallRecord) -> String {
    let mut line = format!(
        "{}{}@{} {}: {} units of fuel in {:.2?}",
        "  ".repeat(call.depth.saturating_sub(1)),
        crate::shell::escape(&call.name),
        call.version,
        crate::shell::escape(&call.export),
        call.fuel_used,
        call.duration
    );
    if let Some(error) = &call.error {
        line.push_str(&format!(", failed: {}", crate::shell::escape(error)));
    }
    line
}
