//! Server-Sent Events streams registered by scripts, exercised through a real server:
//! framing and headers, sending to one stream or all, metadata from a customizer or the
//! query, filters, Last-Event-ID replay, limits, disconnects, heartbeats and reloads.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ferry_core::sse::HubSettings;
use ferry_js::{EngineOptions, Script};
use support::TestApp;

/// A client reading one event stream, an event (a block ending in a blank line) at a time.
struct Subscriber {
    response: reqwest::Response,
    buffer: String,
}

impl Subscriber {
    async fn open(app: &TestApp, path: &str, last_event_id: Option<&str>) -> Subscriber {
        let mut request = app.client.get(app.url(path));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "subscribing to {path}");
        Subscriber {
            response,
            buffer: String::new(),
        }
    }

    /// The next block, comments included; panics after 5 s without one.
    async fn next_block(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end + 2].to_owned();
                self.buffer.drain(..end + 2);
                return block;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()
                .expect("the stream is still open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event, skipping keep-alive comments.
    async fn next_event(&mut self) -> String {
        loop {
            let block = self.next_block().await;
            if !block.starts_with(':') {
                return block;
            }
        }
    }

    /// Whether the stream ends (rather than sending anything) within 5 s.
    async fn ends(mut self) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.response.chunk()).await,
            Ok(Ok(None))
        )
    }
}

