//! Compiled components on disk, keyed by the component's sha256 and the engine's compilation
//! settings, so a host restart (or another test) loads a plugin in microseconds instead of
//! compiling it again.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The on-disk cache. Its directory must be writable by the host only: loading an artifact
/// trusts its contents as much as the host's own code.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// Feeds `Hash` output into sha256 so the key is stable across processes.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ArtifactCache {
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        Self { dir, engine_key }
    }

    fn path(&self, hash: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{hash}-{}.cwasm", self.engine_key)))
    }

    /// The compiled component for `hash`, from the cache or compiled from `bytes` (and cached).
    /// Returns whether it came from the cache.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        hash: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, bool)> {
        if let Some(path) = self.path(hash)
            && let Ok(artifact) = std::fs::read(&path)
        {
            // Read into memory rather than mmap: a file replaced or truncated under a mapping
            // would crash the host with SIGBUS.
            // SAFETY: the file was written by `store` below from a component compiled by an
            // engine with the same settings (the key says so), in a directory only the host
            // writes to. A corrupt or stale file fails to deserialize and is recompiled.
            #[allow(unsafe_code, reason = "loading our own precompiled artifact")]
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(c) => return Ok((c, true)),
                Err(e) => tracing::warn!(path = %path.display(), "recompiling: {e:#}"),
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Some(path) = self.path(hash)
            && let Err(e) = store(&path, &component)
        {
            // A cache that cannot be written only costs a compile next time.
            tracing::warn!(path = %path.display(), "cannot cache compiled plugin: {e:#}");
        }
        Ok((component, false))
    }
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so a concurrent reader never sees half a file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{unique}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Hex sha256 of `bytes`: a plugin's identity.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
