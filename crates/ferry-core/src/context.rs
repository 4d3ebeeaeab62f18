//! What Ferry knows about a request beyond its HTTP message: the connection it came on,
//! its request id and the parameters its route captured.
//!
//! These travel in the request's extensions; [`RequestExt`] reads them conveniently.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::HeaderValue;
use tokio::sync::watch;

use crate::client_addr::ClientAddr;

/// The addresses of the connection a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server address the client connected to.
    pub local: SocketAddr,
    /// Whether the connection is encrypted (HTTPS).
    pub tls: bool,
}

/// The lifecycle of the server a request came through. Long-lived responses (event
/// streams, WebSockets) wait on [`ServerLifecycle::stopping`] so they end when the server
/// starts shutting down instead of holding the shutdown up; readiness checks ask
/// [`ServerLifecycle::is_ready`].
#[derive(Debug, Clone)]
pub struct ServerLifecycle {
    /// Set when the server stops accepting and closes connections.
    stopping: watch::Receiver<bool>,
    /// Set as soon as shutdown is asked for, a
    /// [`shutdown_delay`](crate::ServerConfig::shutdown_delay) before `stopping`.
    draining: watch::Receiver<bool>,
}

impl ServerLifecycle {
    pub(crate) fn new(stopping: watch::Receiver<bool>, draining: watch::Receiver<bool>) -> Self {
        ServerLifecycle { stopping, draining }
    }

    /// Completes once the server has begun closing connections.
    pub async fn stopping(&self) {
        let mut receiver = self.stopping.clone();
        // An error means the server is gone altogether: stopping too.
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }

    /// Whether the server has begun closing connections.
    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Whether the server wants new traffic: false from the moment shutdown is asked for,
    /// while it still serves during its shutdown delay.
    pub fn is_ready(&self) -> bool {
        !*self.draining.borrow() && !*self.stopping.borrow()
    }
}

/// The id of a request: taken from its `x-request-id` header when the client sent a usable
/// one, generated otherwise. It is echoed on the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// The id as text (request ids are always visible ASCII).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters a route pattern captured, in pattern order: `/users/:id` matched against
/// `/users/42` captures `id = "42"`. Values are percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Arc<[(String, String)]>);

impl PathParams {
    /// Builds the parameter list (used by the router).
    pub(crate) fn new(params: Vec<(String, String)>) -> Self {
        PathParams(params.into())
    }

    /// The value captured for `name`, if the pattern has such a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the route captured no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every captured `(name, value)` pair, in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Convenient access to Ferry's request context.
///
/// ```
/// use ferry_core::{Request, RequestExt};
///
/// async fn show_user(request: Request) -> String {
///     let id = request.param("id").unwrap_or("unknown");
///     format!("user {id}")
/// }
/// ```
pub trait RequestExt {
    /// The value of a path parameter captured by the route, e.g. `id` in `/users/:id`.
    fn param(&self, name: &str) -> Option<&str>;
    /// The client's address, when the request came from a Ferry server.
    fn peer_addr(&self) -> Option<SocketAddr>;
    /// The client's IP address: the peer's, or the one a trusted proxy reported (see
    /// [`client_addr`](crate::client_addr)).
    fn client_addr(&self) -> Option<IpAddr>;
    /// The request id, when the request id layer has run.
    fn request_id(&self) -> Option<&RequestId>;
}

impl<B> RequestExt for http::Request<B> {
    fn param(&self, name: &str) -> Option<&str> {
        self.extensions().get::<PathParams>()?.get(name)
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.extensions()
            .get::<ConnectionInfo>()
            .map(|info| info.peer)
    }

    fn client_addr(&self) -> Option<IpAddr> {
        ClientAddr::of(self.extensions())
    }

    fn request_id(&self) -> Option<&RequestId> {
        self.extensions().get::<RequestId>()
    }
}
