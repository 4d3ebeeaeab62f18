//! Refuses request targets longer than a limit with 414 URI Too Long.

use std::pin::Pin;
use std::task::{Context, Poll};

use http::StatusCode;

use crate::response::status_response;
use crate::{Request, Response};

/// Answers 414 to requests whose target (authority, path and query) is longer than a limit.
#[derive(Debug, Clone, Copy)]
pub struct UriLimitLayer {
    max_bytes: usize,
}

impl UriLimitLayer {
    /// Refuses targets longer than `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        UriLimitLayer { max_bytes }
    }
}

impl<S> tower::Layer<S> for UriLimitLayer {
    type Service = UriLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        UriLimit {
            inner,
            max_bytes: self.max_bytes,
        }
    }
}

/// The service made by [`UriLimitLayer`].
#[derive(Debug, Clone)]
pub struct UriLimit<S> {
    inner: S,
    max_bytes: usize,
}

impl<S> tower::Service<Request> for UriLimit<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = UriLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let uri = request.uri();
        let length = uri.authority().map_or(0, |a| a.as_str().len())
            + uri.path_and_query().map_or(0, |pq| pq.as_str().len());
        if length > self.max_bytes {
            UriLimitFuture { inner: None }
        } else {
            UriLimitFuture {
                inner: Some(self.inner.call(request)),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`UriLimit`]; `inner` is `None` when the target was too long.
    pub struct UriLimitFuture<F> {
        #[pin]
        inner: Option<F>,
    }
}

impl<F, E> Future for UriLimitFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.as_pin_mut() {
            Some(inner) => inner.poll(cx),
            None => Poll::Ready(Ok(status_response(StatusCode::URI_TOO_LONG))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use tower::{ServiceBuilder, ServiceExt};

    #[tokio::test]
    async fn long_targets_get_414_and_short_ones_pass() {
        let service = ServiceBuilder::new()
            .layer(UriLimitLayer::new(16))
            .service_fn(|_req: Request| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
            });
        let long = http::Request::get("/0123456789abcdefg")
            .body(Body::empty())
            .unwrap();
        let response = service.clone().oneshot(long).await.unwrap();
        assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
        let short = http::Request::get("/ok").body(Body::empty()).unwrap();
        assert_eq!(
            service.oneshot(short).await.unwrap().status(),
            StatusCode::OK
        );
    }
}
