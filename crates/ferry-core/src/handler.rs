//! Request handlers: anything that turns a request into a response.

use std::future::Future;
use std::pin::Pin;

use crate::{BoxService, BoxableService, IntoResponse, Request, Response};

/// A boxed, sendable future, as returned by [`Handler::call`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Something that answers requests.
///
/// Every `async fn(Request) -> impl IntoResponse` (and every closure of that shape that is
/// `Clone + Send + Sync`) is a handler:
///
/// ```
/// use ferry_core::{Handler, Request};
///
/// async fn hello(_request: Request) -> &'static str {
///     "Hello, world!"
/// }
///
/// fn takes_handler(_handler: impl Handler) {}
/// takes_handler(hello);
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, request: Request) -> BoxFuture<Response>;
}

impl<F, Fut, R> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    fn call(&self, request: Request) -> BoxFuture<Response> {
        let future = self(request);
        Box::pin(async move { future.await.into_response() })
    }
}

/// Adapts a tower service (such as a static file service) so it can be used as a [`Handler`].
#[derive(Clone)]
pub struct ServiceHandler(BoxService);

impl ServiceHandler {
    /// Wraps `service`.
    pub fn new(service: impl BoxableService) -> Self {
        ServiceHandler(BoxService::new(service))
    }
}

impl Handler for ServiceHandler {
    fn call(&self, request: Request) -> BoxFuture<Response> {
        self.0.answer(request)
    }
}
