//! Serving a route table that can be replaced while the server runs.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use http::StatusCode;
use http::header::ALLOW;

use super::{MatchedRoute, ReportRoute, RouteMatch, Router};
use crate::handler::BoxFuture;
use crate::response::status_response;
use crate::{BoxService, Request, Response};

/// A shared, atomically replaceable route table.
///
/// Requests read the current table without taking a lock; [`Routes::replace`] swaps in a
/// new one (requests already dispatched finish on the table they started with). This is how
/// a script engine changes routes at run time.
///
/// ```
/// use ferry_core::router::{Router, Routes};
/// use http::Method;
///
/// let routes = Routes::new(Router::new());
/// let next = Router::new().route("/new", Method::GET, |_req| async { "new" }).unwrap();
/// routes.replace(next);
/// assert_eq!(routes.current().len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct Routes(Arc<ArcSwap<Router>>);

impl Routes {
    /// Starts with `router` as the current table.
    pub fn new(router: Router) -> Self {
        Routes(Arc::new(ArcSwap::from_pointee(router)))
    }

    /// Makes `router` the current table and returns the previous one.
    pub fn replace(&self, router: Router) -> Arc<Router> {
        self.0.swap(Arc::new(router))
    }

    /// The current table.
    pub fn current(&self) -> Arc<Router> {
        self.0.load_full()
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Routes").field(&*self.0.load()).finish()
    }
}

/// The service that dispatches requests through [`Routes`], handing unmatched paths to a
/// fallback service (or answering 404).
#[derive(Clone)]
pub struct RouterService {
    routes: Routes,
    fallback: Option<BoxService>,
}

impl RouterService {
    /// Dispatches through `routes`; unmatched paths go to `fallback` when there is one.
    pub fn new(routes: Routes, fallback: Option<BoxService>) -> Self {
        RouterService { routes, fallback }
    }
}

impl tower::Service<Request> for RouterService {
    type Response = Response;
    type Error = Infallible;
    type Future = RouterFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> RouterFuture {
        let table = self.routes.0.load();
        match table.lookup(request.method(), request.uri().path()) {
            RouteMatch::Found {
                handler,
                params,
                route,
            } => {
                let report = request
                    .extensions()
                    .get::<ReportRoute>()
                    .map(|_| route.clone());
                if !params.is_empty() {
                    request.extensions_mut().insert(params);
                }
                RouterFuture::Handler(handler.call(request), report)
            }
            RouteMatch::MethodNotAllowed { allow } => {
                let mut response = status_response(StatusCode::METHOD_NOT_ALLOWED);
                response.headers_mut().insert(ALLOW, allow.clone());
                RouterFuture::Ready(Some(Box::new(response)))
            }
            RouteMatch::NotFound => match &self.fallback {
                Some(fallback) => RouterFuture::Fallback(fallback.answer(request)),
                None => RouterFuture::Ready(Some(Box::new(status_response(StatusCode::NOT_FOUND)))),
            },
        }
    }
}

/// The future of [`RouterService`].
pub enum RouterFuture {
    /// A route handler is running; its pattern goes on the response when asked for.
    Handler(BoxFuture<Response>, Option<MatchedRoute>),
    /// The fallback service is running.
    Fallback(BoxFuture<Response>),
    /// The answer is known already.
    Ready(Option<Box<Response>>),
}

impl Future for RouterFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            RouterFuture::Handler(future, report) => {
                let mut response = std::task::ready!(future.as_mut().poll(cx));
                if let Some(route) = report.take() {
                    response.extensions_mut().insert(route);
                }
                Poll::Ready(Ok(response))
            }
            RouterFuture::Fallback(future) => future.as_mut().poll(cx).map(Ok),
            RouterFuture::Ready(response) => Poll::Ready(Ok(*response
                .take()
                .expect("RouterFuture polled after completion"))),
        }
    }
}
