//! The production stack: the cross-cutting steps every Ferry server runs around its routes
//! — metrics, health checks, response headers, CORS, rate limits, authentication — in one
//! order, written once here. `ferry serve`, `ferry run` and library users all assemble their
//! pipeline with it.
//!
//! ```no_run
//! use ferry_core::App;
//! use ferry_core::health::HealthChecks;
//! use ferry_core::layers::{
//!     CorsLayer, RateLimitLayer, RateLimitQuota, ResponseHeadersLayer, SecurityHeaders,
//! };
//! use ferry_core::prometheus::Metrics;
//! use ferry_core::stack::Stack;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = Metrics::install()?;
//! let stack = Stack {
//!     count_requests: true,
//!     metrics: Some(metrics),
//!     health: Some(HealthChecks::new("1.0.0")),
//!     headers: Some(SecurityHeaders::default().add_to(ResponseHeadersLayer::new(), false)),
//!     cors: Some(CorsLayer::any_origin()),
//!     rate_limit: Some(RateLimitLayer::new().limit_all("100/s".parse::<RateLimitQuota>()?)),
//!     ..Stack::default()
//! };
//! stack
//!     .apply(App::new().get("/hello", |_req| async { "hi" }))
//!     .serve("127.0.0.1:3000")
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Inside it (and outside every layer here), [`App`] always runs request ids, the access
//! log and the URI length limit; inside it, the panic guard and the router.

use std::sync::Arc;

use crate::App;
use crate::health::{self, HealthChecks};
use crate::layers::{
    BasicAuthLayer, CorsLayer, HttpMetricsLayer, RateLimitLayer, ResponseHeadersLayer,
};
use crate::prometheus::{self, Metrics};

/// The steps of the stack, each off unless set. See [`Stack::apply`] for their order.
/// Cloning gives another stack of the same steps (for one app per server thread).
#[derive(Clone, Default)]
pub struct Stack {
    /// Count and time every request for Prometheus (a recorder must be installed, see
    /// [`Metrics::install`]). Default off.
    pub count_requests: bool,
    /// Serve `GET /metrics` on the app's own port. Default off.
    pub metrics: Option<Metrics>,
    /// Answer `/health`, `/live` and `/ready` as routes of the app (before its fallback). An
    /// app whose own routes may answer these paths (scripts) places them itself instead.
    /// Default off.
    pub health: Option<HealthChecks>,
    /// Headers every answer carries unless its handler set its own: security headers,
    /// cross-origin isolation, the user's own. Default none.
    pub headers: Option<ResponseHeadersLayer>,
    /// Cross-origin resource sharing. Default off.
    pub cors: Option<CorsLayer>,
    /// Per-client rate limits; the stack's own paths (health checks, metrics) are exempt.
    /// Default off.
    pub rate_limit: Option<RateLimitLayer>,
    /// Who may enter. Default: everyone.
    pub auth: Option<Authentication>,
}

/// The authentication step: who a request is for, and whether it may enter.
#[derive(Clone)]
pub enum Authentication {
    /// One user name and password (HTTP Basic), as `ferry serve --auth` asks for.
    Basic(BasicAuthLayer),
    /// A step made elsewhere — sign-in and sessions (`ferry-auth`) — which may add routes
    /// (its `/auth/*` pages) and layers to the app at this point of the stack.
    Custom(Arc<dyn Fn(App) -> App + Send + Sync>),
    /// A sign-in step in two parts: `identify` finds who a request is for before the rate
    /// limit (which then counts a signed-in user's requests under the user, see
    /// [`RateLimitKey`](crate::layers::RateLimitKey)); `install` adds the routes and the
    /// admission check innermost, as [`Authentication::Custom`] does.
    SignIn {
        /// Adds the identifying layer; used only when there is a rate limit.
        identify: Arc<dyn Fn(App) -> App + Send + Sync>,
        /// Adds the routes and the layer that admits or refuses.
        install: Arc<dyn Fn(App) -> App + Send + Sync>,
    },
}

impl Authentication {
    /// The step `install`, which adds its routes and layers to the app it is given.
    pub fn custom(install: impl Fn(App) -> App + Send + Sync + 'static) -> Self {
        Authentication::Custom(Arc::new(install))
    }

    /// A sign-in step: `identify` runs before the rate limit, `install` innermost.
    pub fn sign_in(
        identify: impl Fn(App) -> App + Send + Sync + 'static,
        install: impl Fn(App) -> App + Send + Sync + 'static,
    ) -> Self {
        Authentication::SignIn {
            identify: Arc::new(identify),
            install: Arc::new(install),
        }
    }
}

impl std::fmt::Debug for Authentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authentication::Basic(basic) => f.debug_tuple("Basic").field(basic).finish(),
            Authentication::Custom(_) => f.write_str("Custom(..)"),
            Authentication::SignIn { .. } => f.write_str("SignIn(..)"),
        }
    }
}

impl Stack {
    /// Wraps `app`'s routes in the stack, outermost first:
    ///
    /// 1. **Metrics** — outermost, so every answer is counted and timed: 429s, 401s and
    ///    preflights too.
    /// 2. **`/metrics` and health checks** — routes of the app; they pass the layers below
    ///    like any route, and the rate limit lets them through.
    /// 3. **Response headers** — every answer carries them, refusals included, unless its
    ///    handler set its own.
    /// 4. **CORS** — a preflight is answered before it counts against a client's allowance
    ///    or needs credentials (browsers send none with it).
    /// 5. **Rate limit** — before authentication, so guessing passwords is limited too; a
    ///    sign-in step's identification runs just before it, so that a signed-in user's
    ///    requests count under the user rather than the address.
    /// 6. **Authentication** — innermost: a refused request is still counted, limited and
    ///    answered with the headers.
    pub fn apply(self, app: App) -> App {
        let mut app = app;
        if self.count_requests {
            app = app.layer(HttpMetricsLayer::new());
        }
        if let Some(metrics) = &self.metrics {
            app = metrics.route(app);
        }
        if let Some(health) = self.health {
            app = health.install(app);
        }
        if let Some(headers) = self.headers {
            app = app.layer(headers);
        }
        if let Some(cors) = self.cors {
            app = app.layer(cors);
        }
        if let Some(limits) = self.rate_limit.filter(|limits| !limits.is_empty()) {
            if let Some(Authentication::SignIn { identify, .. }) = &self.auth {
                app = identify(app);
            }
            app = app.layer(exempt_own_paths(limits));
        }
        match self.auth {
            Some(Authentication::Basic(basic)) => app.layer(basic),
            Some(Authentication::Custom(install) | Authentication::SignIn { install, .. }) => {
                install(app)
            }
            None => app,
        }
    }
}

/// Health checks and metrics are never rate limited: a load balancer or Prometheus polling
/// from one address must not be turned away.
fn exempt_own_paths(limits: RateLimitLayer) -> RateLimitLayer {
    [
        health::HEALTH_PATH,
        health::LIVE_PATH,
        health::READY_PATH,
        prometheus::METRICS_PATH,
    ]
    .into_iter()
    .fold(limits, RateLimitLayer::exempt)
}
