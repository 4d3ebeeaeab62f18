//! Scripts' `fetch` against a real upstream server (another Ferry engine on port 0): the
//! standard API end to end, redirects, the network policy (private addresses refused by
//! default, `--allow-net` lists, checked again after redirects), secrets put into requests
//! without the script seeing them, the size and concurrency caps, aborts and time limits,
//! bodies streamed as they arrive, and aiwebengine's synchronous form.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ferry_js::{EngineOptions, FetchStyle, Limits, NetPolicy, NetRule, OutboundOptions};
use ferry_store::SecretKey;
use serde_json::Value;
use support::TestApp;

/// The upstream: echoes requests, redirects, answers slowly, big, or as a stream.
const UPSTREAM: &str = r#"
const echo = (c) => ResponseBuilder.json({
  method: c.request.method,
  path: c.request.path,
  query: c.request.query,
  headers: c.request.headers,
  body: c.request.body ?? null,
});
register("/echo", echo, "GET");
register("/echo", echo, "POST");
register("/echo", echo, "PUT");
register("/status", (c) => ({ status: Number(c.request.query.code), body: "status body" }));
register("/redirect", (c) => ({
  status: Number(c.request.query.status ?? 302),
  headers: { Location: c.request.query.to },
  body: "",
}), "GET");
register("/redirect", (c) => ({
  status: Number(c.request.query.status ?? 302),
  headers: { Location: c.request.query.to },
  body: "",
}), "POST");
register("/loop", (c) => ({ status: 302, headers: { Location: "/loop" }, body: "" }));
register("/big", (c) => "x".repeat(Number(c.request.query.n)));
register("/slow", async (c) => {
  await new Promise((resolve) => setTimeout(resolve, Number(c.request.query.ms)));
  return "finally";
});
register("/digest", async (c) => {
  const text = (c.request.headers.authorization ?? "") + "|" + (c.request.query.key ?? "");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
});
registerWebStream("/events");
register("/send", () => {
  sendStreamMessageToPath("/events", { hello: "stream" });
  return "sent";
});
"#;

