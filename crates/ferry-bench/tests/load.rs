//! The load generator against servers in this process: request counts, error accounting,
//! percentiles of known latencies, and the coordinated-omission correction.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferry_bench::Target;
use ferry_bench::load::{self, LoadConfig};
use ferry_core::{App, ShutdownHandle, status_response};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn serve(app: App) -> (SocketAddr, ShutdownHandle) {
    let server = app.bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    tokio::spawn(server.run_until(std::future::pending()));
    (addr, handle)
}

fn target(addr: SocketAddr, path: &str) -> Target {
    Target::parse(&format!("http://{addr}{path}")).unwrap()
}

fn quick(connections: usize) -> LoadConfig {
    LoadConfig {
        connections,
        duration: Duration::from_millis(500),
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(2),
        ..LoadConfig::default()
    }
}

#[tokio::test]
async fn a_request_count_is_exact_on_both_sides() {
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let app = App::new().get("/hello", move |_req| {
        counter.fetch_add(1, Ordering::Relaxed);
        async { "hello" }
    });
    let (addr, handle) = serve(app).await;
    let config = LoadConfig {
        requests: Some(500),
        ..quick(8)
    };
    let report = load::run(&target(addr, "/hello"), &config).await;
    assert_eq!(report.requests, 500);
    assert_eq!(report.errors.total(), 0);
    assert_eq!(report.bytes, 500 * 5);
    assert_eq!(
        served.load(Ordering::Relaxed),
        500,
        "nothing sent beyond the count"
    );
    assert_eq!(report.latency.len(), 500);
    handle.shutdown();
}

#[tokio::test]
async fn warm_up_requests_are_not_counted() {
    let app = App::new().get("/", |_req| async { "x" });
    let (addr, handle) = serve(app).await;
    let config = LoadConfig {
        requests: Some(100),
        warmup: Duration::from_millis(300),
        ..quick(4)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert_eq!(report.requests, 100);
    handle.shutdown();
}

#[tokio::test]
async fn paths_are_requested_in_rotation() {
    let app = App::new()
        .get("/a", |_req| async { "a" })
        .get("/b", |_req| async { "bb" });
    let (addr, handle) = serve(app).await;
    let target = target(addr, "/").with_paths(vec!["/a".into(), "/b".into()]);
    let config = LoadConfig {
        requests: Some(100),
        ..quick(1)
    };
    let report = load::run(&target, &config).await;
    assert_eq!(report.requests, 100);
    assert_eq!(report.bytes, 50 + 50 * 2);
    handle.shutdown();
}

#[tokio::test]
async fn error_statuses_are_counted_not_hidden() {
    let counter = Arc::new(AtomicU64::new(0));
    let app = App::new().get("/", move |_req| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            if n.is_multiple_of(4) {
                status_response(StatusCode::INTERNAL_SERVER_ERROR)
            } else {
                status_response(StatusCode::OK)
            }
        }
    });
    let (addr, handle) = serve(app).await;
    let config = LoadConfig {
        requests: Some(400),
        ..quick(1)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert_eq!(report.errors.status, 100);
    assert_eq!(report.requests, 300);
    handle.shutdown();
}

#[tokio::test]
async fn a_server_that_closes_connections_gives_read_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    });
    let config = LoadConfig {
        requests: Some(50),
        ..quick(2)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert_eq!(report.requests, 0);
    assert_eq!(report.errors.read, 50);
}

#[tokio::test]
async fn a_body_cut_short_is_a_length_mismatch() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
                    .await;
            });
        }
    });
    let config = LoadConfig {
        requests: Some(20),
        ..quick(2)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert_eq!(report.errors.body_length, 20);
}

#[tokio::test]
async fn a_server_that_dies_gives_connect_errors_and_the_run_still_ends() {
    let app = App::new().get("/", |_req| async { "x" });
    let (addr, handle) = serve(app).await;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle.shutdown();
    });
    let config = LoadConfig {
        duration: Duration::from_millis(800),
        ..quick(4)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert!(report.requests > 0);
    assert!(report.errors.connect > 0, "{:?}", report.errors);
}

#[tokio::test]
async fn a_dead_server_in_count_mode_ends_with_connect_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = LoadConfig {
        requests: Some(10),
        ..quick(2)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert_eq!(report.errors.connect, 10);
}

#[tokio::test]
async fn percentiles_follow_a_known_latency_distribution() {
    // Nine of ten requests take 5 ms, one takes 60 ms.
    let counter = Arc::new(AtomicU64::new(0));
    let app = App::new().get("/", move |_req| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            let delay = if n % 10 == 9 { 60 } else { 5 };
            tokio::time::sleep(Duration::from_millis(delay)).await;
            "x"
        }
    });
    let (addr, handle) = serve(app).await;
    let config = LoadConfig {
        requests: Some(200),
        ..quick(1)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    let summary = report.latency_summary();
    assert!((5.0..20.0).contains(&summary.p50), "{summary:?}");
    assert!((60.0..90.0).contains(&summary.p99), "{summary:?}");
    assert!((60.0..120.0).contains(&summary.max), "{summary:?}");
    handle.shutdown();
}

#[tokio::test]
async fn open_loop_charges_a_stall_to_the_requests_behind_it() {
    // Every request is quick except one that stalls for a second.
    let server = |stall_at: u64| {
        let counter = Arc::new(AtomicU64::new(0));
        App::new().get("/", move |_req| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                if n == stall_at {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                "x"
            }
        })
    };
    let (closed_addr, closed_handle) = serve(server(50)).await;
    let closed = load::run(
        &target(closed_addr, "/"),
        &LoadConfig {
            duration: Duration::from_secs(2),
            ..quick(1)
        },
    )
    .await;
    let (open_addr, open_handle) = serve(server(50)).await;
    let open = load::run(
        &target(open_addr, "/"),
        &LoadConfig {
            duration: Duration::from_secs(2),
            rate: Some(100.0),
            ..quick(1)
        },
    )
    .await;
    // Closed loop: one slow request among thousands; the stall hardly shows.
    assert!(
        closed.latency_summary().p90 < 50.0,
        "{:?}",
        closed.latency_summary()
    );
    // Open loop: ~100 scheduled requests waited behind the stall, up to a second each.
    let corrected = open.latency_summary();
    assert!(corrected.p90 > 300.0, "{corrected:?}");
    assert!(corrected.max >= 900.0, "{corrected:?}");
    assert!(
        (150.0..=230.0).contains(&(open.requests as f64)),
        "rate kept: {}",
        open.requests
    );
    closed_handle.shutdown();
    open_handle.shutdown();
}

#[tokio::test]
async fn servers_that_close_after_each_answer_are_not_counted_as_failing() {
    // Like python's http.server: HTTP/1.0, one answer per connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    let config = LoadConfig {
        requests: Some(200),
        ..quick(4)
    };
    let report = load::run(&target(addr, "/"), &config).await;
    assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
    assert_eq!(report.requests, 200);
}
