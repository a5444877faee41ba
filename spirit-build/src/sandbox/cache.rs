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
//! Entries are written with [`crate::fs::write_atomic`], so a reader never
//! sees a half-written one. Nothing is evicted: an entry is a few times the
//! size of its wasm, and deleting the directory is always safe (a new key is
//! made).

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
    key: OnceLock<Result<[u8; KEY_LEN], String>>,
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
    fn key(&self) -> Result<&[u8; KEY_LEN], &str> {
        self.key
            .get_or_init(|| cache_key(&self.dir))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The trailer of the entry for `code`, compiled from the wasm with
    /// hash `wasm_hash`.
    fn trailer(&self, key: &[u8; KEY_LEN], code: &[u8], wasm_hash: &blake3::Hash) -> Vec<u8> {
        let mut trailer = Vec::with_capacity(TRAILER_LEN);
        trailer.extend_from_slice(TAG);
        trailer.extend_from_slice(wasm_hash.as_bytes());
        trailer.extend_from_slice(&self.engine_hash);
        let mac = blake3::Hasher::new_keyed(key)
            .update(code)
            .update(&trailer)
            .finalize();
        trailer.extend_from_slice(mac.as_bytes());
        trailer
    }

    /// The cached module for the wasm whose blake3 is `wasm_hash`, and its
    /// file, when there is an entry compiled from exactly that wasm by this
    /// engine, with a MAC that verifies. The caller hashed the very bytes it
    /// would otherwise compile.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm_hash: &blake3::Hash,
    ) -> Option<(Module, PathBuf)> {
        let key = self.key().ok()?;
        let path = self.path(wasm_hash);
        let bytes = std::fs::read(&path).ok()?;
        let split = bytes.len().checked_sub(TRAILER_LEN)?;
        let (code, trailer) = bytes.split_at(split);
        // Equal trailers mean the same tag, wasm and engine, and a MAC made
        // with this key over these bytes (compared in constant time).
        let expected = self.trailer(key, code, wasm_hash);
        let (fields, mac) = trailer.split_at(TRAILER_LEN - blake3::OUT_LEN);
        let mac = blake3::Hash::from_slice(mac).ok()?;
        let expected_mac = blake3::Hash::from_slice(&expected[fields.len()..]).ok()?;
        if fields != &expected[..fields.len()] || mac != expected_mac {
            return None;
        }
        // SAFETY: `Module::deserialize` requires bytes that `Module::serialize`
        // produced, unmodified. These are: only `store` below makes an entry
        // whose MAC verifies under this cache's secret key, it made it from
        // this very wasm (its hash is in the MAC'd trailer) with this engine
        // (its compatibility hash too), and the MAC covers every byte of the
        // code. Wasmtime itself still rejects code from another version or
        // configuration with an error.
        let module = unsafe { Module::deserialize(engine, code) }.ok()?;
        Some((module, path))
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
        let key = self.key()?;
        let trailer = self.trailer(key, &bytes, wasm_hash);
        bytes.extend_from_slice(&trailer);
        let path = self.path(wasm_hash);
        crate::fs::write_atomic(&path, &bytes).map_err(|e| error_chain(&e))?;
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
fn cache_key(dir: &Path) -> Result<[u8; KEY_LEN], String> {
    let path = dir.join(KEY_FILE);
    let off = |why: String| format!("the code cache's key `{}` {why}", path.display());
    if std::fs::symlink_metadata(&path).is_err() {
        crate::fs::create_dir_all(dir).map_err(|e| error_chain(&e))?;
        let mut key = [0; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| off(format!("could not be made: {e}")))?;
        match crate::fs::write_new_private(&path, &key) {
            Ok(()) => return Ok(key),
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
    <[u8; KEY_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| off("is damaged (not 32 bytes); remove it, a new one is made".to_owned()))
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
