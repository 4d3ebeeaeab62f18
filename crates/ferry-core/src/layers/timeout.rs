//! A deadline for handlers: 504 Gateway Timeout when no response is ready in time.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::StatusCode;
use tokio::time::Sleep;

use crate::response::status_response;
use crate::{Request, Response};

/// Answers 504 Gateway Timeout to a request whose handler has not produced a response
/// within a deadline, and drops the handler's work. The deadline covers the time to the
/// response head; a body that streams afterwards (a file, an event stream) is not cut.
///
/// ```
/// use ferry_core::App;
/// use ferry_core::layers::TimeoutLayer;
/// use std::time::Duration;
///
/// let app = App::new()
///     .get("/report", |_req| async { "done" })
///     .layer(TimeoutLayer::new(Duration::from_secs(10)));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    deadline: Duration,
}

impl TimeoutLayer {
    /// Gives each request `deadline` to produce its response head.
    pub fn new(deadline: Duration) -> Self {
        TimeoutLayer { deadline }
    }
}

impl<S> tower::Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            deadline: self.deadline,
        }
    }
}

/// The service made by [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    deadline: Duration,
}

impl<S> tower::Service<Request> for Timeout<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        TimeoutFuture {
            inner: self.inner.call(request),
            sleep: tokio::time::sleep(self.deadline),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
    }
}

impl<F, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(status_response(StatusCode::GATEWAY_TIMEOUT))),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use tower::{ServiceBuilder, ServiceExt};

    fn service(
        work: Duration,
    ) -> impl tower::Service<Request, Response = Response, Error = std::convert::Infallible> {
        ServiceBuilder::new()
            .layer(TimeoutLayer::new(Duration::from_millis(100)))
            .service_fn(move |_req: Request| async move {
                tokio::time::sleep(work).await;
                Ok::<_, std::convert::Infallible>(Response::new(Body::from("done")))
            })
    }

    fn request() -> Request {
        http::Request::get("/").body(Body::empty()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_handler_gets_504_and_a_quick_one_its_answer() {
        let slow = service(Duration::from_secs(5))
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
        let quick = service(Duration::from_millis(10))
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(quick.status(), StatusCode::OK);
    }
}
