//! The body of a file answer, chosen for what is asked: a slice of the cached content, a
//! stream from disk (see `file_stream`), the parts of a multipart answer, or a stream
//! compressed as it is sent.

use std::fs::File;
use std::io;
use std::path::Path;

use ferry_core::Body;

use crate::cache::CachedFile;
use crate::compress;
use crate::encoding::ContentCoding;
use crate::file_stream::FileStream;
use crate::multipart::Multipart;

/// The body for `len` bytes of `file` from `start`: a slice of its cached content, or a
/// stream from the disk file at `path`.
pub(crate) async fn file_body(
    file: &CachedFile,
    path: &Path,
    start: u64,
    len: u64,
) -> io::Result<Body> {
    if let Some(content) = &file.content {
        let start = start as usize;
        return Ok(Body::from(content.slice(start..start + len as usize)));
    }
    Ok(Body::new(FileStream::new(open(path).await?, start, len)))
}

/// The body of a multipart answer, from the cached content or from disk.
pub(crate) async fn multipart_body(
    file: &CachedFile,
    path: &Path,
    multipart: Multipart,
) -> io::Result<Body> {
    Ok(match &file.content {
        Some(content) => Body::new(multipart.body_from_memory(content)),
        None => Body::new(multipart.body_from_file(open(path).await?)),
    })
}

/// The body of `len` bytes of the file at `path`, compressed with `coding` as it is sent.
pub(crate) async fn compressed_body(
    coding: ContentCoding,
    path: &Path,
    len: u64,
) -> io::Result<Body> {
    Ok(compress::compressed_stream(coding, open(path).await?, len))
}

/// Opens a file on the blocking pool.
async fn open(path: &Path) -> io::Result<File> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || File::open(path))
        .await
        .map_err(io::Error::other)?
}
