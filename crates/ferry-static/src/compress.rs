//! Compressing file content: whole small files (their result is cached) and large files as a
//! stream, always on the blocking pool so compression never stalls the async threads.

use std::fs::File;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferry_core::Body;
use http::HeaderValue;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

use crate::encoding::ContentCoding;
use crate::file_stream::{CHUNK_BYTES, read_at};

/// Files smaller than this are sent as they are: the saving would not pay for the framing.
pub(crate) const MIN_COMPRESS_BYTES: u64 = 256;

/// How hard to compress: harder for results that are cached, faster for streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effort {
    /// A whole file compressed once and kept in memory.
    Cached,
    /// A large file compressed as it is sent.
    Streaming,
}

/// Whether responses of `content_type` are worth compressing: text, JSON, JavaScript, XML,
/// SVG, WebAssembly and uncompressed fonts. Images, audio, video, archives and WOFF fonts
/// are compressed already.
pub(crate) fn is_compressible(content_type: &HeaderValue) -> bool {
    let value = content_type.as_bytes();
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence.starts_with(b"text/")
        || essence.ends_with(b"+json")
        || essence.ends_with(b"+xml")
        || matches!(
            essence,
            b"application/json"
                | b"application/javascript"
                | b"application/xml"
                | b"application/wasm"
                | b"application/yaml"
                | b"application/toml"
                | b"application/rtf"
                | b"image/svg+xml"
                | b"image/bmp"
                | b"image/x-icon"
                | b"font/ttf"
                | b"font/otf"
                | b"application/vnd.ms-fontobject"
        )
}

/// A streaming encoder whose output accumulates in memory until taken.
enum Encoder {
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
}

impl Encoder {
    fn new(coding: ContentCoding, effort: Effort) -> io::Result<Self> {
        Ok(match (coding, effort) {
            // Brotli quality 5 and zstd level 6 keep most of the size benefit of their
            // highest levels at a small fraction of the time.
            (ContentCoding::Brotli, effort) => {
                let quality = if effort == Effort::Cached { 5 } else { 4 };
                Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                    Vec::new(),
                    64 * 1024,
                    quality,
                    22,
                )))
            }
            (ContentCoding::Zstd, effort) => {
                let level = if effort == Effort::Cached { 6 } else { 3 };
                Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), level)?)
            }
            (ContentCoding::Gzip, _) => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(6),
            )),
        })
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Brotli(encoder) => encoder.write_all(data),
            Encoder::Zstd(encoder) => encoder.write_all(data),
            Encoder::Gzip(encoder) => encoder.write_all(data),
        }
    }

    /// The compressed bytes produced so far.
    fn take_output(&mut self) -> Vec<u8> {
        match self {
            Encoder::Brotli(encoder) => std::mem::take(encoder.get_mut()),
            Encoder::Zstd(encoder) => std::mem::take(encoder.get_mut()),
            Encoder::Gzip(encoder) => std::mem::take(encoder.get_mut()),
        }
    }

    /// Ends the stream and returns the last compressed bytes.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Encoder::Brotli(encoder) => Ok(encoder.into_inner()),
            Encoder::Zstd(encoder) => encoder.finish(),
            Encoder::Gzip(encoder) => encoder.finish(),
        }
    }
}

/// Compresses `data` whole. Blocking: call it on the blocking pool.
pub(crate) fn compress(coding: ContentCoding, data: &[u8], effort: Effort) -> io::Result<Vec<u8>> {
    let mut encoder = Encoder::new(coding, effort)?;
    encoder.write(data)?;
    let mut output = encoder.take_output();
    output.extend_from_slice(&encoder.finish()?);
    Ok(output)
}

/// The body of `len` bytes of `file` compressed with `coding` as it is read. A blocking task
/// reads and compresses; a small channel between it and the connection keeps memory bounded
/// and lets a slow client slow the compression down. The task ends if the client leaves.
pub(crate) fn compressed_stream(coding: ContentCoding, file: File, len: u64) -> Body {
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        if let Err(error) = compress_into(coding, &file, len, &sender) {
            let _ = sender.blocking_send(Err(error));
        }
    });
    Body::new(ChannelBody { receiver })
}

fn compress_into(
    coding: ContentCoding,
    file: &File,
    len: u64,
    sender: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut encoder = Encoder::new(coding, Effort::Streaming)?;
    let mut buffer = vec![0u8; CHUNK_BYTES as usize];
    let mut offset = 0u64;
    while offset < len {
        let want = (len - offset).min(CHUNK_BYTES) as usize;
        let read = read_at(file, &mut buffer[..want], offset)?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while it was being sent",
            ));
        }
        offset += read as u64;
        encoder.write(&buffer[..read])?;
        let output = encoder.take_output();
        if !output.is_empty() && sender.blocking_send(Ok(Bytes::from(output))).is_err() {
            return Ok(()); // the client went away
        }
    }
    let last = encoder.finish()?;
    if !last.is_empty() {
        let _ = sender.blocking_send(Ok(Bytes::from(last)));
    }
    Ok(())
}

/// A body fed by a channel of chunks.
struct ChannelBody {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|result| result.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Read;

    pub(crate) fn decompress(coding: ContentCoding, data: &[u8]) -> Vec<u8> {
        let mut output = Vec::new();
        match coding {
            ContentCoding::Brotli => {
                brotli::Decompressor::new(data, 4096)
                    .read_to_end(&mut output)
                    .unwrap();
            }
            ContentCoding::Zstd => {
                output = zstd::stream::decode_all(data).unwrap();
            }
            ContentCoding::Gzip => {
                flate2::read::GzDecoder::new(data)
                    .read_to_end(&mut output)
                    .unwrap();
            }
        };
        output
    }

    fn text(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| b"function ferry() { return 42; }\n"[i % 32])
            .collect()
    }

    #[test]
    fn whole_compression_round_trips_for_every_coding() {
        let data = text(100_000);
        for coding in ContentCoding::ALL {
            let compressed = compress(coding, &data, Effort::Cached).unwrap();
            assert!(compressed.len() < data.len() / 10, "{coding:?}");
            assert_eq!(decompress(coding, &compressed), data, "{coding:?}");
        }
    }

    #[tokio::test]
    async fn streamed_compression_round_trips_for_every_coding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.js");
        let data = text(CHUNK_BYTES as usize * 3 + 5);
        std::fs::write(&path, &data).unwrap();
        for coding in ContentCoding::ALL {
            let body = compressed_stream(coding, File::open(&path).unwrap(), data.len() as u64);
            let compressed = body.collect().await.unwrap().to_bytes();
            assert_eq!(decompress(coding, &compressed), data, "{coding:?}");
        }
    }

    #[test]
    fn compressible_types_are_text_like() {
        for yes in [
            "text/html; charset=utf-8",
            "application/json",
            "application/wasm",
            "image/svg+xml",
            "application/manifest+json",
            "text/javascript; charset=utf-8",
        ] {
            assert!(is_compressible(&HeaderValue::from_static(yes)), "{yes}");
        }
        for no in [
            "image/png",
            "font/woff2",
            "video/mp4",
            "application/zip",
            "application/octet-stream",
        ] {
            assert!(!is_compressible(&HeaderValue::from_static(no)), "{no}");
        }
    }
}
