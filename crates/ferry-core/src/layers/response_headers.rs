//! Adds fixed headers to every response (`-H 'Name: value'`, cross-origin isolation, ...).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue};

use crate::Response;

/// Whether a header replaces one the response already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Override,
    IfAbsent,
}

/// Adds headers to every response.
///
/// ```
/// use ferry_core::layers::ResponseHeadersLayer;
/// use http::{HeaderName, HeaderValue};
///
/// let layer = ResponseHeadersLayer::new()
///     .set(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"))
///     .set_if_absent(
///         HeaderName::from_static("cache-control"),
///         HeaderValue::from_static("no-cache"),
///     );
/// assert_eq!(layer.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseHeadersLayer {
    headers: Vec<(HeaderName, HeaderValue, Mode)>,
}

impl ResponseHeadersLayer {
    /// A layer that adds nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` on every response, replacing any value the handler set.
    pub fn set(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value, Mode::Override));
        self
    }

    /// Sets `name` on responses that do not have it already.
    pub fn set_if_absent(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value, Mode::IfAbsent));
        self
    }

    /// How many headers the layer adds.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether the layer adds no headers.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

impl<S> tower::Layer<S> for ResponseHeadersLayer {
    type Service = ResponseHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseHeaders {
            inner,
            headers: self.headers.clone().into(),
        }
    }
}

/// The service made by [`ResponseHeadersLayer`].
#[derive(Debug, Clone)]
pub struct ResponseHeaders<S> {
    inner: S,
    headers: Arc<[(HeaderName, HeaderValue, Mode)]>,
}

impl<S, R> tower::Service<R> for ResponseHeaders<S>
where
    S: tower::Service<R, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseHeadersFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        ResponseHeadersFuture {
            inner: self.inner.call(request),
            headers: self.headers.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ResponseHeaders`].
    pub struct ResponseHeadersFuture<F> {
        #[pin]
        inner: F,
        headers: Arc<[(HeaderName, HeaderValue, Mode)]>,
    }
}

impl<F, E> Future for ResponseHeadersFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        let headers = response.headers_mut();
        // Room for all of them (and the request id after) at once, not one doubling after
        // another.
        headers.reserve(this.headers.len() + 1);
        for (name, value, mode) in this.headers.iter() {
            match mode {
                Mode::Override => {
                    headers.insert(name.clone(), value.clone());
                }
                Mode::IfAbsent => {
                    headers.entry(name).or_insert_with(|| value.clone());
                }
            }
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Body, Request};
    use tower::{ServiceBuilder, ServiceExt};

    #[tokio::test]
    async fn set_overrides_and_set_if_absent_keeps_the_handlers_value() {
        let layer = ResponseHeadersLayer::new()
            .set(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("layer"),
            )
            .set_if_absent(
                HeaderName::from_static("x-b"),
                HeaderValue::from_static("layer"),
            )
            .set_if_absent(
                HeaderName::from_static("x-c"),
                HeaderValue::from_static("layer"),
            );
        let service = ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: Request| async {
                let response = http::Response::builder()
                    .header("x-a", "handler")
                    .header("x-b", "handler")
                    .body(Body::empty())
                    .unwrap();
                Ok::<_, std::convert::Infallible>(response)
            });
        let response = service.oneshot(Request::new(Body::empty())).await.unwrap();
        assert_eq!(response.headers()["x-a"], "layer");
        assert_eq!(response.headers()["x-b"], "handler");
        assert_eq!(response.headers()["x-c"], "layer");
    }
}
