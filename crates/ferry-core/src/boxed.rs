//! [`BoxService`]: a type-erased service that is shared, not copied. Cloning it is one
//! reference count, however many layers it wraps, so a server can take a fresh handle
//! per request without rebuilding its pipeline.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::ServiceExt;

use crate::handler::BoxFuture;
use crate::{Request, Response};

/// A type-erased, cloneable service from requests to responses; what [`App`](crate::App)
/// assembles and [`Server`](crate::Server) serves. It is always ready: each call readies
/// a clone of the wrapped service (for Ferry's layers and handlers, a few reference
/// counts) and calls that.
#[derive(Clone)]
pub struct BoxService(Arc<dyn Shared>);

/// A service behind a shared reference.
trait Shared: Send + Sync {
    fn call(&self, request: Request) -> BoxFuture<Response>;
}

/// What [`BoxService::new`] takes (and [`App`](crate::App) accepts as a fallback or a
/// layer's service): a tower service that answers every request — its refusals are
/// responses, never `Err` — clones cheaply and moves between threads.
pub trait BoxableService:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> BoxableService for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

impl<S: BoxableService> Shared for S {
    fn call(&self, request: Request) -> BoxFuture<Response> {
        let answer = self.clone().oneshot(request);
        Box::pin(async move {
            match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    }
}

impl BoxService {
    /// Wraps `service`.
    pub fn new(service: impl BoxableService) -> Self {
        BoxService(Arc::new(service))
    }

    /// Answers `request` without a clone of this handle.
    pub fn answer(&self, request: Request) -> BoxFuture<Response> {
        self.0.call(request)
    }
}

impl std::fmt::Debug for BoxService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxService")
    }
}

impl tower::Service<Request> for BoxService {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        Answering(self.0.call(request))
    }
}

/// The response future of a [`BoxService`] called as a tower service.
pub struct Answering(BoxFuture<Response>);

impl Future for Answering {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx).map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_one_service_and_answer() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let service = BoxService::new(tower::service_fn(move |request: Request| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                Ok::<_, Infallible>(Response::new(crate::Body::from(
                    request.uri().path().to_owned(),
                )))
            }
        }));
        let clone = service.clone();
        assert!(Arc::ptr_eq(&service.0, &clone.0));
        let answered = clone.answer(Request::new(crate::Body::empty())).await;
        assert_eq!(answered.status(), http::StatusCode::OK);
        let through_tower = service
            .oneshot(
                http::Request::get("/there")
                    .body(crate::Body::empty())
                    .unwrap_or_default(),
            )
            .await;
        let Ok(response) = through_tower;
        let body = response.into_body().to_bytes(1024).await;
        assert_eq!(body.ok().as_deref(), Some(&b"/there"[..]));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
