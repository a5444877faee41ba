//! The registry's operations, end to end on a temporary `VUDO_HOME`.

use super::*;
use crate::manifest::Manifest;
use crate::sign::Key;

fn spirit(name: &str, version: &str, key: Option<&Key>, body: &str) -> SpiritFiles {
    let wasm = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1) (func (export "run") {body}))"#
    ))
    .unwrap();
    let mut manifest = Manifest::for_module(name, version.parse().unwrap(), &wasm);
    manifest.description = Some(format!("the {name} spirit"));
    manifest.capabilities = vec![spirit_sdk::abi::Capability::ActuatorLog];
    SpiritFiles::new(manifest, wasm, key)
}

fn setup() -> (tempfile::TempDir, Registry, Key) {
    let home = tempfile::tempdir().unwrap();
    let registry = Registry::new(home.path());
    let key = Key::generate().unwrap();
    registry.trust(key.author()).unwrap();
    (home, registry, key)
}

#[test]
fn install_resolve_uninstall() {
    let (_home, registry, key) = setup();
    for v in ["1.0.0", "1.2.0", "1.2.5", "2.0.0"] {
        assert!(matches!(
            registry
                .install(
                    &spirit("hello", v, Some(&key), ""),
                    InstallOptions::default()
                )
                .unwrap(),
            Installed::New(_)
        ));
    }
    let resolve = |req| {
        registry
            .resolve("hello", req)
            .map(|e| e.version.to_string())
    };
    assert_eq!(resolve(None).unwrap(), "2.0.0");
    assert_eq!(resolve(Some("^1.2")).unwrap(), "1.2.5");
    assert_eq!(resolve(Some("~1.2.0")).unwrap(), "1.2.5");
    assert_eq!(resolve(Some("=1.2.0")).unwrap(), "1.2.0");
    assert_eq!(resolve(Some(">=1.0, <1.2")).unwrap(), "1.0.0");
    let error = resolve(Some("^3")).unwrap_err().to_string();
    assert_eq!(
        error,
        "no installed version of `hello` matches `^3`; installed: 1.0.0, 1.2.0, 1.2.5, 2.0.0"
    );
    assert!(matches!(
        resolve(Some("one")),
        Err(RegistryError::BadRequirement { .. })
    ));
    let removed = registry
        .uninstall("hello", Some(&Version::new(2, 0, 0)))
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(resolve(None).unwrap(), "1.2.5");
    assert_eq!(registry.uninstall("hello", None).unwrap().len(), 3);
    assert!(matches!(
        registry.resolve("hello", None),
        Err(RegistryError::NotInstalled(_))
    ));
    assert!(!crate::home::installed_name_dir(registry.home(), "hello").exists());
}

#[test]
fn trust_and_signatures_are_required() {
    let (_home, registry, key) = setup();
    let unsigned = spirit("loose", "1.0.0", None, "");
    assert!(matches!(
        registry.install(&unsigned, InstallOptions::default()),
        Err(RegistryError::Unsigned(_))
    ));
    let installed = registry
        .install(
            &unsigned,
            InstallOptions {
                allow_unsigned: true,
                force: false,
            },
        )
        .unwrap();
    assert!(installed.entry().unsigned);
    let stranger = Key::generate().unwrap();
    let error = registry
        .install(
            &spirit("other", "1.0.0", Some(&stranger), ""),
            InstallOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(error, RegistryError::Untrusted { .. }));
    let mut tampered = spirit("bad", "1.0.0", Some(&key), "");
    tampered.wasm.push(0);
    assert!(matches!(
        registry.install(&tampered, InstallOptions::default()),
        Err(RegistryError::Verify { .. })
    ));
    assert_eq!(registry.list().unwrap().len(), 1);
}

