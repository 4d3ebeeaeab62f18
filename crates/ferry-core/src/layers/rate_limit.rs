//! Per-client rate limits with 429 answers; see [`RateLimitLayer`].

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::{HeaderValue, StatusCode};

use crate::client_addr::ClientAddr;
use crate::response::IntoResponse;
use crate::{Request, Response};

/// How many requests a client may make in a period: `100/s`, `600/min`, `1000/h`. The whole
/// allowance may be used at once; it refills evenly over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitQuota {
    /// Requests allowed per period.
    pub requests: NonZeroU32,
    /// The period.
    pub period: Duration,
}

/// A quota that is not `N/s`, `N/min` or `N/h` with N at least 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a rate: write requests per period, such as 100/s, 600/min or 1000/h")]
pub struct InvalidQuota(pub String);

impl FromStr for RateLimitQuota {
    type Err = InvalidQuota;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidQuota(text.to_owned());
        let (count, unit) = text.trim().split_once('/').ok_or_else(invalid)?;
        let requests = count.trim().parse::<NonZeroU32>().map_err(|_| invalid())?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(invalid()),
        };
        Ok(RateLimitQuota { requests, period })
    }
}

impl std::fmt::Display for RateLimitQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

/// A limit on the paths under a prefix (`/api` covers `/api` and `/api/...`, not
/// `/apiary`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    prefix: String,
    quota: RateLimitQuota,
}

impl RateLimitRule {
    /// Limits requests whose path is `prefix` or lies under it.
    pub fn new(prefix: &str, quota: RateLimitQuota) -> Self {
        RateLimitRule {
            prefix: prefix.trim_end_matches(['/', '*']).to_owned(),
            quota,
        }
    }

    fn applies_to(&self, path: &str) -> bool {
        match path.strip_prefix(&self.prefix) {
            Some(rest) => rest.is_empty() || rest.starts_with('/') || self.prefix.is_empty(),
            None => false,
        }
    }
}

/// A rule that is not `PATH=RATE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a route limit: write PATH=RATE, such as /api/login=5/min")]
pub struct InvalidRule(pub String);

impl FromStr for RateLimitRule {
    type Err = InvalidRule;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidRule(text.to_owned());
        let (path, rate) = text.split_once('=').ok_or_else(invalid)?;
        if !path.trim().starts_with('/') {
            return Err(invalid());
        }
        let quota = rate.parse().map_err(|_| invalid())?;
        Ok(RateLimitRule::new(path.trim(), quota))
    }
}

type KeyedLimiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// How often, at most, buckets of clients that have gone quiet are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// One quota's buckets, one per client address.
struct Limiter {
    quota: RateLimitQuota,
    buckets: KeyedLimiter,
    /// `RateLimit-Policy`, e.g. `100;w=1`.
    policy: HeaderValue,
    limit: HeaderValue,
    created: Instant,
    /// Seconds since `created` at the last clean-up.
    forgotten_at: AtomicU64,
}

/// What one limit said about one request.
enum Verdict {
    Allowed { remaining: u32, reset: Duration },
    Refused { retry_after: Duration },
}

impl Limiter {
    fn new(quota: RateLimitQuota) -> Self {
        let interval = quota.period / quota.requests.get();
        let governor_quota = Quota::with_period(interval.max(Duration::from_nanos(1)))
            .expect("the interval is above zero")
            .allow_burst(quota.requests);
        Limiter {
            quota,
            buckets: RateLimiter::keyed(governor_quota).with_middleware(),
            policy: HeaderValue::from_str(&format!(
                "{};w={}",
                quota.requests,
                quota.period.as_secs()
            ))
            .expect("digits and ;w= are valid header text"),
            limit: HeaderValue::from(quota.requests.get()),
            created: Instant::now(),
            forgotten_at: AtomicU64::new(0),
        }
    }

    fn check(&self, client: IpAddr) -> Verdict {
        self.forget_quiet_clients();
        match self.buckets.check_key(&client) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.quota.requests.get().saturating_sub(remaining);
                Verdict::Allowed {
                    remaining,
                    reset: self.quota.period / self.quota.requests.get() * used,
                }
            }
            Err(not_until) => Verdict::Refused {
                retry_after: not_until.wait_time_from(self.buckets.clock().now()),
            },
        }
    }

    /// Drops the buckets of clients whose allowance is full again, so the table does not
    /// grow with every address ever seen.
    fn forget_quiet_clients(&self) {
        let now = self.created.elapsed().as_secs();
        let last = self.forgotten_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) < FORGET_EVERY.as_secs() {
            return;
        }
        if self
            .forgotten_at
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
    }
}

