//! [`App`]: routes, a fallback, middleware and server settings, assembled into one service
//! and served.

use std::sync::Arc;

use http::Method;
use tokio::net::ToSocketAddrs;

use crate::layers::{AccessLogLayer, CatchPanicLayer, RequestIdLayer, UriLimitLayer};
use crate::router::{RouteError, Router, RouterService, Routes};
use crate::server::{BindError, Server, ServerConfig, TlsConfig};
use crate::{BoxService, BoxableService, Handler};

/// Why an [`App`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A route could not be added.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// The listening address could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The address did not resolve.
    #[error("cannot resolve the listening address: {0}")]
    Resolve(std::io::Error),
}

type LayerFn = Box<dyn FnOnce(BoxService) -> BoxService + Send>;

/// A web application: routes and handlers, an optional fallback service for unmatched
/// paths, middleware, and server settings.
///
/// ```no_run
/// use ferry_core::{App, Json, Request, RequestExt};
///
/// async fn user(request: Request) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "id": request.param("id") }))
/// }
///
/// # async fn run() -> Result<(), ferry_core::AppError> {
/// App::new()
///     .get("/hello", |_req| async { "Hello, world!" })
///     .get("/users/:id", user)
///     .serve("127.0.0.1:3000")
///     .await
/// # }
/// ```
///
/// Every request passes, in this order: request id → access log → URI length limit → the
/// layers added with [`App::layer`] (first added runs first) → panic guard → router → route
/// handler or fallback.
pub struct App {
    router: Router,
    route_error: Option<RouteError>,
    fallback: Option<BoxService>,
    layers: Vec<LayerFn>,
    config: ServerConfig,
    tls: Option<TlsConfig>,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("router", &self.router)
            .field("fallback", &self.fallback.is_some())
            .field("layers", &self.layers.len())
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl App {
    /// An app with no routes, answering 404 to everything.
    pub fn new() -> Self {
        App {
            router: Router::new(),
            route_error: None,
            fallback: None,
            layers: Vec::new(),
            config: ServerConfig::default(),
            tls: None,
        }
    }

    /// Answers `method` requests on `pattern` with `handler`.
    ///
    /// Patterns are exact paths, `:name` segments and a trailing `*`; see
    /// [`router`](crate::router). An invalid or conflicting pattern is reported when the app
    /// is bound.
    pub fn route(mut self, pattern: &str, method: Method, handler: impl Handler) -> Self {
        if self.route_error.is_none()
            && let Err(error) = self.router.add(pattern, method, Arc::new(handler))
        {
            self.route_error = Some(error);
        }
        self
    }

    /// Answers GET (and HEAD) requests on `pattern`.
    pub fn get(self, pattern: &str, handler: impl Handler) -> Self {
        self.route(pattern, Method::GET, handler)
    }

    /// Answers WebSocket handshakes on `pattern`: a GET over HTTP/1.1, an extended CONNECT
    /// over HTTP/2 (RFC 8441). `handler` answers both; see [`ws::upgrade`](crate::ws::upgrade).
    pub fn websocket(self, pattern: &str, handler: impl Handler) -> Self {
        let for_get = Arc::new(handler);
        let for_connect = for_get.clone();
        self.route(pattern, Method::GET, move |request| for_get.call(request))
            .route(pattern, Method::CONNECT, move |request| {
                for_connect.call(request)
            })
    }

    /// Answers POST requests on `pattern`.
    pub fn post(self, pattern: &str, handler: impl Handler) -> Self {
        self.route(pattern, Method::POST, handler)
    }

    /// Answers PUT requests on `pattern`.
    pub fn put(self, pattern: &str, handler: impl Handler) -> Self {
        self.route(pattern, Method::PUT, handler)
    }

    /// Answers PATCH requests on `pattern`.
    pub fn patch(self, pattern: &str, handler: impl Handler) -> Self {
        self.route(pattern, Method::PATCH, handler)
    }

    /// Answers DELETE requests on `pattern`.
    pub fn delete(self, pattern: &str, handler: impl Handler) -> Self {
        self.route(pattern, Method::DELETE, handler)
    }

    /// Sends requests that match no route to `service` (a static file service, say)
    /// instead of answering 404.
    pub fn fallback(mut self, service: impl BoxableService) -> Self {
        self.fallback = Some(BoxService::new(service));
        self
    }

    /// Wraps the routes and fallback in a tower layer. Layers added first run first.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<BoxService> + Send + 'static,
        L::Service: BoxableService,
    {
        self.layers
            .push(Box::new(move |inner| BoxService::new(layer.layer(inner))));
        self
    }

    /// Uses `config` for connection limits and timeouts.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Serves HTTPS with `tls` (HTTP/2 and HTTP/1.1 offered by ALPN) instead of plain HTTP.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Assembles the request pipeline into one service (the order is documented on [`App`]).
    pub fn into_service(self) -> Result<BoxService, RouteError> {
        Ok(self.into_parts()?.0)
    }

    fn into_parts(self) -> Result<(BoxService, ServerConfig, Option<TlsConfig>), RouteError> {
        if let Some(error) = self.route_error {
            return Err(error);
        }
        let router = RouterService::new(Routes::new(self.router), self.fallback);
        let mut service = BoxService::new(tower::Layer::layer(&CatchPanicLayer, router));
        for layer in self.layers.into_iter().rev() {
            service = layer(service);
        }
        let service = tower::ServiceBuilder::new()
            .layer(RequestIdLayer)
            .layer(AccessLogLayer)
            .layer(UriLimitLayer::new(self.config.max_uri_bytes))
            .service(service);
        Ok((BoxService::new(service), self.config, self.tls))
    }

    /// Binds `addr` (port 0 picks a free port) and returns the server, ready to run.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, AppError> {
        let (service, config, tls) = self.into_parts()?;
        let addr = tokio::net::lookup_host(addr)
            .await
            .map_err(AppError::Resolve)?
            .next()
            .ok_or_else(|| {
                AppError::Resolve(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the address resolved to nothing",
                ))
            })?;
        let server = Server::bind(addr, config, service).await?;
        Ok(match tls {
            Some(tls) => server.with_tls(tls),
            None => server,
        })
    }

    /// Binds `addr` and serves until Ctrl+C or SIGTERM, then shuts down gracefully.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<(), AppError> {
        let server = self.bind(addr).await?;
        server.run().await;
        Ok(())
    }
}
