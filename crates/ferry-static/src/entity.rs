//! One version of a file as HTTP sees it: its validators (`ETag`, `Last-Modified`) and
//! content type, computed once per version and reused for every request.

use std::fs::Metadata;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

use crate::encoding::ContentCoding;
use crate::mime;

/// What distinguishes one version of a file from another: a change of length,
/// modification time or inode makes a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileVersion {
    pub len: u64,
    pub modified: Option<SystemTime>,
    pub inode: u64,
}

impl FileVersion {
    pub(crate) fn of(metadata: &Metadata) -> Self {
        FileVersion {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode: inode(metadata),
        }
    }
}

#[cfg(unix)]
fn inode(metadata: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(metadata)
}

#[cfg(not(unix))]
fn inode(_metadata: &Metadata) -> u64 {
    0
}

/// The HTTP face of one file version.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub version: FileVersion,
    /// Strong entity tag: `"<mtime seconds>.<nanoseconds>-<length>"` in hex.
    pub etag: HeaderValue,
    /// Modification time truncated to seconds, as HTTP dates carry it.
    pub modified_secs: Option<SystemTime>,
    pub last_modified: Option<HeaderValue>,
    pub content_type: HeaderValue,
}

impl Entity {
    pub(crate) fn new(path: &Path, version: FileVersion) -> Self {
        let since_epoch = version
            .modified
            .and_then(|modified| modified.duration_since(UNIX_EPOCH).ok());
        let etag = match since_epoch {
            Some(age) => format!(
                "\"{:x}.{:x}-{:x}\"",
                age.as_secs(),
                age.subsec_nanos(),
                version.len
            ),
            None => format!("\"{:x}-{:x}\"", version.inode, version.len),
        };
        let modified_secs = since_epoch.map(|age| UNIX_EPOCH + Duration::from_secs(age.as_secs()));
        Entity {
            version,
            etag: HeaderValue::from_str(&etag).expect("hex digits are valid header text"),
            modified_secs,
            last_modified: modified_secs.map(|time| {
                HeaderValue::from_str(&httpdate::fmt_http_date(time))
                    .expect("HTTP dates are valid header text")
            }),
            content_type: mime::content_type(path),
        }
    }
}

impl Entity {
    /// The entity of `len` bytes held in memory, tagged `etag` (quoted) by its owner,
    /// modified at `modified` and of `content_type`.
    pub(crate) fn in_memory(
        len: u64,
        etag: HeaderValue,
        modified: Option<SystemTime>,
        content_type: HeaderValue,
    ) -> Self {
        let modified_secs = modified
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map(|age| UNIX_EPOCH + Duration::from_secs(age.as_secs()));
        Entity {
            version: FileVersion {
                len,
                modified,
                inode: 0,
            },
            etag,
            modified_secs,
            last_modified: modified_secs.map(|time| {
                HeaderValue::from_str(&httpdate::fmt_http_date(time))
                    .expect("HTTP dates are valid header text")
            }),
            content_type,
        }
    }

    /// The entity of this representation compressed with `coding`: the same type and
    /// dates, an entity tag of its own (this one with `-br`, `-zstd` or `-gzip` added, so
    /// caches never confuse the two), and `len` as its length when it is known.
    pub(crate) fn encoded(&self, coding: ContentCoding, len: Option<u64>) -> Entity {
        self.variant(coding.token(), len)
    }

    /// A variant of this representation: its entity tag with `-suffix` added, and `len` as
    /// its length when known.
    pub(crate) fn variant(&self, suffix: &str, len: Option<u64>) -> Entity {
        let tag = self.etag.as_bytes();
        let mut etag = Vec::with_capacity(tag.len() + suffix.len() + 2);
        etag.extend_from_slice(&tag[..tag.len().saturating_sub(1)]);
        etag.push(b'-');
        etag.extend_from_slice(suffix.as_bytes());
        etag.push(b'"');
        Entity {
            version: FileVersion {
                len: len.unwrap_or(self.version.len),
                ..self.version
            },
            etag: HeaderValue::from_bytes(&etag)
                .expect("an entity tag with a token added is valid"),
            ..self.clone()
        }
    }

    /// This entity with `content_type` (a precompressed copy keeps its original's type).
    pub(crate) fn with_content_type(mut self, content_type: HeaderValue) -> Entity {
        self.content_type = content_type;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_changes_with_length_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "one").unwrap();
        let first = Entity::new(&path, FileVersion::of(&std::fs::metadata(&path).unwrap()));
        std::fs::write(&path, "three").unwrap();
        let second = Entity::new(&path, FileVersion::of(&std::fs::metadata(&path).unwrap()));
        assert_ne!(first.etag, second.etag);
        assert!(first.etag.to_str().unwrap().starts_with('"'));
        assert_eq!(first.content_type, "text/plain; charset=utf-8");
        assert!(first.last_modified.is_some());
    }

    #[test]
    fn encoded_entities_have_their_own_tag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.js");
        std::fs::write(&path, "let a = 1;").unwrap();
        let entity = Entity::new(&path, FileVersion::of(&std::fs::metadata(&path).unwrap()));
        let brotli = entity.encoded(ContentCoding::Brotli, Some(7));
        let original = entity.etag.to_str().unwrap();
        assert_eq!(
            brotli.etag.to_str().unwrap(),
            format!("{}-br\"", &original[..original.len() - 1])
        );
        assert_eq!(brotli.version.len, 7);
        assert_eq!(brotli.content_type, entity.content_type);
    }
}
