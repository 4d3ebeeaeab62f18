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
