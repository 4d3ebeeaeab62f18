//! A bounded in-memory cache of file versions: their HTTP headers always, their bytes when
//! the file is small, and their compressed forms.
//!
//! Entries are keyed by path, with one slot for the file as it is and one per content
//! coding. A slot is only used while the file it came from (the original, or a precompressed
//! copy) still has the same length, modification time and inode, so an edited file is never
//! served stale: every request costs one `stat`, as it would in nginx without
//! `open_file_cache`. When the total size passes the budget, the least recently used paths go.

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::OnceCell;

use crate::encoding::ContentCoding;
use crate::entity::{Entity, FileVersion};

/// Bytes charged per slot on top of its content: the headers and bookkeeping.
const SLOT_OVERHEAD: usize = 256;

/// Limits of the in-memory file cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryCacheLimits {
    /// Files up to this size have their content (and compressed forms) cached; larger files
    /// are streamed from disk.
    pub max_file_bytes: u64,
    /// Total bytes of cached content and headers; 0 disables the cache.
    pub total_bytes: usize,
}

impl Default for MemoryCacheLimits {
    fn default() -> Self {
        MemoryCacheLimits {
            max_file_bytes: 4 * 1024 * 1024,
            total_bytes: 64 * 1024 * 1024,
        }
    }
}

/// One cached representation of a file.
#[derive(Debug)]
pub(crate) struct CachedFile {
    /// The version of the file this was made from; the slot is valid while it matches.
    pub source: FileVersion,
    /// Headers of what is sent.
    pub entity: Entity,
    /// What is sent, when small enough to keep.
    pub content: Option<Bytes>,
    /// The content coding of `content`, or `None` for the file as it is. A coding slot
    /// holding `None` records that compressing this file did not make it smaller.
    pub encoding: Option<ContentCoding>,
}

impl CachedFile {
    /// The file as it is.
    pub(crate) fn identity(entity: Entity, content: Option<Bytes>) -> Self {
        CachedFile {
            source: entity.version,
            entity,
            content,
            encoding: None,
        }
    }

    fn cost(&self) -> usize {
        SLOT_OVERHEAD + self.content.as_ref().map_or(0, Bytes::len)
    }
}

/// The representations cached for one path.
#[derive(Debug, Default)]
struct Slots {
    identity: Option<Arc<CachedFile>>,
    encoded: [Option<Arc<CachedFile>>; 3],
    last_used: AtomicU64,
}

impl Slots {
    fn slot(&mut self, coding: Option<ContentCoding>) -> &mut Option<Arc<CachedFile>> {
        match coding {
            None => &mut self.identity,
            Some(coding) => &mut self.encoded[coding_index(coding)],
        }
    }

    fn get(&self, coding: Option<ContentCoding>) -> Option<&Arc<CachedFile>> {
        match coding {
            None => self.identity.as_ref(),
            Some(coding) => self.encoded[coding_index(coding)].as_ref(),
        }
    }

    fn cost(&self, path: &Path) -> usize {
        path.as_os_str().len()
            + self
                .identity
                .iter()
                .chain(self.encoded.iter().flatten())
                .map(|file| file.cost())
                .sum::<usize>()
    }
}

fn coding_index(coding: ContentCoding) -> usize {
    match coding {
        ContentCoding::Brotli => 0,
        ContentCoding::Zstd => 1,
        ContentCoding::Gzip => 2,
    }
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<PathBuf, Slots>,
    used: usize,
}

/// The outcome of one load, shared by every request that waited for it.
type SharedLoad = Arc<OnceCell<Result<Arc<CachedFile>, Arc<io::Error>>>>;

/// The cache itself; shared by every clone of the file service.
#[derive(Debug)]
pub(crate) struct FileCache {
    entries: RwLock<Entries>,
    limits: MemoryCacheLimits,
    clock: AtomicU64,
    /// Loads in progress, so concurrent misses of one representation read (or compress) it
    /// once: without this, fifty first requests for a 2 MiB file read fifty copies.
    loading: Mutex<HashMap<(PathBuf, Option<ContentCoding>), SharedLoad>>,
}

