//! One log line per request: `127.0.0.1 - GET /index.html - 200 OK (1.2ms)`.
//!
//! Lines are `tracing` events at INFO under the target [`ACCESS_LOG_TARGET`], with the
//! parts as fields (`peer`, `method`, `path`, `status`, `duration_ms`, `request_id`) for
//! JSON output. When that target is disabled the layer costs one cached check per request.
//!
//! Query parameters that carry credentials — an OAuth `code` or `state` on a sign-in
//! callback, tokens, passwords (see [`SECRET_PARAMETERS`]) — are logged as `REDACTED`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use http::{Method, StatusCode};

use crate::context::{RequestExt, RequestId};
use crate::{Request, Response};

/// The `tracing` target of access-log events.
pub const ACCESS_LOG_TARGET: &str = "ferry::access";

/// Query parameters whose values never reach the log.
pub const SECRET_PARAMETERS: [&str; 10] = [
    "code",
    "state",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "client_secret",
    "code_verifier",
    "password",
    "session",
];

/// `path` with the values of [`SECRET_PARAMETERS`] in its query replaced by `REDACTED`.
fn redact(path: &str) -> std::borrow::Cow<'_, str> {
    let Some((before, query)) = path.split_once('?') else {
        return std::borrow::Cow::Borrowed(path);
    };
    let secret = |pair: &str| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        SECRET_PARAMETERS
            .iter()
            .any(|secret| secret.eq_ignore_ascii_case(name))
    };
    if !query
        .split('&')
        .any(|pair| secret(pair) && pair.contains('='))
    {
        return std::borrow::Cow::Borrowed(path);
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret(pair) => format!("{name}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect();
    std::borrow::Cow::Owned(format!("{before}?{}", query.join("&")))
}

/// Logs every request once its response headers are ready.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLogLayer;

impl<S> tower::Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog { inner }
    }
}

/// The service made by [`AccessLogLayer`].
#[derive(Debug, Clone)]
pub struct AccessLog<S> {
    inner: S,
}

/// What is remembered about a request until its response is ready.
struct Pending {
    started: Instant,
    peer: Option<std::net::IpAddr>,
    method: Method,
    path: Option<PathAndQuery>,
    request_id: Option<RequestId>,
}

impl<S> tower::Service<Request> for AccessLog<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AccessLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let pending =
            tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO).then(|| Pending {
                started: Instant::now(),
                // The real client behind trusted proxies.
                peer: request.client_addr(),
                method: request.method().clone(),
                path: request.uri().path_and_query().cloned(),
                request_id: request.extensions().get::<RequestId>().cloned(),
            });
        AccessLogFuture {
            inner: self.inner.call(request),
            pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AccessLog`].
    pub struct AccessLogFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, E> Future for AccessLogFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let (Some(pending), Ok(response)) = (this.pending.take(), &result) {
            log(&pending, response.status());
        }
        Poll::Ready(result)
    }
}

fn log(pending: &Pending, status: StatusCode) {
    let elapsed = pending.started.elapsed();
    let peer = Peer(pending.peer);
    let path = redact(pending.path.as_ref().map_or("/", PathAndQuery::as_str));
    let path = path.as_ref();
    let id = pending.request_id.as_ref().map_or("", RequestId::as_str);
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        peer = %peer,
        method = %pending.method,
        path,
        status = status.as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = id,
        "{peer} - {} {path} - {status} ({})",
        pending.method,
        Elapsed(elapsed),
    );
}

struct Peer(Option<std::net::IpAddr>);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("-"),
        }
    }
}

/// A duration the way people read request times: `0.3ms`, `12.4ms`, `1.52s`.
struct Elapsed(Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_secs_f64() * 1000.0;
        if ms < 1000.0 {
            write!(f, "{ms:.1}ms")
        } else {
            write!(f, "{:.2}s", ms / 1000.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_naturally() {
        assert_eq!(Elapsed(Duration::from_micros(1234)).to_string(), "1.2ms");
        assert_eq!(Elapsed(Duration::from_micros(40)).to_string(), "0.0ms");
        assert_eq!(Elapsed(Duration::from_millis(1520)).to_string(), "1.52s");
    }

    #[test]
    fn credentials_in_the_query_are_redacted() {
        assert_eq!(redact("/a?b=1"), "/a?b=1");
        assert_eq!(
            redact("/auth/callback/google?code=abc&state=xyz&iss=https%3A%2F%2Fid"),
            "/auth/callback/google?code=REDACTED&state=REDACTED&iss=https%3A%2F%2Fid"
        );
        assert_eq!(
            redact("/x?Access_Token=t&q=code"),
            "/x?Access_Token=REDACTED&q=code"
        );
        assert_eq!(redact("/x?code"), "/x?code");
    }

    #[test]
    fn peer_without_connection_is_a_dash() {
        assert_eq!(Peer(None).to_string(), "-");
        assert_eq!(Peer(Some([127, 0, 0, 1].into())).to_string(), "127.0.0.1");
    }
}
