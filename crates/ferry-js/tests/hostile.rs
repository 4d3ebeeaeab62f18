//! Hostile scripts: every moment JavaScript runs is under the deadline. A getter, a
//! `toJSON` or a `Proxy` trap that never returns — in what a handler returned, in what it
//! threw, in a stream's or a socket's metadata, in a GraphQL or MCP value, in `init()` or a
//! timer — costs its own request a 504 (or the protocol's equivalent), never a worker; a
//! bystander keeps being served with more hostile requests in flight than there are
//! workers. Scripts cannot reach the engine's internals, and a worker stuck in host code is
//! replaced.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ferry_js::{Limits, Script};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::TestApp;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TIMEOUT: Duration = Duration::from_millis(300);

/// What a hostile request may take beyond its deadline on a busy test machine.
const MARGIN: Duration = Duration::from_millis(1500);

fn limits() -> Limits {
    Limits {
        call_timeout: TIMEOUT,
        stuck_grace: Duration::from_millis(200),
        ..Limits::default()
    }
}

const HOSTILE: &str = r#"
register("/ok", () => "ok");

// Reading what a handler returned.
register("/status-getter", () => ({ get status() { for (;;) {} }, body: "x" }));
register("/body-getter", () => ({ status: 200, get body() { for (;;) {} } }));
register("/base64-getter", () => ({ get bodyBase64() { for (;;) {} } }));
register("/type-getter", () => ({ body: "x", get contentType() { for (;;) {} } }));
register("/header-getter", () => ({ status: 200, body: "x", headers: { get ["X-A"]() { for (;;) {} } } }));
register("/headers-proxy", () => ({ body: "x", headers: new Proxy({}, { ownKeys() { for (;;) {} } }) }));
register("/result-proxy", () => new Proxy({}, { get() { for (;;) {} } }));
register("/async-getter", async () => { await null; return { get status() { for (;;) {} } }; });
// Ferry does not coerce: these are invalid at once, their methods never run.
register("/status-valueof", () => ({ status: { valueOf() { for (;;) {} } }, body: "x" }));
register("/body-tostring", () => ({ body: { toString() { for (;;) {} } } }));
// Throwing instead of looping.
register("/throwing-getter", () => ({ get status() { throw new Error("no status for you"); } }));

// What a handler threw.
register("/thrown-tojson", () => { throw { toJSON() { for (;;) {} } }; });
register("/thrown-name", () => { class Odd extends Error { get name() { for (;;) {} } } throw new Odd("odd"); });
register("/rejected-tojson", async () => { await null; throw { toJSON() { for (;;) {} } }; });

// Streams and sockets.
routeRegistry.registerStreamRoute("/stream-getter", () => ({ get room() { for (;;) {} } }));
routeRegistry.registerStreamRoute("/stream-tojson", () => ({ toJSON() { for (;;) {} } }));
routeRegistry.registerStreamRoute("/stream-proxy", () => new Proxy({}, { ownKeys() { for (;;) {} } }));
routeRegistry.registerStreamRoute("/stream-throwing", () => ({ get room() { throw new Error("no room"); } }));
registerWebSocket("/ws-open", { open() { return { get room() { for (;;) {} } }; } });
registerWebSocket("/ws-open-proxy", { open() { return new Proxy({}, { getOwnPropertyDescriptor() { for (;;) {} }, ownKeys() { return ["room"]; } }); } });
registerWebSocket("/ws-message", {
  message(socket, data) {
    if (data === "spin") for (;;) {}
    socket.send("echo:" + data);
  },
});
registerWebSocket("/ws-send", { message(socket) { socket.send({ toJSON() { for (;;) {} } }); } });

