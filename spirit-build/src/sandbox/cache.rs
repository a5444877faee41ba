//! Compiled code cached on disk, so a second run of the same module does not
//! compile it again.
//!
//! An entry is `<VUDO_HOME>/cache/<blake3 of the wasm>-<engine hash>.cwasm`:
//! wasmtime's serialized module followed by a trailer that binds it to what
//! it was compiled from: a format tag, the blake3 of the wasm, the engine's
//! compatibility hash ([`Engine::precompile_compatibility_hash`], so an
//! engine with another configuration or wasmtime version looks up other
//! files) and a MAC over all of it. An entry is loaded only when its trailer
//! names the wasm being run and this engine, and its MAC verifies: a file
//! copied over another module's entry (or edited) is a miss, compiled again,
//! never run.
//!
//! The trust boundary: loading an entry runs its native code outside the
//! WebAssembly sandbox, so an entry must come from this user's own
//! compiler. The MAC is blake3 keyed with a secret of this cache
//! (`<cache>/key`, 32 random bytes, created `0600` without replacing an
//! existing one), so whoever can write files into the cache directory but
//! cannot read the key (a cache directory shared or restored from elsewhere,
//! a copy from another machine) cannot make an entry that loads. Whoever can
//! read the key or write `VUDO_HOME` as the user already controls what the
//! user runs (SECURITY.md's assumptions). A key file that others can read or
//! write, or that is damaged, turns the cache off (every load compiles) with
//! a reason instead of trusting it.
//!
//! Entries are written with [`crate::fs::write_atomic_private`] (mode 0600),
//! so a reader never sees a half-written one. On Unix a load maps the entry
//! rather than reading and copying it (a module's code and data are not
//! copied twice per run): the MAC is checked through the open file that is
//! then mapped, and an entry loads only when the key's owner owns it and
//! nobody else may write it, so the bytes checked are the bytes run.
//! Nothing is evicted: an entry is a few times the size of its wasm, and
//! deleting the directory is always safe (a new key is made).

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmtime::{Engine, Module};

/// What an entry's trailer starts with: the format of the entries this
/// code writes (entries of an earlier format are misses, then replaced).
const TAG: &[u8; 16] = b"spirit-cwasm-v2\0";
/// The trailer: tag, blake3 of the wasm, engine hash, MAC.
const TRAILER_LEN: usize = TAG.len() + 3 * blake3::OUT_LEN;
/// The key file, in the cache directory.
const KEY_FILE: &str = "key";
/// The key's length.
const KEY_LEN: usize = blake3::KEY_LEN;

/// The on-disk cache of one engine.
#[derive(Debug)]
pub(crate) struct CodeCache {
    dir: PathBuf,
    /// The blake3 of the engine's compatibility hash.
    engine_hash: [u8; 32],
    /// The MAC key, read (or made) on first use; `Err` says why the cache
    /// is off.
    key: OnceLock<Result<Secret, String>>,
}

/// The cache's key, and who owns its file: the user whose entries load.
#[derive(Debug)]
struct Secret {
    key: [u8; KEY_LEN],
    #[cfg(unix)]
    owner: u32,
}

impl CodeCache {
    /// The cache in `dir` for `engine`.
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> CodeCache {
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        CodeCache {
            dir,
            engine_hash: *hasher.0.finalize().as_bytes(),
            key: OnceLock::new(),
        }
    }

    /// The file that holds (or will hold) the code compiled from the wasm
    /// whose blake3 is `wasm_hash`.
    pub(crate) fn path(&self, wasm_hash: &blake3::Hash) -> PathBuf {
        let engine = blake3::Hash::from_bytes(self.engine_hash).to_hex();
        self.dir
            .join(format!("{}-{}.cwasm", wasm_hash.to_hex(), &engine[..16]))
    }

