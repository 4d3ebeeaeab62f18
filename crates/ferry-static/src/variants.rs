//! Choosing what to send for a file given the client's `Accept-Encoding`: a precompressed
//! copy (`app.js.br`, `.zst`, `.gz`) when one is present and up to date, else the file
//! compressed by Ferry, else the file as it is.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::cache::{CachedFile, FileCache, read_consistent};
use crate::compress::{self, Effort, MIN_COMPRESS_BYTES};
use crate::encoding::{Acceptable, ContentCoding};
use crate::entity::{Entity, FileVersion};

/// What to send.
pub(crate) enum Variant {
    /// The file as it is.
    Identity,
    /// A compressed representation.
    Encoded(Encoded),
}

/// A compressed representation and where its bytes come from.
pub(crate) enum Encoded {
    /// Held in memory.
    InMemory(Arc<CachedFile>),
    /// A precompressed copy too large to keep in memory, streamed from `path`.
    Precompressed {
        file: Arc<CachedFile>,
        path: PathBuf,
    },
    /// A file too large to keep, compressed as it is sent (length unknown up front).
    Streamed {
        coding: ContentCoding,
        entity: Entity,
    },
}

/// Chooses the representation of `original` (whose identity entry is `identity`) for a
/// client that accepts `accepted`.
///
/// Only compressible types are considered. Precompressed copies come first, in the
/// client's order of preference, because they cost nothing to send; otherwise the most
/// preferred coding is produced on the fly.
pub(crate) async fn choose(
    cache: &FileCache,
    original: &Path,
    identity: &Arc<CachedFile>,
    accepted: Acceptable,
    follow_symlinks: bool,
) -> std::io::Result<Variant> {
    let entity = &identity.entity;
    if accepted.is_empty() || !compress::is_compressible(&entity.content_type) {
        return Ok(Variant::Identity);
    }
    for coding in accepted.iter() {
        if let Some(variant) =
            precompressed(cache, original, entity, coding, follow_symlinks).await?
        {
            return Ok(variant);
        }
    }
    let Some(coding) = accepted.iter().next() else {
        return Ok(Variant::Identity);
    };
    if entity.version.len < MIN_COMPRESS_BYTES {
        return Ok(Variant::Identity);
    }
    if let Some(hit) = cache.get(original, Some(coding), &entity.version) {
        return Ok(in_memory_or_identity(hit));
    }
    let Some(content) = identity.content.clone() else {
        return Ok(Variant::Encoded(Encoded::Streamed {
            coding,
            entity: entity.encoded(coding, None),
        }));
    };
    let file = cache
        .load_once(original, Some(coding), || {
            compress_into_cache(cache, original, entity, coding, content)
        })
        .await?;
    Ok(in_memory_or_identity(file))
}

/// Compresses a small file once (on the blocking pool) and keeps the result, or the fact
/// that compression did not help.
async fn compress_into_cache(
    cache: &FileCache,
    original: &Path,
    entity: &Entity,
    coding: ContentCoding,
    content: Bytes,
) -> std::io::Result<Arc<CachedFile>> {
    let compressed =
        tokio::task::spawn_blocking(move || compress::compress(coding, &content, Effort::Cached))
            .await
            .map_err(std::io::Error::other)??;
    let file = if (compressed.len() as u64) < entity.version.len {
        CachedFile {
            source: entity.version,
            entity: entity.encoded(coding, Some(compressed.len() as u64)),
            content: Some(Bytes::from(compressed)),
            encoding: Some(coding),
        }
    } else {
        // Compressing made it no smaller: remember to send it as it is.
        CachedFile {
            source: entity.version,
            entity: entity.clone(),
            content: None,
            encoding: None,
        }
    };
    let file = Arc::new(file);
    cache.insert(original.to_path_buf(), Some(coding), file.clone());
    Ok(file)
}

fn in_memory_or_identity(file: Arc<CachedFile>) -> Variant {
    if file.encoding.is_some() {
        Variant::Encoded(Encoded::InMemory(file))
    } else {
        Variant::Identity
    }
}

/// The precompressed copy of `original` in `coding`, if there is a regular file beside it
/// that is not older than the original.
async fn precompressed(
    cache: &FileCache,
    original: &Path,
    entity: &Entity,
    coding: ContentCoding,
    follow_symlinks: bool,
) -> std::io::Result<Option<Variant>> {
    let mut name = original.as_os_str().to_owned();
    name.push(".");
    name.push(coding.extension());
    let path = PathBuf::from(name);
    // A copy is used only if it is a plain file (or, with --follow-symlinks, anything that
    // resolves to one): a symlink could lead outside the root.
    let metadata = if follow_symlinks {
        fs::metadata(&path)
    } else {
        fs::symlink_metadata(&path)
    };
    let Ok(metadata) = metadata else {
        return Ok(None);
    };
    let version = FileVersion::of(&metadata);
    let fresh = match (version.modified, entity.version.modified) {
        (Some(copy), Some(original)) => copy >= original,
        _ => false,
    };
    if !metadata.is_file() || !fresh || version.len == 0 {
        return Ok(None);
    }
    if let Some(hit) = cache.get(original, Some(coding), &version) {
        return Ok(Some(precompressed_variant(hit, path)));
    }
    let file = cache
        .load_once(original, Some(coding), || {
            load_copy(cache, original, &path, entity, coding, version)
        })
        .await?;
    Ok(Some(precompressed_variant(file, path)))
}

/// Reads a precompressed copy (when small enough to keep) into the cache.
async fn load_copy(
    cache: &FileCache,
    original: &Path,
    path: &Path,
    entity: &Entity,
    coding: ContentCoding,
    version: FileVersion,
) -> std::io::Result<Arc<CachedFile>> {
    if !cache.keeps_content_of(version.len) {
        let file = Arc::new(copy_entry(path, entity, coding, version, None));
        cache.insert(original.to_path_buf(), Some(coding), file.clone());
        return Ok(file);
    }
    let read_path = path.to_path_buf();
    let (content, read_version, consistent) =
        tokio::task::spawn_blocking(move || read_consistent(&read_path))
            .await
            .map_err(std::io::Error::other)??;
    let file = Arc::new(copy_entry(
        path,
        entity,
        coding,
        read_version,
        Some(content),
    ));
    if consistent {
        cache.insert(original.to_path_buf(), Some(coding), file.clone());
    }
    Ok(file)
}

fn copy_entry(
    path: &Path,
    original: &Entity,
    coding: ContentCoding,
    version: FileVersion,
    content: Option<Bytes>,
) -> CachedFile {
    let entity = Entity::new(path, version)
        .with_content_type(original.content_type.clone())
        .encoded(coding, Some(version.len));
    CachedFile {
        source: version,
        entity,
        content,
        encoding: Some(coding),
    }
}

fn precompressed_variant(file: Arc<CachedFile>, path: PathBuf) -> Variant {
    Variant::Encoded(if file.content.is_some() {
        Encoded::InMemory(file)
    } else {
        Encoded::Precompressed { file, path }
    })
}
