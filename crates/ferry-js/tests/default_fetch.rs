//! `export default { fetch(request, env, ctx) }`: every path and method the app does not
//! register otherwise reaches `fetch` as a standard Request (method, URL with the query,
//! headers, body bytes); its Response comes back as it was made (status, headers with
//! several Set-Cookie, binary body); `ctx.waitUntil` work runs after the answer; routes
//! registered with `register()` take precedence.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::TestApp;

const APP: &str = r#"
register("/registered", () => "register() wins");
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/binary") {
      return new Response(new Uint8Array([0, 1, 2, 255]), { headers: { "content-type": "application/x-bytes" } });
    }
    if (url.pathname === "/cookies") {
      const headers = new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-kind", "cookies"]]);
      return new Response("", { status: 200, headers });
    }
    if (url.pathname === "/later") {
      ctx.waitUntil(new Promise((resolve) => setTimeout(() => {
        sharedStorage.setItem("later", "done");
        resolve();
      }, 50)));
      return new Response("answered first");
    }
    if (url.pathname === "/later/check") return new Response(sharedStorage.getItem("later") ?? "not yet");
    if (url.pathname === "/not-a-response") return "text";
    if (url.pathname === "/method") return new Response(null, { headers: { "x-method": request.method } });
    if (url.pathname === "/copies") {
      const clone = request.clone();
      const copy = new Request(request, { headers: { "x-copy": "1" } });
      return Response.json({
        clone: [clone.method, clone.url === request.url, clone.headers.get("x-test"), await clone.text()],
        copy: [copy.method, copy.headers.get("x-copy"), await copy.text(), request.bodyUsed],
        redirect: request.redirect,
        aborted: request.signal.aborted,
      });
    }
    const body = request.body === null ? null : Array.from(new Uint8Array(await request.arrayBuffer()));
    return Response.json({
      method: request.method,
      url: request.url,
      path: url.pathname,
      query: url.searchParams.getAll("q"),
      header: request.headers.get("x-test"),
      body,
      env: typeof env,
      instance: request instanceof Request,
    }, { status: url.pathname === "/created" ? 201 : 200 });
  },
};
"#;

