//! WebSockets: an echo endpoint, over HTTP/1.1 (an `Upgrade` GET) and HTTP/2 (an extended
//! CONNECT, RFC 8441) alike.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ferry-example-rust --example websocket
//! # then, in a browser console on any page:
//! #   const ws = new WebSocket("ws://127.0.0.1:3000/echo");
//! #   ws.onmessage = (event) => console.log(event.data);
//! #   ws.onopen = () => ws.send("hello");
//! ```

use ferry_core::ws::{self, Message, WebSocketConfig};
use ferry_core::{App, IntoResponse, Request};
use futures_util::{SinkExt, StreamExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("echo at ws://127.0.0.1:3000/echo");
    App::new()
        .websocket("/echo", |mut request: Request| async move {
            let (response, upgrade) =
                match ws::upgrade(&mut request, WebSocketConfig::default(), &[]) {
                    Ok(accepted) => accepted,
                    Err(refused) => return refused.into_response(),
                };
            tokio::spawn(async move {
                let Ok(mut socket) = upgrade.socket().await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    let echo = match message {
                        Message::Text(_) | Message::Binary(_) => message,
                        Message::Close(_) => break,
                        _ => continue,
                    };
                    if socket.send(echo).await.is_err() {
                        break;
                    }
                }
            });
            response
        })
        .serve("127.0.0.1:3000")
        .await?;
    Ok(())
}
