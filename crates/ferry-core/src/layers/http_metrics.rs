//! Request metrics through the [`metrics`] facade; see [`HttpMetricsLayer`].

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::Method;
use metrics::Gauge;

use crate::router::{MatchedRoute, ReportRoute};
use crate::{Request, Response};

/// The `route` label of requests that no route pattern answered.
pub const UNMATCHED_ROUTE: &str = "(none)";

/// Request metrics through the [`metrics`] facade: requests by method, route and status, a
/// latency histogram, and the requests in flight.
///
/// Nothing is recorded until the application installs a recorder (Ferry's binary installs
/// the Prometheus one when metrics are turned on); without one every call is a no-op. Install
/// the recorder before building the layer: the in-flight gauge is looked up once.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `ferry_http_requests_total` | counter | `method`, `route`, `status` |
/// | `ferry_http_request_duration_seconds` | histogram | `method`, `route` |
/// | `ferry_http_requests_in_flight` | gauge | |
///
/// `route` is the pattern that answered (`/users/:id`), never the raw path, so the number
/// of series stays bounded; requests no route answered (static files, 404s) are `(none)`.
/// Methods outside the standard nine are counted as `OTHER`. The duration runs until the
/// response head is ready (a long stream counts its set-up, not its life).
#[derive(Clone, Debug)]
pub struct HttpMetricsLayer {
    in_flight: Gauge,
}

impl HttpMetricsLayer {
    /// A layer reporting to the installed recorder.
    pub fn new() -> Self {
        HttpMetricsLayer {
            in_flight: metrics::gauge!("ferry_http_requests_in_flight"),
        }
    }
}

impl Default for HttpMetricsLayer {
    fn default() -> Self {
        HttpMetricsLayer::new()
    }
}

impl<S> tower::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics {
            inner,
            in_flight: self.in_flight.clone(),
        }
    }
}

/// The service made by [`HttpMetricsLayer`].
#[derive(Clone, Debug)]
pub struct HttpMetrics<S> {
    inner: S,
    in_flight: Gauge,
}

impl<S> tower::Service<Request> for HttpMetrics<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = HttpMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let method = method_label(request.method());
        request.extensions_mut().insert(ReportRoute);
        HttpMetricsFuture {
            inner: self.inner.call(request),
            record: Some(Recording::start(method, self.in_flight.clone())),
        }
    }
}

/// One request being measured; leaving the in-flight count when dropped, so a request
/// whose client went away is not counted forever.
struct Recording {
    method: &'static str,
    started: Instant,
    in_flight: Gauge,
}

impl Recording {
    fn start(method: &'static str, in_flight: Gauge) -> Self {
        in_flight.increment(1.0);
        Recording {
            method,
            started: Instant::now(),
            in_flight,
        }
    }

    fn finish(self, response: &Response) {
        let route: metrics::SharedString = match response.extensions().get::<MatchedRoute>() {
            Some(MatchedRoute(pattern)) => Arc::clone(pattern).into(),
            None => UNMATCHED_ROUTE.into(),
        };
        let status = response.status().as_u16().to_string();
        metrics::histogram!(
            "ferry_http_request_duration_seconds",
            "method" => self.method,
            "route" => route.clone()
        )
        .record(self.started.elapsed().as_secs_f64());
        metrics::counter!(
            "ferry_http_requests_total",
            "method" => self.method,
            "route" => route,
            "status" => status
        )
        .increment(1);
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.in_flight.decrement(1.0);
    }
}

/// The `method` label: the standard methods by name, anything else as `OTHER` (methods
/// are client-chosen text, and every distinct label value is a new series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

pin_project_lite::pin_project! {
    /// The future of [`HttpMetrics`].
    pub struct HttpMetricsFuture<F> {
        #[pin]
        inner: F,
        record: Option<Recording>,
    }
}

impl<F, E> Future for HttpMetricsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some(record)) = (&result, this.record.take()) {
            record.finish(response);
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "OTHER"
        );
    }
}
