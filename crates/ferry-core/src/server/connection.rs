//! Serving one accepted connection: after its start (see `handshake`), HTTP/1.1 or HTTP/2
//! (see `protocol`) with Ferry's timeouts, parking idle connections, and graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use metrics::Gauge;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::activity::{
    ActivityIo, ByteCounters, ConnectionActivity, PARK_AFTER, Timeouts, Verdict,
};
use super::handshake::{first_bytes, tls_handshake};
use super::protocol::{self, Protocol, Transport};
use super::service::ConnectionService;
use super::shared::{ConnectionContext, ConnectionMetrics};
use crate::context::{ConnectionInfo, ServerLifecycle};

/// How long a connection whose request head timed out gets to send its 408 answer.
const EXPIRED_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

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

/// The body of the answer to a client over [`crate::ServerConfig::max_connections_per_ip`] (on
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

/// Takes an accepted connection through the TLS handshake (when the server has TLS) or
/// the first bytes of plain HTTP, and serves it.
///
/// The phases are boxed futures awaited one after the other, so that the task of an idle
/// connection is small.
pub(crate) async fn handle(
    stream: TcpStream,
    mut info: ConnectionInfo,
    context: Arc<ConnectionContext>,
    shutdown: watch::Receiver<bool>,
) {
    let _open = OpenConnection::new(&context.metrics);
    // Boxed, and built in a statement of its own (built where it is awaited, its unboxed
    // value would be kept in this future's state as well).
    let serving: Pin<Box<dyn Future<Output = ()> + Send + '_>> = match &context.tls {
        None => Box::pin(serve_plain(stream, info, &context, shutdown)),
        Some(acceptor) => {
            info.tls = true;
            Box::pin(serve_tls(stream, acceptor, info, &context, shutdown))
        }
    };
    serving.await;
}

/// A plain connection: nothing is set up until the client's first bytes say which HTTP
/// it speaks.
async fn serve_plain(
    stream: TcpStream,
    info: ConnectionInfo,
    context: &Arc<ConnectionContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    // In a block: the finished phase's box is freed before serving starts.
    let protocol = {
        let first = Box::pin(first_bytes(&stream, &info, context, &mut shutdown));
        first.await
    };
    let Some(protocol) = protocol else {
        return;
    };
    let serving = Box::pin(serve_connection(stream, protocol, info, context, shutdown));
    serving.await;
}

/// A TLS connection: the handshake, then HTTP as ALPN chose.
async fn serve_tls(
    stream: TcpStream,
    acceptor: &tokio_rustls::TlsAcceptor,
    info: ConnectionInfo,
    context: &Arc<ConnectionContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let accepted = {
        let handshake = Box::pin(tls_handshake(
            stream,
            acceptor,
            &info,
            context,
            &mut shutdown,
        ));
        handshake.await
    };
    let Some(tls) = accepted else {
        return;
    };
    let protocol = protocol::negotiated(&tls);
    let serving = Box::pin(serve_connection(tls, protocol, info, context, shutdown));
    serving.await;
}

/// Serves `stream`, speaking `protocol`, until the client leaves, a timeout closes it, or
/// the server shuts down. An idle HTTP/1.1 connection on plain TCP is parked: hyper's
/// connection (and its buffers) is dropped while the socket waits for the client's next
/// request, so idle keep-alive connections cost little memory.
async fn serve_connection<T: Transport>(
    stream: T,
    protocol: Protocol,
    info: ConnectionInfo,
    context: &Arc<ConnectionContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = &context.config;
    tracing::debug!(peer = %info.peer, ?protocol, "connection opened");
    let parkable = stream.parkable() && protocol == Protocol::Http1;
    let activity = Arc::new(ConnectionActivity::new(parkable));
    let mut io = TokioIo::new(ActivityIo::new(
        stream,
        activity.clone(),
        ByteCounters {
            received: context.metrics.received_bytes.clone(),
            sent: context.metrics.sent_bytes.clone(),
        },
    ));
    let service = ConnectionService {
        context: context.clone(),
        info,
        lifecycle: ServerLifecycle::new(shutdown.clone(), context.draining.clone()),
        activity: activity.clone(),
    };
    let run = Run {
        activity: &activity,
        timeouts: Timeouts {
            header: config.header_read_timeout,
            keep_alive: config.keep_alive_timeout,
            send: config.send_timeout,
        },
        info: &info,
        context,
    };
    if protocol == Protocol::Http2 {
        let _busy = context.busy.enter();
        let connection = Box::pin(context.builders.http2.serve_connection(io, service));
        run.drive(connection, &mut shutdown).await;
        return;
    }
    loop {
        let busy = context.busy.enter();
        let connection = Box::pin(
            context
                .builders
                .http1
                .serve_connection(io, service.clone())
                .with_upgrades(),
        );
        let Some(idle) = run.drive(connection, &mut shutdown).await else {
            return;
        };
        let Some(parts) = Pin::into_inner(idle).into_parts() else {
            return;
        };
        // Everything but the socket goes now, not at the end of this iteration: an empty
        // read buffer still holds hyper's allocation, and the service is cloned anew on
        // resuming.
        let http1::Parts {
            io: socket,
            read_buf,
            service: used,
            ..
        } = parts;
        drop(used);
        io = socket;
        drop(busy);
        if !read_buf.is_empty() {
            // The client had already begun its next request: serve it at once.
            io.inner_mut().unread(read_buf);
            continue;
        }
        drop(read_buf);
        tracing::trace!(peer = %info.peer, "idle; parked");
        if !run.park(&io, &mut shutdown).await {
            tracing::debug!(peer = %info.peer, "parked connection closed");
            return;
        }
    }
}

