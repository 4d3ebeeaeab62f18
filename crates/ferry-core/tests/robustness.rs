//! Malformed and hostile input on raw TCP: each case gets the right 4xx or a closed
//! connection, never a hang or a crash, while a well-behaved client on its own connection
//! keeps being served without a single error throughout.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ferry_core::{App, Request, Response, ServerConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod support;

use support::{Running, raw_exchange, read_for, start};

/// What a hostile exchange must end in.
enum Expect {
    /// This status line, then (for errors) a closed connection.
    Status(&'static str),
    /// Either the status or a connection closed without an answer.
    StatusOrClosed(&'static str),
    /// An HTTP/2 GOAWAY frame (the HTTP/2 way of refusing a connection).
    GoAway,
}

/// Whether the HTTP/2 frames in `bytes` include a GOAWAY.
fn has_goaway(bytes: &[u8]) -> bool {
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let length = usize::from(bytes[at]) << 16
            | usize::from(bytes[at + 1]) << 8
            | usize::from(bytes[at + 2]);
        if bytes[at + 3] == 0x7 {
            return true;
        }
        at += 9 + length;
    }
    false
}

async fn app_server() -> Running {
    start(
        App::new()
            .config(ServerConfig {
                header_read_timeout: Duration::from_secs(2),
                ..ServerConfig::default()
            })
            .get("/hello", |_req| async { "hello" })
            .post("/echo", |request: Request| async move {
                Response::new(request.into_body())
            }),
    )
    .await
}

/// A client sending well-formed requests on one keep-alive connection until `stop`,
/// counting answers and errors.
fn bystander(url: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(usize, Vec<String>)> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let answered = AtomicUsize::new(0);
        let mut errors = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match client.get(&url).send().await {
                Ok(response) if response.status() == 200 => {
                    if response.text().await.ok().as_deref() == Some("hello") {
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.push("wrong body".to_owned());
                    }
                }
                Ok(response) => errors.push(format!("status {}", response.status())),
                Err(error) => errors.push(error.to_string()),
            }
        }
        (answered.into_inner(), errors)
    })
}

async fn check(server: &Running, name: &str, request: &[u8], expect: Expect) {
    if let Expect::GoAway = expect {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer);
        let closed = tokio::time::timeout(Duration::from_secs(4), read).await;
        assert!(closed.is_ok(), "{name}: the connection stayed open");
        assert!(has_goaway(&answer), "{name}: no GOAWAY in {answer:?}");
        return;
    }
    let answer = raw_exchange(server.addr, request, Duration::from_secs(4)).await;
    match expect {
        Expect::GoAway => unreachable!("handled above"),
        Expect::Status(status) => {
            assert!(answer.starts_with(status), "{name}: got {answer:?}");
        }
        Expect::StatusOrClosed(status) => {
            assert!(
                answer.is_empty() || answer.starts_with(status),
                "{name}: got {answer:?}"
            );
        }
    }
    // Nothing may follow an error answer: in particular no answer to a smuggled request.
    if !answer.starts_with("HTTP/1.1 2") {
        assert_eq!(
            answer.matches("HTTP/1.1 ").count(),
            usize::from(!answer.is_empty()),
            "{name}: more than one answer: {answer:?}"
        );
    }
}

