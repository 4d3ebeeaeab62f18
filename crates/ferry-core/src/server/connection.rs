//! Serving one accepted connection: HTTP/1.1 or HTTP/2 (hyper-util's auto builder tells
//! them apart by the client's first bytes), with Ferry's timeouts and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use super::activity::{ActivityIo, ConnectionActivity, InFlightGuard, Verdict};
use crate::context::{ConnectionInfo, ServerLifecycle};
use crate::{Body, BoxError, BoxService, ServerConfig};

/// What every connection of one server shares.
pub(crate) struct ConnectionContext {
    pub builder: auto::Builder<TokioExecutor>,
    pub service: BoxService,
    pub config: Arc<ServerConfig>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The body of the answer to a plain-HTTP request on a TLS port.
const PLAIN_HTTP_ON_TLS_PORT: &str = "This server speaks HTTPS: use an https:// URL instead.\n";

/// Takes an accepted connection through the TLS handshake (when the server has TLS) and
/// serves it.
pub(crate) async fn handle(
    stream: TcpStream,
    mut info: ConnectionInfo,
    context: Arc<ConnectionContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(acceptor) = &context.tls else {
        return serve_connection(stream, info, &context, shutdown).await;
    };
    info.tls = true;
    let timeout = context.config.header_read_timeout;
    let handshake = async {
        if speaks_plain_http(&stream).await {
            let mut stream = stream;
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
connection: close\r\ncontent-length: {}\r\n\r\n{PLAIN_HTTP_ON_TLS_PORT}",
                PLAIN_HTTP_ON_TLS_PORT.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
            tracing::debug!(peer = %info.peer, "plain HTTP on the TLS port; answered 400");
            return None;
        }
        match acceptor.accept(stream).await {
            Ok(tls) => Some(tls),
            Err(error) => {
                tracing::debug!(peer = %info.peer, %error, "TLS handshake failed");
                None
            }
        }
    };
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(timeout, handshake) => accepted,
        _ = shutdown.changed() => return,
    };
    match accepted {
        Ok(Some(tls)) => serve_connection(tls, info, &context, shutdown).await,
        Ok(None) => {}
        Err(_) => tracing::debug!(peer = %info.peer, "TLS handshake not finished in time"),
    }
}

/// Whether the client's first byte is a letter (an HTTP method) rather than a TLS record.
async fn speaks_plain_http(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) => first[0] != TLS_HANDSHAKE && first[0].is_ascii_uppercase(),
        _ => false,
    }
}

/// Builds the hyper connection builder once per server.
pub(crate) fn http_builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .max_buf_size(config.max_header_bytes)
        // Not `pipeline_flush`: with it, hyper 1.12 never sends its automatic 400/431
        // answers to malformed requests.
        // Ferry times request heads itself (see `activity`); hyper's timer would also
        // close idle keep-alive connections early.
        .header_read_timeout(None);
    if config.max_headers != 100 {
        // hyper keeps up to 100 headers on the stack; only a different limit costs a
        // heap allocation per request.
        builder.http1().max_headers(config.max_headers);
    }
    builder
        .http2()
        .max_concurrent_streams(config.http2_max_concurrent_streams)
        // WebSockets over HTTP/2 (RFC 8441): extended CONNECT with :protocol.
        .enable_connect_protocol()
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Serves `stream` until the client leaves, a timeout closes it, or the server shuts down.
async fn serve_connection<I>(
    stream: I,
    info: ConnectionInfo,
    context: &ConnectionContext,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &context.config;
    tracing::debug!(peer = %info.peer, "connection opened");
    let activity = Arc::new(ConnectionActivity::new());
    let io = TokioIo::new(ActivityIo::new(stream, activity.clone()));
    let hyper_service = ConnectionService {
        service: context.service.clone(),
        info,
        lifecycle: ServerLifecycle::new(shutdown.clone()),
        activity: activity.clone(),
    };
    let connection = context
        .builder
        .serve_connection_with_upgrades(io, hyper_service);
    tokio::pin!(connection);

    let timer = tokio::time::sleep(config.header_read_timeout.min(config.keep_alive_timeout));
    tokio::pin!(timer);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                match result {
                    Ok(()) => tracing::debug!(peer = %info.peer, "connection closed"),
                    Err(error) => {
                        tracing::debug!(peer = %info.peer, %error, "connection closed with an error");
                    }
                }
                return;
            }
            changed = shutdown.changed(), if !closing => {
                // A dropped sender means the server is gone: close as on shutdown.
                let _ = changed;
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = timer.as_mut(), if !closing => {
                match activity.check(config.header_read_timeout, config.keep_alive_timeout) {
                    Verdict::CheckAt(at) => timer.as_mut().reset(at.into()),
                    Verdict::HeaderTimeout => {
                        tracing::debug!(peer = %info.peer, "request head not received in time; closing");
                        return;
                    }
                    Verdict::Idle => {
                        tracing::debug!(peer = %info.peer, "idle keep-alive connection; closing");
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// The hyper-facing service of one connection: adds connection context to each request
/// and keeps the activity record in step with requests and responses.
#[derive(Clone)]
struct ConnectionService {
    service: BoxService,
    info: ConnectionInfo,
    lifecycle: ServerLifecycle,
    activity: Arc<ConnectionActivity>,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let guard = InFlightGuard::new(self.activity.clone());
        let mut request = request.map(Body::from);
        let extensions = request.extensions_mut();
        extensions.insert(self.info);
        extensions.insert(self.lifecycle.clone());
        let response = self.service.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _guard: guard,
            }))
        })
    }
}

/// A response body that marks its request finished when hyper is done with it.
struct TrackedBody {
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
