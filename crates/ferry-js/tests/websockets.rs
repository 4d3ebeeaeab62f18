//! WebSocket endpoints registered by scripts, through a real server and a real client:
//! the handlers' life cycle, text and binary messages, per-socket state, ordering of async
//! handlers, broadcasts and filters, closing from the script, size limits and reloads.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ferry_js::{EngineOptions, Limits, Script};
use futures_util::{SinkExt, StreamExt};
use support::TestApp;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Client = WebSocketStream<TcpStream>;

async fn connect(app: &TestApp, path: &str) -> Client {
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let url = format!("ws://{}{path}", app.addr);
    let (socket, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    socket
}

async fn next(socket: &mut Client) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket is open")
            .unwrap();
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

async fn next_text(socket: &mut Client) -> String {
    match next(socket).await {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const ECHO: &str = r#"
registerWebSocket("/echo", {
  open(socket, context) {
    socket.data.name = context.request.query.name;
    socket.data.count = 0;
    socket.send(`welcome ${socket.data.name} (${context.kind})`);
  },
  async message(socket, data) {
    if (typeof data !== "string") return socket.send(data);
    // Replies must keep the order of the messages even when handlers wait.
    await new Promise((resolve) => setTimeout(resolve, Number(data) % 3));
    socket.data.count += 1;
    if (data === "bye") return socket.close(4000, "see you");
    if (data === "bad close") {
      try { socket.close(1006); } catch (e) { return socket.send(e.message); }
    }
    socket.send(`${socket.data.name} #${socket.data.count}: ${data}`);
  },
  close(socket, code, reason) {
    sharedStorage.setItem("closed", `${socket.data.name} ${code} ${reason}`);
  },
});
register("/closed", () => sharedStorage.getItem("closed") ?? "none");
register("/flood", () => {
  const big = "x".repeat(64 * 1024);
  let delivered = 0;
  for (let i = 0; i < 2000; i++) delivered += sendWebSocketMessage("/echo", big);
  return String(delivered);
});
"#;

#[tokio::test]
async fn handlers_see_open_messages_in_order_and_close_with_per_socket_state() {
    let app = TestApp::new(&[("echo.js", ECHO)]).await;
    let mut socket = connect(&app, "/echo?name=ann").await;
    assert_eq!(next_text(&mut socket).await, "welcome ann (webSocket)");
    for n in 1..=20 {
        socket.send(Message::text(n.to_string())).await.unwrap();
    }
    for n in 1..=20 {
        assert_eq!(next_text(&mut socket).await, format!("ann #{n}: {n}"));
    }
    socket
        .send(Message::binary(vec![0u8, 255, 7]))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await, Message::binary(vec![0u8, 255, 7]));
    assert_eq!(app.engine.websockets("/echo"), 1);
    socket
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        }))
        .await
        .unwrap();
    wait_until("the close handler", async || {
        app.text("/closed").await.1 == "ann 1000 done"
    })
    .await;
    assert_eq!(app.engine.websockets("/echo"), 0);
}

#[tokio::test]
async fn a_script_closes_with_its_code_and_bad_codes_are_refused() {
    let app = TestApp::new(&[("echo.js", ECHO)]).await;
    let mut socket = connect(&app, "/echo?name=bob").await;
    next_text(&mut socket).await;
    socket.send(Message::text("bad close")).await.unwrap();
    let refused = next_text(&mut socket).await;
    assert!(
        refused.contains("close code 1006 cannot be sent"),
        "{refused}"
    );
    socket.send(Message::text("bye")).await.unwrap();
    match next(&mut socket).await {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4000);
            assert_eq!(frame.reason.as_str(), "see you");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Reading on sends the client's answer to the close frame; then the stream ends.
    let end = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    assert!(!matches!(end, Some(Ok(Message::Text(_)))));
    wait_until("the close handler", async || {
        app.text("/closed").await.1.starts_with("bob 4000")
    })
    .await;
}

