//! Ferry's server runtime, usable as a library.
//!
//! `ferry-core` is the part of Ferry that knows HTTP and nothing of files or scripts: a
//! listener with connection limits (in total and per client address), HTTP/1.1
//! (keep-alive, pipelining, chunked bodies; idle connections parked without buffers) and
//! HTTP/2 with prior knowledge on one port, timeouts for slow heads, bodies and readers,
//! graceful shutdown with a readiness drain ([`health`]), a router on `matchit` whose tables
//! can be swapped while serving, and the request pipeline (request ids, access log, limits,
//! rate limits, metrics, CORS, response headers; see [`layers`]). Client addresses behind
//! trusted proxies come from [`client_addr`].
//!
//! The principal type is [`App`]: add routes with handlers (any `async fn(Request) -> impl
//! IntoResponse`), optionally a fallback service and tower layers, then [`App::serve`].
//!
//! ```no_run
//! use ferry_core::{App, Request, RequestExt};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ferry_core::AppError> {
//!     App::new()
//!         .get("/hello", |_req| async { "Hello, world!" })
//!         .get("/users/:id", |req: Request| async move {
//!             format!("user {}", req.param("id").unwrap_or_default())
//!         })
//!         .serve("127.0.0.1:3000")
//!         .await
//! }
//! ```
//!
//! Request context (the client's address, the request id, route parameters) travels in
//! request extensions and is read with [`RequestExt`]. [`Server`] is the lower-level piece
//! for serving any tower service, and [`router::Routes`] is the handle a script engine uses
//! to replace routes at run time.
//!
//! What `ferry serve` and `ferry run` run in production is here too, for library users:
//! [`stack::Stack`] puts metrics, health checks, response headers, CORS, rate limits and
//! authentication around an app in one order; [`prometheus::Metrics`] exports the metrics;
//! [`server::ThreadPerCore`] serves one runtime per core; [`bearer::BearerToken`] guards
//! an endpoint with a token.

pub mod app;
pub mod bearer;
pub mod body;
mod boxed;
pub mod client_addr;
pub mod context;
pub mod handler;
pub mod health;
pub mod layers;
pub mod prometheus;
pub mod response;
pub mod router;
pub mod server;
pub mod sse;
pub mod stack;
pub mod ws;

pub use app::{App, AppError};
pub use body::{BODY_RATE_GRACE, Body, BodyTooSlow, BoxError, ReadBodyError};
pub use boxed::{Answering, BoxService, BoxableService};
pub use context::{ConnectionInfo, PathParams, RequestExt, RequestId, ServerLifecycle};
pub use handler::{BoxFuture, Handler, ServiceHandler};
pub use response::{IntoResponse, Json, status_response};
pub use server::{BindError, Server, ServerConfig, ShutdownHandle, ShutdownReport};

/// A request as Ferry's handlers see it.
pub type Request<B = Body> = http::Request<B>;
/// A response as Ferry's handlers produce it.
pub type Response<B = Body> = http::Response<B>;
