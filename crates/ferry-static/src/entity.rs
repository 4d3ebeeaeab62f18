//! One version of a file as HTTP sees it: its validators (`ETag`, `Last-Modified`) and
//! content type, computed once per version and reused for every request.

use std::fs::Metadata;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

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
}