impl FileCache {
    pub(crate) fn new(limits: MemoryCacheLimits) -> Self {
        FileCache {
            entries: RwLock::new(Entries::default()),
            limits,
            clock: AtomicU64::new(0),
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `load` for the representation of `path` in `coding` unless one is already
    /// running, in which case it waits for that one's result.
    pub(crate) async fn load_once<F, Fut>(
        &self,
        path: &Path,
        coding: Option<ContentCoding>,
        load: F,
    ) -> io::Result<Arc<CachedFile>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = io::Result<Arc<CachedFile>>>,
    {
        let key = (path.to_path_buf(), coding);
        let shared = {
            let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            loading.entry(key.clone()).or_default().clone()
        };
        let result = shared
            .get_or_init(|| async { load().await.map_err(Arc::new) })
            .await
            .clone();
        {
            let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            if loading
                .get(&key)
                .is_some_and(|current| Arc::ptr_eq(current, &shared))
            {
                loading.remove(&key);
            }
        }
        result.map_err(|error| io::Error::new(error.kind(), error.to_string()))
    }

    /// Whether a file of `len` bytes should have its content cached.
    pub(crate) fn keeps_content_of(&self, len: u64) -> bool {
        len <= self.limits.max_file_bytes && (len as usize) < self.limits.total_bytes
    }

    /// The cached representation of `path` in `coding` (`None`: as it is), if it was made
    /// from `source`.
    pub(crate) fn get(
        &self,
        path: &Path,
        coding: Option<ContentCoding>,
        source: &FileVersion,
    ) -> Option<Arc<CachedFile>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let slots = entries.map.get(path)?;
        let file = slots.get(coding)?;
        if file.source != *source {
            return None;
        }
        slots.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(file.clone())
    }

    /// Stores `file` as the representation of `path` in `coding`, then evicts the least
    /// recently used paths while over budget.
    pub(crate) fn insert(
        &self,
        path: PathBuf,
        coding: Option<ContentCoding>,
        file: Arc<CachedFile>,
    ) {
        if file.cost() + path.as_os_str().len() > self.limits.total_bytes {
            return;
        }
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let Entries { map, used } = &mut *entries;
        let before = map.get(&path).map_or(0, |slots| slots.cost(&path));
        let slots = map.entry(path.clone()).or_default();
        *slots.slot(coding) = Some(file);
        slots.last_used.store(now, Ordering::Relaxed);
        // `used` includes `before`, so this cannot underflow.
        *used = *used - before + slots.cost(&path);
        while *used > self.limits.total_bytes {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, slots)| slots.last_used.load(Ordering::Relaxed))
                .map(|(path, _)| path.clone())
            else {
                break;
            };
            if let Some(evicted) = map.remove(&oldest) {
                *used -= evicted.cost(&oldest);
            }
        }
    }

    /// Builds and caches the identity representation of a file version not in the cache:
    /// headers always, content when the file is small enough (read off the async threads).
    pub(crate) async fn load(
        &self,
        path: PathBuf,
        version: FileVersion,
    ) -> io::Result<Arc<CachedFile>> {
        let key = path.clone();
        self.load_once(&key, None, || self.load_now(path, version))
            .await
    }

    async fn load_now(&self, path: PathBuf, version: FileVersion) -> io::Result<Arc<CachedFile>> {
        if !self.keeps_content_of(version.len) {
            let file = Arc::new(CachedFile::identity(Entity::new(&path, version), None));
            self.insert(path, None, file.clone());
            return Ok(file);
        }
        let read_path = path.clone();
        let (content, read_version, consistent) =
            tokio::task::spawn_blocking(move || read_consistent(&read_path))
                .await
                .map_err(io::Error::other)??;
        let file = Arc::new(CachedFile::identity(
            Entity::new(&path, read_version),
            Some(content),
        ));
        if consistent {
            self.insert(path, None, file.clone());
        }
        Ok(file)
    }

    #[cfg(test)]
    fn used(&self) -> usize {
        self.entries.read().map(|e| e.used).unwrap_or(0)
    }
}

