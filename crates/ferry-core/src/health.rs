//! Health checks for load balancers and orchestrators: `/health`, `/live` and `/ready`.
//!
//! - `GET /live` answers 200 while the process can answer at all (a liveness probe).
//! - `GET /ready` answers 200 while the server wants traffic and 503 from the moment
//!   shutdown is asked for. With a
//!   [`shutdown_delay`](crate::ServerConfig::shutdown_delay) the server keeps serving for
//!   that long after the 503s begin, so a load balancer takes it out of rotation before
//!   connections drain.
//! - `GET /health` answers like `/ready` (`healthy` or `draining`), with the version and
//!   uptime in its JSON body, and what each [check](HealthChecks::with_check) reports
//!   (a database, say) under its name. A check reports; it does not change the status.
//!
//! Answers are JSON and never cached.
//!
//! ```
//! use ferry_core::App;
//! use ferry_core::health::HealthChecks;
//!
//! let app = HealthChecks::new(env!("CARGO_PKG_VERSION")).install(App::new());
//! # let _ = app;
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Method, StatusCode, header};
use serde_json::json;

use crate::router::Router;
use crate::{App, IntoResponse, Json, Request, Response, ServerLifecycle};

/// The paths the checks answer on.
pub const HEALTH_PATH: &str = "/health";
/// See [`HEALTH_PATH`].
pub const LIVE_PATH: &str = "/live";
/// See [`HEALTH_PATH`].
pub const READY_PATH: &str = "/ready";

/// A part of the application `/health` reports on, such as a database: the JSON value it
/// answers goes under its name in the report.
pub type HealthCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>> + Send + Sync>;

/// The three health endpoints; see the [module docs](self).
#[derive(Clone)]
pub struct HealthChecks {
    version: Arc<str>,
    started: Instant,
    checks: Vec<(Arc<str>, HealthCheck)>,
}

impl std::fmt::Debug for HealthChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks: Vec<&str> = self.checks.iter().map(|(name, _)| &**name).collect();
        f.debug_struct("HealthChecks")
            .field("version", &self.version)
            .field("checks", &checks)
            .finish()
    }
}

impl HealthChecks {
    /// Checks that report `version` (the application's, usually `CARGO_PKG_VERSION`).
    pub fn new(version: &str) -> Self {
        HealthChecks {
            version: version.into(),
            started: Instant::now(),
            checks: Vec::new(),
        }
    }

    /// Also reports what `check` answers, under `name`, in `/health`.
    pub fn with_check(mut self, name: &str, check: HealthCheck) -> Self {
        self.checks.push((name.into(), check));
        self
    }

    /// Adds the three routes to `app`.
    pub fn install(self, app: App) -> App {
        let health = self.clone();
        app.get(LIVE_PATH, live)
            .get(READY_PATH, ready)
            .get(HEALTH_PATH, move |request: Request| {
                let health = health.clone();
                let (status, _) = readiness(&request);
                async move { health.report(status).await }
            })
    }

    /// The three routes as a table of their own, for a server whose other routes should
    /// win (`ferry run` serves them after the scripts' routes, so a script may answer
    /// `/live` itself).
    pub fn into_router(self) -> Router {
        let mut router = Router::new();
        let added = router
            .add(LIVE_PATH, Method::GET, Arc::new(live))
            .and_then(|()| router.add(READY_PATH, Method::GET, Arc::new(ready)))
            .and_then(|()| {
                router.add(
                    HEALTH_PATH,
                    Method::GET,
                    Arc::new(move |request: Request| {
                        let health = self.clone();
                        let (status, _) = readiness(&request);
                        async move { health.report(status).await }
                    }),
                )
            });
        added.expect("three distinct static paths always fit in an empty table");
        router
    }

    async fn report(&self, status: StatusCode) -> Response {
        let mut body = json!({
            "status": if status.is_success() { "healthy" } else { "draining" },
            "version": &*self.version,
            "uptime_seconds": self.started.elapsed().as_secs(),
        });
        for (name, check) in &self.checks {
            let answer = check().await;
            if let Some(fields) = body.as_object_mut() {
                fields.insert(name.to_string(), answer);
            }
        }
        no_store((status, Json(body)).into_response())
    }
}

async fn live(_request: Request) -> Response {
    no_store(Json(json!({ "status": "alive" })).into_response())
}

async fn ready(request: Request) -> Response {
    let (status, text) = readiness(&request);
    no_store((status, Json(json!({ "status": text }))).into_response())
}

/// 200 `ready` while the server wants traffic, 503 `draining` once shutdown has begun.
fn readiness(request: &Request) -> (StatusCode, &'static str) {
    let ready = request
        .extensions()
        .get::<ServerLifecycle>()
        .is_none_or(ServerLifecycle::is_ready);
    if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