/// POSTs `body` (`{ path, data, filter, mode? }`) to the script's `/filtered` route and
/// returns how many clients it reached.
async fn send_filtered(app: &TestApp, body: serde_json::Value) -> String {
    let response = app
        .client
        .post(app.url("/filtered"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

/// Waits until the stream at `path` has `count` clients.
async fn wait_for_clients(app: &TestApp, path: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.engine.streams().clients(path) != count {
        assert!(
            Instant::now() < deadline,
            "{path} has {} clients, not {count}",
            app.engine.streams().clients(path)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const CHAT: &str = r#"
registerWebStream("/events");
routeRegistry.registerStreamRoute("/chat", function chatMember(context) {
  const query = context.request.query;
  if (query.reject) throw new Error("not allowed");
  if (query.number) return 42;
  return { room: query.room, user: query.user, kind: context.kind };
});
routeRegistry.registerStreamRoute("/plain");
register("/send", (c) => String(sendStreamMessageToPath("/events", c.request.body)), "POST");
register("/send-json", (c) => String(routeRegistry.sendStreamMessage("/events", { text: c.request.query.text })));
register("/everywhere", (c) => String(sendStreamMessage(c.request.query.text)));
register("/filtered", (c) => {
  const { path, data, filter, mode } = JSON.parse(c.request.body);
  return String(routeRegistry.sendStreamMessageFiltered(path, data, filter, mode));
}, "POST");
register("/unknown", () => {
  try { sendStreamMessageToPath("/nowhere", "x"); return "sent"; } catch (e) { return e.message; }
});
"#;

async fn chat_app() -> TestApp {
    TestApp::new(&[("chat.js", CHAT)]).await
}

#[tokio::test]
async fn a_stream_sends_each_message_with_an_id_and_sse_framing() {
    let app = chat_app().await;
    let mut subscriber = Subscriber::open(&app, "/events", None).await;
    let headers = subscriber.response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    wait_for_clients(&app, "/events", 1).await;

    let sent = app
        .client
        .post(app.url("/send"))
        .body("line one\nline two\r\nline three")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.text().await.unwrap(), "1", "delivered to one client");
    assert_eq!(
        subscriber.next_event().await,
        "id: 1\ndata: line one\ndata: line two\ndata: line three\n\n"
    );
    let (_, delivered) = app.text("/send-json?text=hi").await;
    assert_eq!(delivered, "1");
    assert_eq!(
        subscriber.next_event().await,
        "id: 2\ndata: {\"text\":\"hi\"}\n\n",
        "non-string data is sent as JSON"
    );
}

#[tokio::test]
async fn send_stream_message_reaches_every_stream() {
    let app = chat_app().await;
    let mut events = Subscriber::open(&app, "/events", None).await;
    let mut plain = Subscriber::open(&app, "/plain", None).await;
    wait_for_clients(&app, "/events", 1).await;
    wait_for_clients(&app, "/plain", 1).await;
    assert_eq!(app.text("/everywhere?text=all").await.1, "2");
    assert_eq!(events.next_event().await, "id: 1\ndata: all\n\n");
    assert_eq!(plain.next_event().await, "id: 1\ndata: all\n\n");
}

#[tokio::test]
async fn filtered_messages_match_customizer_metadata_as_subset_or_overlap() {
    let app = chat_app().await;
    let mut ann = Subscriber::open(&app, "/chat?room=1&user=ann", None).await;
    let mut bob = Subscriber::open(&app, "/chat?room=2&user=bob", None).await;
    wait_for_clients(&app, "/chat", 2).await;
    let send = |body: serde_json::Value| send_filtered(&app, body);
    let to_room_one =
        serde_json::json!({ "path": "/chat", "data": "for room 1", "filter": { "room": "1" } });
    assert_eq!(send(to_room_one).await, "1");
    let subset_miss = serde_json::json!({ "path": "/chat", "data": "nobody", "filter": { "room": "1", "user": "bob" } });
    assert_eq!(send(subset_miss).await, "0");
    let overlap = serde_json::json!({ "path": "/chat", "data": "ann or bob", "filter": { "room": "1", "user": "bob" }, "mode": "overlap" });
    assert_eq!(send(overlap).await, "2");
    let kind = serde_json::json!({ "path": "/chat", "data": "by kind", "filter": "{\"kind\":\"streamCustomization\"}" });
    assert_eq!(
        send(kind).await,
        "2",
        "a JSON string filter works, and context.kind is set"
    );

    assert_eq!(ann.next_event().await, "id: 1\ndata: for room 1\n\n");
    assert_eq!(ann.next_event().await, "id: 3\ndata: ann or bob\n\n");
    assert_eq!(bob.next_event().await, "id: 3\ndata: ann or bob\n\n");
    assert_eq!(bob.next_event().await, "id: 4\ndata: by kind\n\n");
}

#[tokio::test]
async fn without_a_customizer_the_query_parameters_are_the_metadata() {
    let app = chat_app().await;
    let mut red = Subscriber::open(&app, "/plain?team=red", None).await;
    let _blue = Subscriber::open(&app, "/plain?team=blue", None).await;
    wait_for_clients(&app, "/plain", 2).await;
    let body =
        serde_json::json!({ "path": "/plain", "data": "go red", "filter": { "team": "red" } });
    assert_eq!(send_filtered(&app, body).await, "1");
    assert_eq!(red.next_event().await, "id: 1\ndata: go red\n\n");
}

#[tokio::test]
async fn a_failing_customizer_refuses_the_connection_with_a_500() {
    let app = chat_app().await;
    for query in ["reject=1", "number=1"] {
        let response = app.get(&format!("/chat?{query}")).await;
        assert_eq!(response.status(), 500, "{query}");
    }
    assert_eq!(app.engine.streams().clients("/chat"), 0);
}

#[tokio::test]
async fn sending_to_an_unknown_stream_throws_an_error_that_says_what_to_do() {
    let app = chat_app().await;
    let (_, message) = app.text("/unknown").await;
    assert!(
        message.contains("no stream is registered at \"/nowhere\""),
        "{message}"
    );
    assert!(message.contains("registerWebStream"), "{message}");
}

#[tokio::test]
async fn last_event_id_replays_the_messages_a_client_missed() {
    let app = chat_app().await;
    for text in ["one", "two", "three"] {
        app.text(&format!("/send-json?text={text}")).await;
    }
    let mut late = Subscriber::open(&app, "/events", Some("1")).await;
    assert_eq!(
        late.next_event().await,
        "id: 2\ndata: {\"text\":\"two\"}\n\n"
    );
    assert_eq!(
        late.next_event().await,
        "id: 3\ndata: {\"text\":\"three\"}\n\n"
    );
}

#[tokio::test]
async fn a_full_stream_answers_503_with_retry_after_and_a_closed_client_leaves_at_once() {
    let options = EngineOptions {
        workers: 1,
        streams: HubSettings {
            max_clients: 1,
            ..HubSettings::default()
        },
        ..EngineOptions::default()
    };
    let app = TestApp::with_options(options, &[("chat.js", CHAT)]).await;
    let first = Subscriber::open(&app, "/events", None).await;
    wait_for_clients(&app, "/events", 1).await;
    let refused = app.get("/events").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    drop(first);
    wait_for_clients(&app, "/events", 0).await;
    let _again = Subscriber::open(&app, "/events", None).await;
}

#[tokio::test]
async fn idle_streams_send_heartbeat_comments() {
    let options = EngineOptions {
        workers: 1,
        streams: HubSettings {
            keep_alive: Duration::from_millis(200),
            ..HubSettings::default()
        },
        ..EngineOptions::default()
    };
    let app = TestApp::with_options(options, &[("chat.js", CHAT)]).await;
    let mut subscriber = Subscriber::open(&app, "/events", None).await;
    assert_eq!(subscriber.next_block().await, ": keep-alive\n\n");
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_instead_of_growing_memory() {
    let options = EngineOptions {
        workers: 1,
        streams: HubSettings {
            client_queue: 4,
            replay: 0,
            ..HubSettings::default()
        },
        ..EngineOptions::default()
    };
    let app = TestApp::with_options(options, &[("chat.js", CHAT)]).await;
    let _stalled = Subscriber::open(&app, "/events", None).await;
    wait_for_clients(&app, "/events", 1).await;
    let message = "x".repeat(64 * 1024);
    let hub = app.engine.streams();
    let mut sent = 0;
    // The socket buffers fill first, then the client's queue of 4: it is dropped.
    while hub.clients("/events") > 0 {
        assert!(sent < 10_000, "the stalled client was never dropped");
        hub.publish("/events", &message, None);
        sent += 1;
        if sent % 16 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    // The stream still serves new clients.
    let mut reader = Subscriber::open(&app, "/events", None).await;
    wait_for_clients(&app, "/events", 1).await;
    hub.publish("/events", "after", None);
    let event = reader.next_event().await;
    assert!(event.ends_with("data: after\n\n"), "{event}");
}

#[tokio::test]
async fn a_reload_keeps_clients_of_streams_it_keeps_and_ends_the_others() {
    let app = chat_app().await;
    let mut kept = Subscriber::open(&app, "/events", None).await;
    let dropped = Subscriber::open(&app, "/plain", None).await;
    wait_for_clients(&app, "/events", 1).await;
    wait_for_clients(&app, "/plain", 1).await;
    app.engine
        .load(Script::new("chat.js", r#"registerWebStream("/events");"#))
        .await
        .unwrap();
    assert!(
        dropped.ends().await,
        "the stream the new version dropped ends"
    );
    assert_eq!(
        app.engine.streams().publish("/events", "still here", None),
        Some(1)
    );
    assert_eq!(kept.next_event().await, "id: 1\ndata: still here\n\n");
    assert_eq!(app.get("/plain").await.status(), 404);
}