#[test]
fn reinstalling_different_content_needs_force() {
    let (_home, registry, key) = setup();
    let a = spirit("same", "1.0.0", Some(&key), "");
    let b = spirit("same", "1.0.0", Some(&key), "nop");
    registry.install(&a, InstallOptions::default()).unwrap();
    assert!(matches!(
        registry.install(&a, InstallOptions::default()).unwrap(),
        Installed::Unchanged(_)
    ));
    assert!(matches!(
        registry.install(&b, InstallOptions::default()),
        Err(RegistryError::Conflict { .. })
    ));
    let force = InstallOptions {
        allow_unsigned: false,
        force: true,
    };
    assert!(matches!(
        registry.install(&b, force).unwrap(),
        Installed::Replaced(_)
    ));
    let entry = registry.resolve("same", None).unwrap();
    assert_eq!(registry.load(&entry).unwrap().wasm, b.wasm);
}

#[test]
// Tampering is the point: the file is changed in place, not atomically.
#[allow(clippy::disallowed_methods)]
fn changed_files_are_refused_at_load() {
    let (_home, registry, key) = setup();
    registry
        .install(
            &spirit("victim", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    let entry = registry.resolve("victim", None).unwrap();
    let wasm = registry
        .spirit_dir("victim", &entry.version)
        .join("victim.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.push(0);
    std::fs::write(&wasm, bytes).unwrap();
    assert!(matches!(
        registry.load(&entry),
        Err(RegistryError::Tampered { .. })
    ));
}

#[test]
fn repair_restores_an_interrupted_forced_reinstall_and_clears_leftovers() {
    let (_home, registry, key) = setup();
    registry
        .install(
            &spirit("crashy", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    let entry = registry.resolve("crashy", None).unwrap();
    let dir = registry.spirit_dir("crashy", &entry.version);
    // Killed after moving the old version aside, before the new one arrived.
    let aside = crate::home::set_aside_dir(registry.home(), "crashy", &"1.0.0", 1);
    std::fs::create_dir_all(aside.parent().unwrap()).unwrap();
    std::fs::rename(&dir, &aside).unwrap();
    let staged = crate::home::staged_dir(registry.home(), 7);
    std::fs::create_dir_all(&staged).unwrap();
    let ghost = crate::home::installed_name_dir(registry.home(), "ghost");
    std::fs::create_dir_all(ghost.join("0.1.0")).unwrap();
    let done = registry.repair().unwrap();
    assert!(
        done.iter().any(|d| d.starts_with("restored crashy@1.0.0")),
        "{done:?}"
    );
    assert!(registry.load(&entry).is_ok());
    assert!(!staged.exists());
    assert!(!ghost.exists());
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_registry_are_not_followed() {
    let (home, registry, key) = setup();
    registry
        .install(
            &spirit("linked", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    let entry = registry.resolve("linked", None).unwrap();
    let dir = registry.spirit_dir("linked", &entry.version);
    // Move the real files elsewhere and leave a link in their place.
    let outside = home.path().join("outside");
    std::fs::rename(&dir, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &dir).unwrap();
    assert!(matches!(
        registry.load(&entry),
        Err(RegistryError::Symlink(_))
    ));
    // A link to the wasm alone is refused too.
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(outside.join("manifest.toml"), dir.join("manifest.toml")).unwrap();
    std::os::unix::fs::symlink(outside.join("linked.wasm"), dir.join("linked.wasm")).unwrap();
    assert!(matches!(
        registry.load(&entry),
        Err(RegistryError::Symlink(_))
    ));
}

#[test]
fn names_cannot_leave_the_registry() {
    let (_home, registry, _key) = setup();
    for name in ["../etc", "a/b", "", ".."] {
        assert!(
            matches!(registry.resolve(name, None), Err(RegistryError::BadName(_))),
            "{name}"
        );
    }
}

#[test]
fn search_by_name_description_and_capability() {
    let (_home, registry, key) = setup();
    registry
        .install(
            &spirit("alpha", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    registry
        .install(
            &spirit("beta", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    assert_eq!(registry.search("alp").unwrap().len(), 1);
    assert_eq!(registry.search("the beta").unwrap().len(), 1);
    assert_eq!(registry.search("actuator_log").unwrap().len(), 2);
    assert_eq!(registry.search("storage_read").unwrap().len(), 0);
}