/// Limits how often one client address may call: 429 Too Many Requests with `Retry-After`
/// once its allowance is spent, and `RateLimit-*` headers on every answer so well-behaved
/// clients can pace themselves.
///
/// Each limit is a GCRA bucket per client address (the `governor` crate): a quota of
/// `100/s` lets a client send 100 requests at once and then one every 10 ms. A limit can
/// apply to every request or to the paths under a prefix (`/api/login` at `5/min`); a
/// request must pass every limit that applies to it.
///
/// The client address is [`ClientAddr`](crate::client_addr::ClientAddr), so requests that
/// come through trusted proxies are counted per real client.
///
/// ```
/// use ferry_core::App;
/// use ferry_core::layers::{RateLimitLayer, RateLimitRule};
///
/// let layer = RateLimitLayer::new()
///     .limit_all("100/s".parse().unwrap())
///     .limit(RateLimitRule::new("/login", "5/min".parse().unwrap()));
/// let app = App::new().layer(layer);
/// # let _ = app;
/// ```
#[derive(Clone, Default)]
pub struct RateLimitLayer {
    all: Option<Arc<Limiter>>,
    routes: Vec<(RateLimitRule, Arc<Limiter>)>,
    exempt: Vec<Arc<str>>,
}

impl std::fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("all", &self.all.as_ref().map(|l| l.quota))
            .field(
                "routes",
                &self.routes.iter().map(|(rule, _)| rule).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RateLimitLayer {
    /// A layer with no limits yet.
    pub fn new() -> Self {
        RateLimitLayer::default()
    }

    /// Limits every request of each client address to `quota`.
    pub fn limit_all(mut self, quota: RateLimitQuota) -> Self {
        self.all = Some(Arc::new(Limiter::new(quota)));
        self
    }

    /// Adds a limit on the paths under a prefix (on top of [`limit_all`](Self::limit_all)).
    pub fn limit(mut self, rule: RateLimitRule) -> Self {
        let limiter = Arc::new(Limiter::new(rule.quota));
        self.routes.push((rule, limiter));
        self
    }

    /// Leaves requests for exactly `path` unlimited (health checks, metrics).
    pub fn exempt(mut self, path: &str) -> Self {
        self.exempt.push(path.into());
        self
    }

    /// Whether any limit is set.
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.routes.is_empty()
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limits: self.clone(),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    limits: RateLimitLayer,
}

/// The headers to add to an allowed request's response.
struct Allowance {
    limiter: Arc<Limiter>,
    remaining: u32,
    reset: Duration,
}

impl<S> tower::Service<Request> for RateLimit<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let path = request.uri().path();
        if self.limits.exempt.iter().any(|exempt| **exempt == *path) {
            return RateLimitFuture {
                state: State::Inner {
                    future: self.inner.call(request),
                    allowance: None,
                },
            };
        }
        let client = client_of(&request);
        let applying = self.limits.all.iter().chain(
            self.limits
                .routes
                .iter()
                .filter(|(rule, _)| rule.applies_to(path))
                .map(|(_, limiter)| limiter),
        );
        // The tightest limit is the one reported.
        let mut tightest: Option<Allowance> = None;
        for limiter in applying {
            match limiter.check(client) {
                Verdict::Allowed { remaining, reset } => {
                    if tightest.as_ref().is_none_or(|t| remaining < t.remaining) {
                        tightest = Some(Allowance {
                            limiter: limiter.clone(),
                            remaining,
                            reset,
                        });
                    }
                }
                Verdict::Refused { retry_after } => {
                    metrics::counter!("ferry_rate_limited_total").increment(1);
                    return RateLimitFuture {
                        state: State::Refused {
                            response: Some(refusal(limiter, retry_after)),
                        },
                    };
                }
            }
        }
        RateLimitFuture {
            state: State::Inner {
                future: self.inner.call(request),
                allowance: tightest,
            },
        }
    }
}