// GraphQL and MCP values: a looping toJSON, getter and proxy trap, and a throwing getter.
registerGraphQLQuery("spin", "spin: String", () => ({ toJSON() { for (;;) {} } }));
registerGraphQLQuery("spinGetter", "spinGetter: Thing type Thing { a: Int }", () => ({ get a() { for (;;) {} } }));
registerGraphQLQuery("spinProxy", "spinProxy: Thing", () => new Proxy({ a: 1 }, { get() { for (;;) {} } }));
registerGraphQLQuery("throwing", "throwing: Thing", () => ({ get a() { throw new Error("no a"); } }));
registerGraphQLQuery("fine", "fine: String", () => "fine");
registerGraphQLQuery("thing", "thing: String", () => ({ not: "a string" }));
registerMCPTool("spin", "never returns", { type: "object" }, () => ({ get text() { for (;;) {} } }));
registerMCPTool("spinProxy", "never returns", { type: "object" }, () => new Proxy({}, { ownKeys() { for (;;) {} } }));
registerMCPTool("throwing", "throws while read", { type: "object" }, () => ({ get text() { throw new Error("no text"); } }));
registerMCPTool("fine", "returns", { type: "object" }, () => "fine");

// Timers and host calls.
register("/timer", () => { setTimeout(() => { throw { toJSON() { for (;;) {} } }; }, 0); return "scheduled"; });
register("/exec-spin", () => graphQLRegistry.executeGraphQL("{ fine }").then(() => { for (;;) {} }));
"#;

async fn hostile_app(workers: usize) -> TestApp {
    TestApp::with(workers, limits(), true, &[("hostile.js", HOSTILE)]).await
}

/// GET `path`, with how long the answer took.
async fn timed(app: &TestApp, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, body) = app.text(path).await;
    (status, body, started.elapsed())
}

/// Routes whose value loops while Ferry reads it: each must be a 504.
const LOOPING: [&str; 12] = [
    "/status-getter",
    "/body-getter",
    "/base64-getter",
    "/type-getter",
    "/header-getter",
    "/headers-proxy",
    "/result-proxy",
    "/async-getter",
    "/thrown-tojson",
    "/thrown-name",
    "/rejected-tojson",
    "/stream-getter",
];

#[tokio::test]
async fn every_looping_read_gets_504_within_the_deadline_and_names_the_part() {
    let app = hostile_app(2).await;
    for path in LOOPING {
        let (status, body, took) = timed(&app, path).await;
        assert_eq!(status, 504, "{path}: {body}");
        assert!(took < TIMEOUT + MARGIN, "{path} took {took:?}");
        assert_eq!(app.text("/ok").await, (200, "ok".into()), "after {path}");
    }
    // Development mode says what was being read.
    let (_, body) = app.text("/header-getter").await;
    assert!(
        body.contains("while Ferry read what it returned: the response's header \"X-A\""),
        "{body}"
    );
    let (_, body) = app.text("/thrown-name").await;
    assert!(body.contains("the error it threw"), "{body}");
    for path in ["/stream-tojson", "/stream-proxy"] {
        let (status, _, took) = timed(&app, path).await;
        assert_eq!(status, 504, "{path}");
        assert!(took < TIMEOUT + MARGIN, "{path} took {took:?}");
    }
    let (status, body, _) = timed(&app, "/stream-throwing").await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("threw Error: no room"), "{body}");
}

