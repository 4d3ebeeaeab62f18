//! A bounded in-memory cache of file versions: their HTTP headers always, and their bytes
//! when the file is small.
//!
//! Entries are keyed by path and are only used when the file's current metadata (length,
//! modification time, inode) still matches, so an edited file is never served stale: every
//! request costs one `stat`, as it would in nginx without `open_file_cache`.
//! When the total size passes the budget, the least recently used entries go.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::entity::{Entity, FileVersion};

/// Bytes charged per entry on top of its content and path: the headers and bookkeeping.
const ENTRY_OVERHEAD: usize = 256;

/// Limits of the in-memory file cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryCacheLimits {
    /// Files up to this size have their content cached; larger files are streamed from disk.
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

/// One cached file version.
#[derive(Debug)]
pub(crate) struct CachedFile {
    pub entity: Entity,
    /// The whole content, for files small enough to keep.
    pub content: Option<Bytes>,
    last_used: AtomicU64,
}

impl CachedFile {
    pub(crate) fn new(entity: Entity, content: Option<Bytes>) -> Self {
        CachedFile {
            entity,
            content,
            last_used: AtomicU64::new(0),
        }
    }

    fn cost(&self, path: &Path) -> usize {
        ENTRY_OVERHEAD + path.as_os_str().len() + self.content.as_ref().map_or(0, Bytes::len)
    }
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<PathBuf, Arc<CachedFile>>,
    used: usize,
}

/// The cache itself; shared by every clone of the file service.
#[derive(Debug)]
pub(crate) struct FileCache {
    entries: RwLock<Entries>,
    limits: MemoryCacheLimits,
    clock: AtomicU64,
}

impl FileCache {
    pub(crate) fn new(limits: MemoryCacheLimits) -> Self {
        FileCache {
            entries: RwLock::new(Entries::default()),
            limits,
            clock: AtomicU64::new(0),
        }
    }

    /// Whether a file of `len` bytes should have its content cached.
    pub(crate) fn keeps_content_of(&self, len: u64) -> bool {
        len <= self.limits.max_file_bytes && (len as usize) < self.limits.total_bytes
    }

    /// The cached entry for `path`, if it is of `version`.
    pub(crate) fn get(&self, path: &Path, version: &FileVersion) -> Option<Arc<CachedFile>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.map.get(path)?;
        if entry.entity.version != *version {
            return None;
        }
        entry.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(entry.clone())
    }

    /// Stores `file` for `path`, replacing an older version and evicting the least
    /// recently used entries while over budget.
    pub(crate) fn insert(&self, path: PathBuf, file: Arc<CachedFile>) {
        let cost = file.cost(&path);
        if cost > self.limits.total_bytes {
            return;
        }
        file.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = entries.map.remove(&path) {
            entries.used -= old.cost(&path);
        }
        entries.used += cost;
        entries.map.insert(path, file);
        while entries.used > self.limits.total_bytes {
            let Some(oldest) = entries
                .map
                .iter()
                .min_by_key(|(_, entry)| entry.last_used.load(Ordering::Relaxed))
                .map(|(path, _)| path.clone())
            else {
                break;
            };
            if let Some(evicted) = entries.map.remove(&oldest) {
                entries.used -= evicted.cost(&oldest);
            }
        }
    }

    /// Builds the entry for a file version not in the cache: headers always, content when
    /// the file is small enough (read off the async threads), and caches it.
    pub(crate) async fn load(
        &self,
        path: PathBuf,
        version: FileVersion,
    ) -> io::Result<Arc<CachedFile>> {
        if !self.keeps_content_of(version.len) {
            let file = Arc::new(CachedFile::new(Entity::new(&path, version), None));
            self.insert(path, file.clone());
            return Ok(file);
        }
        let read_path = path.clone();
        let (content, read_version, consistent) =
            tokio::task::spawn_blocking(move || read_consistent(&read_path))
                .await
                .map_err(io::Error::other)??;
        let file = Arc::new(CachedFile::new(
            Entity::new(&path, read_version),
            Some(content),
        ));
        if consistent {
            self.insert(path, file.clone());
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
fn read_consistent(path: &Path) -> io::Result<(Bytes, FileVersion, bool)> {
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
        let file = CachedFile::new(
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
        cache.insert(path.clone(), file);
        assert!(cache.get(&path, &version).is_some());

        std::fs::write(&path, "changed length").unwrap();
        let changed = FileVersion::of(&std::fs::metadata(&path).unwrap());
        assert!(cache.get(&path, &changed).is_none());
    }

    #[test]
    fn least_recently_used_entries_are_evicted_over_budget() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(MemoryCacheLimits {
            max_file_bytes: 4096,
            total_bytes: 3 * (1000 + ENTRY_OVERHEAD + 64),
        });
        let (a, file_a, version_a) = entry(dir.path(), "a", 1000);
        let (b, file_b, version_b) = entry(dir.path(), "b", 1000);
        let (c, file_c, version_c) = entry(dir.path(), "c", 1000);
        cache.insert(a.clone(), file_a);
        cache.insert(b.clone(), file_b);
        assert!(cache.get(&a, &version_a).is_some()); // a is now more recent than b
        cache.insert(c.clone(), file_c);
        let (d, file_d, version_d) = entry(dir.path(), "d", 1000);
        cache.insert(d.clone(), file_d);
        assert!(
            cache.get(&b, &version_b).is_none(),
            "b was least recently used"
        );
        assert!(cache.get(&a, &version_a).is_some());
        assert!(cache.get(&c, &version_c).is_some());
        assert!(cache.get(&d, &version_d).is_some());
        assert!(cache.used() <= 3 * (1000 + ENTRY_OVERHEAD + 64));
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