/// The client address a request is counted under.
fn client_of(request: &Request) -> IpAddr {
    ClientAddr::of(request.extensions()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Whole seconds, rounded up (a client told 0 would retry at once).
fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

fn refusal(limiter: &Limiter, retry_after: Duration) -> Response {
    let seconds = ceil_seconds(retry_after).max(1);
    let text = format!(
        "429 Too Many Requests\n\nthis client is over its limit of {}; retry in {seconds} s\n",
        limiter.quota
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, text).into_response();
    let headers = response.headers_mut();
    headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    headers.insert("ratelimit-limit", limiter.limit.clone());
    headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
    headers.insert("ratelimit-reset", HeaderValue::from(seconds));
    headers.insert("ratelimit-policy", limiter.policy.clone());
    response
}

pin_project_lite::pin_project! {
    /// The future of [`RateLimit`].
    pub struct RateLimitFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Inner { #[pin] future: F, allowance: Option<Allowance> },
        Refused { response: Option<Response> },
    }
}

impl<F, E> Future for RateLimitFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("a refused future is polled to completion once"))),
            StateProjection::Inner { future, allowance } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                if let Some(allowance) = allowance.take() {
                    let headers = response.headers_mut();
                    headers.insert("ratelimit-limit", allowance.limiter.limit.clone());
                    headers.insert(
                        "ratelimit-remaining",
                        HeaderValue::from(allowance.remaining),
                    );
                    headers.insert(
                        "ratelimit-reset",
                        HeaderValue::from(ceil_seconds(allowance.reset)),
                    );
                    headers.insert("ratelimit-policy", allowance.limiter.policy.clone());
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use tower::{ServiceBuilder, ServiceExt};

    fn request_from(path: &str, ip: &str) -> Request {
        let mut request = http::Request::get(path).body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ClientAddr(ip.parse().unwrap()));
        request
    }

    fn service(
        layer: RateLimitLayer,
    ) -> impl tower::Service<
        Request,
        Response = Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone {
        ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: Request| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
            })
    }

    #[test]
    fn quotas_parse_and_print() {
        let quota: RateLimitQuota = "600/min".parse().unwrap();
        assert_eq!(quota.requests.get(), 600);
        assert_eq!(quota.period, Duration::from_secs(60));
        assert_eq!(quota.to_string(), "600/min");
        for bad in ["", "0/s", "10", "10/day", "x/s", "-1/s"] {
            assert!(bad.parse::<RateLimitQuota>().is_err(), "{bad}");
        }
        let rule: RateLimitRule = "/api/login=5/min".parse().unwrap();
        assert!(rule.applies_to("/api/login"));
        assert!(rule.applies_to("/api/login/x"));
        assert!(!rule.applies_to("/api/loginx"));
        assert!(!rule.applies_to("/"));
        assert!("api=5/s".parse::<RateLimitRule>().is_err());
        assert!("/api=5".parse::<RateLimitRule>().is_err());
    }

    #[tokio::test]
    async fn over_the_limit_gets_429_with_retry_after() {
        let service = service(RateLimitLayer::new().limit_all("3/min".parse().unwrap()));
        for left in (0..3).rev() {
            let response = service
                .clone()
                .oneshot(request_from("/", "192.0.2.1"))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["ratelimit-limit"], "3");
            assert_eq!(
                response.headers()["ratelimit-remaining"],
                left.to_string().as_str()
            );
            assert_eq!(response.headers()["ratelimit-policy"], "3;w=60");
        }
        let refused = service
            .clone()
            .oneshot(request_from("/", "192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=20).contains(&retry), "{retry}");
        assert_eq!(refused.headers()["ratelimit-remaining"], "0");
        // Another client has its own allowance.
        let other = service
            .oneshot(request_from("/", "192.0.2.2"))
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn route_limits_apply_under_their_prefix_only() {
        let layer = RateLimitLayer::new().limit("/login=1/h".parse().unwrap());
        let service = service(layer);
        let ok = |path: &'static str| {
            let service = service.clone();
            async move {
                service
                    .oneshot(request_from(path, "192.0.2.9"))
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(ok("/login").await, StatusCode::OK);
        assert_eq!(ok("/login").await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(ok("/other").await, StatusCode::OK);
        assert_eq!(ok("/other").await, StatusCode::OK);
    }
}
