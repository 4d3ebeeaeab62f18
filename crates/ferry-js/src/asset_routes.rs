//! `routeRegistry.registerAssetRoute(path, asset)`: one of a script's assets served at a
//! path by Ferry itself — no JavaScript runs — with the file service's validators
//! (`ETag` from its SHA-256, `Last-Modified`), conditional requests, byte ranges and
//! compression.
//!
//! Assets are kept in memory once read, up to a budget. An entry is dropped whenever the
//! asset changes: through `assetStorage` or `/engine/assets` on this node, or on another
//! node sharing the database (its notice arrives over the cluster channel; after the
//! listener reconnects, every entry is dropped, as notices may have been missed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use ferry_core::{Handler, Request, Response, status_response};
use ferry_static::{InMemoryFile, InMemoryPolicy};
use ferry_store::{Asset, AssetStore, Store};
use http::{HeaderValue, StatusCode};

/// The most bytes of asset content kept in memory (the largest asset is 8 MiB).
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Which asset of which script.
type AssetKey = (Arc<str>, String);

/// The assets served by asset routes, as last read from the store. Cloning gives another
/// handle to the same cache.
#[derive(Clone, Default)]
pub(crate) struct AssetCache {
    inner: Arc<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: Mutex<HashMap<AssetKey, Entry>>,
    /// Counts changes: a read that started before one is not kept (it may be older).
    generation: AtomicU64,
    /// Orders uses, to drop the least recently used entry first.
    clock: AtomicU64,
}

struct Entry {
    /// `None`: the script has no asset of that name.
    file: Option<Arc<InMemoryFile>>,
    used: AtomicU64,
}

impl Entry {
    fn bytes(&self) -> u64 {
        self.file.as_ref().map_or(0, |file| file.len()) + 256
    }
}

impl AssetCache {
    /// `script`'s asset `name` changed or went: read it again when next asked for.
    pub(crate) fn forget(&self, script: &str, name: &str) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        let mut entries = self.lock();
        entries.retain(|(owner, asset), _| !(&**owner == script && asset == name));
    }

    /// Every asset may have changed (notices from other nodes may have been missed).
    pub(crate) fn forget_all(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AssetKey, Entry>> {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached asset (`Some(None)`: known to be missing), if it is cached.
    fn get(&self, key: &AssetKey) -> Option<Option<Arc<InMemoryFile>>> {
        let entries = self.lock();
        let entry = entries.get(key)?;
        let now = self.inner.clock.fetch_add(1, Ordering::Relaxed);
        entry.used.store(now, Ordering::Relaxed);
        Some(entry.file.clone())
    }

    /// Keeps what was read at `generation`, unless something changed since.
    fn keep(&self, key: AssetKey, file: Option<Arc<InMemoryFile>>, generation: u64) {
        let mut entries = self.lock();
        if self.inner.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let used = AtomicU64::new(self.inner.clock.fetch_add(1, Ordering::Relaxed));
        let entry = Entry { file, used };
        if entry.bytes() > CACHE_BYTES {
            return;
        }
        entries.insert(key, entry);
        let mut total: u64 = entries.values().map(Entry::bytes).sum();
        while total > CACHE_BYTES {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, entry)| entry.used.load(Ordering::Relaxed))
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some(gone) = entries.remove(&oldest) {
                total -= gone.bytes();
            }
        }
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }
}

impl crate::Engine {
    /// `script`'s asset `name` changed or went: the asset routes of this node and of the
    /// other nodes on the database read it again.
    pub(crate) fn asset_changed(&self, script: &str, name: &str) {
        announce_change(self.asset_cache(), self.store(), script, name);
    }
}

/// Drops `script`'s asset `name` from `cache` and, when `store` is shared with other
/// nodes, tells them to drop it too.
pub(crate) fn announce_change(cache: &AssetCache, store: Option<&Store>, script: &str, name: &str) {
    cache.forget(script, name);
    crate::cluster::tell_other_nodes(store, || crate::cluster::Broadcast::Asset {
        script: script.to_owned(),
        name: name.to_owned(),
    });
}

/// Serves `script`'s asset `asset` (GET and HEAD).
pub(crate) struct AssetRoute {
    pub cache: AssetCache,
    pub store: Option<Store>,
    pub script: Arc<str>,
    pub asset: String,
}