#[tokio::test]
async fn values_ferry_does_not_coerce_and_throwing_getters_are_500_at_once() {
    let app = hostile_app(1).await;
    for path in ["/status-valueof", "/body-tostring", "/throwing-getter"] {
        let (status, body, took) = timed(&app, path).await;
        assert_eq!(status, 500, "{path}: {body}");
        assert!(
            took < TIMEOUT,
            "{path} took {took:?}: it must not wait for the deadline"
        );
    }
    let (_, body) = app.text("/throwing-getter").await;
    assert!(
        body.contains("reading the response's status threw Error: no status for you"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bystander_is_served_with_more_hostile_requests_in_flight_than_workers() {
    let app = hostile_app(2).await;
    let hostile: Vec<_> = LOOPING
        .iter()
        .map(|path| {
            let client = app.client.clone();
            let url = app.url(path);
            tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let bystander = app.text("/ok").await;
    let waited = started.elapsed();
    assert_eq!(bystander, (200, "ok".into()));
    // Queued behind at most every hostile request, each stopped at its deadline.
    let bound = TIMEOUT * (LOOPING.len() as u32 / 2 + 1) + MARGIN;
    assert!(waited < bound, "the bystander waited {waited:?}");
    for request in hostile {
        assert_eq!(request.await.unwrap(), 504);
    }
    let (status, _, took) = timed(&app, "/ok").await;
    assert_eq!(status, 200);
    assert!(took < MARGIN, "took {took:?}");
}

async fn graphql(app: &TestApp, query: &str) -> Value {
    app.client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn graphql_values_are_read_under_the_deadline_and_coerced() {
    let app = hostile_app(2).await;
    let started = Instant::now();
    let body = graphql(&app, "{ spin fine }").await;
    assert!(started.elapsed() < TIMEOUT + MARGIN);
    assert_eq!(
        body["data"],
        json!({ "spin": null, "fine": "fine" }),
        "{body}"
    );
    assert_eq!(body["errors"][0]["path"], json!(["spin"]));
    assert_eq!(
        body["errors"][0]["message"],
        "the resolver ran longer than 300 ms"
    );
    let started = Instant::now();
    let body = graphql(
        &app,
        "{ spinGetter { a } spinProxy { a } throwing { a } fine }",
    )
    .await;
    assert!(started.elapsed() < TIMEOUT * 3 + MARGIN);
    assert_eq!(
        body["data"],
        json!({ "spinGetter": null, "spinProxy": null, "throwing": null, "fine": "fine" }),
        "{body}"
    );
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages
            .iter()
            .filter(|message| **message == "the resolver ran longer than 300 ms")
            .count(),
        2,
        "{body}"
    );
    assert!(
        messages
            .iter()
            .any(|message| message.contains("threw Error: no a")),
        "{body}"
    );
    let body = graphql(&app, "{ thing }").await;
    assert_eq!(body["data"]["thing"], Value::Null, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        r#"String cannot represent value: {"not":"a string"}"#
    );
}

/// One JSON-RPC message of an MCP session at `/mcp`; the answer's JSON (the first `data:`
/// line of an event stream, or the body).
async fn mcp(app: &TestApp, session: Option<&str>, message: Value) -> (Option<String>, Value) {
    support::mcp_exchange(app.client.post(app.url("/mcp")), session, message).await
}

#[tokio::test]
async fn an_mcp_tool_whose_value_loops_is_an_error_result() {
    let app = hostile_app(2).await;
    let (session, _) = mcp(
        &app,
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "test", "version": "1" } } }),
    )
    .await;
    let session = session.expect("an MCP session id");
    mcp(
        &app,
        Some(&session),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    let started = Instant::now();
    let (_, answer) = mcp(
        &app,
        Some(&session),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": { "name": "spin", "arguments": {} } }),
    )
    .await;
    assert!(started.elapsed() < TIMEOUT + MARGIN);
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    for (id, tool) in [(4, "spinProxy"), (5, "throwing")] {
        let started = Instant::now();
        let (_, answer) = mcp(
            &app,
            Some(&session),
            json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": { "name": tool, "arguments": {} } }),
        )
        .await;
        assert!(started.elapsed() < TIMEOUT + MARGIN, "{tool}");
        assert_eq!(answer["result"]["isError"], true, "{tool}: {answer}");
    }
    let (_, answer) = mcp(
        &app,
        Some(&session),
        json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": { "name": "fine", "arguments": {} } }),
    )
    .await;
    assert_eq!(answer["result"]["isError"], false, "{answer}");
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn socket(app: &TestApp, path: &str) -> Socket {
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let url = format!("ws://{}{path}", app.addr);
    tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap()
        .0
}

/// The close code the server ends `socket` with (waiting at most the deadline and the
/// margin), skipping other messages.
async fn close_code(socket: &mut Socket) -> CloseCode {
    let deadline = Instant::now() + TIMEOUT + MARGIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next())
            .await
            .expect("closed within the deadline")
            .expect("a close frame")
            .unwrap();
        if let Message::Close(frame) = message {
            return frame.map_or(CloseCode::Status, |frame| frame.code);
        }
    }
}

#[tokio::test]
async fn websocket_handlers_that_loop_close_with_1011() {
    let app = hostile_app(2).await;
    for path in ["/ws-open", "/ws-open-proxy"] {
        let mut opened = socket(&app, path).await;
        assert_eq!(close_code(&mut opened).await, CloseCode::Error, "{path}");
    }

    let mut talking = socket(&app, "/ws-message").await;
    talking.send(Message::text("hi")).await.unwrap();
    assert_eq!(
        talking.next().await.unwrap().unwrap(),
        Message::text("echo:hi")
    );
    talking.send(Message::text("spin")).await.unwrap();
    assert_eq!(close_code(&mut talking).await, CloseCode::Error);

    let mut sending = socket(&app, "/ws-send").await;
    sending.send(Message::text("x")).await.unwrap();
    assert_eq!(close_code(&mut sending).await, CloseCode::Error);
    assert_eq!(app.text("/ok").await.0, 200);
}

#[tokio::test]
async fn timers_and_host_call_continuations_are_under_the_deadline() {
    let app = hostile_app(1).await;
    assert_eq!(app.text("/timer").await, (200, "scheduled".into()));
    let (status, _, took) = timed(&app, "/exec-spin").await;
    assert_eq!(status, 504);
    assert!(took < TIMEOUT + MARGIN, "took {took:?}");
    // The single worker got through both and serves on.
    for _ in 0..3 {
        let (status, _, took) = timed(&app, "/ok").await;
        assert_eq!(status, 200);
        assert!(took < MARGIN, "took {took:?}");
    }
}

#[tokio::test]
async fn loading_a_script_whose_error_loops_fails_within_the_deadline() {
    let app = hostile_app(2).await;
    let cases = [
        ("top.js", "throw { toJSON() { for (;;) {} } };"),
        (
            "init.js",
            "function init() { return Promise.reject({ toJSON() { for (;;) {} } }); }",
        ),
        (
            "async-init.js",
            r#"async function init() { await new Promise((r) => setTimeout(r, 10)); throw new (class extends Error { get message() { for (;;) {} } })(); }"#,
        ),
    ];
    for (name, source) in cases {
        let started = Instant::now();
        let error = app
            .engine
            .load(Script::new(name, source))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < TIMEOUT + MARGIN,
            "{name}: {:?}",
            started.elapsed()
        );
        assert!(
            error.to_string().contains("took longer than 300 ms"),
            "{name}: {error}"
        );
    }
    assert_eq!(app.text("/ok").await.0, 200);
}

