//! Turns a panicking handler into a 500 answer for that one request.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::StatusCode;

use crate::response::status_response;
use crate::{Request, Response};

/// Catches panics in the inner service, logs them, and answers 500, so a bug in one handler
/// never takes down the connection or other requests on it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> tower::Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// The service made by [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> tower::Service<Request> for CatchPanic<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CatchPanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // A cheap clone (shared bytes), kept only to say which request panicked.
        let uri = request.uri().clone();
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(inner) => CatchPanicFuture {
                inner: Some(inner),
                uri,
            },
            Err(panic) => {
                report(&uri, panic.as_ref());
                CatchPanicFuture { inner: None, uri }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`CatchPanic`]; `inner` is `None` when the call itself panicked.
    pub struct CatchPanicFuture<F> {
        #[pin]
        inner: Option<F>,
        uri: http::Uri,
    }
}

impl<F, E> Future for CatchPanicFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(Ok(status_response(StatusCode::INTERNAL_SERVER_ERROR)));
        };
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                report(this.uri, panic.as_ref());
                this.inner.set(None);
                Poll::Ready(Ok(status_response(StatusCode::INTERNAL_SERVER_ERROR)))
            }
        }
    }
}

fn report(uri: &http::Uri, panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(
        path = uri.path(),
        panic = message,
        "a handler panicked; answered 500"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use tower::{ServiceBuilder, ServiceExt};

    #[tokio::test]
    async fn a_panicking_handler_answers_500() {
        let service = ServiceBuilder::new().layer(CatchPanicLayer).service_fn(
            |request: Request| async move {
                if request.uri().path() == "/boom" {
                    panic!("boom");
                }
                Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
            },
        );
        let boom = http::Request::get("/boom").body(Body::empty()).unwrap();
        let response = service.clone().oneshot(boom).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let fine = http::Request::get("/fine").body(Body::empty()).unwrap();
        assert_eq!(
            service.oneshot(fine).await.unwrap().status(),
            StatusCode::OK
        );
    }
}
