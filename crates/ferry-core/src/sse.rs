//! Server-Sent Events: an [`Event`] type with correct framing; [`event_stream`], a
//! response that sends events from a channel, keeps idle connections alive with comments,
//! and ends when the server shuts down; and [`StreamHub`], named streams that many clients
//! follow and any code can publish to (with per-client metadata, filters, `Last-Event-ID`
//! replay and bounded queues).

mod hub;

pub use hub::{Filter, HubSettings, MatchMode, Metadata, StreamHub, SubscribeError};

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderName, HeaderValue};
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

use crate::context::ServerLifecycle;
use crate::{Body, BoxError, Request, Response};

/// One event: an optional name (`event:`), data (split into `data:` lines), an optional id.
///
/// ```
/// use ferry_core::sse::Event;
///
/// let event = Event::new("line one\nline two").name("update").id("7");
/// assert_eq!(event.encode(), "event: update\nid: 7\ndata: line one\ndata: line two\n\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    name: Option<String>,
    id: Option<String>,
    data: String,
}

impl Event {
    /// An unnamed event carrying `data`.
    pub fn new(data: impl Into<String>) -> Self {
        Event {
            name: None,
            id: None,
            data: data.into(),
        }
    }

    /// Names the event (the `event:` field); line breaks are removed.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(single_line(name.into()));
        self
    }

    /// Sets the event's id (the `id:` field); line breaks are removed.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(single_line(id.into()));
        self
    }

    /// The event in the wire format: each line of data on its own `data:` line (`\r\n`,
    /// `\r` and `\n` all end a line), then a blank line.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(self.data.len() + 32);
        if let Some(name) = &self.name {
            let _ = writeln!(text, "event: {name}");
        }
        if let Some(id) = &self.id {
            let _ = writeln!(text, "id: {id}");
        }
        let data = self.data.replace("\r\n", "\n").replace('\r', "\n");
        for line in data.split('\n') {
            let _ = writeln!(text, "data: {line}");
        }
        text.push('\n');
        text
    }
}

fn single_line(text: String) -> String {
    text.replace(['\r', '\n'], "")
}

/// How often an idle stream sends a comment so proxies and browsers keep it open.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A `text/event-stream` response that sends each event received on `events`.
///
/// The stream ends when the channel closes or, if the request came through a Ferry server,
/// when that server starts shutting down (so open streams never hold a shutdown up). While
/// idle it sends a `: keep-alive` comment every `keep_alive`.
pub fn event_stream(
    request: &Request,
    events: mpsc::Receiver<Event>,
    keep_alive: Duration,
) -> Response {
    stream_response(request, Source::Events(events), keep_alive)
}

/// Where a stream's frames come from.
enum Source {
    /// Events to encode.
    Events(mpsc::Receiver<Event>),
    /// Frames encoded once for many clients, with what removes the client when the
    /// response is dropped.
    Frames {
        frames: mpsc::Receiver<Bytes>,
        _membership: Box<dyn Send + Sync>,
    },
}

impl Source {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match self {
            Source::Events(events) => events
                .poll_recv(cx)
                .map(|event| event.map(|event| Bytes::from(event.encode()))),
            Source::Frames { frames, .. } => frames.poll_recv(cx),
        }
    }
}

fn stream_response(request: &Request, source: Source, keep_alive: Duration) -> Response {
    let shutdown = request
        .extensions()
        .get::<ServerLifecycle>()
        .cloned()
        .map(|lifecycle| Box::pin(async move { lifecycle.stopping().await }) as ShutdownFuture);
    let mut interval =
        tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let body = EventStreamBody {
        source,
        keep_alive: interval,
        shutdown,
    };
    let mut response = Response::new(Body::new(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

struct EventStreamBody {
    source: Source,
    keep_alive: tokio::time::Interval,
    shutdown: Option<ShutdownFuture>,
}

impl http_body::Body for EventStreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(shutdown) = self.shutdown.as_mut()
            && shutdown.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(None);
        }
        match self.source.poll_next(cx) {
            Poll::Ready(Some(frame)) => {
                self.keep_alive.reset();
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if self.keep_alive.poll_tick(cx).is_ready() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                b": keep-alive\n\n",
            )))));
        }
        Poll::Pending
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn multi_line_data_is_split_into_data_lines() {
        assert_eq!(
            Event::new("a\r\nb\rc\nd").encode(),
            "data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(Event::new("").encode(), "data: \n\n");
        assert_eq!(
            Event::new("x").name("bad\nname").encode(),
            "event: badname\ndata: x\n\n"
        );
    }

    #[tokio::test]
    async fn stream_sends_events_then_ends_when_the_channel_closes() {
        let (sender, receiver) = mpsc::channel(4);
        let request = Request::new(Body::empty());
        let response = event_stream(&request, receiver, Duration::from_secs(60));
        assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
        sender.send(Event::new("one").name("tick")).await.unwrap();
        drop(sender);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "event: tick\ndata: one\n\n");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_streams_send_keep_alive_comments() {
        let (_sender, receiver) = mpsc::channel::<Event>(4);
        let request = Request::new(Body::empty());
        let mut body = event_stream(&request, receiver, Duration::from_secs(15)).into_body();
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), ": keep-alive\n\n");
    }
}
