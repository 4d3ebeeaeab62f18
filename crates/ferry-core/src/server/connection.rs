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

use metrics::{Counter, Gauge};

use super::activity::{
    ActivityIo, ByteCounters, CONTENT_LENGTH, ConnectionActivity, InFlightGuard, TRANSFER_ENCODING,
    Timeouts, Verdict,
};
use crate::body::BodyPace;
use crate::client_addr::ClientAddr;
use crate::context::{ConnectionInfo, ServerLifecycle};
use crate::{Body, BoxError, BoxService, ServerConfig};

/// How long a connection whose request head timed out gets to send its 408 answer.
const EXPIRED_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// What every connection of one server shares.
pub(crate) struct ConnectionContext {
    pub builder: auto::Builder<TokioExecutor>,
    pub service: BoxService,
    pub config: Arc<ServerConfig>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Set once shutdown has been asked for (readiness).
    pub draining: watch::Receiver<bool>,
    pub metrics: ConnectionMetrics,
}

/// Connection-level metrics, looked up once per server (see
/// [`HttpMetricsLayer`](crate::layers::HttpMetricsLayer) for request metrics). Without an
/// installed recorder these are no-ops.
pub(crate) struct ConnectionMetrics {
    pub open: Gauge,
    pub accepted: Counter,
    pub refused_per_ip: Counter,
    pub tls_ok: Counter,
    pub tls_failed: Counter,
    pub header_timeouts: Counter,
    pub send_timeouts: Counter,
    pub received_bytes: Counter,
    pub sent_bytes: Counter,
}

impl ConnectionMetrics {
    pub(crate) fn new() -> Self {
        ConnectionMetrics {
            open: metrics::gauge!("ferry_connections_open"),
            accepted: metrics::counter!("ferry_connections_total"),
            refused_per_ip: metrics::counter!("ferry_connections_refused_total", "reason" => "per_ip_limit"),
            tls_ok: metrics::counter!("ferry_tls_handshakes_total", "result" => "ok"),
            tls_failed: metrics::counter!("ferry_tls_handshakes_total", "result" => "failed"),
            header_timeouts: metrics::counter!("ferry_request_header_timeouts_total"),
            send_timeouts: metrics::counter!("ferry_send_timeouts_total"),
            received_bytes: metrics::counter!("ferry_received_bytes_total"),
            sent_bytes: metrics::counter!("ferry_sent_bytes_total"),
        }
    }
}

/// Keeps the open-connections gauge in step with one connection's life.
struct OpenConnection<'a>(&'a Gauge);

impl<'a> OpenConnection<'a> {
    fn new(metrics: &'a ConnectionMetrics) -> Self {
        metrics.accepted.increment(1);
        metrics.open.increment(1.0);
        OpenConnection(&metrics.open)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The body of the answer to a client over [`ServerConfig::max_connections_per_ip`] (on
/// plain HTTP only: on a TLS port the connection is just closed).
const TOO_MANY_CONNECTIONS: &str = "This address has too many connections open.\n";

/// Turns away a connection from a client that already holds its share.
pub(crate) async fn refuse_over_limit(
    mut stream: TcpStream,
    peer: std::net::SocketAddr,
    context: Arc<ConnectionContext>,
) {
    context.metrics.refused_per_ip.increment(1);
    tracing::debug!(%peer, "too many connections from this address; refused");
    if context.tls.is_some() {
        return;
    }
    let answer = async {
        let answer = format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n\
connection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{TOO_MANY_CONNECTIONS}",
            TOO_MANY_CONNECTIONS.len()
        );
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent, so closing does not reset the connection before it
        // has read the answer.
        let mut sink = [0u8; 4096];
        while tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), answer).await;
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
    let _open = OpenConnection::new(&context.metrics);
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
        Ok(Some(tls)) => {
            context.metrics.tls_ok.increment(1);
            serve_connection(tls, info, &context, shutdown).await;
        }
        Ok(None) => context.metrics.tls_failed.increment(1),
        Err(_) => {
            context.metrics.tls_failed.increment(1);
            tracing::debug!(peer = %info.peer, "TLS handshake not finished in time");
        }
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
    let io = TokioIo::new(ActivityIo::new(
        stream,
        activity.clone(),
        ByteCounters {
            received: context.metrics.received_bytes.clone(),
            sent: context.metrics.sent_bytes.clone(),
        },
    ));
    let hyper_service = ConnectionService {
        service: context.service.clone(),
        info,
        lifecycle: ServerLifecycle::new(shutdown.clone(), context.draining.clone()),
        activity: activity.clone(),
        config: config.clone(),
    };
    let connection = context
        .builder
        .serve_connection_with_upgrades(io, hyper_service);
    tokio::pin!(connection);

    let timeouts = Timeouts {
        header: config.header_read_timeout,
        keep_alive: config.keep_alive_timeout,
        send: config.send_timeout,
    };
    let timer = tokio::time::sleep(timeouts.header.min(timeouts.keep_alive).min(timeouts.send));
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
            () = timer.as_mut(), if !closing || activity.is_expired() => {
                if activity.is_expired() {
                    tracing::debug!(peer = %info.peer, "the 408 answer was not taken; closing");
                    return;
                }
                match activity.check(timeouts) {
                    Verdict::CheckAt(at) => timer.as_mut().reset(at.into()),
                    Verdict::HeaderTimeout => {
                        context.metrics.header_timeouts.increment(1);
                        if activity.head_bytes_seen() && activity.expire() {
                            // The connection's next read answers 408 and fails; give it a
                            // moment to be written.
                            tracing::debug!(peer = %info.peer, "request head not received in time; answering 408");
                            timer.as_mut().reset((std::time::Instant::now() + EXPIRED_GRACE).into());
                            closing = true;
                            continue;
                        }
                        tracing::debug!(peer = %info.peer, "no request received in time; closing");
                        return;
                    }
                    Verdict::SendTimeout => {
                        context.metrics.send_timeouts.increment(1);
                        tracing::debug!(peer = %info.peer, "the client stopped reading; closing");
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
    config: Arc<ServerConfig>,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let framing = self.activity.take_framing();
        let guard = InFlightGuard::new(self.activity.clone());
        if is_ambiguously_framed(&request, framing) {
            let response = ambiguous_framing_answer().map(|body| TrackedBody {
                body,
                _guard: guard,
            });
            return Box::pin(std::future::ready(Ok(response)));
        }
        let config = &self.config;
        let client = if config.trusted_proxies.is_empty() {
            self.info.peer.ip()
        } else {
            config
                .trusted_proxies
                .client_of(self.info.peer.ip(), request.headers())
        };
        let mut request = request.map(|incoming| {
            Body::paced(
                incoming,
                BodyPace::new(config.body_read_timeout, config.min_body_rate),
            )
        });
        let extensions = request.extensions_mut();
        extensions.insert(self.info);
        extensions.insert(ClientAddr(client));
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

/// 400 for an ambiguously framed request; the connection closes after it, so nothing the
/// client sent after the head is read as another request.
fn ambiguous_framing_answer() -> crate::Response {
    let mut response = crate::response::status_response(http::StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
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
