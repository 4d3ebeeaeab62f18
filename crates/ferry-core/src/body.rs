//! The one body type that flows through Ferry, for requests and responses alike.
//!
//! [`Body`] keeps the common cases cheap: an empty body and a body that is already in
//! memory need no allocation beyond their bytes, and a request body from hyper is passed
//! through without boxing. Anything else (a file stream, a body from another crate) is
//! boxed once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

/// An error type that any body or service error can be converted into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body.
///
/// ```
/// use ferry_core::Body;
///
/// let empty = Body::empty();
/// let text = Body::from("hello");
/// assert_eq!(http_body::Body::size_hint(&text).exact(), Some(5));
/// # let _ = empty;
/// ```
#[derive(Debug, Default)]
pub struct Body {
    kind: Kind,
}

#[derive(Default)]
enum Kind {
    #[default]
    Empty,
    /// Bytes already in memory; `None` once they have been handed out.
    Full(Option<Bytes>),
    /// A request body read from the connection by hyper, and the pace it must keep.
    Incoming(hyper::body::Incoming, Option<BodyPace>),
    /// Any other body.
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Empty => f.write_str("Empty"),
            Kind::Full(bytes) => {
                write!(f, "Full({} bytes)", bytes.as_ref().map_or(0, Bytes::len))
            }
            Kind::Incoming(..) => f.write_str("Incoming"),
            Kind::Boxed(_) => f.write_str("Boxed"),
        }
    }
}

impl Body {
    /// A body with no bytes.
    pub const fn empty() -> Self {
        Body { kind: Kind::Empty }
    }

    /// Wraps any [`http_body::Body`] whose data is [`Bytes`].
    ///
    /// Use this for streaming bodies, such as a file read in chunks.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body {
            kind: Kind::Boxed(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// Reads the whole body into memory, refusing bodies longer than `limit` bytes.
    ///
    /// This is how handlers that need the complete request body read it: a client that
    /// sends more than `limit` gets [`ReadBodyError::TooLarge`] (answer it with 413).
    pub async fn to_bytes(self, limit: usize) -> Result<Bytes, ReadBodyError> {
        if let Kind::Full(bytes) = self.kind {
            let bytes = bytes.unwrap_or_default();
            return if bytes.len() > limit {
                Err(ReadBodyError::TooLarge { limit })
            } else {
                Ok(bytes)
            };
        }
        // Most requests (GET, HEAD) have none: nothing to poll or gather.
        if http_body::Body::is_end_stream(&self) {
            return Ok(Bytes::new());
        }
        let limited = http_body_util::Limited::new(self, limit);
        match limited.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                Err(ReadBodyError::TooLarge { limit })
            }
            Err(error) if error.is::<BodyTooSlow>() => Err(ReadBodyError::TooSlow),
            Err(error) => Err(ReadBodyError::Read(error)),
        }
    }
}

/// Time a request body has before [`ServerConfig::min_body_rate`](crate::ServerConfig::min_body_rate)
/// applies (the rate of a body's first seconds says little: connections start slowly).
pub const BODY_RATE_GRACE: Duration = Duration::from_secs(5);

/// Why [`Body::to_bytes`] could not read a body.
#[derive(Debug, thiserror::Error)]
pub enum ReadBodyError {
    /// The body is longer than the allowed limit.
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The client sent the body too slowly (answer it with 408).
    #[error("{}", BodyTooSlow)]
    TooSlow,
    /// The connection failed while the body was being read.
    #[error("failed to read the body: {0}")]
    Read(BoxError),
}

impl ReadBodyError {
    /// The status a request whose body failed this way is answered with: 413 for a body
    /// over the limit, 408 for one that arrived too slowly, 400 for a broken one.
    pub fn status(&self) -> http::StatusCode {
        match self {
            ReadBodyError::TooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            ReadBodyError::TooSlow => http::StatusCode::REQUEST_TIMEOUT,
            ReadBodyError::Read(_) => http::StatusCode::BAD_REQUEST,
        }
    }
}

