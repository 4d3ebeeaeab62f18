//! The runtime against real clients: a server on 127.0.0.1:0, reqwest for well-formed
//! HTTP/1.1 and HTTP/2, and raw TCP for what well-behaved clients never send.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ferry_core::router::{Router, RouterService, Routes};
use ferry_core::{App, Json, Request, RequestExt, Response, ServerConfig};
use http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;

use support::{closed_within, raw_exchange, read_for, start};

fn demo_app() -> App {
    App::new()
        .get("/hello", |_req| async { "Hello, world!" })
        .get("/users/:id", |req: Request| async move {
            Json(serde_json::json!({ "id": req.param("id") }))
        })
        .post("/echo", |req: Request| async move {
            Response::new(req.into_body())
        })
        .get("/slow", |_req| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "slow"
        })
        .get("/panic", |_req| async {
            panic!("handler bug");
            #[allow(unreachable_code)]
            ""
        })
}

fn with_config(config: ServerConfig) -> App {
    demo_app().config(config)
}

#[tokio::test]
async fn routes_answer_with_params_and_get_implies_head() {
    let server = start(demo_app()).await;
    let client = reqwest::Client::new();

    let user = client.get(server.url("/users/42")).send().await.unwrap();
    assert_eq!(user.status(), StatusCode::OK);
    assert_eq!(user.headers()["content-type"], "application/json");
    assert_eq!(user.text().await.unwrap(), r#"{"id":"42"}"#);

    let head = client.head(server.url("/hello")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "13");
    assert_eq!(head.bytes().await.unwrap().len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let server = start(demo_app()).await;
    let client = reqwest::Client::new();
    let missing = client.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let wrong = client.delete(server.url("/hello")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers()["allow"], "GET, HEAD");
    server.stop().await;
}

#[tokio::test]
async fn request_id_is_generated_or_taken_from_the_request() {
    let server = start(demo_app()).await;
    let client = reqwest::Client::new();
    let generated = client.get(server.url("/hello")).send().await.unwrap();
    assert_eq!(generated.headers()["x-request-id"].len(), 32);
    let given = client
        .get(server.url("/hello"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");
    server.stop().await;
}

#[tokio::test]
async fn http2_prior_knowledge_is_served_on_the_same_port() {
    let server = start(demo_app()).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(server.url("/hello")).send().await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "Hello, world!");

    // Many concurrent streams on the one connection.
    let mut requests = Vec::new();
    for id in 0..20 {
        let client = client.clone();
        let url = server.url(&format!("/users/{id}"));
        requests.push(tokio::spawn(async move {
            client.get(url).send().await.unwrap().text().await.unwrap()
        }));
    }
    for (id, request) in requests.into_iter().enumerate() {
        assert_eq!(request.await.unwrap(), format!(r#"{{"id":"{id}"}}"#));
    }
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = start(demo_app()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.ends_with("Hello, world!"), "{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = start(demo_app()).await;
    let pipelined = b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n\
GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n\
GET /users/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let text = raw_exchange(server.addr, pipelined, Duration::from_secs(5)).await;
    let first = text.find(r#"{"id":"1"}"#).unwrap();
    let second = text.find(r#"{"id":"2"}"#).unwrap();
    let third = text.find(r#"{"id":"3"}"#).unwrap();
    assert!(first < second && second < third, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3);
    server.stop().await;
}

#[tokio::test]
async fn chunked_request_body_is_streamed_back() {
    let server = start(demo_app()).await;
    let request = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let text = raw_exchange(server.addr, request, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    // The echo streams, so the response is chunked too.
    assert!(
        text.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{text}"
    );
    assert!(text.contains("hello") && text.contains(" world"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn large_body_streams_both_ways() {
    let server = start(demo_app()).await;
    let body: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let response = reqwest::Client::new()
        .post(server.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), body);
    server.stop().await;
}

#[tokio::test]
async fn oversized_header_block_gets_431() {
    let server = start(demo_app()).await;
    let big = "a".repeat(40 * 1024);
    let request = format!("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let text = raw_exchange(server.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn too_many_headers_gets_431() {
    let server = start(demo_app()).await;
    let mut request = String::from("GET /hello HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        request.push_str(&format!("X-H{i}: v\r\n"));
    }
    request.push_str("\r\n");
    let text = raw_exchange(server.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn overlong_uri_gets_414() {
    let server = start(demo_app()).await;
    let path = format!("/{}", "p".repeat(9 * 1024));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let text = raw_exchange(server.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 414"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn malformed_request_gets_400_and_others_are_unaffected() {
    let server = start(demo_app()).await;
    let text = raw_exchange(server.addr, b"GARBAGE\r\n\r\n", Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let ok = reqwest::get(server.url("/hello")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_500_and_the_server_keeps_serving() {
    let server = start(demo_app()).await;
    let client = reqwest::Client::new();
    let response = client.get(server.url("/panic")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let ok = client.get(server.url("/hello")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn slow_request_head_is_cut_off_by_the_header_timeout() {
    let server = start(with_config(ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    }))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHo")
        .await
        .unwrap();
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    server.stop().await;
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_but_slow_handlers_are_not() {
    let server = start(with_config(ServerConfig {
        keep_alive_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    }))
    .await;
    // A handler that takes longer than the keep-alive timeout still answers.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("slow"));
    // Then, idle, the connection is closed.
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    server.stop().await;
}

#[tokio::test]
async fn at_the_connection_limit_accepting_pauses_until_a_connection_closes() {
    let server = start(with_config(ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    }))
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    // The second client waits in the backlog while the first stays open.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let early = read_for(&mut second, Duration::from_millis(400)).await;
    assert_eq!(early, "", "served past the connection limit");

    drop(first);
    let late = read_for(&mut second, Duration::from_secs(3)).await;
    assert!(late.starts_with("HTTP/1.1 200"), "{late}");
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    let server = start(demo_app()).await;
    let url = server.url("/slow");
    let in_flight =
        tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let addr = server.addr;
    let report = server.stop().await;
    assert_eq!(report.cut_connections, 0);
    assert_eq!(in_flight.await.unwrap(), "slow");
    // The listener is gone.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_timeout_cuts_requests_that_take_too_long() {
    let server = start(with_config(ServerConfig {
        shutdown_timeout: Duration::from_millis(100),
        ..ServerConfig::default()
    }))
    .await;
    let url = server.url("/slow");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    let report = server.stop().await;
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(report.cut_connections, 1);
    assert!(in_flight.await.unwrap().is_err());
}

#[tokio::test]
async fn route_table_swaps_atomically_while_serving() {
    let routes = Routes::new(
        Router::new()
            .route("/v", Method::GET, |_req| async { "one" })
            .unwrap(),
    );
    let app = App::new().fallback(RouterService::new(routes.clone(), None));
    let server = start(app).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.url("/v"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "one"
    );

    routes.replace(
        Router::new()
            .route("/v", Method::GET, |_req| async { "two" })
            .unwrap()
            .route("/added", Method::GET, |_req| async { "new" })
            .unwrap(),
    );
    assert_eq!(
        client
            .get(server.url("/v"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "two"
    );
    assert_eq!(
        client
            .get(server.url("/added"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "new"
    );
    server.stop().await;
}

#[tokio::test]
async fn busy_port_is_a_clear_bind_error() {
    let first = App::new().bind("127.0.0.1:0").await.unwrap();
    let taken = first.local_addr();
    let error = App::new().bind(taken).await.unwrap_err();
    assert_eq!(error.to_string(), format!("{taken} is already in use"));
}

#[tokio::test]
async fn open_event_streams_end_when_the_server_shuts_down() {
    use ferry_core::sse::{Event, event_stream};
    let app = App::new().get("/events", |request: Request| async move {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let _ = sender.send(Event::new("hello").name("greeting")).await;
        // Keep the sender alive: the stream stays open until the server stops.
        tokio::spawn(async move {
            sender.closed().await;
        });
        event_stream(&request, receiver, Duration::from_secs(60))
    });
    let server = start(app).await;
    let mut response = reqwest::get(server.url("/events")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = response.chunk().await.unwrap().unwrap();
    assert_eq!(first, "event: greeting\ndata: hello\n\n");

    let started = Instant::now();
    let report = server.stop().await;
    assert_eq!(report.cut_connections, 0, "the stream ended by itself");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        response.chunk().await.unwrap().is_none(),
        "the client sees the end of the stream"
    );
}

#[tokio::test]
async fn an_idle_connection_is_parked_and_serves_its_next_request() {
    let server = start(demo_app()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for round in 0..3 {
        // Idle long enough to be parked between requests; the next one arrives in pieces.
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(b"GET /hello HTT").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.write_all(b"P/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let answer = read_for(&mut stream, Duration::from_millis(300)).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer}"
        );
        assert!(answer.ends_with("Hello, world!"), "round {round}: {answer}");
    }
    // A keep-alive client pool reuses the parked connection without noticing.
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let response = client.get(server.url("/hello")).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "Hello, world!");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn thread_per_core_serves_on_each_thread_after_its_hook() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ferry_core::server::{OnThread, ThreadPerCore};

    let hooked = Arc::new(AtomicUsize::new(0));
    let counter = hooked.clone();
    let on_thread: OnThread = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        // Work that lives on the thread (not Send): a thread-local counter's reader.
        let here = std::rc::Rc::new(());
        Ok(Box::pin(async move {
            let _kept = here;
            std::future::pending::<()>().await;
        }))
    });
    let servers = ThreadPerCore::bind(
        2,
        |config| {
            ferry_core::App::new()
                .config(config)
                .get("/thread", |_req| async {
                    std::thread::current().name().unwrap_or("?").to_owned()
                })
        },
        ferry_core::ServerConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
        Some(on_thread),
    )
    .await
    .unwrap();
    assert_eq!(hooked.load(Ordering::SeqCst), 2);
    let url = format!("http://{}/thread", servers.local_addr());
    tokio::spawn(servers.run());
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let client = reqwest::Client::new();
        let name = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(name.starts_with("ferry-server-"), "{name}");
        names.insert(name);
    }
    assert!(!names.is_empty());
}
