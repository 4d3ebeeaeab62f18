//! WebSocket endpoints registered by scripts: the route that accepts the handshake, and the
//! task that carries one connection (its events to the owning worker, one at a time and in
//! order; its outgoing messages from any worker through a bounded queue, held in the
//! [`SocketHub`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferry_core::ws::{self, CloseCode, CloseFrame, Message, WebSocket, WebSocketConfig};
use ferry_core::{BoxFuture, Handler, IntoResponse, Request, Response};
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::job::{RouteKey, SocketEvent, SocketJob};
use crate::pool::WorkerPool;
use crate::request;
use crate::socket_hub::{Entry, SocketHub};

/// Messages waiting for one socket before it counts as too slow and is closed.
const SEND_QUEUE: usize = 256;

/// How long one message may take to go out before the client counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the peer has to answer our close frame before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long the connection waits for one handler beyond the call limit (its turn in the
/// worker's queue).
const QUEUE_ALLOWANCE: Duration = Duration::from_secs(10);

/// Accepts WebSocket handshakes for a path a script registered with `open`, `message` and
/// `close` handlers.
pub(crate) struct SocketRoute {
    pub pool: Arc<WorkerPool>,
    pub hub: SocketHub,
    pub key: RouteKey,
    pub path: Arc<str>,
}

impl Handler for SocketRoute {
    fn call(&self, mut request: Request) -> BoxFuture<Response> {
        let pool = self.pool.clone();
        let hub = self.hub.clone();
        let key = self.key.clone();
        let path = self.path.clone();
        Box::pin(async move {
            let limit = pool.settings().limits.body_bytes;
            let config = WebSocketConfig::default()
                .max_message_size(Some(limit))
                .max_frame_size(Some(limit));
            let (response, upgrade) = match ws::upgrade(&mut request, config, &[]) {
                Ok(accepted) => accepted,
                Err(error) => return error.into_response(),
            };
            let request = match request::read(request, limit).await {
                Ok(request) => request,
                Err(error) => return error.into_response(),
            };
            let connection = Connection {
                id: hub.next_id(),
                pool,
                hub,
                key,
                path,
            };
            tokio::spawn(async move {
                if let Ok(socket) = upgrade.socket().await {
                    connection.run(socket, request).await;
                }
            });
            response
        })
    }
}

/// One WebSocket connection of a script's endpoint.
struct Connection {
    id: u64,
    pool: Arc<WorkerPool>,
    hub: SocketHub,
    key: RouteKey,
    path: Arc<str>,
}

impl Connection {
    async fn run(self, socket: WebSocket, request: request::ScriptRequest) {
        let (mut sink, mut incoming) = socket.split();
        let (outgoing, mut queue) = mpsc::channel::<Message>(SEND_QUEUE);
        let too_slow = Arc::new(AtomicBool::new(false));
        let query =
            crate::stream::metadata_of(request.query.iter().map(|(key, value)| (key, value)));
        self.hub.insert(
            self.id,
            Entry {
                path: self.path.clone(),
                script: self.key.script.clone(),
                version: self.key.version,
                outgoing,
                too_slow: too_slow.clone(),
                metadata: query,
            },
        );
        // The hub holds the only sender: when it drops the socket (closed, or too slow),
        // the writer below sees the queue end.
        let slow = too_slow.clone();
        let close_sent = Arc::new(Notify::new());
        let closing = close_sent.clone();
        let writer = tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if slow.load(Ordering::Relaxed) {
                    // Dropped as too slow: what is still queued is given up.
                    break;
                }
                let close = matches!(message, Message::Close(_));
                let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await;
                if close {
                    closing.notify_one();
                }
                match sent {
                    Ok(Ok(())) if !close => {}
                    Ok(_) => return,
                    // A client that takes no data for this long is not coming back.
                    Err(_) => {
                        slow.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
            // The hub let the socket go: it closed, or it was too slow.
            let frame = slow.load(Ordering::Relaxed).then(|| CloseFrame {
                code: CloseCode::Again,
                reason: "the client does not keep up with its messages".into(),
            });
            let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(frame))).await;
            closing.notify_one();
        });

        let opened = self.event(SocketEvent::Open(Box::new(request))).await;
        match opened.status() {
            StatusCode::OK => {
                if let Ok(bytes) = opened.into_body().to_bytes(64 * 1024).await
                    && let Ok(metadata) = serde_json::from_slice(&bytes)
                {
                    self.hub.set_metadata(self.id, metadata);
                }
            }
            StatusCode::NO_CONTENT => {}
            _ => {
                let _ = self.hub.close(
                    self.id,
                    CloseCode::Error.into(),
                    "the open handler failed".into(),
                );
            }
        }

        let mut closed = (CloseCode::Abnormal, String::new());
        // Once our close frame is out, the peer has CLOSE_GRACE to answer it.
        let mut grace: Option<Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            let next = tokio::select! {
                next = incoming.next() => next,
                () = close_sent.notified(), if grace.is_none() => {
                    grace = Some(Box::pin(tokio::time::sleep(CLOSE_GRACE)));
                    continue;
                }
                () = async { if let Some(grace) = grace.as_mut() { grace.await } }, if grace.is_some() => break,
            };
            let Some(next) = next else { break };
            let event = match next {
                Ok(Message::Text(text)) => SocketEvent::Text(text.as_str().to_owned()),
                Ok(Message::Binary(bytes)) => SocketEvent::Binary(bytes),
                Ok(Message::Close(frame)) => {
                    closed = frame.map_or((CloseCode::Status, String::new()), |frame| {
                        (frame.code, frame.reason.as_str().to_owned())
                    });
                    continue;
                }
                Ok(_) => continue,
                Err(error) => {
                    let code = ws::close_code_for(&error);
                    let _ = self.hub.close(self.id, code.into(), error.to_string());
                    closed = (code, error.to_string());
                    break;
                }
            };
            let answer = self.event(event).await;
            if matches!(
                answer.status(),
                StatusCode::GATEWAY_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE
            ) {
                // The message handler ran past its deadline (or its worker is gone): the
                // socket's state can no longer be trusted to be what the script expects.
                let _ = self.hub.close(
                    self.id,
                    CloseCode::Error.into(),
                    "the message handler did not finish in time".into(),
                );
            }
        }
        self.hub.remove(self.id);
        let (code, reason) = closed;
        self.event(SocketEvent::Close {
            code: code.into(),
            reason,
        })
        .await;
        let _ = writer.await;
    }

    /// Runs the handler of `event` on the socket's worker and waits for it.
    async fn event(&self, event: SocketEvent) -> Response {
        let (reply, answer) = oneshot::channel();
        self.pool.send_socket_event(SocketJob {
            route: self.key.clone(),
            socket: self.id,
            event,
            reply,
        });
        let limit = self.pool.settings().limits.call_timeout + QUEUE_ALLOWANCE;
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(response)) => response,
            _ => crate::response::unavailable("the JavaScript worker did not answer"),
        }
    }
}
