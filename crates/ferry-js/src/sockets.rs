//! WebSocket endpoints registered by scripts: the route that accepts the handshake, the
//! task that carries one connection (its events to the owning worker, one at a time and in
//! order; its outgoing messages from any worker through a bounded queue), and the registry
//! of open sockets that `socket.send` and `sendWebSocketMessage` write to.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ferry_core::sse::{Filter, Metadata};
use ferry_core::ws::{self, CloseCode, CloseFrame, Message, WebSocket, WebSocketConfig};
use ferry_core::{BoxFuture, Handler, IntoResponse, Request, Response};
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::pool::{RouteKey, SocketEvent, SocketJob, WorkerPool};
use crate::request;

/// Messages waiting for one socket before it counts as too slow and is closed.
const SEND_QUEUE: usize = 256;

/// How long one message may take to go out before the client counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the peer has to answer our close frame before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long the connection waits for one handler beyond the call limit (its turn in the
/// worker's queue).
const QUEUE_ALLOWANCE: Duration = Duration::from_secs(10);

/// The open WebSockets of an engine, by id. Cloning gives another handle to the same
/// registry.
#[derive(Clone, Default)]
pub(crate) struct SocketHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    next_id: AtomicU64,
    sockets: RwLock<HashMap<u64, Entry>>,
}

struct Entry {
    path: Arc<str>,
    script: Arc<str>,
    version: u64,
    outgoing: mpsc::Sender<Message>,
    /// Set when the socket is dropped for not keeping up.
    too_slow: Arc<AtomicBool>,
    metadata: Metadata,
}

/// Why a message could not be queued for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// No open socket has this id (it closed).
    Closed,
}

impl SocketHub {
    fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Entry>> {
        self.inner
            .sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Entry>> {
        self.inner
            .sockets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of open sockets at `path`.
    pub(crate) fn count(&self, path: &str) -> usize {
        self.read()
            .values()
            .filter(|entry| &*entry.path == path)
            .count()
    }

    /// Queues `message` for the socket `id`. A socket whose queue is full is closed as too
    /// slow (and the message counts as sent: it is gone either way).
    pub(crate) fn send(&self, id: u64, message: Message) -> Result<(), SendError> {
        let full = {
            let sockets = self.read();
            let entry = sockets.get(&id).ok_or(SendError::Closed)?;
            match entry.outgoing.try_send(message) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(SendError::Closed),
                Err(mpsc::error::TrySendError::Full(_)) => true,
            }
        };
        if full {
            self.drop_slow(id);
        }
        Ok(())
    }

    /// Queues `message` for every socket at `path` whose metadata `filter` lets through,
    /// except `except`; returns how many got it.
    pub(crate) fn publish(
        &self,
        path: &str,
        message: &Message,
        filter: Option<&Filter>,
        except: Option<u64>,
    ) -> usize {
        let mut slow = Vec::new();
        let mut delivered = 0;
        for (id, entry) in self.read().iter() {
            if &*entry.path != path
                || Some(*id) == except
                || filter.is_some_and(|filter| !filter.matches(&entry.metadata))
            {
                continue;
            }
            match entry.outgoing.try_send(message.clone()) {
                Ok(()) => delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for id in slow {
            self.drop_slow(id);
        }
        delivered
    }

    /// Asks the socket `id` to close with `code` and `reason` (cut to the 123 bytes a close
    /// frame can carry).
    pub(crate) fn close(&self, id: u64, code: u16, mut reason: String) -> Result<(), SendError> {
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        self.send(id, Message::Close(Some(frame)))
    }

    /// Closes every socket whose id `which` picks with `code` and `reason`; returns how
    /// many.
    pub(crate) fn close_where(
        &self,
        which: impl Fn(u64) -> bool,
        code: u16,
        reason: &str,
    ) -> usize {
        let ids: Vec<u64> = self
            .read()
            .keys()
            .copied()
            .filter(|id| which(*id))
            .collect();
        for id in &ids {
            let _ = self.close(*id, code, reason.to_owned());
        }
        ids.len()
    }

    /// Closes the sockets of `script` that belong to a version other than `keep` (with
    /// 1012, "service restart": the script was reloaded or removed).
    pub(crate) fn restart(&self, script: &str, keep: Option<u64>) {
        let ids: Vec<u64> = self
            .read()
            .iter()
            .filter(|(_, entry)| &*entry.script == script && Some(entry.version) != keep)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let _ = self.close(
                id,
                CloseCode::Restart.into(),
                "the script was reloaded; reconnect".into(),
            );
        }
    }

    fn drop_slow(&self, id: u64) {
        let mut sockets = self.write();
        if let Some(entry) = sockets.remove(&id) {
            entry.too_slow.store(true, Ordering::Relaxed);
        }
        record_open(sockets.len());
    }

    fn set_metadata(&self, id: u64, metadata: Metadata) {
        if let Some(entry) = self.write().get_mut(&id) {
            entry.metadata = metadata;
        }
    }

    fn remove(&self, id: u64) {
        let mut sockets = self.write();
        sockets.remove(&id);
        record_open(sockets.len());
    }
}

/// Reports the number of open script WebSockets (a no-op without a metrics recorder).
fn record_open(count: usize) {
    metrics::gauge!("ferry_websocket_connections").set(count as f64);
}

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
                Err(error) => {
                    let text = format!("400 Bad Request\n\n{error}\n");
                    return (StatusCode::BAD_REQUEST, text).into_response();
                }
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
        {
            let mut sockets = self.hub.write();
            sockets.insert(
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
            record_open(sockets.len());
        }
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

        let opened = self.event(SocketEvent::Open(request)).await;
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
