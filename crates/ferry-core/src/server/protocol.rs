//! Which HTTP a connection speaks, and the hyper connection builders for each.
//!
//! Ferry tells HTTP/1.1 from HTTP/2 itself (by ALPN on TLS, by the client preface on plain
//! TCP) instead of using hyper-util's automatic builder, so that an idle HTTP/1.1
//! connection can hand its socket back and be parked without hyper's buffers (see
//! `connection`).

use std::future::Future;
use std::io;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::ServerConfig;

/// The bytes every HTTP/2 client starts with (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The HTTP version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    Http2,
}

/// The hyper builders of one server.
pub(crate) struct Builders {
    pub http1: http1::Builder,
    pub http2: http2::Builder<TokioExecutor>,
}

impl Builders {
    pub(crate) fn new(config: &ServerConfig) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .keep_alive(true)
            .max_buf_size(config.max_header_bytes)
            .max_header_size(config.max_header_bytes)
            // Not `pipeline_flush`: with it, hyper 1.12 never sends its automatic 400/431
            // answers to malformed requests.
            // Ferry times request heads itself (see `activity`); hyper's timer would also
            // close idle keep-alive connections early.
            .header_read_timeout(None);
        if config.max_headers != 100 {
            // hyper keeps up to 100 headers on the stack; only a different limit costs a
            // heap allocation per request.
            http1.max_headers(config.max_headers);
        }
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .max_concurrent_streams(config.http2_max_concurrent_streams)
            // WebSockets over HTTP/2 (RFC 8441): extended CONNECT with :protocol.
            .enable_connect_protocol()
            .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX));
        Builders { http1, http2 }
    }
}

/// A stream Ferry serves HTTP on: plain TCP or TLS.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Whether an idle connection on this transport may be parked. TLS may not: rustls can
    /// hold decrypted bytes the socket's readiness does not show.
    fn parkable(&self) -> bool;

    /// Completes when the client has sent more (or closed).
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
}

impl Transport for TcpStream {
    fn parkable(&self) -> bool {
        true
    }

    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        TcpStream::readable(self)
    }
}

impl Transport for TlsStream<TcpStream> {
    fn parkable(&self) -> bool {
        false
    }

    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        std::future::pending()
    }
}

/// The protocol TLS negotiated: HTTP/2 when ALPN chose `h2`, HTTP/1.1 otherwise.
pub(crate) fn negotiated(tls: &TlsStream<TcpStream>) -> Protocol {
    match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Protocol::Http2,
        _ => Protocol::Http1,
    }
}

/// How long to wait between looks at a client that has sent part of the HTTP/2 preface.
const PREFACE_POLL: Duration = Duration::from_millis(5);

/// Tells HTTP/2 with prior knowledge from HTTP/1 by the client's first bytes, without
/// consuming them. A client that sends nothing keeps this waiting: the caller bounds it.
pub(crate) async fn sniff(stream: &TcpStream) -> io::Result<Protocol> {
    let mut seen = [0u8; HTTP2_PREFACE.len()];
    loop {
        let read = stream.peek(&mut seen).await?;
        if read == 0 || seen[..read] != HTTP2_PREFACE[..read] {
            // End of stream, or anything but the preface: HTTP/1 (hyper answers garbage).
            return Ok(Protocol::Http1);
        }
        if read == HTTP2_PREFACE.len() {
            return Ok(Protocol::Http2);
        }
        // Part of the preface so far (or "P" of a POST): look again shortly.
        tokio::time::sleep(PREFACE_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn sniffed(first: &'static [u8], then: &'static [u8]) -> Protocol {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(first).await.unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
            stream.write_all(then).await.unwrap();
            stream
        });
        let (server, _) = listener.accept().await.unwrap();
        let protocol = sniff(&server).await.unwrap();
        drop(client.await.unwrap());
        protocol
    }

    #[tokio::test]
    async fn the_preface_means_http2_even_in_pieces() {
        assert_eq!(
            sniffed(b"PRI * HTTP/2", b".0\r\n\r\nSM\r\n\r\n").await,
            Protocol::Http2
        );
        assert_eq!(
            sniffed(b"P", b"OST / HTTP/1.1\r\n\r\n").await,
            Protocol::Http1
        );
        assert_eq!(
            sniffed(b"GET / HTTP/1.1\r\n\r\n", b"").await,
            Protocol::Http1
        );
    }
}
