//! `multipart/byteranges` answers (RFC 9110 §14.6): several ranges of one file in one 206.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::BuildHasher;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderValue;
use http_body::{Frame, SizeHint};

use crate::file_stream::FileStream;
use crate::range::ByteRange;

/// The framing of a multipart answer: its boundary and each part's header, worked out before
/// any byte is sent so `Content-Length` is exact.
#[derive(Debug)]
pub(crate) struct Multipart {
    boundary: String,
    parts: Vec<(ByteRange, Bytes)>,
    closing: Bytes,
}

impl Multipart {
    /// Frames `ranges` (ascending, disjoint) of a `len`-byte file of type `content_type`.
    pub(crate) fn new(ranges: &[ByteRange], content_type: &HeaderValue, len: u64) -> Self {
        let boundary = new_boundary();
        let content_type = String::from_utf8_lossy(content_type.as_bytes());
        let parts = ranges
            .iter()
            .enumerate()
            .map(|(index, range)| {
                let separator = if index == 0 { "" } else { "\r\n" };
                let header = format!(
                    "{separator}--{boundary}\r\nContent-Type: {content_type}\r\n\
Content-Range: bytes {}-{}/{len}\r\n\r\n",
                    range.start, range.end
                );
                (*range, Bytes::from(header))
            })
            .collect();
        let closing = Bytes::from(format!("\r\n--{boundary}--\r\n"));
        Multipart {
            boundary,
            parts,
            closing,
        }
    }

    /// `multipart/byteranges; boundary=...`.
    pub(crate) fn content_type(&self) -> HeaderValue {
        HeaderValue::try_from(format!("multipart/byteranges; boundary={}", self.boundary))
            .expect("the boundary is hex digits")
    }

    /// The exact length of the body.
    pub(crate) fn content_length(&self) -> u64 {
        self.parts
            .iter()
            .map(|(range, header)| header.len() as u64 + range.len())
            .sum::<u64>()
            + self.closing.len() as u64
    }

    /// The body, with part contents sliced from `content` (the cached file).
    pub(crate) fn body_from_memory(self, content: &Bytes) -> MultipartBody {
        let length = self.content_length();
        let mut segments = VecDeque::with_capacity(self.parts.len() * 2 + 1);
        for (range, header) in self.parts {
            segments.push_back(Segment::Bytes(header));
            segments.push_back(Segment::Bytes(
                content.slice(range.start as usize..=range.end as usize),
            ));
        }
        segments.push_back(Segment::Bytes(self.closing));
        MultipartBody {
            segments,
            remaining: length,
        }
    }

    /// The body, with part contents streamed from `file`.
    pub(crate) fn body_from_file(self, file: File) -> MultipartBody {
        let length = self.content_length();
        let file = Arc::new(file);
        let mut segments = VecDeque::with_capacity(self.parts.len() * 2 + 1);
        for (range, header) in self.parts {
            segments.push_back(Segment::Bytes(header));
            segments.push_back(Segment::File(FileStream::shared(
                file.clone(),
                range.start,
                range.len(),
            )));
        }
        segments.push_back(Segment::Bytes(self.closing));
        MultipartBody {
            segments,
            remaining: length,
        }
    }
}

/// A random boundary: 24 hex digits, which cannot occur in the part headers and, for any
/// practical purpose, not in the file either.
fn new_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one(count);
    format!("{random:016x}{:08x}", count as u32)
}

enum Segment {
    Bytes(Bytes),
    File(FileStream),
}

/// The body of a multipart answer: part headers and part contents in turn.
pub(crate) struct MultipartBody {
    segments: VecDeque<Segment>,
    remaining: u64,
}

impl http_body::Body for MultipartBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        loop {
            let Some(segment) = self.segments.front_mut() else {
                return Poll::Ready(None);
            };
            let chunk = match segment {
                Segment::Bytes(bytes) => {
                    let bytes = std::mem::take(bytes);
                    self.segments.pop_front();
                    bytes
                }
                Segment::File(stream) => match std::task::ready!(Pin::new(stream).poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => data,
                        Err(_) => continue,
                    },
                    Some(Err(error)) => {
                        self.segments.clear();
                        return Poll::Ready(Some(Err(error)));
                    }
                    None => {
                        self.segments.pop_front();
                        continue;
                    }
                },
            };
            self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.segments.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn ranges() -> Vec<ByteRange> {
        vec![
            ByteRange { start: 0, end: 2 },
            ByteRange { start: 7, end: 9 },
        ]
    }

    #[tokio::test]
    async fn memory_body_frames_every_part_and_matches_its_length() {
        let content = Bytes::from_static(b"0123456789");
        let multipart = Multipart::new(&ranges(), &HeaderValue::from_static("text/plain"), 10);
        let boundary = multipart.boundary.clone();
        let length = multipart.content_length();
        let body = multipart
            .body_from_memory(&content)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.len() as u64, length);
        let expected = format!(
            "--{boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/10\r\n\r\n012\
\r\n--{boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 7-9/10\r\n\r\n789\
\r\n--{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected);
    }

    #[tokio::test]
    async fn file_body_equals_memory_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "0123456789").unwrap();
        let multipart = Multipart::new(&ranges(), &HeaderValue::from_static("text/plain"), 10);
        let length = multipart.content_length();
        let body = multipart
            .body_from_file(File::open(&path).unwrap())
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.len() as u64, length);
        assert!(body.ends_with(b"--\r\n"));
    }

    #[test]
    fn boundaries_differ() {
        assert_ne!(new_boundary(), new_boundary());
    }
}
