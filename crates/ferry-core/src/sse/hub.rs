//! Named event streams: clients subscribe to a stream by its path, code publishes to one
//! stream or all of them, to every client or to those whose metadata match a filter.
//!
//! Each published message is encoded once (with the stream's next event id) and shared by
//! every recipient. A client's queue is bounded: a client that does not keep up is dropped
//! (its response ends; an `EventSource` reconnects and catches up from the replay buffer
//! with `Last-Event-ID`) instead of letting memory grow. A client whose connection closes
//! is removed when its response is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::{DEFAULT_KEEP_ALIVE, Event, Source, stream_response};
use crate::{IntoResponse, Request, Response};

/// What a client is known by when messages are filtered: the object a stream's customizer
/// returned for it, or its query parameters.
pub type Metadata = serde_json::Map<String, Value>;

/// The limits of a [`StreamHub`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// How often an idle stream sends a comment (default 15 s).
    pub keep_alive: Duration,
    /// Clients one stream accepts at a time (default 1,000); more get 503.
    pub max_clients: usize,
    /// Messages queued for one client before it counts as too slow and is dropped
    /// (default 256).
    pub client_queue: usize,
    /// Messages a stream keeps for clients that reconnect with `Last-Event-ID`
    /// (default 100; 0 turns replay off).
    pub replay: usize,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            keep_alive: DEFAULT_KEEP_ALIVE,
            max_clients: 1_000,
            client_queue: 256,
            replay: 100,
        }
    }
}

/// How a [`Filter`] compares with a client's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Every key of the filter must match (the filter is a subset of the metadata).
    #[default]
    Subset,
    /// At least one key of the filter must match.
    Overlap,
}

impl std::str::FromStr for MatchMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "subset" => Ok(MatchMode::Subset),
            "overlap" => Ok(MatchMode::Overlap),
            other => Err(format!(
                "{other:?} is not a match mode; use \"subset\" or \"overlap\""
            )),
        }
    }
}

/// Which clients a message goes to, by their metadata.
///
/// A key matches when the client's value equals the filter's (numbers, strings and
/// booleans compare by their text, so `5` matches `"5"` from a query string), or, when
/// either is an array, when they share an element. An empty filter matches every client.
///
/// ```
/// use ferry_core::sse::{Filter, MatchMode};
/// use serde_json::json;
///
/// let metadata = json!({ "room": "5", "tags": ["a", "b"] }).as_object().unwrap().clone();
/// let subset = Filter::new(json!({ "room": 5, "tags": "b" }).as_object().unwrap().clone(), MatchMode::Subset);
/// assert!(subset.matches(&metadata));
/// let overlap = Filter::new(json!({ "room": 6, "tags": "a" }).as_object().unwrap().clone(), MatchMode::Overlap);
/// assert!(overlap.matches(&metadata));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pairs: Metadata,
    mode: MatchMode,
}

impl Filter {
    /// A filter on the keys and values of `pairs`.
    pub fn new(pairs: Metadata, mode: MatchMode) -> Self {
        Filter { pairs, mode }
    }

    /// Whether a client with `metadata` receives the message.
    pub fn matches(&self, metadata: &Metadata) -> bool {
        if self.pairs.is_empty() {
            return true;
        }
        let mut keys = self.pairs.iter().map(|(key, wanted)| {
            metadata
                .get(key)
                .is_some_and(|value| values_match(wanted, value))
        });
        match self.mode {
            MatchMode::Subset => keys.all(|matched| matched),
            MatchMode::Overlap => keys.any(|matched| matched),
        }
    }
}

fn values_match(wanted: &Value, value: &Value) -> bool {
    match (wanted, value) {
        (Value::Array(wanted), Value::Array(values)) => wanted
            .iter()
            .any(|one| values.iter().any(|other| scalars_match(one, other))),
        (Value::Array(wanted), value) => wanted.iter().any(|one| scalars_match(one, value)),
        (wanted, Value::Array(values)) => values.iter().any(|other| scalars_match(wanted, other)),
        (wanted, value) => scalars_match(wanted, value),
    }
}

