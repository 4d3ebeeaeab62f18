//! WebSocket over a real server: the handshake through the router, an echo, ping/pong,
//! fragmented messages, the close handshake and the message size limit.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ferry_core::ws::{self, CloseCode, Message, WebSocketConfig};
use ferry_core::{App, IntoResponse, Request};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn echo_app() -> App {
    App::new().websocket("/echo", |mut request: Request| async move {
        let config = WebSocketConfig::default().max_message_size(Some(1024));
        match ws::upgrade(&mut request, config, &["echo"]) {
            Ok((response, upgrade)) => {
                tokio::spawn(async move {
                    let Ok(mut socket) = upgrade.socket().await else {
                        return;
                    };
                    while let Some(next) = socket.next().await {
                        let message = match next {
                            Ok(message) => message,
                            Err(error) => {
                                let code = ws::close_code_for(&error);
                                let _ = socket
                                    .close(Some(ws::CloseFrame {
                                        code,
                                        reason: "".into(),
                                    }))
                                    .await;
                                break;
                            }
                        };
                        if (message.is_text() || message.is_binary())
                            && socket.send(message).await.is_err()
                        {
                            break;
                        }
                    }
                });
                response
            }
            Err(error) => error.into_response(),
        }
    })
}

async fn connect(addr: std::net::SocketAddr) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("ws://{addr}/echo").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "echo".parse().unwrap());
    let (socket, response) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "echo");
    socket
}

async fn next(socket: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> Message {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn websocket_echo_ping_fragments_and_close_over_a_real_server() {
    let server = echo_app().bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));

    let mut socket = connect(addr).await;
    socket.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text("hello"));
    socket.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::binary(vec![0u8, 1, 2]));
    socket.send(Message::Ping("p".into())).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::Pong("p".into()));
    socket.close(None).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    assert!(matches!(closed, Some(Ok(Message::Close(_))) | None));

    // Over the limit of 1 KiB: the server closes with 1009 (message too big).
    let mut socket = connect(addr).await;
    socket.send(Message::text("x".repeat(2048))).await.unwrap();
    match next(&mut socket).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plain_get_on_a_websocket_url_gets_426() {
    let server = echo_app().bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    let response = reqwest::get(format!("http://{addr}/echo")).await.unwrap();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["upgrade"], "websocket");
}

/// RFC 8441: the same endpoint over HTTP/2, opened with an extended CONNECT.
#[tokio::test]
async fn websocket_over_http2_extended_connect() {
    use http_body_util::Empty;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tokio_tungstenite::tungstenite::protocol::Role;

    let server = echo_app().bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));

    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = || {
        let mut request = http::Request::builder()
            .method(http::Method::CONNECT)
            .uri(format!("http://{addr}/echo"))
            .version(http::Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .header("sec-websocket-protocol", "echo")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        request
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));
        request
    };
    // The client may send an extended CONNECT only once the server's SETTINGS allowed it.
    let mut response = None;
    for _ in 0..50 {
        sender.ready().await.unwrap();
        match sender.send_request(request()).await {
            Ok(answer) => {
                response = Some(answer);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let response = response.expect("the server accepts an extended CONNECT");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["sec-websocket-protocol"], "echo");
    let upgraded = hyper::upgrade::on(response).await.unwrap();
    let mut socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
        TokioIo::new(upgraded),
        Role::Client,
        None,
    )
    .await;
    socket.send(Message::text("over h2")).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echoed, Message::text("over h2"));
}
