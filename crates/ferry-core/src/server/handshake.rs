//! The start of a connection, before HTTP is served: the first bytes of a plain
//! connection (which say HTTP/1.1 or HTTP/2), or the TLS handshake, each bounded by the
//! header timeout; plain HTTP sent to the TLS port gets a 400 that says to use https.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::protocol::{self, Protocol};
use super::shared::ConnectionContext;
use crate::context::ConnectionInfo;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The body of the answer to a plain-HTTP request on a TLS port.
const PLAIN_HTTP_ON_TLS_PORT: &str = "This server speaks HTTPS: use an https:// URL instead.\n";

/// Waits for the first bytes of a plain connection and tells which HTTP they are; `None`
/// if none came in time, the server stopped, or the connection failed. Nothing else is set
/// up before.
pub(super) async fn first_bytes(
    stream: &TcpStream,
    info: &ConnectionInfo,
    context: &ConnectionContext,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Protocol> {
    let sniffed = tokio::select! {
        sniffed = tokio::time::timeout(context.config.header_read_timeout, protocol::sniff(stream)) => sniffed,
        _ = shutdown.changed() => return None,
    };
    match sniffed {
        Ok(Ok(protocol)) => Some(protocol),
        Ok(Err(error)) => {
            tracing::debug!(peer = %info.peer, %error, "connection failed");
            None
        }
        Err(_) => {
            context.metrics.header_timeouts.increment(1);
            tracing::debug!(peer = %info.peer, "no request received in time; closing");
            None
        }
    }
}

/// The TLS handshake, bounded by the header timeout; plain HTTP on the TLS port gets a 400
/// that says to use https.
pub(super) async fn tls_handshake(
    stream: TcpStream,
    acceptor: &tokio_rustls::TlsAcceptor,
    info: &ConnectionInfo,
    context: &ConnectionContext,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let handshake = async {
        if speaks_plain_http(&stream).await {
            let mut stream = stream;
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
connection: close\r\ncontent-length: {}\r\n\r\n{PLAIN_HTTP_ON_TLS_PORT}",
                PLAIN_HTTP_ON_TLS_PORT.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
            tracing::debug!(peer = %info.peer, "plain HTTP on the TLS port; answered 400");
            return None;
        }
        match acceptor.accept(stream).await {
            Ok(tls) => Some(tls),
            Err(error) => {
                tracing::debug!(peer = %info.peer, %error, "TLS handshake failed");
                None
            }
        }
    };
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(context.config.header_read_timeout, handshake) => accepted,
        _ = shutdown.changed() => return None,
    };
    match accepted {
        Ok(Some(tls)) => {
            context.metrics.tls_ok.increment(1);
            Some(tls)
        }
        Ok(None) => {
            context.metrics.tls_failed.increment(1);
            None
        }
        Err(_) => {
            context.metrics.tls_failed.increment(1);
            tracing::debug!(peer = %info.peer, "TLS handshake not finished in time");
            None
        }
    }
}

/// Whether the client's first byte is a letter (an HTTP method) rather than a TLS record.
async fn speaks_plain_http(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) => first[0] != TLS_HANDSHAKE && first[0].is_ascii_uppercase(),
        _ => false,
    }
}
