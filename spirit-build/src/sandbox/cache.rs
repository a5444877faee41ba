//! Compiled code cached on disk, so a second run of the same module does not
//! compile it again.
//!
//! An entry is `<VUDO_HOME>/cache/<blake3 of the wasm>-<engine hash>.cwasm`:
//! wasmtime's serialized module followed by the blake3 hash of those bytes.
//! The engine hash is [`Engine::precompile_compatibility_hash`], so an
//! engine with another configuration or another wasmtime version looks up
//! other files. Entries are written with [`crate::fs::write_atomic`], so a
//! reader never sees a half-written one. Nothing is evicted: an entry is a
//! few times the size of its wasm, and deleting the directory is always
//! safe.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

/// The length of the trailing checksum.
const CHECKSUM_LEN: usize = blake3::OUT_LEN;

/// The on-disk cache of one engine.
#[derive(Debug)]
pub(crate) struct CodeCache {
    dir: PathBuf,
    engine_hash: String,
}

impl CodeCache {
    /// The cache in `dir` for `engine`.
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> CodeCache {
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let engine_hash = hasher.0.finalize().to_hex()[..16].to_owned();
        CodeCache { dir, engine_hash }
    }

    /// The file that holds (or will hold) the code compiled from `wasm`.
    pub(crate) fn path(&self, wasm: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            blake3::hash(wasm).to_hex(),
            self.engine_hash
        ))
    }

    /// The cached module for `wasm`, when there is an intact entry this
    /// engine accepts.
    pub(crate) fn load(&self, engine: &Engine, wasm: &[u8]) -> Option<Module> {
        let bytes = std::fs::read(self.path(wasm)).ok()?;
        let split = bytes.len().checked_sub(CHECKSUM_LEN)?;
        let (code, checksum) = bytes.split_at(split);
        if blake3::hash(code).as_bytes() != checksum {
            return None;
        }
        // SAFETY: `Module::deserialize` requires bytes that `Module::serialize`
        // produced, unmodified. These are: the file's name is derived from
        // this very wasm and this engine's compatibility hash, it lives in
        // the user's own VUDO_HOME (the same trust as their ~/.cargo), only
        // `store` below writes such files, always whole (written to a
        // temporary file and renamed), and the checksum just verified shows
        // the bytes are exactly the ones `store` wrote. Wasmtime itself still
        // rejects code from another version or configuration with an error.
        unsafe { Module::deserialize(engine, code) }.ok()
    }

    /// Writes `module`, compiled from `wasm`, to the cache.
    ///
    /// # Errors
    ///
    /// Says what failed; the run goes on without the cache.
    pub(crate) fn store(&self, wasm: &[u8], module: &Module) -> Result<PathBuf, String> {
        let mut bytes = module.serialize().map_err(|e| format!("{e:#}"))?;
        let checksum = blake3::hash(&bytes);
        bytes.extend_from_slice(checksum.as_bytes());
        crate::fs::create_dir_all(&self.dir).map_err(|e| error_chain(&e))?;
        let path = self.path(wasm);
        crate::fs::write_atomic(&path, &bytes).map_err(|e| error_chain(&e))?;
        Ok(path)
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
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

    #[test]
    fn entries_round_trip_and_corruption_is_a_miss() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("cache"), &engine);
        let wasm = wat::parse_str(r#"(module (func (export "run")))"#).unwrap();
        assert!(cache.load(&engine, &wasm).is_none());
        let module = Module::new(&engine, &wasm).unwrap();
        let path = cache.store(&wasm, &module).unwrap();
        assert!(cache.load(&engine, &wasm).is_some());

        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        crate::fs::write_atomic(&path, &bytes).unwrap();
        assert!(cache.load(&engine, &wasm).is_none());
    }

    #[test]
    fn another_engine_configuration_uses_another_file() {
        let wasm = b"\0asm\x01\0\0\0";
        let a = CodeCache::new(PathBuf::from("c"), &Engine::default());
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let b = CodeCache::new(PathBuf::from("c"), &Engine::new(&config).unwrap());
        assert_ne!(a.path(wasm), b.path(wasm));
    }
}
