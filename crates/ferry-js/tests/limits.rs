//! The sandbox: runaway scripts cost only their own request, invalid responses are
//! explained, and a full queue answers 503.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ferry_js::{Limits, Script};
use support::TestApp;

fn short_timeout() -> Limits {
    Limits {
        call_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

const RUNAWAY: &str = r#"
register("/fast", () => "fast");
register("/loop", () => { for (;;) {} });
register("/catching-loop", () => { try { for (;;) {} } catch (e) { return "escaped"; } });
register("/async-loop", async () => { await null; for (;;) {} });
register("/never", () => new Promise(() => {}));
register("/bomb", () => { const hog = []; for (;;) hog.push(new Array(100000).fill(1)); });
register("/recurse", () => { const down = (n) => down(n + 1) + 1; return String(down(0)); });
register("/catch-recursion", () => { const down = (n) => down(n + 1) + 1; try { down(0); } catch (e) { return e.name; } });
"#;

#[tokio::test]
async fn an_endless_loop_gets_504_and_other_requests_are_served_meanwhile() {
    let app = TestApp::with(2, short_timeout(), false, &[("runaway.js", RUNAWAY)]).await;
    let looping = app.get("/loop");
    let fast = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        app.text("/fast").await
    };
    let (looping, fast) = tokio::join!(looping, fast);
    assert_eq!(looping.status(), 504);
    assert_eq!(fast, (200, "fast".into()));
    // The interrupt cannot be caught by the script.
    assert_eq!(app.get("/catching-loop").await.status(), 504);
    assert_eq!(app.get("/async-loop").await.status(), 504);
    // Both workers recovered.
    for _ in 0..4 {
        assert_eq!(app.text("/fast").await.0, 200);
    }
}

#[tokio::test]
async fn a_promise_that_never_settles_gets_504() {
    let app = TestApp::with(1, short_timeout(), false, &[("runaway.js", RUNAWAY)]).await;
    assert_eq!(app.get("/never").await.status(), 504);
    assert_eq!(app.text("/fast").await.0, 200);
}

#[tokio::test]
async fn a_memory_bomb_gets_500_and_the_worker_keeps_serving() {
    let limits = Limits {
        memory_bytes: 16 * 1024 * 1024,
        call_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let app = TestApp::with(1, limits, false, &[("runaway.js", RUNAWAY)]).await;
    assert_eq!(app.get("/bomb").await.status(), 500);
    for _ in 0..3 {
        assert_eq!(app.text("/fast").await, (200, "fast".into()));
    }
    assert_eq!(app.get("/bomb").await.status(), 500);
    assert_eq!(app.text("/fast").await.0, 200);
}

#[tokio::test]
async fn runaway_recursion_is_a_catchable_range_error() {
    let app = TestApp::with(1, short_timeout(), false, &[("runaway.js", RUNAWAY)]).await;
    assert_eq!(app.get("/recurse").await.status(), 500);
    assert_eq!(
        app.text("/catch-recursion").await,
        (200, "RangeError".into())
    );
    assert_eq!(app.text("/fast").await.0, 200);
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let limits = Limits {
        body_bytes: 1024,
        ..Limits::default()
    };
    let app = TestApp::with(
        1,
        limits,
        false,
        &[(
            "echo.js",
            r#"register("/echo", (c) => c.request.body, "POST");"#,
        )],
    )
    .await;
    let small = app
        .client
        .post(app.url("/echo"))
        .body("x".repeat(1024))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    let large = app
        .client
        .post(app.url("/echo"))
        .body("x".repeat(1025))
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 413);
    // Chunked, so the length is only known while reading.
    let stream = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'y'; 512]))),
    );
    let chunked = app
        .client
        .post(app.url("/echo"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);
}

