//! The per-request side of a connection: the hyper service that adds Ferry's request
//! context, refuses ambiguously framed requests, paces request bodies, closes HTTP/1
//! connections after a 408 and tracks responses until they are sent.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::activity::{CONTENT_LENGTH, ConnectionActivity, InFlightGuard, TRANSFER_ENCODING};
use super::request_target;
use super::shared::ConnectionContext;
use crate::body::BodyPace;
use crate::client_addr::ClientAddr;
use crate::context::{ConnectionInfo, ServerLifecycle};
use crate::{Body, BoxError};

/// The hyper-facing service of one connection: adds connection context to each request
/// and keeps the activity record in step with requests and responses.
#[derive(Clone)]
pub(crate) struct ConnectionService {
    /// The server's shared context: its service is cloned per request, not per
    /// connection, so an idle connection holds no copy of the pipeline.
    pub context: Arc<ConnectionContext>,
    pub info: ConnectionInfo,
    pub lifecycle: ServerLifecycle,
    pub activity: Arc<ConnectionActivity>,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let framing = self.activity.take_framing();
        let guard = InFlightGuard::new(self.activity.clone());
        if is_ambiguously_framed(&request, framing) {
            let response = bad_request_and_close(None).map(|body| TrackedBody {
                body,
                _guard: guard,
            });
            return Box::pin(std::future::ready(Ok(response)));
        }
        if let Some(problem) = request_target::problem(&request) {
            tracing::debug!(peer = %self.info.peer, problem, "request refused");
            let response = bad_request_and_close(Some(problem)).map(|body| TrackedBody {
                body,
                _guard: guard,
            });
            return Box::pin(std::future::ready(Ok(response)));
        }
        let config = &self.context.config;
        // Without trusted proxies the peer is the client: nothing to record.
        let reported = (!config.trusted_proxies.is_empty()).then(|| {
            ClientAddr(
                config
                    .trusted_proxies
                    .client_of(self.info.peer.ip(), request.headers()),
            )
        });
        let mut request = request.map(|incoming| {
            Body::paced(
                incoming,
                BodyPace::new(config.body_read_timeout, config.min_body_rate),
            )
        });
        let extensions = request.extensions_mut();
        extensions.insert(self.info);
        if let Some(client) = reported {
            extensions.insert(client);
        }
        extensions.insert(self.lifecycle.clone());
        let http1 = request.version() <= http::Version::HTTP_11;
        let response = self.context.service.answer(request);
        Box::pin(async move {
            let mut response = response.await;
            if http1 && response.status() == http::StatusCode::REQUEST_TIMEOUT {
                close_after(&mut response);
            }
            Ok(response.map(|body| TrackedBody {
                body,
                _guard: guard,
            }))
        })
    }
}

/// Whether an HTTP/1 request's head named both `Content-Length` and `Transfer-Encoding`
/// (`framing`, from the raw head: hyper keeps only the second): the two framings disagree
/// about where the body ends, which is how requests are smuggled past proxies that pick
/// the other one. RFC 9112 §6.1 lets a server reject it; Ferry does.
fn is_ambiguously_framed<B>(request: &http::Request<B>, framing: u8) -> bool {
    framing == CONTENT_LENGTH | TRANSFER_ENCODING
        && request.version() <= http::Version::HTTP_11
        && request
            .headers()
            .contains_key(http::header::TRANSFER_ENCODING)
}

/// 400 for a request whose head cannot be trusted (ambiguous framing, a bad target or
/// `Host`), saying why when there is more to say; the connection closes after it, so
/// nothing the client sent after the head is read as another request.
fn bad_request_and_close(why: Option<&str>) -> crate::Response {
    let mut response = match why {
        Some(why) => crate::IntoResponse::into_response((
            http::StatusCode::BAD_REQUEST,
            format!("400 Bad Request\n\n{why}\n"),
        )),
        None => crate::response::status_response(http::StatusCode::BAD_REQUEST),
    };
    close_after(&mut response);
    response
}

/// Tells an HTTP/1 client that the connection closes after `response`. Every 408 says so,
/// whichever handler made it (RFC 9110 §15.5.9: the server wants to close the connection;
/// the rest of a slow body may still be on its way and nobody should wait for it). HTTP/2
/// has no such header: a stream ends on its own.
fn close_after<B>(response: &mut http::Response<B>) {
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
}

/// A response body that marks its request finished when hyper is done with it.
pub(crate) struct TrackedBody {
    body: Body,
    _guard: InFlightGuard,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
