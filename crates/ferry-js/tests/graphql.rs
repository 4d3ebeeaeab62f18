//! GraphQL fields registered by scripts, queried through a real server: resolvers with
//! arguments, async resolvers, nested objects, mutations with state in sharedStorage,
//! thrown errors as GraphQL errors with paths, both API spellings, and the schema following
//! reloads and removals.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ferry_js::Script;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::TestApp;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const LIBRARY: &str = r#"
registerGraphQLQuery("book", "book(id: ID!): Book type Book { id: ID! title: String! author: Author } type Author { name: String! }", (context) => {
  if (context.args.id === "0") throw new Error("no book 0");
  return { id: context.args.id, title: `Book ${context.args.id}`, author: { name: "Ada" }, kind: context.kind };
});
graphQLRegistry.registerQuery("slow", "slow(ms: Int = 5): String", async (context) => {
  await new Promise((resolve) => setTimeout(resolve, context.args.ms));
  return `waited ${context.args.ms}`;
}, "external");
function countBooks() { return Number(sharedStorage.getItem("count") ?? "0"); }
registerGraphQLQuery("count", "count: Int!", "countBooks");
registerGraphQLMutation("addBook", "type Mutation { addBook(title: String!): Int! }", (context) => {
  const count = Number(sharedStorage.getItem("count") ?? "0") + 1;
  sharedStorage.setItem("count", String(count));
  return count;
});
"#;

async fn query(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn script_resolvers_answer_queries_and_mutations() {
    let app = TestApp::new(&[("library.js", LIBRARY)]).await;
    let (status, body) = query(
        &app,
        json!({ "query": "{ book(id: \"7\") { id title author { name } } slow(ms: 3) count }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "data": { "book": { "id": "7", "title": "Book 7", "author": { "name": "Ada" } },
                          "slow": "waited 3", "count": 0 } })
    );
    for expected in [1, 2] {
        let (_, body) = query(
            &app,
            json!({ "query": "mutation { addBook(title: \"x\") }" }),
        )
        .await;
        assert_eq!(body["data"]["addBook"], expected);
    }
    let (_, body) = query(&app, json!({ "query": "{ count }" })).await;
    assert_eq!(body["data"]["count"], 2);
}