#[tokio::test]
async fn an_oversized_script_is_refused_with_the_limit() {
    let limits = Limits {
        script_bytes: 100,
        ..Limits::default()
    };
    let app = TestApp::with(1, limits, false, &[]).await;
    let source = format!("register('/x', () => 'x'); // {}", "padding ".repeat(20));
    let error = app
        .engine
        .load(Script::new("big.js", source))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("big.js: the script is"), "{message}");
    assert!(
        message.contains("over the script size limit of 100 bytes"),
        "{message}"
    );
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let limits = Limits {
        queue_per_worker: 1,
        call_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let app = TestApp::with(
        1,
        limits,
        false,
        &[(
            "slow.js",
            r#"register("/slow", () => { const end = Date.now() + 200; while (Date.now() < end) {} return "done"; });"#,
        )],
    )
    .await;
    let requests = (0..8).map(|_| app.get("/slow"));
    let responses = futures_util::future::join_all(requests).await;
    let busy: Vec<_> = responses.iter().filter(|r| r.status() == 503).collect();
    assert!(!busy.is_empty(), "some requests must be refused");
    assert!(busy.iter().all(|r| r.headers()["retry-after"] == "1"));
    assert!(responses.iter().any(|r| r.status() == 200));
}

#[tokio::test]
async fn invalid_responses_are_500_with_the_reason_in_dev_mode_only() {
    let script = r#"register("/bad", () => ({ status: 2000, body: "x" }));
        register("/fraction", () => ({ status: 0.5 }));
        register("/throws", () => { throw new TypeError("bad input"); });
        register("/huge-header", () => ({ headers: { "X-Big": "x".repeat(1 << 22) }, body: "x" }));"#;
    let production = TestApp::with(1, Limits::default(), false, &[("bad.js", script)]).await;
    let (status, body) = production.text("/bad").await;
    assert_eq!(status, 500);
    assert!(!body.contains("2000"), "{body}");
    let (status, body) = production.text("/throws").await;
    assert_eq!(status, 500);
    assert!(!body.contains("bad input"), "{body}");

    let dev = TestApp::with(1, Limits::default(), true, &[("bad.js", script)]).await;
    let (status, body) = dev.text("/bad").await;
    assert_eq!(status, 500);
    assert!(body.contains("did you mean 200?"), "{body}");
    // A status below 1 once sent the worker into an endless loop (found by fuzzing).
    let (status, body) = dev.text("/fraction").await;
    assert_eq!(status, 500);
    assert!(
        body.contains("status 0.5 is not a valid HTTP status"),
        "{body}"
    );
    // A head no client would take (found by the random results test) is refused here.
    let (status, body) = dev.text("/huge-header").await;
    assert_eq!(status, 500);
    assert!(body.contains("headers are larger than 64 KiB"), "{body}");
    let (status, body) = dev.text("/throws").await;
    assert_eq!(status, 500);
    assert!(body.contains("TypeError: bad input"), "{body}");
    assert!(
        body.contains("bad.js:3"),
        "the stack names the file and line: {body}"
    );
}

#[tokio::test]
async fn a_reply_held_for_its_burst_is_not_kept_behind_a_long_call() {
    // One worker, busy first; meanwhile /fast and then /long are queued behind it. The worker
    // answers /fast and holds the reply back (more work is queued), then starts /long: the
    // held reply must still go out at once, not when /long ends.
    let limits = Limits {
        call_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let script = r#"
        const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };
        register("/busy", () => { spin(300); return "busy"; });
        register("/fast", () => "fast");
        register("/long", () => { spin(1500); return "long"; });
    "#;
    let app = TestApp::with(1, limits, false, &[("spin.js", script)]).await;
    let started = std::time::Instant::now();
    let busy = app.text("/busy");
    let fast = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let answer = app.text("/fast").await;
        (answer, started.elapsed())
    };
    let long = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = app.text("/long").await;
        (answer, started.elapsed())
    };
    let (busy, (fast, fast_at), (long, long_at)) = tokio::join!(busy, fast, long);
    assert_eq!(busy.1, "busy");
    assert_eq!(fast.1, "fast");
    assert_eq!(long.1, "long");
    assert!(long_at >= Duration::from_millis(1700), "{long_at:?}");
    assert!(
        fast_at < Duration::from_millis(1200),
        "/fast waited for /long: {fast_at:?}"
    );
}