fn scalars_match(a: &Value, b: &Value) -> bool {
    match (scalar_text(a), scalar_text(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Why a client could not join a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// No stream has this path.
    #[error("no event stream at {0}")]
    NotFound(String),
    /// The stream has as many clients as it accepts.
    #[error("the event stream {path} has its maximum of {limit} clients")]
    Full {
        /// The stream's path.
        path: String,
        /// Its client limit.
        limit: usize,
    },
}

impl IntoResponse for SubscribeError {
    fn into_response(self) -> Response {
        match &self {
            SubscribeError::NotFound(_) => {
                (StatusCode::NOT_FOUND, format!("404 Not Found\n\n{self}\n")).into_response()
            }
            SubscribeError::Full { .. } => {
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("503 Service Unavailable\n\n{self}; try again later\n"),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                response
            }
        }
    }
}

/// Event streams by path. Cloning gives another handle to the same streams.
///
/// ```no_run
/// use ferry_core::sse::{HubSettings, StreamHub};
/// use ferry_core::{App, IntoResponse, Request};
///
/// let hub = StreamHub::new(HubSettings::default());
/// hub.open("/events");
/// let subscriber = hub.clone();
/// let app = App::new().get("/events", move |request: Request| {
///     let hub = subscriber.clone();
///     async move {
///         match hub.subscribe(&request, "/events", Default::default()) {
///             Ok(response) => response,
///             Err(error) => error.into_response(),
///         }
///     }
/// });
/// // elsewhere: hub.publish("/events", "something happened", None);
/// ```
#[derive(Clone, Default)]
pub struct StreamHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    settings: HubSettings,
    streams: RwLock<HashMap<String, Arc<Stream>>>,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("settings", &self.inner.settings)
            .field("streams", &self.paths())
            .finish()
    }
}

struct Stream {
    state: Mutex<StreamState>,
}

#[derive(Default)]
struct StreamState {
    last_id: u64,
    next_client: u64,
    clients: HashMap<u64, Client>,
    replay: VecDeque<Buffered>,
}

struct Client {
    frames: mpsc::Sender<Bytes>,
    metadata: Metadata,
}

struct Buffered {
    id: u64,
    frame: Bytes,
    filter: Option<Filter>,
}

impl Stream {
    fn state(&self) -> MutexGuard<'_, StreamState> {
        // Every change under this lock is complete before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes its client from the stream when the client's response is dropped.
struct Membership {
    stream: Arc<Stream>,
    client: u64,
}

impl Membership {
    fn new(stream: Arc<Stream>, client: u64) -> Self {
        metrics::gauge!("ferry_sse_clients").increment(1.0);
        Membership { stream, client }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        metrics::gauge!("ferry_sse_clients").decrement(1.0);
        self.stream.state().clients.remove(&self.client);
    }
}

impl StreamHub {
    /// A hub with no streams yet.
    pub fn new(settings: HubSettings) -> Self {
        StreamHub {
            inner: Arc::new(HubInner {
                settings,
                streams: RwLock::default(),
            }),
        }
    }

    /// The hub's limits.
    pub fn settings(&self) -> &HubSettings {
        &self.inner.settings
    }