#[tokio::test]
async fn a_throwing_resolver_gives_a_graphql_error_with_its_path() {
    let app = TestApp::new(&[("library.js", LIBRARY)]).await;
    let (status, body) = query(
        &app,
        json!({ "query": "{ book(id: \"0\") { title } count }" }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["data"].as_object().unwrap().contains_key("book"),
        "{body}"
    );
    assert_eq!(body["data"]["book"], Value::Null);
    assert_eq!(body["data"]["count"], 0);
    assert_eq!(body["errors"][0]["message"], "no book 0");
    assert_eq!(body["errors"][0]["path"], json!(["book"]));
}

#[tokio::test]
async fn the_schema_follows_reloads_and_bad_sdl_keeps_the_old_one() {
    let app = TestApp::new(&[("library.js", LIBRARY)]).await;
    let broken = app
        .engine
        .load(Script::new(
            "library.js",
            r#"registerGraphQLQuery("x", "x: Nowhere", () => 1);"#,
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(broken.contains("library.js"), "{broken}");
    assert!(broken.contains("Nowhere"), "{broken}");
    let (_, body) = query(&app, json!({ "query": "{ count }" })).await;
    assert_eq!(body["data"]["count"], 0, "the old schema still answers");

    app.engine
        .load(Script::new(
            "library.js",
            r#"registerGraphQLQuery("hello", "hello: String", () => "hi");"#,
        ))
        .await
        .unwrap();
    let (_, body) = query(&app, json!({ "query": "{ hello }" })).await;
    assert_eq!(body["data"]["hello"], "hi");
    let (status, _) = query(&app, json!({ "query": "{ count }" })).await;
    assert_eq!(status, 400, "count is gone");

    app.engine.remove("library.js").await.unwrap();
    assert_eq!(app.get("/graphql?query=%7Bhello%7D").await.status(), 404);
}

#[tokio::test]
async fn a_bad_field_name_or_root_is_refused_at_load() {
    let app = TestApp::new(&[]).await;
    for (source, expected) in [
        (
            r#"registerGraphQLQuery("s", "type Subscription { s: String }", () => 1);"#,
            "a query goes in Query",
        ),
        (
            r#"registerGraphQLQuery("bad-name", "x: String", () => 1);"#,
            "is not a GraphQL field name",
        ),
    ] {
        let error = app
            .engine
            .load(Script::new("g.js", source))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}

const CHAT: &str = r#"
registerGraphQLSubscription("messages", "messages(room: String!): Message type Message { room: String! text: String! }", (context) => {
  return { room: context.args.room };
});
registerGraphQLMutation("send", "send(room: String!, text: String!): Int!", (context) => {
  return graphQLRegistry.sendSubscriptionMessageFiltered("messages", { room: context.args.room, text: context.args.text }, { room: context.args.room });
});
registerGraphQLMutation("announce", "announce(text: String!): Int!", (context) => {
  // aiwebengine style: the message as JSON text.
  return sendSubscriptionMessage("messages", JSON.stringify({ room: "all", text: context.args.text }));
});
registerGraphQLQuery("ping", "ping: String", () => "pong");
"#;

/// Sends mutations until one reports `subscribers` subscribers (the subscription is live).
async fn send_until_subscribed(app: &TestApp, mutation: &str, subscribers: u64) {
    for _ in 0..200 {
        let (_, body) = query(app, json!({ "query": mutation })).await;
        let count = body["data"]
            .as_object()
            .and_then(|data| data.values().next())
            .and_then(Value::as_u64);
        if count == Some(subscribers) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no subscriber appeared for {mutation}");
}

#[tokio::test]
async fn subscriptions_stream_over_graphql_sse_with_filters() {
    let app = TestApp::new(&[("chat.js", CHAT)]).await;
    let mut events = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "subscription { messages(room: \"1\") { room text } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    // Room 2's message is filtered out; room 1's arrives.
    send_until_subscribed(&app, "mutation { send(room: \"1\", text: \"hello\") }", 1).await;
    query(
        &app,
        json!({ "query": "mutation { send(room: \"2\", text: \"not for you\") }" }),
    )
    .await;
    let mut received = String::new();
    while !received.contains("\n\n") || received.starts_with(':') {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        received.push_str(std::str::from_utf8(&chunk).unwrap());
        if received.starts_with(": keep-alive\n\n") {
            received.drain(..": keep-alive\n\n".len());
        }
    }
    assert_eq!(
        received.split("\n\n").next().unwrap(),
        "event: next\ndata: {\"data\":{\"messages\":{\"room\":\"1\",\"text\":\"hello\"}}}"
    );
    // A query over SSE is one result, then complete.
    let once = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "{ ping }" }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        once,
        "event: next\ndata: {\"data\":{\"ping\":\"pong\"}}\n\nevent: complete\ndata: \n\n"
    );
}

#[tokio::test]
async fn subscriptions_over_graphql_transport_ws() {
    let app = TestApp::new(&[("chat.js", CHAT)]).await;
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    let next_json = async move |socket: &mut tokio_tungstenite::WebSocketStream<
        tokio::net::TcpStream,
    >|
                -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    };
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({ "id": "s1", "type": "subscribe", "payload": { "query": "subscription { messages(room: \"7\") { text } }" } }).to_string(),
        ))
        .await
        .unwrap();
    send_until_subscribed(&app, "mutation { announce(text: \"to everyone\") }", 1).await;
    let next = next_json(&mut socket).await;
    assert_eq!(next["type"], "next");
    assert_eq!(next["id"], "s1");
    // The announcement has no filter: room 7 receives it too.
    assert_eq!(next["payload"]["data"]["messages"]["text"], "to everyone");
    socket
        .send(Message::text(
            json!({ "id": "s1", "type": "complete" }).to_string(),
        ))
        .await
        .unwrap();
    socket.close(None).await.unwrap();
}

/// `executeGraphQL` from a route handler, with one worker: the handler awaits while the
/// resolver runs on that same worker.
#[tokio::test]
async fn a_handler_can_await_execute_graphql_on_a_single_worker() {
    let script = format!(
        "{LIBRARY}\n{}",
        r#"register("/title", async (c) => {
          const result = JSON.parse(await graphQLRegistry.executeGraphQL("query ($id: ID!) { book(id: $id) { title } }", { id: c.request.query.id }));
          return result.data.book?.title ?? result.errors[0].message;
        });"#
    );
    let app = TestApp::with(
        1,
        ferry_js::Limits::default(),
        false,
        &[("library.js", &script)],
    )
    .await;
    assert_eq!(app.text("/title?id=5").await, (200, "Book 5".to_owned()));
    assert_eq!(app.text("/title?id=0").await, (200, "no book 0".to_owned()));
}
