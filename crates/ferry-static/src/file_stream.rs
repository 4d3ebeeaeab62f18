//! Streaming a file (or a byte range of it) without holding it in memory and without
//! blocking the async worker threads.
//!
//! Each chunk is read with a positioned read on tokio's blocking pool. As soon as a chunk is
//! handed to the connection the next read starts, so disk and socket work overlap. The read
//! buffers are reused once the connection has sent the chunks cut from them: a fresh
//! 256 KiB allocation per chunk costs page faults and zeroing of new memory, measured at a
//! quarter of the server's time when sending large files.

use std::fs::File;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use tokio::task::JoinHandle;

/// Size of each read: large enough that the per-chunk cost (a blocking-pool hop and a
/// write) stays small next to copying the bytes.
pub(crate) const CHUNK_BYTES: u64 = 256 * 1024;

/// A body that reads `remaining` bytes of `file` starting at `offset`.
pub(crate) struct FileStream {
    file: Arc<File>,
    offset: u64,
    remaining: u64,
    reading: Option<JoinHandle<ChunkRead>>,
    buffers: ChunkBuffers,
}

/// A finished read: the chunk (or the error) and the buffer it was cut from, to reuse.
type ChunkRead = (io::Result<Bytes>, BytesMut);

/// The read buffers of one stream. A buffer can take the next chunk once every chunk cut
/// from it has been dropped by the connection; with one chunk being read, one being
/// written and one queued, three cover the steady state.
#[derive(Default)]
struct ChunkBuffers {
    idle: Vec<BytesMut>,
}

impl ChunkBuffers {
    const KEPT: usize = 3;

    /// An empty buffer with room for `len` bytes: a reclaimed one when possible.
    fn take(&mut self, len: usize) -> BytesMut {
        match self
            .idle
            .iter_mut()
            .position(|buffer| buffer.try_reclaim(len))
        {
            Some(index) => self.idle.swap_remove(index),
            None => BytesMut::with_capacity(len),
        }
    }

    /// Keeps `buffer` for a later chunk (its memory is still shared with the chunk just
    /// cut from it, so it is reclaimed, not reused, later).
    fn give_back(&mut self, buffer: BytesMut) {
        if self.idle.len() < Self::KEPT {
            self.idle.push(buffer);
        }
    }
}

impl FileStream {
    pub(crate) fn new(file: File, offset: u64, len: u64) -> Self {
        FileStream::shared(Arc::new(file), offset, len)
    }

    /// A stream over a file handle shared with other streams (positioned reads do not
    /// disturb each other).
    pub(crate) fn shared(file: Arc<File>, offset: u64, len: u64) -> Self {
        FileStream {
            file,
            offset,
            remaining: len,
            reading: None,
            buffers: ChunkBuffers::default(),
        }
    }

    /// Starts reading the next chunk, if any bytes remain.
    fn start_read(&mut self) {
        if self.remaining == 0 {
            return;
        }
        let file = self.file.clone();
        let offset = self.offset;
        let len = self.remaining.min(CHUNK_BYTES) as usize;
        let mut buffer = self.buffers.take(len);
        self.reading = Some(tokio::task::spawn_blocking(move || {
            buffer.resize(len, 0);
            let chunk = read_exact_at(&file, &mut buffer, offset).map(|()| buffer.split().freeze());
            (chunk, buffer)
        }));
    }
}

/// Fills `buffer` from `file` at `offset`; a file that ends first is an error.
fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    let len = buffer.len();
    let mut filled = 0;
    while filled < len {
        match read_at(file, &mut buffer[filled..], offset + filled as u64) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was being sent",
                ));
            }
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

impl http_body::Body for FileStream {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.reading.is_none() {
            if self.remaining == 0 {
                return Poll::Ready(None);
            }
            self.start_read();
        }
        let Some(reading) = self.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let result = std::task::ready!(Pin::new(reading).poll(cx));
        self.reading = None;
        let chunk = match result {
            Ok((Ok(chunk), buffer)) => {
                self.buffers.give_back(buffer);
                chunk
            }
            Ok((Err(error), _)) => {
                self.remaining = 0;
                return Poll::Ready(Some(Err(error)));
            }
            Err(join_error) => {
                self.remaining = 0;
                return Poll::Ready(Some(Err(io::Error::other(join_error))));
            }
        };
        self.offset += chunk.len() as u64;
        self.remaining -= chunk.len() as u64;
        self.start_read();
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 && self.reading.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // A read in progress has not advanced `remaining` yet: it counts bytes not handed out.
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use http_body_util::BodyExt;

    #[test]
    fn read_buffers_are_reused_once_their_chunks_are_dropped() {
        let mut buffers = ChunkBuffers::default();
        let mut buffer = buffers.take(1024);
        buffer.resize(1024, 7);
        let chunk = buffer.split().freeze();
        let memory = chunk.as_ptr();
        buffers.give_back(buffer);

        let while_sent = buffers.take(1024);
        assert_ne!(
            while_sent.as_ptr(),
            memory,
            "a chunk still being sent is not overwritten"
        );
        buffers.give_back(while_sent);
        drop(chunk);
        let reused = buffers.take(1024);
        assert_eq!(reused.as_ptr(), memory);
        assert!(reused.is_empty() && reused.capacity() >= 1024);
    }

    #[tokio::test]
    async fn streams_a_range_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let content: Vec<u8> = (0..(CHUNK_BYTES as usize * 2 + 100))
            .map(|i| (i % 256) as u8)
            .collect();
        std::fs::write(&path, &content).unwrap();

        let whole = FileStream::new(File::open(&path).unwrap(), 0, content.len() as u64);
        assert_eq!(whole.size_hint().exact(), Some(content.len() as u64));
        let collected = whole.collect().await.unwrap().to_bytes();
        assert_eq!(collected, content);

        let part = FileStream::new(File::open(&path).unwrap(), 10, 300_000);
        let collected = part.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], &content[10..300_010]);
    }

    #[tokio::test]
    async fn a_file_that_shrinks_ends_the_stream_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.bin");
        std::fs::write(&path, b"12345").unwrap();
        let stream = FileStream::new(File::open(&path).unwrap(), 0, 10);
        assert!(stream.collect().await.is_err());
    }
}