#[tokio::test]
async fn scripts_cannot_reach_or_bend_the_engine_internals() {
    let tamper = r#"
        const seen = {
          internal: typeof globalThis["\u0000ferry"],
          hidden: Object.getOwnPropertyNames(globalThis).filter((name) => name.startsWith("\u0000")).length,
        };
        const report = JSON.stringify(seen);
        // A library that bends the built-ins before registering routes.
        Array.prototype.push = function () { throw new Error("push was replaced"); };
        Object.defineProperty(Array.prototype, "0", { set(value) { throw new Error("index setter"); }, configurable: true });
        Map.prototype.get = function () { return { callback() { throw new Error("hijacked"); }, args: [] }; };
        Map.prototype.set = function () { return this; };
        globalThis.Error = function () { return { message: "fake" }; };
        Reflect.apply = () => "hijacked";
        globalThis["\u0000ferry"] = { handlers: [() => "hijacked"] };
        let fired = "no";
        register("/first", () => report);
        register("/second", () => "second");
        register("/timer", () => new Promise((resolve) => setTimeout(() => { fired = "yes"; resolve(fired); }, 5)));
        registerWebSocket("/ws", { message(socket, data) { socket.send("got:" + data); } });
    "#;
    let app = TestApp::with(1, limits(), true, &[("tamper.js", tamper)]).await;
    let (status, body) = app.text("/first").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "internal": "undefined", "hidden": 0 })
    );
    assert_eq!(app.text("/second").await, (200, "second".into()));
    assert_eq!(app.text("/timer").await, (200, "yes".into()));
    let mut ws = socket(&app, "/ws").await;
    ws.send(Message::text("a")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("got:a"));
}