    /// The MAC key, made on first use.
    fn key(&self) -> Result<&Secret, &str> {
        self.key
            .get_or_init(|| cache_key(&self.dir))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The fields of an entry's trailer for the wasm with hash
    /// `wasm_hash`: the format tag, that hash, this engine's hash.
    fn trailer_fields(&self, wasm_hash: &blake3::Hash) -> Vec<u8> {
        let mut fields = Vec::with_capacity(TRAILER_LEN);
        fields.extend_from_slice(TAG);
        fields.extend_from_slice(wasm_hash.as_bytes());
        fields.extend_from_slice(&self.engine_hash);
        fields
    }

    /// The cached module for the wasm whose blake3 is `wasm_hash`, and its
    /// file, when there is an entry compiled from exactly that wasm by this
    /// engine, with a MAC that verifies. The caller hashed the very bytes it
    /// would otherwise compile.
    ///
    /// On Unix the entry is mapped, not read and copied: its MAC is checked
    /// through the open file, which is then mapped (an entry renamed over
    /// the path since is not what is mapped), and only an entry that its
    /// owner alone may write, the key's owner, loads: nobody else can
    /// change the mapped bytes once checked.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm_hash: &blake3::Hash,
    ) -> Option<(Module, PathBuf)> {
        let secret = self.key().ok()?;
        let path = self.path(wasm_hash);
        #[cfg(unix)]
        {
            use std::io::Read;
            use std::os::unix::fs::MetadataExt;
            let file = std::fs::File::open(&path).ok()?;
            let meta = file.metadata().ok()?;
            if !meta.is_file() || meta.uid() != secret.owner || meta.mode() & 0o022 != 0 {
                return None;
            }
            let code_len = meta.len().checked_sub(TRAILER_LEN as u64)?;
            let mut reader = std::io::BufReader::with_capacity(64 << 10, &file);
            let mut mac = blake3::Hasher::new_keyed(&secret.key);
            let hashed = std::io::copy(&mut (&mut reader).take(code_len), &mut mac).ok()?;
            let mut trailer = [0u8; TRAILER_LEN];
            reader.read_exact(&mut trailer).ok()?;
            if hashed != code_len || !self.trailer_verifies(mac, &trailer, wasm_hash) {
                return None;
            }
            // SAFETY: `Module::deserialize_open_file` requires a file that
            // `Module::serialize` wrote, unmodified while it is mapped. This
            // one is: only `store` below makes an entry whose MAC verifies
            // under this cache's secret key, from this very wasm (its hash
            // is in the MAC'd trailer) with this engine (its compatibility
            // hash too); the MAC covers every byte of the code, read through
            // the descriptor that is mapped; and only the key's owner can
            // write the file (checked above). The trailer after the code is
            // outside what wasmtime reads. Wasmtime itself still rejects
            // code from another version or configuration with an error.
            let module = unsafe { Module::deserialize_open_file(engine, file) }.ok()?;
            Some((module, path))
        }
        #[cfg(not(unix))]
        {
            let bytes = std::fs::read(&path).ok()?;
            let split = bytes.len().checked_sub(TRAILER_LEN)?;
            let (code, trailer) = bytes.split_at(split);
            let mut mac = blake3::Hasher::new_keyed(&secret.key);
            mac.update(code);
            if !self.trailer_verifies(mac, trailer, wasm_hash) {
                return None;
            }
            // SAFETY: as above, for bytes read into memory: the MAC covers
            // every byte of the code, and nothing changes them after.
            let module = unsafe { Module::deserialize(engine, code) }.ok()?;
            Some((module, path))
        }
    }

    /// Whether `trailer` names this wasm and engine and ends in the MAC that
    /// `mac` (the keyed hasher, fed the code) makes over the code and the
    /// trailer's fields (compared in constant time).
    fn trailer_verifies(
        &self,
        mut mac: blake3::Hasher,
        trailer: &[u8],
        wasm_hash: &blake3::Hash,
    ) -> bool {
        if trailer.len() != TRAILER_LEN {
            return false;
        }
        let (fields, tag) = trailer.split_at(TRAILER_LEN - blake3::OUT_LEN);
        let Ok(tag) = blake3::Hash::from_slice(tag) else {
            return false;
        };
        fields == self.trailer_fields(wasm_hash).as_slice() && mac.update(fields).finalize() == tag
    }