/// The answer to a request whose body could not be read: its [status](ReadBodyError::status)
/// with the reason as plain text. After a slow body (408) the server closes the connection,
/// as it does after every 408: the rest of the body may still be on its way, and nobody
/// should wait for it.
impl crate::IntoResponse for ReadBodyError {
    fn into_response(self) -> crate::Response {
        let status = self.status();
        let text = format!(
            "{} {}\n\n{self}\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        );
        (status, text).into_response()
    }
}

/// The error a request body yields when its client stalls: no bytes for
/// [`ServerConfig::body_read_timeout`](crate::ServerConfig::body_read_timeout), or fewer on
/// average than [`ServerConfig::min_body_rate`](crate::ServerConfig::min_body_rate) after
/// the grace period. Handlers answer it with 408 Request Timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body arrived too slowly")]
pub struct BodyTooSlow;

/// How fast a request body must arrive; see [`BodyTooSlow`]. Small, because every
/// request body carries one: the clock is only set up once the body has to wait.
#[derive(Debug)]
pub(crate) struct BodyPace {
    /// Longest wait for the next bytes, in milliseconds.
    gap_ms: u32,
    /// Slowest average rate in bytes per second after [`BODY_RATE_GRACE`]; 0 for none.
    min_rate: u32,
    received: u64,
    clock: Option<Box<PaceClock>>,
}

/// The times a waiting body is measured by.
#[derive(Debug)]
struct PaceClock {
    started: Instant,
    last_data: Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl BodyPace {
    pub(crate) fn new(gap: Duration, min_rate: u64) -> Self {
        BodyPace {
            gap_ms: u32::try_from(gap.as_millis()).unwrap_or(u32::MAX),
            min_rate: u32::try_from(min_rate).unwrap_or(u32::MAX),
            received: 0,
            clock: None,
        }
    }

    /// When the body is late if nothing more arrives.
    fn deadline(&self, started: Instant, last_data: Instant) -> Instant {
        let gap_deadline = last_data + Duration::from_millis(u64::from(self.gap_ms));
        if self.min_rate == 0 {
            return gap_deadline;
        }
        let earned = Duration::from_secs_f64(self.received as f64 / f64::from(self.min_rate));
        gap_deadline.min(started + BODY_RATE_GRACE + earned)
    }

    fn poll_frame(
        &mut self,
        incoming: &mut hyper::body::Incoming,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match http_body::Body::poll_frame(Pin::new(incoming), cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                    if let Some(clock) = &mut self.clock {
                        clock.last_data = Instant::now();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let clock = self.clock.get_or_insert_with(|| {
                    let now = Instant::now();
                    Box::new(PaceClock {
                        started: now,
                        last_data: now,
                        timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
                    })
                });
                let (started, last_data) = (clock.started, clock.last_data);
                let deadline = tokio::time::Instant::from_std(self.deadline(started, last_data));
                let Some(clock) = &mut self.clock else {
                    unreachable!("the clock was set up above")
                };
                if clock.timer.deadline() != deadline {
                    clock.timer.as_mut().reset(deadline);
                }
                match clock.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTooSlow)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl From<hyper::body::Incoming> for Body {
    fn from(incoming: hyper::body::Incoming) -> Self {
        Body {
            kind: Kind::Incoming(incoming, None),
        }
    }
}

impl Body {
    /// A request body that fails with [`BodyTooSlow`] if it does not keep `pace`.
    pub(crate) fn paced(incoming: hyper::body::Incoming, pace: BodyPace) -> Self {
        Body {
            kind: Kind::Incoming(incoming, Some(pace)),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body {
            kind: Kind::Full(Some(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::from(Bytes::from(bytes))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(bytes))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Incoming(incoming, Some(pace)) => pace.poll_frame(incoming, cx),
            Kind::Incoming(incoming, None) => Pin::new(incoming)
                .poll_frame(cx)
                .map_err(|error| Box::new(error) as BoxError),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Incoming(incoming, _) => incoming.is_end_stream(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Incoming(incoming, _) => incoming.size_hint(),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    #[tokio::test]
    async fn full_body_yields_its_bytes_once() {
        let body = Body::from("hello");
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(body.to_bytes(10).await.unwrap(), "hello");
    }

    #[tokio::test]
    async fn to_bytes_refuses_bodies_over_the_limit() {
        let error = Body::from("hello world").to_bytes(5).await.unwrap_err();
        assert!(matches!(error, ReadBodyError::TooLarge { limit: 5 }));

        let streamed = Body::new(http_body_util::Full::new(Bytes::from_static(b"0123456789")));
        let error = streamed.to_bytes(4).await.unwrap_err();
        assert!(matches!(error, ReadBodyError::TooLarge { limit: 4 }));
    }

    #[test]
    fn a_body_must_earn_its_time_after_the_grace_period() {
        let mut pace = BodyPace::new(Duration::from_secs(30), 100);
        let start = Instant::now();
        assert_eq!(pace.deadline(start, start), start + BODY_RATE_GRACE);
        pace.received = 1000;
        // 1000 bytes at 100 B/s buy 10 s beyond the grace period.
        assert_eq!(
            pace.deadline(start, start),
            start + BODY_RATE_GRACE + Duration::from_secs(10)
        );
        pace.received = 1_000_000;
        // The gap between reads still bounds a fast starter that stalls.
        assert_eq!(pace.deadline(start, start), start + Duration::from_secs(30));
        pace.min_rate = 0;
        pace.received = 0;
        assert_eq!(pace.deadline(start, start), start + Duration::from_secs(30));
    }

    #[test]
    fn the_body_stays_small() {
        // Every request and response moves one; the pace must not make it grow much.
        let incoming = std::mem::size_of::<hyper::body::Incoming>();
        let body = std::mem::size_of::<Body>();
        assert!(
            body <= incoming + 32,
            "{body} bytes, hyper's body {incoming}"
        );
    }

    #[test]
    fn empty_body_is_at_end() {
        assert!(Body::empty().is_end_stream());
        assert_eq!(Body::empty().size_hint().exact(), Some(0));
    }
}