#[tokio::test]
async fn hostile_requests_get_4xx_and_a_bystander_sees_no_error() {
    let server = app_server().await;
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = bystander(server.url("/hello"), stop.clone());

    let bad_request = "HTTP/1.1 400";
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "malformed request line",
            b"GARBAGE\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "missing version",
            b"GET /hello\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "invalid header name byte",
            b"GET /hello HTTP/1.1\r\nHost: x\r\nBad\x01Name: y\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "control byte in a header value",
            b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "space before the colon",
            b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "obsolete line folding",
            b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "Content-Length with Transfer-Encoding (smuggling)",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "two different Content-Lengths",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "negative Content-Length",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "Transfer-Encoding that does not end in chunked",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc".to_vec(),
            Expect::Status(bad_request),
        ),
        (
            "invalid chunk size",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec(),
            Expect::StatusOrClosed("HTTP/1.1 200"),
        ),
        (
            "oversized chunk size",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n".to_vec(),
            Expect::StatusOrClosed("HTTP/1.1 200"),
        ),
        (
            "header flood",
            {
                let mut flood = b"GET /hello HTTP/1.1\r\nHost: x\r\n".to_vec();
                for i in 0..500 {
                    flood.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
                }
                flood.extend_from_slice(b"\r\n");
                flood
            },
            Expect::Status("HTTP/1.1 431"),
        ),
        (
            "one enormous header",
            {
                let mut big = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
                big.extend(std::iter::repeat_n(b'a', 100_000));
                big.extend_from_slice(b"\r\n\r\n");
                big
            },
            Expect::Status("HTTP/1.1 431"),
        ),
        (
            "overlong request target",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000)).into_bytes(),
            Expect::Status("HTTP/1.1 4"),
        ),
        (
            "binary garbage",
            (0u8..=255).cycle().take(4096).collect(),
            Expect::StatusOrClosed(bad_request),
        ),
        (
            "HTTP/2 preface then garbage",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff".to_vec(),
            Expect::GoAway,
        ),
    ];
    for (name, request, expect) in cases {
        check(&server, name, &request, expect).await;
    }

    stop.store(true, Ordering::Relaxed);
    let (answered, errors) = watcher.await.unwrap();
    assert!(errors.is_empty(), "the bystander saw errors: {errors:?}");
    assert!(answered > 0);
    server.stop().await;
}

#[tokio::test]
async fn requests_without_a_valid_host_or_target_get_400_and_a_closed_connection() {
    let server = app_server().await;
    let cases: [(&str, &[u8]); 8] = [
        ("no Host", b"GET /hello HTTP/1.1\r\n\r\n"),
        (
            "two Host fields",
            b"GET /hello HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        ),
        (
            "a space in Host",
            b"GET /hello HTTP/1.1\r\nHost: exa mple.com\r\n\r\n",
        ),
        (
            "user information in Host",
            b"GET /hello HTTP/1.1\r\nHost: user@example.com\r\n\r\n",
        ),
        (
            "a target without the leading slash",
            b"GET hello HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        (
            "an authority-form target for GET",
            b"GET example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        (
            "an asterisk target for GET",
            b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        (
            "two Host fields in HTTP/1.0",
            b"GET /hello HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
    ];
    for (name, request) in cases {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // A second, valid request behind the bad one must not be answered.
        let mut bytes = request.to_vec();
        bytes.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        stream.write_all(&bytes).await.unwrap();
        let started = std::time::Instant::now();
        let answer = read_for(&mut stream, Duration::from_secs(4)).await;
        assert!(
            answer.starts_with("HTTP/1.",) && answer.contains(" 400 "),
            "{name}: {answer:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{name}: the connection stayed open"
        );
        assert!(!answer.contains(" 200 "), "{name}: {answer:?}");
    }
    // What the RFC allows is served.
    let allowed: [(&str, &[u8]); 4] = [
        ("HTTP/1.0 without Host", b"GET /hello HTTP/1.0\r\n\r\n"),
        (
            "absolute form",
            b"GET http://x/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ),
        (
            "an IPv6 literal with a port",
            b"GET /hello HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n",
        ),
        (
            "an empty Host",
            b"GET /hello HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        ),
    ];
    for (name, request) in allowed {
        let answer = raw_exchange(server.addr, request, Duration::from_secs(4)).await;
        assert!(answer.contains(" 200 "), "{name}: {answer:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_pipelining_flood_is_answered_in_order() {
    let server = app_server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut flood = Vec::new();
    for _ in 0..2000 {
        flood.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    flood.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (mut reader, mut writer) = stream.split();
    let write = async {
        writer.write_all(&flood).await.unwrap();
    };
    let read = async {
        let mut received = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut received)
            .await
            .unwrap();
        String::from_utf8(received).unwrap()
    };
    let ((), answers) = tokio::join!(write, read);
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2001);
    server.stop().await;
}

#[tokio::test]
async fn a_half_closed_client_still_gets_its_answer() {
    let server = app_server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let answer = read_for(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn many_clients_that_vanish_mid_request_leave_the_server_serving() {
    let server = app_server().await;
    for _ in 0..200 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial")
            .await
            .unwrap();
        drop(stream);
    }
    let answer = reqwest::get(server.url("/hello")).await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "hello");
    server.stop().await;
}