/// The path of the store's database in the app's data directory.
fn database(app: &TestApp) -> std::path::PathBuf {
    match app.engine.store() {
        Some(ferry_store::Store::Sqlite(store)) => store.path().to_path_buf(),
        other => panic!("the test app keeps its data in SQLite, not {other:?}"),
    }
}

#[tokio::test]
async fn a_worker_stuck_in_host_code_is_replaced_and_capacity_stays() {
    let script = r#"
        register("/ok", () => "ok");
        register("/write", () => { sharedStorage.setItem("k", "v"); return "written"; });
        registerWebSocket("/ws", { message(socket, data) { socket.send(data); } });
    "#;
    let app = TestApp::with(2, limits(), false, &[("stuck.js", script)]).await;
    assert_eq!(app.text("/write").await, (200, "written".into()));
    let mut ws = socket(&app, "/ws").await;
    ws.send(Message::text("a")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("a"));

    // Another process holds the database: a write blocks inside SQLite (its busy timeout
    // is seconds), where the interrupt handler cannot reach.
    let holder = rusqlite::Connection::open(database(&app)).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // Three in a row, with two workers: without replacements the third would find both
    // workers stuck.
    for round in 0..3 {
        let (status, body, took) = timed(&app, "/write").await;
        assert_eq!(status, 504, "round {round}: {body}");
        assert!(body.contains("stuck in host code"), "{body}");
        assert!(
            took < TIMEOUT + MARGIN + Duration::from_millis(500),
            "took {took:?}"
        );
        let (status, _, took) = timed(&app, "/ok").await;
        assert_eq!(status, 200);
        assert!(took < MARGIN, "the bystander took {took:?}");
    }
    assert_eq!(app.engine.workers(), 2);
    // Both workers answer at once: two requests in flight together both succeed.
    let (a, b) = tokio::join!(app.text("/ok"), app.text("/ok"));
    assert_eq!((a.0, b.0), (200, 200));
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(app.text("/write").await, (200, "written".into()));
    // The socket may have lived on a replaced worker (closed with 1011, its state gone) or
    // on one that was never stuck (still echoing); either way the server answered it.
    ws.send(Message::text("b")).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "b"),
        Some(Ok(Message::Close(frame))) => {
            assert_eq!(frame.unwrap().code, CloseCode::Error);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_script_change_waiting_behind_a_stuck_worker_still_lands() {
    let script = r#"register("/write", () => { sharedStorage.setItem("k", "v"); return "v1"; });"#;
    let app = TestApp::with(1, limits(), false, &[("stuck.js", script)]).await;
    let holder = rusqlite::Connection::open(database(&app)).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let stuck = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/write");
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Queued for the stuck worker: its replacement applies it.
    let reloaded = app
        .engine
        .load(Script::new(
            "stuck.js",
            r#"register("/write", () => "v2");"#,
        ))
        .await;
    assert!(reloaded.is_ok(), "{reloaded:?}");
    assert_eq!(stuck.await.unwrap(), 504);
    assert_eq!(app.text("/write").await, (200, "v2".into()));
    holder.execute_batch("COMMIT").unwrap();
}