#[tokio::test(flavor = "multi_thread")]
async fn every_path_reaches_fetch_with_a_standard_request() {
    let app = TestApp::new(&[("worker.js", APP)]).await;
    let client = &app.client;

    let got: serde_json::Value = client
        .get(app.url("/any/path?q=1&q=two%20words"))
        .header("x-test", "yes")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["method"], "GET");
    assert_eq!(
        got["url"],
        format!("http://{}/any/path?q=1&q=two%20words", app.addr)
    );
    assert_eq!(got["query"], serde_json::json!(["1", "two words"]));
    assert_eq!(got["header"], "yes");
    assert_eq!(got["body"], serde_json::Value::Null);
    assert_eq!(got["env"], "object");
    assert_eq!(got["instance"], true);

    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let response = client
            .request(method.parse().unwrap(), app.url("/created"))
            .body(vec![0u8, 159, 146, 150])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{method}");
        let got: serde_json::Value = response.json().await.unwrap();
        assert_eq!(got["method"], method);
        assert_eq!(
            got["body"],
            serde_json::json!([0, 159, 146, 150]),
            "bytes as sent"
        );
    }
    let root = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 200);
    let head = client.head(app.url("/anything")).send().await.unwrap();
    assert_eq!(head.status(), 200);

    assert_eq!(app.text("/registered").await.1, "register() wins");

    let binary = client.get(app.url("/binary")).send().await.unwrap();
    assert_eq!(binary.headers()["content-type"], "application/x-bytes");
    assert_eq!(&binary.bytes().await.unwrap()[..], &[0, 1, 2, 255]);

    let cookies = client.get(app.url("/cookies")).send().await.unwrap();
    let set: Vec<&str> = cookies
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert_eq!(set, ["a=1", "b=2"]);
    assert_eq!(cookies.headers()["x-kind"], "cookies");

    let (status, body) = app.text("/not-a-response").await;
    assert_eq!(status, 500, "{body}");

    // A received request's method, details and body, read when asked for.
    for method in ["HEAD", "GET", "DELETE"] {
        let response = client
            .request(method.parse().unwrap(), app.url("/method"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-method"], method);
    }
    let copies: serde_json::Value = client
        .post(app.url("/copies"))
        .header("x-test", "copied")
        .body("the body")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        copies,
        serde_json::json!({
            "clone": ["POST", true, "copied", "the body"],
            "copy": ["POST", "1", "the body", true],
            "redirect": "follow",
            "aborted": false,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_until_work_finishes_after_the_answer() {
    let app = TestApp::with(1, ferry_js::Limits::default(), false, &[("worker.js", APP)]).await;
    assert_eq!(app.text("/later").await.1, "answered first");
    let started = Instant::now();
    loop {
        if app.text("/later/check").await.1 == "done" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "waitUntil work never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const STREAMING: &str = r#"
export default {
  fetch(request) {
    const url = new URL(request.url);
    const encoder = new TextEncoder();
    if (url.pathname === "/ticks") {
      // One chunk every 150 ms: the client sees the first long before the last.
      let n = 0;
      const body = new ReadableStream({
        pull(controller) {
          return new Promise((resolve) => setTimeout(() => {
            n += 1;
            controller.enqueue(encoder.encode(`tick ${n}\n`));
            if (n === 3) controller.close();
            resolve();
          }, n === 0 ? 0 : 150));
        },
      });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    }
    if (url.pathname === "/big") {
      // More than the channel holds at once: written as the client reads.
      let sent = 0;
      const chunk = new Uint8Array(64 * 1024).fill(120);
      const body = new ReadableStream({
        pull(controller) {
          if (sent === 64) return controller.close();
          sent += 1;
          controller.enqueue(chunk);
        },
      });
      return new Response(body);
    }
    if (url.pathname === "/endless") {
      const body = new ReadableStream({
        pull: (controller) => new Promise((resolve) => setTimeout(() => {
          controller.enqueue(new Uint8Array(16 * 1024));
          resolve();
        }, 1)),
        cancel() {
          sharedStorage.setItem("cancelled", "yes");
        },
      });
      return new Response(body);
    }
    if (url.pathname === "/cancelled") return new Response(sharedStorage.getItem("cancelled") ?? "no");
    if (url.pathname === "/broken") {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode("partial"));
          setTimeout(() => controller.error(new Error("the source failed")), 20);
        },
      });
      return new Response(body);
    }
    return new Response("not found", { status: 404 });
  },
};
"#;

#[tokio::test(flavor = "multi_thread")]
async fn readable_stream_bodies_are_sent_as_they_are_produced() {
    let app = TestApp::new(&[("stream.js", STREAMING)]).await;
    let started = Instant::now();
    let mut response = app.get("/ticks").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-length").is_none());
    let first = response.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert_eq!(&first[..], b"tick 1\n");
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(String::from_utf8(rest).unwrap(), "tick 2\ntick 3\n");
    let all_at = started.elapsed();
    assert!(
        all_at >= Duration::from_millis(290) && first_at + Duration::from_millis(200) < all_at,
        "the first chunk came at {first_at:?}, the last at {all_at:?}"
    );

    let big = app.get("/big").await.bytes().await.unwrap();
    assert_eq!(big.len(), 64 * 64 * 1024);
    assert!(big.iter().all(|byte| *byte == b'x'));

    // A stream that fails after its first chunk: the client gets the chunk, then an error
    // instead of a clean end.
    let mut broken = app.get("/broken").await;
    assert_eq!(broken.status(), 200);
    let mut received = Vec::new();
    let outcome = loop {
        match broken.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert_eq!(received, b"partial");
    assert!(outcome.is_err(), "the body ended cleanly");
    // The worker still answers.
    assert_eq!(app.get("/other").await.status(), 404);

    // A client that leaves an endless stream: the stream is cancelled.
    let mut endless = app.get("/endless").await;
    assert!(endless.chunk().await.unwrap().is_some());
    drop(endless);
    let started = Instant::now();
    loop {
        let (_, cancelled) = app.text("/cancelled").await;
        if cancelled == "yes" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the stream was not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