    /// Writes `module`, compiled from the wasm whose blake3 is `wasm_hash`,
    /// to the cache.
    ///
    /// # Errors
    ///
    /// Says what failed; the run goes on without the cache.
    pub(crate) fn store(
        &self,
        wasm_hash: &blake3::Hash,
        module: &Module,
    ) -> Result<PathBuf, String> {
        let mut bytes = module.serialize().map_err(|e| format!("{e:#}"))?;
        crate::fs::create_dir_all(&self.dir).map_err(|e| error_chain(&e))?;
        let secret = self.key()?;
        let mut trailer = self.trailer_fields(wasm_hash);
        let mac = blake3::Hasher::new_keyed(&secret.key)
            .update(&bytes)
            .update(&trailer)
            .finalize();
        trailer.extend_from_slice(mac.as_bytes());
        bytes.extend_from_slice(&trailer);
        let path = self.path(wasm_hash);
        crate::fs::write_atomic_private(&path, &bytes).map_err(|e| error_chain(&e))?;
        Ok(path)
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The cache's MAC key in `dir`: read when it is there, private and whole;
/// made (32 random bytes, mode 0600, never replacing another process's)
/// when it is missing.
fn cache_key(dir: &Path) -> Result<Secret, String> {
    let path = dir.join(KEY_FILE);
    let off = |why: String| format!("the code cache's key `{}` {why}", path.display());
    if std::fs::symlink_metadata(&path).is_err() {
        crate::fs::create_dir_all(dir).map_err(|e| error_chain(&e))?;
        let mut key = [0; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| off(format!("could not be made: {e}")))?;
        match crate::fs::write_new_private(&path, &key) {
            // Read back below, as any key is, with its owner.
            Ok(()) => {}
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(off(format!("could not be written: {e}"))),
        }
    }
    let meta = std::fs::symlink_metadata(&path).map_err(|e| off(e.to_string()))?;
    if !meta.is_file() {
        return Err(off("is not a regular file; remove it".to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(off(format!(
                "can be read or written by others (mode {:o}); remove it, a private one is made",
                mode & 0o777
            )));
        }
    }
    let bytes = std::fs::read(&path).map_err(|e| off(format!("could not be read: {e}")))?;
    let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| off("is damaged (not 32 bytes); remove it, a new one is made".to_owned()))?;
    Ok(Secret {
        key,
        #[cfg(unix)]
        owner: std::os::unix::fs::MetadataExt::uid(&meta),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Feeds `Hash` implementations into blake3, so the engine's compatibility
/// hash is stable across runs (std's `DefaultHasher` promises nothing).
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        let hash = self.0.finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&hash.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module and the blake3 of its wasm.
    fn module(engine: &Engine, body: &str) -> (blake3::Hash, Module) {
        let wasm = wat::parse_str(format!(r#"(module (func (export "run") {body}))"#)).unwrap();
        let module = Module::new(engine, &wasm).unwrap();
        (blake3::hash(&wasm), module)
    }

    #[test]
    fn entries_round_trip_and_corruption_is_a_miss() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("cache"), &engine);
        let (wasm, module) = module(&engine, "");
        assert!(cache.load(&engine, &wasm).is_none());
        let path = cache.store(&wasm, &module).unwrap();
        assert!(cache.load(&engine, &wasm).is_some());

        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        crate::fs::write_atomic(&path, &bytes).unwrap();
        assert!(cache.load(&engine, &wasm).is_none());
    }

    #[test]
    #[cfg(unix)]
    fn an_entry_others_may_write_is_a_miss() {
        use std::os::unix::fs::PermissionsExt;
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("cache"), &engine);
        let (wasm, module) = module(&engine, "");
        let path = cache.store(&wasm, &module).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(cache.load(&engine, &wasm).is_some());
        // Another user could change the code between the MAC check and the
        // run: not loaded, compiled again.
        for mode in [0o620, 0o602, 0o666] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(cache.load(&engine, &wasm).is_none(), "mode {mode:o}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(cache.load(&engine, &wasm).is_some());
    }

    #[test]
    fn threads_storing_the_same_entry_all_succeed() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("cache"), &engine);
        let (wasm, module) = module(&engine, "");
        std::thread::scope(|scope| {
            let stores: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| cache.store(&wasm, &module)))
                .collect();
            for store in stores {
                assert!(store.join().unwrap().is_ok());
            }
        });
        assert!(cache.load(&engine, &wasm).is_some());
        // The entry and the key, and no temporary file left.
        assert_eq!(
            std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
            2
        );
    }

    #[test]
    fn a_mapped_entry_runs_its_code_and_data() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("cache"), &engine);
        let wasm = wat::parse_str(
            r#"(module (memory 1) (data (i32.const 16) "\2a")
                (func (export "get") (result i32) (i32.load8_u (i32.const 16))))"#,
        )
        .unwrap();
        let hash = blake3::hash(&wasm);
        cache
            .store(&hash, &Module::new(&engine, &wasm).unwrap())
            .unwrap();
        let (module, _) = cache.load(&engine, &hash).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let get = instance
            .get_typed_func::<(), i32>(&mut store, "get")
            .unwrap();
        assert_eq!(get.call(&mut store, ()).unwrap(), 42);
    }

    #[test]
    fn an_entry_copied_over_another_modules_is_a_miss() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("cache"), &engine);
        let (a, a_module) = module(&engine, "");
        let (b, b_module) = module(&engine, "(nop)");
        let a_path = cache.store(&a, &a_module).unwrap();
        let b_path = cache.store(&b, &b_module).unwrap();
        std::fs::copy(&a_path, &b_path).unwrap();
        assert!(cache.load(&engine, &b).is_none(), "a's code ran as b");
        assert!(cache.load(&engine, &a).is_some());
    }

    #[test]
    fn an_entry_made_with_another_key_is_a_miss() {
        let engine = Engine::default();
        let (ours, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cache = CodeCache::new(ours.path().to_owned(), &engine);
        let other = CodeCache::new(theirs.path().to_owned(), &engine);
        let (wasm, module) = module(&engine, "");
        // Another cache (another key) makes a well-formed entry for this
        // wasm and engine; dropped into ours, it does not load.
        let forged = other.store(&wasm, &module).unwrap();
        std::fs::copy(&forged, cache.path(&wasm)).unwrap();
        assert!(cache.load(&engine, &wasm).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = ours.path().join(KEY_FILE);
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
            // A key others can read turns the cache off, in words.
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            let open = CodeCache::new(ours.path().to_owned(), &engine);
            let error = open.store(&wasm, &module).unwrap_err();
            assert!(
                error.contains("can be read or written by others"),
                "{error}"
            );
            assert!(open.load(&engine, &wasm).is_none());
        }
    }

    #[test]
    fn another_engine_configuration_uses_another_file() {
        let wasm = &blake3::hash(b"\0asm\x01\0\0\0");
        let a = CodeCache::new(PathBuf::from("c"), &Engine::default());
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let b = CodeCache::new(PathBuf::from("c"), &Engine::new(&config).unwrap());
        assert_ne!(a.path(wasm), b.path(wasm));
    }
}
