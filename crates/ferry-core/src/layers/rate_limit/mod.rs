//! Per-client rate limits with 429 answers; see [`RateLimitLayer`].

mod limiter;
mod quota;

use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, StatusCode};

use self::limiter::{Client, Limiter, Verdict};
pub use self::quota::{InvalidQuota, InvalidRule, RateLimitQuota, RateLimitRule};

use crate::client_addr::ClientAddr;
use crate::response::IntoResponse;
use crate::{Request, Response};

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
/// come through trusted proxies are counted per real client. A request a step before the
/// limit gave a [`RateLimitKey`] (the signed-in user's id, from the identity step) is
/// counted under that key instead, wherever it comes from: users behind one address do not
/// share an allowance, and one user does not get more by changing addresses.
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

/// Who a request is counted as instead of its address: set by a step that runs before the
/// limit (the identity step of `ferry-auth` sets the signed-in user's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimitKey(pub Arc<str>);

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
            match limiter.check(&client) {
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

/// Who a request is counted as: its key, else its client address.
fn client_of(request: &Request) -> Client {
    if let Some(RateLimitKey(key)) = request.extensions().get() {
        return Client::Key(key.clone());
    }
    Client::Address(
        ClientAddr::of(request.extensions()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
    )
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

    #[tokio::test]
    async fn a_keyed_request_is_counted_under_its_key_from_any_address() {
        let service = service(RateLimitLayer::new().limit_all("2/min".parse().unwrap()));
        let as_ann = |ip: &str| {
            let mut request = request_from("/", ip);
            request
                .extensions_mut()
                .insert(RateLimitKey(Arc::from("user-ann")));
            request
        };
        for ip in ["192.0.2.1", "192.0.2.2"] {
            let response = service.clone().oneshot(as_ann(ip)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let refused = service.clone().oneshot(as_ann("192.0.2.3")).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        // The address ann used last still has its own, anonymous allowance.
        let anonymous = service
            .oneshot(request_from("/", "192.0.2.3"))
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::OK);
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
