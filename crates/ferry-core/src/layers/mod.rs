//! The request pipeline's middleware, one per module, each in the same shape: a `FooLayer`
//! holding its settings, the `Foo<S>` service it wraps around the next one, and a future.
//!
//! [`App`](crate::App) assembles the fixed part of the pipeline in one place
//! (`App::into_service`): request id → access log → URI limit → your layers → panic guard →
//! router.
//!
//! [`SecurityHeaders`] is not a layer of its own: it is the set of security headers a
//! [`ResponseHeadersLayer`] sends.

mod access_log;
mod basic_auth;
mod catch_panic;
mod cors;
mod http_metrics;
mod rate_limit;
mod request_id;
mod response_headers;
mod security_headers;
mod timeout;
mod uri_limit;

pub use access_log::{
    ACCESS_LOG_TARGET, AccessLog, AccessLogFuture, AccessLogLayer, SECRET_PARAMETERS,
};
pub use basic_auth::{BasicAuth, BasicAuthFuture, BasicAuthLayer};
pub use catch_panic::{CatchPanic, CatchPanicFuture, CatchPanicLayer};
pub use cors::{Cors, CorsFuture, CorsLayer};
pub use http_metrics::{HttpMetrics, HttpMetricsFuture, HttpMetricsLayer, UNMATCHED_ROUTE};
pub use rate_limit::{
    InvalidQuota, InvalidRule, RateLimit, RateLimitFuture, RateLimitKey, RateLimitLayer,
    RateLimitQuota, RateLimitRule,
};
pub use request_id::{RequestIdFuture, RequestIdLayer, RequestIdService, X_REQUEST_ID};
pub use response_headers::{ResponseHeaders, ResponseHeadersFuture, ResponseHeadersLayer};
pub use security_headers::{FrameOptions, SecurityHeaders};
pub use timeout::{Timeout, TimeoutFuture, TimeoutLayer};
pub use uri_limit::{UriLimit, UriLimitFuture, UriLimitLayer};
