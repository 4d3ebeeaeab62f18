//! HTTPS against a real server: rustls client with ALPN, HTTP/2 multiplexing and HTTP/1.1,
//! and the plain-HTTP answer on the TLS port.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use ferry_core::server::TlsConfig;
use ferry_core::{App, ConnectionInfo, Request, ShutdownHandle};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start() -> (SocketAddr, TlsConfig, ShutdownHandle) {
    let tls = TlsConfig::self_signed(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let server = App::new()
        .get("/who", |request: Request| async move {
            let secure = request
                .extensions()
                .get::<ConnectionInfo>()
                .is_some_and(|i| i.tls);
            format!("{:?} tls={secure}", request.version())
        })
        .tls(tls.clone())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    tokio::spawn(server.run_until(std::future::pending()));
    (addr, tls, handle)
}

/// A TLS connection trusting `tls`'s certificate, offering `alpn`.
async fn connect(
    addr: SocketAddr,
    tls: &TlsConfig,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(tls.certificate_der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

fn get(path: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap()
}

#[tokio::test]
async fn alpn_h2_gives_multiplexed_http2_over_tls() {
    let (addr, tls, handle) = start().await;
    let stream = connect(addr, &tls, &[b"h2", b"http/1.1"]).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    // Twenty requests in flight at once on the one connection.
    let mut requests = Vec::new();
    for _ in 0..20 {
        let mut sender = sender.clone();
        requests.push(tokio::spawn(async move {
            let uri = "https://localhost/who";
            let response = sender.send_request(get(uri)).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        }));
    }
    for request in requests {
        assert_eq!(request.await.unwrap(), "HTTP/2.0 tls=true");
    }
    handle.shutdown();
}

#[tokio::test]
async fn alpn_http11_gives_http1_over_tls() {
    let (addr, tls, handle) = start().await;
    let stream = connect(addr, &tls, &[b"http/1.1"]).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(get("/who")).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "HTTP/1.1 tls=true");
    handle.shutdown();
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_a_readable_400() {
    let (addr, _tls, handle) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /who HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("use an https:// URL instead.\n"),
        "{answer}"
    );
    handle.shutdown();
}

#[tokio::test]
async fn a_failed_handshake_does_not_disturb_other_clients() {
    let (addr, tls, handle) = start().await;
    // Garbage that looks like a TLS record.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = bad.read_to_end(&mut sink).await;
    // A proper client is served.
    let stream = connect(addr, &tls, &[b"http/1.1"]).await;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(get("/who")).await.unwrap();
    assert_eq!(response.status(), 200);
    handle.shutdown();
}