async fn upstream() -> TestApp {
    let limits = Limits {
        call_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    TestApp::with(2, limits, false, &[("upstream.js", UPSTREAM)]).await
}

/// An engine whose scripts may reach what `policy` allows, serving `script` with the
/// upstream's address in `UP`.
async fn downstream(
    up: &TestApp,
    outbound: OutboundOptions,
    limits: Limits,
    script: &str,
) -> TestApp {
    let options = EngineOptions {
        workers: 1,
        limits,
        outbound,
        secret_key: Some(Arc::new(SecretKey::parse(&"5a".repeat(32)).unwrap())),
        ..EngineOptions::default()
    };
    let source = format!("const UP = \"http://{}\";\n{script}", up.addr);
    TestApp::with_options(options, &[("app.js", source.as_str())]).await
}

fn everywhere() -> OutboundOptions {
    OutboundOptions {
        policy: NetPolicy::Everything,
        ..OutboundOptions::default()
    }
}

fn generous() -> Limits {
    Limits {
        call_timeout: Duration::from_secs(10),
        ..Limits::default()
    }
}

async fn json(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.text(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_and_answers_are_standard() {
    let up = upstream().await;
    let app = downstream(&up, everywhere(), generous(), r#"
register("/get", async () => {
  const response = await fetch(`${UP}/echo?a=1#frag`, { headers: { "X-Custom": "yes" } });
  const body = await response.json();
  return JSON.stringify({
    status: response.status, ok: response.ok, statusText: response.statusText, url: response.url,
    redirected: response.redirected, type: response.type, contentType: response.headers.get("content-type"),
    method: body.method, query: body.query, custom: body.headers["x-custom"], agent: body.headers["user-agent"],
    accept: body.headers.accept, instance: response instanceof Response,
  });
});
register("/post", async () => {
  const sent = await Promise.all([
    fetch(`${UP}/echo`, { method: "POST", body: JSON.stringify({ n: 1 }), headers: { "content-type": "application/json" } }),
    fetch(`${UP}/echo`, { method: "POST", body: new URLSearchParams({ a: "b c" }) }),
    fetch(new Request(`${UP}/echo`, { method: "PUT", body: new Uint8Array([104, 105]) })),
  ]);
  const bodies = await Promise.all(sent.map((response) => response.json()));
  return JSON.stringify(bodies.map((body) => [body.method, body.headers["content-type"] ?? null, body.body]));
});
register("/status", async () => {
  const response = await fetch(`${UP}/status?code=404`);
  const bytes = await response.bytes();
  return JSON.stringify([response.status, response.ok, response.statusText, bytes.length, response.bodyUsed]);
});
register("/head", async () => {
  const response = await fetch(`${UP}/big?n=10`, { method: "HEAD" });
  return JSON.stringify([response.status, response.body]);
});
register("/bad", async () => {
  const results = [];
  for (const url of ["not a url", "ftp://example.com/", "http://127.0.0.1:1/"]) {
    try {
      await fetch(url);
      results.push("fetched");
    } catch (error) {
      results.push(error.name);
    }
  }
  return JSON.stringify(results);
});
"#).await;
    let got = json(&app, "/get").await;
    assert_eq!(got["status"], 200);
    assert_eq!(got["ok"], true);
    assert_eq!(got["statusText"], "OK");
    assert_eq!(got["url"], format!("http://{}/echo?a=1", up.addr));
    assert_eq!(got["redirected"], false);
    assert_eq!(got["type"], "basic");
    assert_eq!(got["contentType"], "application/json");
    assert_eq!(got["method"], "GET");
    assert_eq!(got["query"]["a"], "1");
    assert_eq!(got["custom"], "yes");
    assert!(got["agent"].as_str().unwrap().starts_with("Ferry/"));
    assert_eq!(got["accept"], "*/*");
    assert_eq!(got["instance"], true);

    let posted = json(&app, "/post").await;
    assert_eq!(
        posted[0],
        serde_json::json!(["POST", "application/json", "{\"n\":1}"])
    );
    assert_eq!(
        posted[1],
        serde_json::json!([
            "POST",
            "application/x-www-form-urlencoded;charset=UTF-8",
            "a=b+c"
        ])
    );
    assert_eq!(posted[2], serde_json::json!(["PUT", null, "hi"]));

    assert_eq!(
        json(&app, "/status").await,
        serde_json::json!([404, false, "Not Found", 11, true])
    );
    assert_eq!(json(&app, "/head").await, serde_json::json!([200, null]));
    assert_eq!(
        json(&app, "/bad").await,
        serde_json::json!(["TypeError", "TypeError", "TypeError"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_followed_as_the_standard_says() {
    let up = upstream().await;
    let app = downstream(&up, everywhere(), generous(), r#"
const to = (path) => encodeURIComponent(path);
register("/follow", async () => {
  const plain = await fetch(`${UP}/redirect?to=${to("/echo?via=302")}`);
  const posted = await fetch(`${UP}/redirect?to=${to("/echo")}`, { method: "POST", body: "dropped" });
  const kept = await fetch(`${UP}/redirect?status=307&to=${to("/echo")}`, { method: "POST", body: "kept" });
  // Another origin (localhost instead of 127.0.0.1): the credentials stay behind.
  const other = UP.replace("127.0.0.1", "localhost");
  const crossed = await fetch(`${UP}/redirect?to=${to(other + "/echo")}`, { headers: { Authorization: "Bearer t", "X-Keep": "1" } });
  const [a, b, c, d] = await Promise.all([plain, posted, kept, crossed].map((r) => r.json()));
  return JSON.stringify({
    plain: [plain.redirected, plain.url.endsWith("/echo?via=302"), a.query.via],
    posted: [b.method, b.body],
    kept: [c.method, c.body],
    crossed: [d.headers.authorization ?? null, d.headers["x-keep"]],
  });
});
register("/modes", async () => {
  const manual = await fetch(`${UP}/redirect?to=/echo`, { redirect: "manual" });
  let error = "none";
  try {
    await fetch(`${UP}/redirect?to=/echo`, { redirect: "error" });
  } catch (thrown) {
    error = thrown.name;
  }
  let loop = "none";
  try {
    await fetch(`${UP}/loop`);
  } catch (thrown) {
    loop = thrown.message;
  }
  return JSON.stringify([manual.status, manual.headers.get("location"), error, loop]);
});
"#).await;
    let followed = json(&app, "/follow").await;
    assert_eq!(followed["plain"], serde_json::json!([true, true, "302"]));
    assert_eq!(followed["posted"], serde_json::json!(["GET", null]));
    assert_eq!(followed["kept"], serde_json::json!(["POST", "kept"]));
    assert_eq!(followed["crossed"], serde_json::json!([null, "1"]));
    let modes = json(&app, "/modes").await;
    assert_eq!(modes[0], 302);
    assert_eq!(modes[1], "/echo");
    assert_eq!(modes[2], "TypeError");
    assert!(
        modes[3]
            .as_str()
            .unwrap()
            .contains("more than 20 redirects"),
        "{modes}"
    );
}

const TRY: &str = r#"
register("/try", async (c) => {
  try {
    const response = await fetch(c.request.query.url.replace("UP", UP));
    return "fetched " + (await response.text()).length;
  } catch (error) {
    return `${error.name}: ${error.message}`;
  }
});
"#;

#[tokio::test(flavor = "multi_thread")]
async fn private_addresses_are_refused_unless_allowed() {
    let up = upstream().await;
    let port = up.addr.port();
    // The default: public addresses only.
    let closed = downstream(&up, OutboundOptions::default(), generous(), TRY).await;
    for url in [
        "UP/echo".to_owned(),
        format!("http://localhost:{port}/echo"),
        format!("http://[::1]:{port}/echo"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        format!("http://0x7f.1:{port}/echo"),
        format!("http://2130706433:{port}/echo"),
        format!("http://[::ffff:127.0.0.1]:{port}/echo"),
        format!("http://[::ffff:7f00:1]:{port}/echo"),
        "http://192.168.1.1/".to_owned(),
        "http://[fe80::1]/".to_owned(),
        "http://[fd00::1]/".to_owned(),
    ] {
        let began = std::time::Instant::now();
        let (status, body) = closed.text(&format!("/try?url={}", encode(&url))).await;
        // A host call that settles at once answers at once (not at the call's deadline).
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{url}: {:?}",
            began.elapsed()
        );
        assert_eq!(status, 200);
        assert!(
            body.starts_with("TypeError: fetch: ") && body.contains("--allow-net"),
            "{url}: {body}"
        );
    }

    // A list: only what it names, private or not, and again after a redirect.
    let listed = OutboundOptions {
        policy: NetPolicy::Only(vec![NetRule::parse(&format!("127.0.0.1:{port}")).unwrap()]),
        ..OutboundOptions::default()
    };
    let open = downstream(&up, listed, generous(), TRY).await;
    assert_eq!(open.text("/try?url=UP/big%3Fn%3D5").await.1, "fetched 5");
    let elsewhere = format!("http://localhost:{port}/big?n=5");
    let (_, body) = open.text(&format!("/try?url={}", encode(&elsewhere))).await;
    assert!(body.contains("is not in --allow-net"), "{body}");
    let bounced = format!("UP/redirect?to={}", encode(&elsewhere));
    let (_, body) = open.text(&format!("/try?url={}", encode(&bounced))).await;
    assert!(
        body.starts_with("TypeError")
            && body.contains(&format!("localhost:{port} is not in --allow-net")),
        "{body}"
    );
}

/// `text` percent-encoded for a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_go_out_and_never_come_back() {
    let up = upstream().await;
    let app = downstream(&up, everywhere(), generous(), r#"
register("/store", () => {
  secretStorage.setSecret("API_TOKEN", "tok en/42");
  return "stored";
});
register("/use", async () => {
  const response = await fetch(`${UP}/digest?key={{API_TOKEN}}`, { headers: { Authorization: "Bearer {{API_TOKEN}}" } });
  return JSON.stringify({ digest: await response.text(), url: response.url });
});
register("/bounce", async () => {
  const response = await fetch(`${UP}/redirect?to=${encodeURIComponent("/echo?k={{API_TOKEN}}")}`);
  await response.text();
  return response.url;
});
register("/missing", async () => {
  try {
    await fetch(`${UP}/echo`, { headers: { Authorization: "Bearer {{NOPE}}" } });
    return "fetched";
  } catch (error) {
    return error.message;
  }
});
"#).await;
    assert_eq!(app.text("/store").await.1, "stored");
    let used = json(&app, "/use").await;
    let expected = ring_sha256("Bearer tok en/42|tok en/42");
    assert_eq!(
        used["digest"],
        expected.as_str(),
        "the upstream saw the value"
    );
    let url = used["url"].as_str().unwrap();
    assert!(url.ends_with("/digest?key={{API_TOKEN}}"), "{url}");
    let (_, bounced) = app.text("/bounce").await;
    // The upstream put the value into the redirect's URL in a spelling of its own: the
    // script gets the origin only.
    assert_eq!(bounced, format!("http://{}/", up.addr));
    let (_, missing) = app.text("/missing").await;
    assert!(missing.contains("the secret NOPE is not set"), "{missing}");
}

/// SHA-256 of `text` in hex, computed here (not by the upstream's crypto.subtle).
fn ring_sha256(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_aborts_and_time_are_clear_errors() {
    let up = upstream().await;
    let outbound = OutboundOptions {
        policy: NetPolicy::Everything,
        max_response_bytes: 64 * 1024,
        max_in_flight: 2,
        ..OutboundOptions::default()
    };
    let limits = Limits {
        call_timeout: Duration::from_millis(1500),
        ..Limits::default()
    };
    let app = downstream(
        &up,
        outbound,
        limits,
        r#"
const outcome = (promise) => promise
  .then(async (response) => "ok " + (await response.text()).length)
  .catch((error) => `${error.name}: ${error.message}`);
register("/big", async () => JSON.stringify(await Promise.all([
  outcome(fetch(`${UP}/big?n=65536`)),
  outcome(fetch(`${UP}/big?n=65537`)),
])));
register("/crowd", async () => JSON.stringify(await Promise.all([
  outcome(fetch(`${UP}/slow?ms=200`)),
  outcome(fetch(`${UP}/slow?ms=200`)),
  outcome(fetch(`${UP}/slow?ms=200`)),
])));
register("/abort", async () => {
  const controller = new AbortController();
  const pending = outcome(fetch(`${UP}/slow?ms=1000`, { signal: controller.signal }));
  setTimeout(() => controller.abort(), 50);
  const timed = outcome(fetch(`${UP}/slow?ms=1000`, { signal: AbortSignal.timeout(50) }));
  const before = outcome(fetch(`${UP}/echo`, { signal: AbortSignal.abort() }));
  return JSON.stringify(await Promise.all([pending, timed, before]));
});
register("/deadline", async () => outcome(fetch(`${UP}/slow?ms=5000`)));
"#,
    )
    .await;
    let big = json(&app, "/big").await;
    assert_eq!(big[0], "ok 65536");
    assert!(
        big[1]
            .as_str()
            .unwrap()
            .contains("larger than the limit of 65536 bytes"),
        "{big}"
    );

    let crowd = json(&app, "/crowd").await;
    let refused: Vec<&Value> = crowd
        .as_array()
        .unwrap()
        .iter()
        .filter(|outcome| {
            outcome
                .as_str()
                .unwrap()
                .contains("already waiting for answers")
        })
        .collect();
    assert_eq!(refused.len(), 1, "{crowd}");
    assert_eq!(crowd[0], "ok 7");

    let started = std::time::Instant::now();
    let aborted = json(&app, "/abort").await;
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "aborts do not wait"
    );
    assert!(
        aborted[0].as_str().unwrap().starts_with("AbortError"),
        "{aborted}"
    );
    assert!(
        aborted[1].as_str().unwrap().starts_with("TimeoutError"),
        "{aborted}"
    );
    assert!(
        aborted[2].as_str().unwrap().starts_with("AbortError"),
        "{aborted}"
    );

    // The call's own time limit bounds the request: the script hears of it first.
    let (status, body) = app.text("/deadline").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("no answer within"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_stream_as_they_arrive() {
    let up = upstream().await;
    let app = downstream(&up, everywhere(), generous(), r#"
register("/stream", async () => {
  const response = await fetch(`${UP}/events`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  // The stream never ends by itself: the message must arrive while it is open.
  const sent = fetch(`${UP}/send`).then((r) => r.text());
  while (!seen.includes("hello")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return JSON.stringify([response.headers.get("content-type"), seen.includes('{"hello":"stream"}'), await sent]);
});
"#).await;
    let streamed = json(&app, "/stream").await;
    assert_eq!(streamed[0], "text/event-stream");
    assert_eq!(streamed[1], true, "{streamed}");
    assert_eq!(streamed[2], "sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn aiwebengine_scripts_fetch_and_wait() {
    let up = upstream().await;
    let outbound = OutboundOptions {
        style: FetchStyle::Aiwebengine,
        ..everywhere()
    };
    let app = downstream(
        &up,
        outbound,
        generous(),
        r#"
register("/sync", () => {
  const answer = JSON.parse(fetch(`${UP}/echo?x=1`, {
    method: "post",
    headers: { "X-From": "aiwebengine" },
    body: "payload",
  }));
  const echoed = JSON.parse(answer.body);
  const failed = (() => {
    try {
      fetch(`${UP}/slow?ms=3000`, { timeout: 100 });
      return "no error";
    } catch (error) {
      return error.message;
    }
  })();
  return JSON.stringify({
    status: answer.status, ok: answer.ok, type: answer.headers["content-type"],
    method: echoed.method, from: echoed.headers["x-from"], body: echoed.body, failed,
  });
});
"#,
    )
    .await;
    let got = json(&app, "/sync").await;
    assert_eq!(got["status"], 200);
    assert_eq!(got["ok"], true);
    assert_eq!(got["type"], "application/json");
    assert_eq!(got["method"], "POST");
    assert_eq!(got["from"], "aiwebengine");
    assert_eq!(got["body"], "payload");
    assert!(
        got["failed"]
            .as_str()
            .unwrap()
            .contains("no answer within 100 ms"),
        "{got}"
    );
}

/// What waits for the worker itself — an async `init()` while the script loads, a test
/// file's tests — may await `fetch`: the worker takes the answers while it waits.
#[tokio::test(flavor = "multi_thread")]
async fn init_and_tests_await_fetch() {
    let up = upstream().await;
    let app = downstream(
        &up,
        everywhere(),
        generous(),
        r#"
let greeting = "none";
async function init() {
  const response = await fetch(`${UP}/echo?from=init`);
  greeting = (await response.json()).query.from;
}
register("/greeting", () => greeting);
"#,
    )
    .await;
    assert_eq!(app.text("/greeting").await, (200, "init".to_owned()));

    let source = format!(
        r#"const UP = "http://{}";
test("fetches", async () => {{
  const response = await fetch(`${{UP}}/echo?q=1`, {{ method: "POST", body: "sent" }});
  expect(response.status).toBe(200);
  const echoed = await response.json();
  expect(echoed.query).toEqual({{ q: "1" }});
  expect(echoed.body).toBe("sent");
}});
test("reads a large body in pieces", async () => {{
  const response = await fetch(`${{UP}}/big?n=300000`);
  expect((await response.text()).length).toBe(300000);
}});
test("sees a refusal", async () => {{
  await expect(fetch(`${{UP}}/slow?ms=3000`, {{ signal: AbortSignal.timeout(50) }})).rejects.toThrow();
}});
"#,
        up.addr
    );
    let report = app
        .engine
        .run_tests(ferry_js::Script::new("upstream.test.js", source), None)
        .await
        .unwrap();
    let statuses: Vec<_> = report
        .tests
        .iter()
        .map(|test| (test.name.as_str(), test.status, test.error.clone()))
        .collect();
    assert!(
        report
            .tests
            .iter()
            .all(|test| test.status == ferry_js::testing::TestStatus::Passed),
        "{statuses:#?}"
    );
    assert_eq!(report.tests.len(), 3);
}
