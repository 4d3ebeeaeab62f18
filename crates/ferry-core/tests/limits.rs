//! Abuse limits against real clients: request-head and body timeouts, connections per
//! address, rate limits, trusted proxies, and readiness during shutdown.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ferry_core::health::HealthChecks;
use ferry_core::layers::RateLimitLayer;
use ferry_core::{App, IntoResponse, Request, RequestExt, ServerConfig};
use http::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod support;

use support::{closed_within, raw_exchange, read_for, start};

/// The size of `/big`: far more than socket buffers hold.
const BIG: usize = 64 << 20;

/// An app whose `/upload` reads the whole body, `/big` answers [`BIG`] bytes, and `/who`
/// names the client.
fn app(config: ServerConfig) -> App {
    App::new()
        .config(config)
        .post("/upload", |request: Request| async move {
            match request.into_body().to_bytes(1 << 20).await {
                Ok(bytes) => format!("{} bytes", bytes.len()).into_response(),
                Err(ferry_core::ReadBodyError::TooSlow) => {
                    (StatusCode::REQUEST_TIMEOUT, "too slow").into_response()
                }
                Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
            }
        })
        .get("/big", |_request: Request| async {
            bytes::Bytes::from(vec![b'x'; BIG]).into_response()
        })
        .get("/who", |request: Request| async move {
            request
                .client_addr()
                .map(|ip| ip.to_string())
                .unwrap_or_default()
        })
}

#[tokio::test]
async fn a_request_head_that_stalls_gets_408_and_the_connection_closes() {
    let server = start(app(ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    }))
    .await;
    let answer = raw_exchange(
        server.addr,
        b"GET /who HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("connection: close"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_without_an_answer() {
    let server = start(app(ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    }))
    .await;
    let answer = raw_exchange(server.addr, b"", Duration::from_secs(3)).await;
    assert_eq!(answer, "");
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    let server = start(app(ServerConfig {
        body_read_timeout: Duration::from_millis(400),
        ..ServerConfig::default()
    }))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_for(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The handler made its own 408; the server adds the close.
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_below_the_minimum_rate_gets_408() {
    // The rate counts after a 5 s grace period; 1 byte every 200 ms is 5 B/s.
    let server = start(app(ServerConfig {
        min_body_rate: 100,
        ..ServerConfig::default()
    }))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    for _ in 0..60 {
        if stream.write_all(b"x").await.is_err() {
            break;
        }
        answer = read_for(&mut stream, Duration::from_millis(200)).await;
        if !answer.is_empty() {
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_steady_upload_is_not_cut_by_the_body_limits() {
    let server = start(app(ServerConfig {
        body_read_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    }))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n")
        .await
        .unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stream.write_all(&[b'y'; 10]).await.unwrap();
    }
    let answer = read_for(&mut stream, Duration::from_millis(500)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("40 bytes"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let server = start(app(ServerConfig {
        send_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    }))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Read nothing while the server's writes block, then drain what was buffered.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => panic!("the connection stayed open"),
        }
    }
    assert!(received < BIG, "the whole body arrived: {received}");
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_per_address_limit_get_429_until_one_closes() {
    let server = start(app(ServerConfig {
        max_connections_per_ip: 2,
        ..ServerConfig::default()
    }))
    .await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    let _second = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = raw_exchange(
        server.addr,
        b"GET /who HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        refused.starts_with("HTTP/1.1 429 Too Many Requests"),
        "{refused}"
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = raw_exchange(
        server.addr,
        b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_from_trusted_proxies() {
    let request = b"GET /who HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\nConnection: close\r\n\r\n";
    let untrusted = start(app(ServerConfig::default())).await;
    let answer = raw_exchange(untrusted.addr, request, Duration::from_secs(2)).await;
    assert!(answer.ends_with("127.0.0.1"), "{answer}");
    untrusted.stop().await;

    let trusted = start(app(ServerConfig {
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..ServerConfig::default()
    }))
    .await;
    let answer = raw_exchange(trusted.addr, request, Duration::from_secs(2)).await;
    assert!(answer.ends_with("203.0.113.5"), "{answer}");
    trusted.stop().await;
}

#[tokio::test]
async fn rate_limited_clients_get_429_with_retry_after_and_ratelimit_headers() {
    let server = start(
        app(ServerConfig::default())
            .layer(RateLimitLayer::new().limit_all("2/min".parse().unwrap())),
    )
    .await;
    let client = reqwest::Client::new();
    for remaining in ["1", "0"] {
        let response = client.get(server.url("/who")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["ratelimit-remaining"], remaining);
    }
    let refused = client.get(server.url("/who")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(refused.headers()["ratelimit-limit"], "2");
    server.stop().await;
}

#[tokio::test]
async fn readiness_turns_503_before_the_server_stops_accepting() {
    let server = start(HealthChecks::new("1.2.3").install(app(ServerConfig {
        shutdown_delay: Duration::from_millis(800),
        ..ServerConfig::default()
    })))
    .await;
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let health = client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["version"], "1.2.3");

    server.shutdown.shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Still serving, on a new connection too, but no longer ready.
    let fresh = reqwest::Client::new();
    let draining = fresh.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(draining.status(), StatusCode::SERVICE_UNAVAILABLE);
    let live = fresh.get(server.url("/live")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let work = fresh.get(server.url("/who")).send().await.unwrap();
    assert_eq!(work.status(), StatusCode::OK);

    let report = server.task.await.unwrap();
    assert_eq!(report.cut_connections, 0);
}

#[tokio::test]
async fn a_half_closed_connection_is_closed_and_frees_its_slot() {
    let server = start(app(ServerConfig {
        max_connections_per_ip: 1,
        ..ServerConfig::default()
    }))
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.shutdown().await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(2)).await);
    drop(idle);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = raw_exchange(
        server.addr,
        b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}