const CHAT: &str = r#"
routeRegistry.registerWebSocketRoute("/chat", {
  open(socket, context) {
    return { room: context.request.query.room };
  },
  message(socket, data) {
    socket.broadcast(data);
  },
});
register("/announce", (c) => String(sendWebSocketMessage("/chat", c.request.body)), "POST");
register("/to-room", (c) => String(routeRegistry.sendWebSocketMessageFiltered("/chat", c.request.body, { room: c.request.query.room })), "POST");
"#;

#[tokio::test]
async fn broadcasts_reach_the_other_sockets_and_filters_use_open_metadata() {
    let app = TestApp::with(3, Limits::default(), false, &[("chat.js", CHAT)]).await;
    let mut ann = connect(&app, "/chat?room=1").await;
    let mut bob = connect(&app, "/chat?room=2").await;
    wait_until("two sockets", async || app.engine.websockets("/chat") == 2).await;
    // The open handlers' metadata is in place once a filtered send reaches its room.
    wait_until("room metadata", async || {
        let response = app
            .client
            .post(app.url("/to-room?room=1"))
            .body("hello room 1")
            .send()
            .await
            .unwrap();
        response.text().await.unwrap() == "1"
    })
    .await;
    assert_eq!(next_text(&mut ann).await, "hello room 1");

    ann.send(Message::text("from ann")).await.unwrap();
    assert_eq!(next_text(&mut bob).await, "from ann");
    let sent = app
        .client
        .post(app.url("/announce"))
        .body("to all")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.text().await.unwrap(), "2");
    // Ann did not receive her own broadcast: the announcement comes next.
    assert_eq!(next_text(&mut ann).await, "to all");
    assert_eq!(next_text(&mut bob).await, "to all");
}

#[tokio::test]
async fn a_message_over_the_limit_closes_with_1009() {
    let limits = Limits {
        body_bytes: 1024,
        ..Limits::default()
    };
    let app = TestApp::with(1, limits, false, &[("echo.js", ECHO)]).await;
    let mut socket = connect(&app, "/echo?name=big").await;
    next_text(&mut socket).await;
    socket.send(Message::text("x".repeat(4096))).await.unwrap();
    match next(&mut socket).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reload_closes_the_scripts_sockets_with_1012_and_plain_gets_get_426() {
    let options = EngineOptions {
        workers: 2,
        ..EngineOptions::default()
    };
    let app = TestApp::with_options(options, &[("echo.js", ECHO)]).await;
    let mut socket = connect(&app, "/echo?name=cy").await;
    next_text(&mut socket).await;
    app.engine
        .load(Script::new("echo.js", ECHO.replace("welcome", "hello")))
        .await
        .unwrap();
    match next(&mut socket).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Restart),
        other => panic!("expected a close frame, got {other:?}"),
    }
    let mut again = connect(&app, "/echo?name=cy").await;
    assert_eq!(next_text(&mut again).await, "hello cy (webSocket)");
    let plain = app.get("/echo").await;
    assert_eq!(plain.status(), 426);
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_with_1013_instead_of_growing_memory() {
    let app = TestApp::new(&[("echo.js", ECHO)]).await;
    let mut socket = connect(&app, "/echo?name=slow").await;
    next_text(&mut socket).await;
    // 2,000 messages of 64 KiB while the client reads nothing: the socket's queue of 256
    // fills once the TCP buffers are full, and the socket is dropped.
    let (_, delivered) = app.text("/flood").await;
    let delivered: usize = delivered.parse().unwrap();
    assert!(delivered < 2000, "every message was queued: {delivered}");
    wait_until("the socket to be dropped", async || {
        app.engine.websockets("/echo") == 0
    })
    .await;
    let mut received = 0;
    loop {
        match next(&mut socket).await {
            Message::Text(_) => received += 1,
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::Again);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(received <= delivered);
}
