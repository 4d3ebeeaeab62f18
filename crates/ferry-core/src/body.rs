//! The one body type that flows through Ferry, for requests and responses alike.
//!
//! [`Body`] keeps the common cases cheap: an empty body and a body that is already in
//! memory need no allocation beyond their bytes, and a request body from hyper is passed
//! through without boxing. Anything else (a file stream, a body from another crate) is
//! boxed once.

use std::pin::Pin;
use std::task::{Context, Poll};

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
    /// A request body read from the connection by hyper.
    Incoming(hyper::body::Incoming),
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
            Kind::Incoming(_) => f.write_str("Incoming"),
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
        let limited = http_body_util::Limited::new(self, limit);
        match limited.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                Err(ReadBodyError::TooLarge { limit })
            }
            Err(error) => Err(ReadBodyError::Read(error)),
        }
    }
}

/// Why [`Body::to_bytes`] could not read a body.
#[derive(Debug, thiserror::Error)]
pub enum ReadBodyError {
    /// The body is longer than the allowed limit.
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The connection failed while the body was being read.
    #[error("failed to read the body: {0}")]
    Read(BoxError),
}

impl From<hyper::body::Incoming> for Body {
    fn from(incoming: hyper::body::Incoming) -> Self {
        Body {
            kind: Kind::Incoming(incoming),
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
            Kind::Incoming(incoming) => Pin::new(incoming)
                .poll_frame(cx)
                .map_err(|error| Box::new(error) as BoxError),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Incoming(incoming) => incoming.is_end_stream(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Incoming(incoming) => incoming.size_hint(),
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
    fn empty_body_is_at_end() {
        assert!(Body::empty().is_end_stream());
        assert_eq!(Body::empty().size_hint().exact(), Some(0));
    }
}