/// A hyper connection future Ferry drives.
trait Served: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<T: Transport> Served
    for http1::UpgradeableConnection<TokioIo<ActivityIo<T>>, ConnectionService>
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

impl<T: Transport> Served
    for http2::Connection<TokioIo<ActivityIo<T>>, ConnectionService, TokioExecutor>
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http2::Connection::graceful_shutdown(self);
    }
}

/// What driving one connection needs.
struct Run<'a> {
    activity: &'a ConnectionActivity,
    timeouts: Timeouts,
    info: &'a ConnectionInfo,
    context: &'a ConnectionContext,
}

impl Run<'_> {
    /// Polls `connection` with Ferry's timeouts until it ends (`None`) or has been idle
    /// long enough to park (`Some`, handed back to take its socket).
    async fn drive<C: Served>(
        &self,
        mut connection: Pin<Box<C>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Pin<Box<C>>> {
        let peer = self.info.peer;
        let first_check = self
            .timeouts
            .header
            .min(self.timeouts.keep_alive)
            .min(self.timeouts.send);
        let timer = tokio::time::sleep(first_check);
        self.activity
            .checks_at(std::time::Instant::now() + first_check);
        tokio::pin!(timer);
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    match result {
                        Ok(()) => tracing::debug!(%peer, "connection closed"),
                        Err(error) => {
                            tracing::debug!(%peer, %error, "connection closed with an error");
                        }
                    }
                    return None;
                }
                changed = shutdown.changed(), if !closing => {
                    // A dropped sender means the server is gone: close as on shutdown.
                    let _ = changed;
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                () = self.activity.wait_request_finished(), if self.activity.parkable() && !closing => {
                    // Check soon whether the connection has gone idle.
                    let at = std::time::Instant::now() + PARK_AFTER;
                    self.activity.checks_at(at);
                    timer.as_mut().reset(at.into());
                }
                () = timer.as_mut(), if !closing || self.activity.is_expired() => {
                    if self.activity.is_expired() {
                        tracing::debug!(%peer, "the 408 answer was not taken; closing");
                        return None;
                    }
                    match self.activity.check(self.timeouts) {
                        Verdict::CheckAt(at) => {
                            self.activity.checks_at(at);
                            timer.as_mut().reset(at.into());
                        }
                        Verdict::Park => return Some(connection),
                        Verdict::HeaderTimeout => {
                            self.context.metrics.header_timeouts.increment(1);
                            if self.activity.head_bytes_seen() && self.activity.expire() {
                                // The connection's next read answers 408 and fails; give it
                                // a moment to be written.
                                tracing::debug!(%peer, "request head not received in time; answering 408");
                                timer.as_mut().reset(tokio::time::Instant::now() + EXPIRED_GRACE);
                                closing = true;
                                continue;
                            }
                            tracing::debug!(%peer, "no request received in time; closing");
                            return None;
                        }
                        Verdict::SendTimeout => {
                            self.context.metrics.send_timeouts.increment(1);
                            tracing::debug!(%peer, "the client stopped reading; closing");
                            return None;
                        }
                        Verdict::Idle => {
                            tracing::debug!(%peer, "idle keep-alive connection; closing");
                            closing = true;
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        }
    }

    /// Waits, without a hyper connection, until the client sends its next request (true),
    /// or the keep-alive timeout or shutdown closes the connection (false).
    async fn park<T: Transport>(
        &self,
        io: &TokioIo<ActivityIo<T>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let idle_until = self.activity.idle_deadline(self.timeouts.keep_alive);
        tokio::select! {
            ready = io.inner().get_ref().readable() => ready.is_ok(),
            _ = shutdown.changed() => false,
            () = tokio::time::sleep_until(idle_until.into()) => false,
        }
    }
}