    fn streams(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Stream>>> {
        self.inner
            .streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn streams_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Stream>>> {
        self.inner
            .streams
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn stream(&self, path: &str) -> Option<Arc<Stream>> {
        self.streams().get(path).cloned()
    }

    /// Makes sure a stream exists at `path` (one that exists keeps its clients).
    pub fn open(&self, path: &str) {
        if self.streams().contains_key(path) {
            return;
        }
        self.streams_mut()
            .entry(path.to_owned())
            .or_insert_with(|| {
                Arc::new(Stream {
                    state: Mutex::new(StreamState::default()),
                })
            });
    }

    /// Closes every stream whose path `keep` refuses; their clients' responses end.
    pub fn retain(&self, mut keep: impl FnMut(&str) -> bool) {
        let closed: Vec<Arc<Stream>> = {
            let mut streams = self.streams_mut();
            let gone: Vec<String> = streams.keys().filter(|path| !keep(path)).cloned().collect();
            gone.iter()
                .filter_map(|path| streams.remove(path))
                .collect()
        };
        for stream in closed {
            stream.state().clients.clear();
        }
    }

    /// The paths of the open streams, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.streams().keys().cloned().collect();
        paths.sort();
        paths
    }

    /// The number of clients following the stream at `path`.
    pub fn clients(&self, path: &str) -> usize {
        self.stream(path)
            .map_or(0, |stream| stream.state().clients.len())
    }

    /// Adds a client to the stream at `path` and returns its `text/event-stream`
    /// response. A `Last-Event-ID` header in `request` replays the buffered messages after
    /// that id (those whose filter lets `metadata` through).
    pub fn subscribe(
        &self,
        request: &Request,
        path: &str,
        metadata: Metadata,
    ) -> Result<Response, SubscribeError> {
        let stream = self
            .stream(path)
            .ok_or_else(|| SubscribeError::NotFound(path.to_owned()))?;
        let settings = self.settings();
        let last_seen = request
            .headers()
            .get("last-event-id")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok());
        let capacity = settings.client_queue.max(settings.replay).max(1);
        let (sender, receiver) = mpsc::channel(capacity);
        let client = {
            let mut state = stream.state();
            if state.clients.len() >= settings.max_clients {
                return Err(SubscribeError::Full {
                    path: path.to_owned(),
                    limit: settings.max_clients,
                });
            }
            if let Some(last_seen) = last_seen.filter(|seen| *seen <= state.last_id) {
                let missed = state.replay.iter().filter(|buffered| {
                    buffered.id > last_seen
                        && buffered
                            .filter
                            .as_ref()
                            .is_none_or(|filter| filter.matches(&metadata))
                });
                for buffered in missed {
                    // The channel holds at least the whole replay buffer.
                    let _ = sender.try_send(buffered.frame.clone());
                }
            }
            state.next_client += 1;
            let client = state.next_client;
            state.clients.insert(
                client,
                Client {
                    frames: sender,
                    metadata,
                },
            );
            client
        };
        let membership = Membership::new(stream, client);
        Ok(stream_response(
            request,
            Source::Frames {
                frames: receiver,
                _membership: Box::new(membership),
            },
            settings.keep_alive,
        ))
    }

    /// Sends `data` to the clients of the stream at `path` that `filter` lets through (all
    /// of them without one); `None` when there is no such stream, else how many received it.
    pub fn publish(&self, path: &str, data: &str, filter: Option<&Filter>) -> Option<usize> {
        let stream = self.stream(path)?;
        Some(self.send(&stream, data, filter))
    }

    /// Sends `data` to every stream, as [`publish`](Self::publish) does; returns how many
    /// clients received it.
    pub fn publish_everywhere(&self, data: &str, filter: Option<&Filter>) -> usize {
        let streams: Vec<Arc<Stream>> = self.streams().values().cloned().collect();
        streams
            .iter()
            .map(|stream| self.send(stream, data, filter))
            .sum()
    }

    fn send(&self, stream: &Stream, data: &str, filter: Option<&Filter>) -> usize {
        let replay = self.settings().replay;
        let mut state = stream.state();
        state.last_id += 1;
        let id = state.last_id;
        let frame = Bytes::from(Event::new(data).id(id.to_string()).encode());
        if replay > 0 {
            if state.replay.len() >= replay {
                state.replay.pop_front();
            }
            state.replay.push_back(Buffered {
                id,
                frame: frame.clone(),
                filter: filter.cloned(),
            });
        }
        let mut delivered = 0;
        state.clients.retain(|_, client| {
            if filter.is_some_and(|filter| !filter.matches(&client.metadata)) {
                return true;
            }
            match client.frames.try_send(frame.clone()) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                // Too slow (its queue is full) or gone: drop it.
                Err(TrySendError::Full(_) | TrySendError::Closed(_)) => false,
            }
        });
        delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use http_body_util::BodyExt;
    use serde_json::json;

    fn metadata(value: Value) -> Metadata {
        value.as_object().cloned().unwrap_or_default()
    }

    fn request(last_event_id: Option<&str>) -> Request {
        let mut request = Request::new(Body::empty());
        if let Some(id) = last_event_id {
            request
                .headers_mut()
                .insert("last-event-id", HeaderValue::from_str(id).unwrap());
        }
        request
    }

    async fn next_frame(response: &mut Response) -> String {
        let frame = response.body_mut().frame().await.unwrap().unwrap();
        String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn filters_match_subsets_and_overlaps_with_lenient_scalars_and_arrays() {
        let client = metadata(json!({ "room": "5", "user": "ann", "tags": ["a", "b"] }));
        let subset = |filter: Value| Filter::new(metadata(filter), MatchMode::Subset);
        let overlap = |filter: Value| Filter::new(metadata(filter), MatchMode::Overlap);
        assert!(subset(json!({})).matches(&client));
        assert!(subset(json!({ "room": 5 })).matches(&client));
        assert!(subset(json!({ "room": "5", "user": "ann" })).matches(&client));
        assert!(!subset(json!({ "room": "5", "user": "bob" })).matches(&client));
        assert!(!subset(json!({ "missing": "x" })).matches(&client));
        assert!(subset(json!({ "tags": "b" })).matches(&client));
        assert!(subset(json!({ "tags": ["x", "a"] })).matches(&client));
        assert!(overlap(json!({ "room": "6", "user": "ann" })).matches(&client));
        assert!(!overlap(json!({ "room": "6", "user": "bob" })).matches(&client));
        assert!(overlap(json!({})).matches(&client));
        assert_eq!("overlap".parse(), Ok(MatchMode::Overlap));
        assert!("most".parse::<MatchMode>().is_err());
    }

    #[tokio::test]
    async fn messages_reach_matching_clients_with_ids_and_framing() {
        let hub = StreamHub::new(HubSettings::default());
        hub.open("/s");
        let mut ann = hub
            .subscribe(&request(None), "/s", metadata(json!({ "user": "ann" })))
            .unwrap();
        let mut bob = hub
            .subscribe(&request(None), "/s", metadata(json!({ "user": "bob" })))
            .unwrap();
        assert_eq!(hub.clients("/s"), 2);
        let only_ann = Filter::new(metadata(json!({ "user": "ann" })), MatchMode::Subset);
        assert_eq!(
            hub.publish("/s", "for ann\nline 2", Some(&only_ann)),
            Some(1)
        );
        assert_eq!(hub.publish("/s", "for all", None), Some(2));
        assert_eq!(hub.publish("/nope", "x", None), None);
        assert_eq!(
            next_frame(&mut ann).await,
            "id: 1\ndata: for ann\ndata: line 2\n\n"
        );
        assert_eq!(next_frame(&mut ann).await, "id: 2\ndata: for all\n\n");
        assert_eq!(next_frame(&mut bob).await, "id: 2\ndata: for all\n\n");
        drop(ann);
        assert_eq!(hub.clients("/s"), 1, "a dropped response leaves the stream");
    }

    #[tokio::test]
    async fn last_event_id_replays_what_the_client_missed_and_may_see() {
        let hub = StreamHub::new(HubSettings {
            replay: 3,
            ..HubSettings::default()
        });
        hub.open("/s");
        let only_bob = Filter::new(metadata(json!({ "user": "bob" })), MatchMode::Subset);
        for n in 1..=5 {
            let filter = (n == 4).then_some(&only_bob);
            hub.publish("/s", &format!("m{n}"), filter);
        }
        // The buffer holds 3, 4 and 5; ann may not see 4.
        let mut ann = hub
            .subscribe(
                &request(Some("2")),
                "/s",
                metadata(json!({ "user": "ann" })),
            )
            .unwrap();
        assert_eq!(next_frame(&mut ann).await, "id: 3\ndata: m3\n\n");
        assert_eq!(next_frame(&mut ann).await, "id: 5\ndata: m5\n\n");
        // An id from the future (another server's) or garbage replays nothing.
        for id in ["99", "junk"] {
            let mut late = hub
                .subscribe(&request(Some(id)), "/s", Metadata::new())
                .unwrap();
            hub.publish("/s", "next", None);
            assert!(next_frame(&mut late).await.contains("data: next"));
        }
    }

    #[tokio::test]
    async fn full_streams_refuse_and_slow_clients_are_dropped() {
        let hub = StreamHub::new(HubSettings {
            max_clients: 1,
            client_queue: 2,
            replay: 0,
            ..HubSettings::default()
        });
        hub.open("/s");
        let slow = hub
            .subscribe(&request(None), "/s", Metadata::new())
            .unwrap();
        let refused = hub.subscribe(&request(None), "/s", Metadata::new());
        assert!(matches!(
            refused,
            Err(SubscribeError::Full { limit: 1, .. })
        ));
        assert_eq!(
            refused.unwrap_err().into_response().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(hub.publish("/s", "1", None), Some(1));
        assert_eq!(hub.publish("/s", "2", None), Some(1));
        assert_eq!(hub.publish("/s", "3", None), Some(0), "the queue is full");
        assert_eq!(hub.clients("/s"), 0, "the slow client is gone");
        // Its response delivers what was queued, then ends.
        let body = slow.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "id: 1\ndata: 1\n\nid: 2\ndata: 2\n\n");
    }

    #[tokio::test]
    async fn retain_closes_streams_and_ends_their_clients() {
        let hub = StreamHub::new(HubSettings::default());
        hub.open("/a");
        hub.open("/b");
        let client = hub
            .subscribe(&request(None), "/a", Metadata::new())
            .unwrap();
        hub.retain(|path| path == "/b");
        assert_eq!(hub.paths(), vec!["/b".to_owned()]);
        assert!(
            client
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .is_empty()
        );
        assert!(matches!(
            hub.subscribe(&request(None), "/a", Metadata::new()),
            Err(SubscribeError::NotFound(_))
        ));
        assert_eq!(hub.publish_everywhere("x", None), 0);
    }
}
