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
// Tampering is the point: the file is changed in place, not atomically.
#[allow(clippy::disallowed_methods)]
fn a_reformatted_manifest_is_refused_at_load_signed_or_not() {
    // Load does not check a signed manifest's form again (install did, and
    // the signature covers its bytes): reformatting it breaks the signature.
    let (_home, registry, key) = setup();
    for (name, key) in [("signed", Some(&key)), ("unsigned", None)] {
        let options = InstallOptions {
            allow_unsigned: key.is_none(),
            ..InstallOptions::default()
        };
        registry
            .install(&spirit(name, "1.0.0", key, ""), options)
            .unwrap();
        let entry = registry.resolve(name, None).unwrap();
        let path = registry
            .spirit_dir(name, &entry.version)
            .join(crate::manifest::FILE_NAME);
        let text = std::fs::read_to_string(&path).unwrap();
        // The same data, in a form cargo-spirit does not write.
        std::fs::write(&path, text.replace("\nname = ", "\nname   = ")).unwrap();
        let error = registry
            .resolve_and_load(name, None)
            .unwrap_err()
            .to_string();
        let why = match key {
            Some(_) => "signature",
            None => "canonical form",
        };
        assert!(error.contains(why), "{name}: {error}");
    }
}

#[test]
fn resolve_and_load_reads_the_version_it_resolved() {
    let (_home, registry, key) = setup();
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        registry
            .install(
                &spirit("both", v, Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
    }
    let (entry, files) = registry.resolve_and_load("both", Some("^1")).unwrap();
    assert_eq!(entry.version.to_string(), "1.1.0");
    assert_eq!(files.manifest.version.to_string(), "1.1.0");
    assert_eq!(files.manifest.wasm.blake3, entry.blake3);
    assert!(matches!(
        registry.resolve_and_load("none", None),
        Err(RegistryError::NotInstalled(_))
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

/// Every file and directory under `dir` with its contents, links not
/// followed: what must not change outside a `VUDO_HOME`.
#[cfg(unix)]
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                todo.push(path.clone());
                all.push((path, None));
            } else {
                all.push((path.clone(), Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    all.sort();
    all
}

/// A link planted at each level below `VUDO_HOME/registry`, pointing at a
/// copy of what was there: every operation refuses to go through it, and
/// nothing outside the home is read, written or removed. With a leftover in
/// `staging/`, every change repairs first and refuses there; without one,
/// each operation's own path is checked.
#[cfg(unix)]
#[test]
fn no_operation_goes_through_a_link_at_any_level() {
    for leftover in [true, false] {
        links_at_each_level_are_refused(leftover);
    }
}

#[cfg(unix)]
fn links_at_each_level_are_refused(leftover: bool) {
    for level in [
        "registry",
        "registry/spirits",
        "registry/spirits/victim",
        "registry/spirits/victim/1.0.0",
        "registry/staging",
        "registry/index.redb",
    ] {
        let (home, registry, key) = setup();
        let victim = spirit("victim", "1.0.0", Some(&key), "");
        registry
            .install(&victim, InstallOptions::default())
            .unwrap();
        let entry = registry.resolve("victim", None).unwrap();
        let staging = home.path().join("registry/staging");
        if leftover {
            std::fs::create_dir_all(staging.join("new-1")).unwrap();
        } else if level.ends_with("staging") {
            std::fs::create_dir_all(&staging).unwrap();
        }
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("moved");
        std::fs::rename(home.path().join(level), &target).unwrap();
        std::os::unix::fs::symlink(&target, home.path().join(level)).unwrap();
        let before = snapshot(outside.path());

        let forced = InstallOptions {
            force: true,
            ..InstallOptions::default()
        };
        let results: Vec<(&str, Result<(), RegistryError>)> = vec![
            ("resolve", registry.resolve("victim", None).map(drop)),
            ("list", registry.list().map(drop)),
            ("load", registry.load(&entry).map(drop)),
            (
                "install new version",
                registry
                    .install(
                        &spirit("victim", "2.0.0", Some(&key), ""),
                        InstallOptions::default(),
                    )
                    .map(drop),
            ),
            (
                "install --force",
                registry
                    .install(&spirit("victim", "1.0.0", Some(&key), "nop"), forced)
                    .map(drop),
            ),
            (
                "upgrade",
                registry
                    .upgrade(
                        &spirit("victim", "3.0.0", Some(&key), ""),
                        InstallOptions::default(),
                    )
                    .map(drop),
            ),
            (
                "uninstall one",
                registry
                    .uninstall("victim", Some(&Version::new(1, 0, 0)))
                    .map(drop),
            ),
            (
                "uninstall all",
                registry.uninstall("victim", None).map(drop),
            ),
            ("repair", registry.repair().map(drop)),
        ];
        assert_eq!(snapshot(outside.path()), before, "link at {level}");
        for (operation, result) in results {
            let refused = matches!(result, Err(RegistryError::Symlink(_)));
            // Without leftovers, an operation the link is not on the way of
            // may succeed: a change to other files, `resolve` and `list`
            // (the index only) with a link among the spirits, `load` (the
            // files of an entry already resolved) with a linked index.
            let may_pass = !leftover
                && match operation {
                    "resolve" | "list" => level.starts_with("registry/spirits"),
                    "load" => level.ends_with("index.redb"),
                    _ => true,
                };
            assert!(
                refused || (may_pass && result.is_ok()),
                "{operation} with a link at {level} (leftover: {leftover}): {result:?}"
            );
        }
        assert!(crate::fs::is_symlink(&home.path().join(level)), "{level}");
    }
}

/// One rule for the stored wasm's name: a manifest naming another file is
/// refused at install (it would install, then fail to run).
#[test]
fn a_manifest_naming_another_wasm_file_is_not_installed() {
    let (_home, registry, key) = setup();
    let mut files = spirit("renamed", "1.0.0", None, "");
    files.manifest.wasm.file = "x.wasm".to_owned();
    let files = SpiritFiles::new(files.manifest, files.wasm, Some(&key));
    let error = registry
        .install(&files, InstallOptions::default())
        .unwrap_err();
    assert!(matches!(error, RegistryError::WasmFile { .. }), "{error}");
    assert!(
        error.to_string().contains("must be `renamed.wasm`"),
        "{error}"
    );
    assert!(registry.list().unwrap().is_empty());
}

/// Build metadata is not part of a spirit's identity: `1.0.0+evil` is
/// `1.0.0` to install (different content needs `--force`), to resolution,
/// to `upgrade` and to `uninstall`.
#[test]
fn build_metadata_does_not_make_another_version() {
    let (_home, registry, key) = setup();
    registry
        .install(
            &spirit("meta", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    let evil = spirit("meta", "1.0.0+evil", Some(&key), "nop");
    assert!(matches!(
        registry.install(&evil, InstallOptions::default()),
        Err(RegistryError::Conflict { .. })
    ));
    assert!(matches!(
        registry.upgrade(&evil, InstallOptions::default()),
        Err(RegistryError::NotNewer { .. })
    ));
    // Both at once: the second conflicts with the first.
    let batch = [
        spirit("pair", "2.0.0", Some(&key), ""),
        spirit("pair", "2.0.0+b", Some(&key), "nop"),
    ];
    assert!(matches!(
        registry.install_many(&batch, InstallOptions::default()),
        Err(RegistryError::Conflict { .. })
    ));
    let versions = |r: &Registry| -> Vec<String> {
        r.versions("meta")
            .unwrap()
            .iter()
            .map(|e| e.version.to_string())
            .collect()
    };
    assert_eq!(versions(&registry), ["1.0.0"]);
    // Forced, it replaces 1.0.0 rather than sitting beside it.
    let forced = InstallOptions {
        force: true,
        ..InstallOptions::default()
    };
    let replaced = registry.install(&evil, forced).unwrap();
    assert!(matches!(replaced, Installed::Replaced(_)), "{replaced:?}");
    assert_eq!(versions(&registry), ["1.0.0"]);
    let entry = registry.resolve("meta", Some("=1.0.0")).unwrap();
    assert_eq!(entry.blake3, evil.manifest.wasm.blake3);
    assert_eq!(registry.load(&entry).unwrap().wasm, evil.wasm);
    // Uninstalling either spelling removes it.
    let removed = registry
        .uninstall("meta", Some(&"1.0.0+other".parse().unwrap()))
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert!(registry.versions("meta").unwrap().is_empty());
}

/// An index of a format this build does not know is refused in words, for
/// reading and for changes, and left as it is.
#[test]
fn an_index_of_an_unknown_format_is_refused_and_kept() {
    let (home, registry, key) = setup();
    let path = crate::home::legacy_registry_index(home.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for (version, spirits) in [
        ("2", "{}"),
        ("\"1\"", "{}"),
        ("0", "{}"),
        ("3", "[\"new\"]"),
    ] {
        let text = format!("{{\"version\":{version},\"spirits\":{spirits}}}\n");
        crate::fs::write_atomic(&path, text.as_bytes()).unwrap();
        for error in [
            registry.list().unwrap_err(),
            registry.resolve("x", None).unwrap_err(),
            registry
                .install(
                    &spirit("x", "1.0.0", Some(&key), ""),
                    InstallOptions::default(),
                )
                .unwrap_err(),
        ] {
            assert_eq!(
                error.to_string(),
                format!(
                    "the registry index `{}` has format version {version}, but this cargo-spirit understands only version 1\nhelp: a newer cargo-spirit wrote it: use that one; or move the index away and reinstall your spirits",
                    path.display()
                )
            );
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // Nothing was migrated.
        assert!(!crate::home::registry_index(home.path()).exists());
    }
}

/// The redb index refuses a format this build does not know, in the same
/// words, and leaves it as it is.
#[test]
fn a_database_index_of_an_unknown_format_is_refused() {
    let (home, registry, key) = setup();
    registry
        .install(
            &spirit("x", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap();
    let path = crate::home::registry_index(home.path());
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("format", 2)
            .unwrap();
        txn.commit().unwrap();
    }
    let expected = format!(
        "the registry index `{}` has format version 2, but this cargo-spirit understands only version 1\nhelp: a newer cargo-spirit wrote it: use that one; or move the index away and reinstall your spirits",
        path.display()
    );
    assert_eq!(registry.list().unwrap_err().to_string(), expected);
    assert_eq!(
        registry.resolve("x", None).unwrap_err().to_string(),
        expected
    );
    let error = registry
        .install(
            &spirit("y", "1.0.0", Some(&key), ""),
            InstallOptions::default(),
        )
        .unwrap_err();
    assert_eq!(error.to_string(), expected);
}

/// The `index.json` of an earlier version is migrated into the redb index
/// once, on first open, by a reader as by a change: every entry kept, the
/// file removed, the spirits still loadable; a leftover of a migration that
/// was killed does not get in the way.
#[test]
fn an_index_json_is_migrated_once_on_first_open() {
    for first in ["list", "install"] {
        let (home, registry, key) = setup();
        for (name, version) in [("alpha", "1.0.0"), ("alpha", "2.0.0"), ("beta", "0.1.0")] {
            registry
                .install(
                    &spirit(name, version, Some(&key), ""),
                    InstallOptions::default(),
                )
                .unwrap();
        }
        let before = registry.list().unwrap();
        // What an earlier version left: `index.json`, no database.
        let mut spirits = serde_json::Map::new();
        for entry in &before {
            spirits
                .entry(entry.name.clone())
                .or_insert_with(|| serde_json::json!({}))[entry.version.to_string()] =
                serde_json::to_value(entry).unwrap();
        }
        let legacy = crate::home::legacy_registry_index(home.path());
        let json = serde_json::json!({ "version": 1, "spirits": spirits });
        crate::fs::write_atomic(&legacy, &serde_json::to_vec(&json).unwrap()).unwrap();
        let index = crate::home::registry_index(home.path());
        std::fs::remove_file(&index).unwrap();
        let killed = crate::home::registry_dir(home.path()).join(".index.redb.4000000.tmp");
        crate::fs::write_atomic(&killed, b"half a database").unwrap();

        match first {
            "list" => assert_eq!(registry.list().unwrap(), before),
            _ => {
                registry
                    .install(
                        &spirit("gamma", "1.0.0", Some(&key), ""),
                        InstallOptions::default(),
                    )
                    .unwrap();
            }
        }
        assert!(!legacy.exists(), "{first}");
        assert!(index.is_file(), "{first}");
        assert!(!killed.exists(), "{first}");
        let after: Vec<Entry> = registry
            .list()
            .unwrap()
            .into_iter()
            .filter(|e| e.name != "gamma")
            .collect();
        assert_eq!(after, before, "{first}");
        let entry = registry.resolve("alpha", Some("^1")).unwrap();
        assert_eq!(entry.version.to_string(), "1.0.0");
        assert!(registry.load(&entry).is_ok());
        // Once: a new `index.json` is no longer read.
        crate::fs::write_atomic(&legacy, b"{\"version\":1,\"spirits\":{}}").unwrap();
        assert_eq!(registry.versions("beta").unwrap().len(), 1);
    }
}

/// Pages of `list` follow name then version order and cover every entry
/// once; `search` finds by description and by capability.
#[test]
fn list_pages_and_search_read_the_index_in_order() {
    let (_home, registry, key) = setup();
    for (name, version) in [
        ("b", "1.0.0"),
        ("a", "2.0.0"),
        ("a", "1.0.0"),
        ("c", "1.0.0"),
    ] {
        registry
            .install(
                &spirit(name, version, Some(&key), ""),
                InstallOptions::default(),
            )
            .unwrap();
    }
    let all: Vec<String> = registry
        .list()
        .unwrap()
        .iter()
        .map(|e| format!("{}@{}", e.name, e.version))
        .collect();
    assert_eq!(all, ["a@1.0.0", "a@2.0.0", "b@1.0.0", "c@1.0.0"]);
    let mut paged = Vec::new();
    for offset in (0..5).step_by(2) {
        let page = registry.list_page(offset, 2).unwrap();
        assert!(page.len() <= 2);
        paged.extend(page.iter().map(|e| format!("{}@{}", e.name, e.version)));
    }
    assert_eq!(paged, all);
    assert!(registry.list_page(0, 0).unwrap().is_empty());
    assert_eq!(registry.search("A").unwrap().len(), 2);
    assert_eq!(registry.search("actuator_log").unwrap().len(), 4);
    assert_eq!(registry.search("THE C SPIRIT").unwrap().len(), 1);
    assert!(registry.search("actuator").unwrap().is_empty());
}

/// `caller` pinned to `dependency` as the registry holds it now.
fn caller_of(registry: &Registry, key: &Key, dependency: &str) -> SpiritFiles {
    let mut files = spirit("caller", "1.0.0", None, "");
    files.manifest.dependencies = vec![registry.pin(dependency, "^1").unwrap()];
    SpiritFiles::new(files.manifest, files.wasm, Some(key))
}

#[test]
fn dependencies_must_be_installed_the_same_bytes_and_trusted() {
    let (_home, registry, key) = setup();
    let callee = spirit("callee", "1.0.0", Some(&key), "");
    registry
        .install(&callee, InstallOptions::default())
        .unwrap();
    let caller = caller_of(&registry, &key, "callee");
    assert_eq!(
        caller.manifest.dependencies[0].blake3,
        callee.manifest.wasm.blake3
    );

    // Missing: refused, unless it comes with the caller.
    registry.uninstall("callee", None).unwrap();
    let error = registry
        .install(&caller, InstallOptions::default())
        .unwrap_err();
    assert!(
        error.to_string().starts_with(
            "spirit `caller` depends on `callee@1.0.0`, which is not installed\nhelp: install `callee@1.0.0` first"
        ),
        "{error}"
    );
    let both = [caller.clone(), callee.clone()];
    assert_eq!(
        registry
            .install_many(&both, InstallOptions::default())
            .unwrap()
            .len(),
        2
    );

    // Depended on: uninstall refused, naming the dependent, unless forced.
    let error = registry.uninstall("callee", None).unwrap_err().to_string();
    assert!(
        error.starts_with("`callee` is needed by an installed spirit: caller@1.0.0\n"),
        "{error}"
    );
    assert_eq!(
        registry.dependents("callee", None).unwrap()[0].name,
        "caller"
    );
    assert_eq!(
        registry.uninstall_with("callee", None, true).unwrap().len(),
        1
    );
    assert!(matches!(
        registry.load_pinned(&caller.manifest.dependencies[0]),
        Err(RegistryError::PinnedMissing { .. })
    ));

    // Other bytes under the pinned version: refused at install and at load.
    let other = spirit("callee", "1.0.0", Some(&key), "(nop)");
    registry.install(&other, InstallOptions::default()).unwrap();
    let error = registry
        .install(
            &caller,
            InstallOptions {
                force: true,
                ..InstallOptions::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::DependencyChanged { .. }),
        "{error}"
    );
    assert!(matches!(
        registry.load_pinned(&caller.manifest.dependencies[0]),
        Err(RegistryError::PinnedChanged { .. })
    ));

    // A dependency whose author is no longer trusted: refused.
    registry
        .install(
            &callee,
            InstallOptions {
                force: true,
                ..InstallOptions::default()
            },
        )
        .unwrap();
    registry.untrust(key.author()).unwrap();
    let other_key = Key::generate().unwrap();
    registry.trust(other_key.author()).unwrap();
    let caller = SpiritFiles::new(caller.manifest, caller.wasm, Some(&other_key));
    let error = registry
        .install(
            &caller,
            InstallOptions {
                force: true,
                ..InstallOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("depends on `callee@1.0.0`, signed by")
            && error.contains("who is not trusted"),
        "{error}"
    );
}