/// Reads a whole file, with the version of what was read and whether the file stayed the
/// same throughout (only then may the bytes be cached under that version).
pub(crate) fn read_consistent(path: &Path) -> io::Result<(Bytes, FileVersion, bool)> {
    let mut file = File::open(path)?;
    let before = FileVersion::of(&file.metadata()?);
    let mut content = Vec::with_capacity(before.len as usize);
    file.read_to_end(&mut content)?;
    let after = FileVersion::of(&file.metadata()?);
    let consistent = before == after && content.len() as u64 == after.len;
    let version = FileVersion {
        len: content.len() as u64,
        ..after
    };
    Ok((Bytes::from(content), version, consistent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, bytes: usize) -> (PathBuf, Arc<CachedFile>, FileVersion) {
        let path = dir.join(name);
        std::fs::write(&path, vec![b'x'; bytes]).unwrap();
        let version = FileVersion::of(&std::fs::metadata(&path).unwrap());
        let file = CachedFile::identity(
            Entity::new(&path, version),
            Some(Bytes::from(vec![b'x'; bytes])),
        );
        (path, Arc::new(file), version)
    }

    #[test]
    fn hits_only_for_the_same_version() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(MemoryCacheLimits::default());
        let (path, file, version) = entry(dir.path(), "a.txt", 10);
        cache.insert(path.clone(), None, file);
        assert!(cache.get(&path, None, &version).is_some());
        assert!(
            cache
                .get(&path, Some(ContentCoding::Gzip), &version)
                .is_none()
        );

        std::fs::write(&path, "changed length").unwrap();
        let changed = FileVersion::of(&std::fs::metadata(&path).unwrap());
        assert!(cache.get(&path, None, &changed).is_none());
    }

    #[test]
    fn coding_slots_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(MemoryCacheLimits::default());
        let (path, file, version) = entry(dir.path(), "a.js", 10);
        let compressed = Arc::new(CachedFile {
            encoding: Some(ContentCoding::Brotli),
            ..CachedFile::identity(file.entity.clone(), Some(Bytes::from_static(b"br")))
        });
        cache.insert(path.clone(), None, file);
        cache.insert(path.clone(), Some(ContentCoding::Brotli), compressed);
        let hit = cache
            .get(&path, Some(ContentCoding::Brotli), &version)
            .unwrap();
        assert_eq!(hit.content.as_deref(), Some(&b"br"[..]));
        assert_eq!(
            cache
                .get(&path, None, &version)
                .unwrap()
                .content
                .as_ref()
                .map(Bytes::len),
            Some(10)
        );
        assert_eq!(
            cache.used(),
            path.as_os_str().len() + 2 * SLOT_OVERHEAD + 12
        );
    }

    #[test]
    fn least_recently_used_paths_are_evicted_over_budget() {
        let dir = tempfile::tempdir().unwrap();
        let per_entry = 1000 + SLOT_OVERHEAD + 64;
        let cache = FileCache::new(MemoryCacheLimits {
            max_file_bytes: 4096,
            total_bytes: 3 * per_entry,
        });
        let (a, file_a, version_a) = entry(dir.path(), "a", 1000);
        let (b, file_b, version_b) = entry(dir.path(), "b", 1000);
        let (c, file_c, version_c) = entry(dir.path(), "c", 1000);
        cache.insert(a.clone(), None, file_a);
        cache.insert(b.clone(), None, file_b);
        assert!(cache.get(&a, None, &version_a).is_some()); // a is now more recent than b
        cache.insert(c.clone(), None, file_c);
        let (d, file_d, version_d) = entry(dir.path(), "d", 1000);
        cache.insert(d.clone(), None, file_d);
        assert!(
            cache.get(&b, None, &version_b).is_none(),
            "b was least recently used"
        );
        assert!(cache.get(&a, None, &version_a).is_some());
        assert!(cache.get(&c, None, &version_c).is_some());
        assert!(cache.get(&d, None, &version_d).is_some());
        assert!(cache.used() <= 3 * per_entry);
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(FileCache::new(MemoryCacheLimits::default()));
        let loads = Arc::new(AtomicU64::new(0));
        let (path, file, _) = entry(dir.path(), "a.bin", 100);
        let mut waiting = Vec::new();
        for _ in 0..20 {
            let (cache, loads, path, file) =
                (cache.clone(), loads.clone(), path.clone(), file.clone());
            waiting.push(tokio::spawn(async move {
                cache
                    .load_once(&path, None, || async {
                        loads.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(file)
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in waiting {
            assert_eq!(
                task.await.unwrap().content.as_ref().map(Bytes::len),
                Some(100)
            );
        }
        assert_eq!(loads.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn content_limit_decides_what_is_kept() {
        let cache = FileCache::new(MemoryCacheLimits {
            max_file_bytes: 100,
            total_bytes: 1000,
        });
        assert!(cache.keeps_content_of(100));
        assert!(!cache.keeps_content_of(101));
        let disabled = FileCache::new(MemoryCacheLimits {
            max_file_bytes: 100,
            total_bytes: 0,
        });
        assert!(!disabled.keeps_content_of(1));
    }
}