impl Handler for AssetRoute {
    fn call(&self, request: Request) -> ferry_core::BoxFuture<Response> {
        let cache = self.cache.clone();
        let store = self.store.clone();
        let key: AssetKey = (self.script.clone(), self.asset.clone());
        Box::pin(async move {
            let (parts, _body) = request.into_parts();
            let file = match cache.get(&key) {
                Some(file) => file,
                None => match read(&cache, store, key.clone()).await {
                    Ok(file) => file,
                    Err(refusal) => return refusal,
                },
            };
            match file {
                Some(file) => file.respond(&parts, &InMemoryPolicy::default()).await,
                None => not_found(&key.1),
            }
        })
    }
}

/// Reads the asset from the store (off the async threads) and keeps it.
async fn read(
    cache: &AssetCache,
    store: Option<Store>,
    key: AssetKey,
) -> Result<Option<Arc<InMemoryFile>>, Response> {
    let Some(store) = store else {
        return Ok(None);
    };
    let generation = cache.generation();
    let (script, name) = (key.0.clone(), key.1.clone());
    let read = tokio::task::spawn_blocking(move || store.connect()?.asset(&script, &name))
        .await
        .map_err(|_| status_response(StatusCode::SERVICE_UNAVAILABLE))?;
    let asset = match read {
        Ok(asset) => asset,
        Err(error) if error.is_unavailable() => {
            return Err(crate::response::unavailable(&format!(
                "the asset {} cannot be read now: {error}",
                key.1
            )));
        }
        Err(error) => {
            tracing::error!(script = &*key.0, asset = key.1, %error, "cannot read an asset");
            return Err(status_response(StatusCode::INTERNAL_SERVER_ERROR));
        }
    };
    let file = asset.map(|asset| Arc::new(in_memory(asset)));
    cache.keep(key, file.clone(), generation);
    Ok(file)
}

/// The asset as a representation: tagged by its digest, dated by its last change.
fn in_memory(asset: Asset) -> InMemoryFile {
    let info = asset.info;
    let digest = info.sha256.get(..32).unwrap_or(&info.sha256);
    let etag = HeaderValue::from_str(&format!("\"{digest}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"asset\""));
    let content_type = HeaderValue::from_str(&info.mimetype)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let modified = u64::try_from(info.updated)
        .ok()
        .filter(|seconds| *seconds > 0)
        .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds));
    InMemoryFile::new(asset.content, content_type, etag, modified)
}

fn not_found(name: &str) -> Response {
    let mut response = status_response(StatusCode::NOT_FOUND);
    *response.body_mut() = ferry_core::Body::from(format!(
        "404 Not Found\n\nthe asset {name} is not there (yet): store it with assetStorage.upsertAsset or POST /engine/assets\n"
    ));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Option<Arc<InMemoryFile>> {
        Some(Arc::new(InMemoryFile::new(
            text.to_owned(),
            HeaderValue::from_static("text/plain"),
            HeaderValue::from_static("\"t\""),
            None,
        )))
    }

    fn key(name: &str) -> AssetKey {
        (Arc::from("app.js"), name.to_owned())
    }

    #[test]
    fn a_read_older_than_a_change_is_not_kept() {
        let cache = AssetCache::default();
        let before = cache.generation();
        cache.forget("app.js", "logo.svg");
        cache.keep(key("logo.svg"), file("old"), before);
        assert!(cache.get(&key("logo.svg")).is_none());
        cache.keep(key("logo.svg"), file("new"), cache.generation());
        assert_eq!(cache.get(&key("logo.svg")).unwrap().unwrap().len(), 3);
        cache.forget("app.js", "logo.svg");
        assert!(cache.get(&key("logo.svg")).is_none());
    }

    #[test]
    fn the_least_recently_used_go_past_the_budget() {
        let cache = AssetCache::default();
        let big = "x".repeat(30 * 1024 * 1024);
        cache.keep(key("a"), file(&big), cache.generation());
        cache.keep(key("b"), file(&big), cache.generation());
        assert!(cache.get(&key("a")).is_some());
        cache.keep(key("c"), file(&big), cache.generation());
        assert!(cache.get(&key("a")).is_some(), "used last, so kept");
        assert!(cache.get(&key("b")).is_none(), "least recently used");
        assert!(cache.get(&key("c")).is_some());
        cache.forget_all();
        assert!(cache.get(&key("a")).is_none());
    }
}
