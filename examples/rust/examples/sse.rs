//! Server-Sent Events: a named stream that browsers follow with `EventSource`, fed by a
//! ticker and by whoever POSTs to `/publish`. Clients that reconnect with `Last-Event-ID`
//! get what they missed; a client that does not keep up is dropped, not buffered.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ferry-example-rust --example sse
//! curl -N http://127.0.0.1:3000/events                  # follow the stream
//! curl -d 'hello' http://127.0.0.1:3000/publish         # in another terminal
//! ```

use std::time::Duration;

use ferry_core::sse::{HubSettings, Metadata, StreamHub};
use ferry_core::{App, IntoResponse, Request};

const EVENTS: &str = "/events";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = StreamHub::new(HubSettings::default());
    hub.open(EVENTS);
    let ticker = hub.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            ticker.publish(EVENTS, "tick", None);
        }
    });
    let follow = hub.clone();
    let publish = hub;
    println!("events at http://127.0.0.1:3000{EVENTS}");
    App::new()
        .get(EVENTS, move |request: Request| {
            let hub = follow.clone();
            async move {
                match hub.subscribe(&request, EVENTS, Metadata::new()) {
                    Ok(response) => response,
                    Err(error) => error.into_response(),
                }
            }
        })
        .post("/publish", move |request: Request| {
            let hub = publish.clone();
            async move {
                let body = request.into_body().to_bytes(64 * 1024).await;
                match body {
                    Ok(body) => {
                        let text = String::from_utf8_lossy(&body);
                        let sent = hub.publish(EVENTS, &text, None).unwrap_or(0);
                        format!("sent to {sent} clients\n").into_response()
                    }
                    Err(error) => error.into_response(),
                }
            }
        })
        .serve("127.0.0.1:3000")
        .await?;
    Ok(())
}
