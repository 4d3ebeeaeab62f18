//! Cross-Origin Resource Sharing: answers preflight requests and marks responses as
//! readable from other origins.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ALLOW, ORIGIN, VARY,
};
use http::{HeaderValue, Method, StatusCode};

use crate::{Body, Request, Response};

/// Answers CORS preflights and adds CORS headers to responses.
///
/// [`CorsLayer::any_origin`] allows every origin (`Access-Control-Allow-Origin: *`), without
/// credentials, which is what a development file server wants:
///
/// ```
/// use ferry_core::layers::CorsLayer;
/// use http::Method;
///
/// let cors = CorsLayer::any_origin().allow_methods(&[Method::GET, Method::HEAD]);
/// # let _ = cors;
/// ```
///
/// [`CorsLayer::allow_origins`] allows a list of origins: an allowed `Origin` is reflected
/// (with `Vary: Origin`, so caches keep the answers apart) and others get no CORS headers,
/// so the browser refuses them. [`allow_credentials`](CorsLayer::allow_credentials) lets
/// pages send cookies; with it, "every origin" means reflecting whichever origin asks.
///
/// ```
/// use ferry_core::layers::CorsLayer;
/// use std::time::Duration;
///
/// let cors = CorsLayer::allow_origins(["https://app.example.com"])
///     .unwrap()
///     .allow_headers(&["content-type", "authorization"])
///     .unwrap()
///     .allow_credentials(true)
///     .max_age(Duration::from_secs(600));
/// # let _ = cors;
/// ```
///
/// A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered 204
/// with the allowed methods, the allowed headers (the requested ones unless a list is set)
/// and the max-age (one day by default); it never reaches the inner service. Other responses
/// get `Access-Control-Allow-Origin` and, without credentials,
/// `Access-Control-Expose-Headers: *` so scripts can read headers such as `Content-Range`.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    policy: Arc<CorsPolicy>,
}

#[derive(Debug, Clone)]
struct CorsPolicy {
    origins: Origins,
    allow_methods: HeaderValue,
    /// `None`: allow whatever a preflight asks for.
    allow_headers: Option<HeaderValue>,
    credentials: bool,
    max_age: HeaderValue,
}

#[derive(Debug, Clone)]
enum Origins {
    Any,
    List(Vec<HeaderValue>),
}

/// An origin or header name that cannot be used in a CORS header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` cannot be used in a CORS header: origins look like https://example.com, header names like content-type"
)]
pub struct InvalidCorsValue(pub String);

impl CorsLayer {
    /// Allows requests from every origin, for GET, HEAD, POST and OPTIONS until narrowed
    /// with [`CorsLayer::allow_methods`].
    pub fn any_origin() -> Self {
        CorsLayer {
            policy: Arc::new(CorsPolicy {
                origins: Origins::Any,
                allow_methods: HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
                allow_headers: None,
                credentials: false,
                max_age: HeaderValue::from_static("86400"),
            }),
        }
    }

    /// Allows requests from these origins only (`https://app.example.com`; scheme, host
    /// and port, no path). A `*` in the list allows every origin.
    pub fn allow_origins<'a>(
        origins: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, InvalidCorsValue> {
        let mut list = Vec::new();
        for origin in origins {
            let origin = origin.trim().trim_end_matches('/');
            if origin == "*" {
                return Ok(CorsLayer::any_origin());
            }
            let valid = match origin.split_once("://") {
                Some(("http" | "https", host)) => !host.is_empty() && !host.contains(['/', ' ']),
                _ => false,
            };
            let value = HeaderValue::from_str(origin)
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| InvalidCorsValue(origin.to_owned()))?;
            list.push(value);
        }
        let mut layer = CorsLayer::any_origin();
        layer.change(|policy| policy.origins = Origins::List(list));
        Ok(layer)
    }

    fn change(&mut self, edit: impl FnOnce(&mut CorsPolicy)) {
        edit(Arc::make_mut(&mut self.policy));
    }

    /// The methods a preflight allows (OPTIONS is always added).
    pub fn allow_methods(mut self, methods: &[Method]) -> Self {
        let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        if !names.contains(&"OPTIONS") {
            names.push("OPTIONS");
        }
        let allow_methods =
            HeaderValue::from_str(&names.join(", ")).expect("method names are valid header text");
        self.change(|policy| policy.allow_methods = allow_methods);
        self
    }

    /// The request headers a preflight allows (by default, whichever it asks for).
    pub fn allow_headers(mut self, names: &[&str]) -> Result<Self, InvalidCorsValue> {
        for name in names {
            http::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| InvalidCorsValue((*name).to_owned()))?;
        }
        let joined = names
            .iter()
            .map(|n| n.trim())
            .collect::<Vec<_>>()
            .join(", ");
        let value = HeaderValue::from_str(&joined).map_err(|_| InvalidCorsValue(joined.clone()))?;
        self.change(|policy| policy.allow_headers = Some(value));
        Ok(self)
    }

    /// Lets pages send credentials (cookies, HTTP authentication) with their requests:
    /// `Access-Control-Allow-Credentials: true`, and the origin reflected instead of `*`.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.change(|policy| policy.credentials = allow);
        self
    }

    /// How long browsers may cache a preflight's answer.
    pub fn max_age(mut self, max_age: std::time::Duration) -> Self {
        self.change(|policy| policy.max_age = HeaderValue::from(max_age.as_secs()));
        self
    }
}

impl CorsPolicy {
    /// The `Access-Control-Allow-Origin` value for a request from `origin`, or `None` if the
    /// origin is not allowed; and whether the answer depends on the origin.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> (Option<HeaderValue>, bool) {
        match (&self.origins, origin) {
            (Origins::Any, _) if !self.credentials => (Some(HeaderValue::from_static("*")), false),
            (Origins::Any, Some(origin)) => (Some(origin.clone()), true),
            (Origins::Any, None) => (None, true),
            (Origins::List(list), Some(origin)) => (
                list.iter().find(|allowed| *allowed == origin).cloned(),
                true,
            ),
            (Origins::List(_), None) => (None, true),
        }
    }

    /// Adds the origin, credential and `Vary` headers for a request from `origin`; false if
    /// the origin is not allowed.
    fn add_origin_headers(
        &self,
        headers: &mut http::HeaderMap,
        origin: Option<&HeaderValue>,
    ) -> bool {
        let (allowed, varies) = self.allow_origin(origin);
        if varies {
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
        let Some(allowed) = allowed else {
            return false;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        true
    }
}

impl<S> tower::Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cors {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service made by [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    policy: Arc<CorsPolicy>,
}

impl<S> tower::Service<Request> for Cors<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::OPTIONS {
            // A preflight, or a plain OPTIONS asking what the server allows: answer both here.
            return CorsFuture {
                inner: None,
                preflight: Some(self.preflight(&request)),
                policy: self.policy.clone(),
                origin: None,
            };
        }
        let origin = request.headers().get(ORIGIN).cloned();
        CorsFuture {
            inner: Some(self.inner.call(request)),
            preflight: None,
            policy: self.policy.clone(),
            origin,
        }
    }
}

impl<S> Cors<S> {
    fn preflight(&self, request: &Request) -> Response {
        let request_headers = request.headers();
        let is_preflight = request_headers.contains_key(ORIGIN)
            && request_headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let policy = &self.policy;
        let headers = response.headers_mut();
        headers.insert(ALLOW, policy.allow_methods.clone());
        if is_preflight && policy.add_origin_headers(headers, request_headers.get(ORIGIN)) {
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, policy.allow_methods.clone());
            let allowed = policy
                .allow_headers
                .as_ref()
                .or(request_headers.get(ACCESS_CONTROL_REQUEST_HEADERS));
            if let Some(allowed) = allowed {
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed.clone());
            }
            headers.insert(ACCESS_CONTROL_MAX_AGE, policy.max_age.clone());
            if policy.allow_headers.is_none() {
                headers.append(
                    VARY,
                    HeaderValue::from_static("Access-Control-Request-Headers"),
                );
            }
        }
        response
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Cors`]: either a preflight answered here, or the inner service's
    /// future whose response gets CORS headers.
    pub struct CorsFuture<F> {
        #[pin]
        inner: Option<F>,
        preflight: Option<Response>,
        policy: Arc<CorsPolicy>,
        origin: Option<HeaderValue>,
    }
}

impl<F, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            let preflight = this.preflight.take();
            return Poll::Ready(Ok(preflight.expect("CorsFuture polled after completion")));
        };
        let mut response = std::task::ready!(inner.poll(cx))?;
        let headers = response.headers_mut();
        // A handler that set its own CORS answer keeps it.
        if headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            return Poll::Ready(Ok(response));
        }
        let policy = &**this.policy;
        if policy.add_origin_headers(headers, this.origin.as_ref()) && !policy.credentials {
            // With credentials `*` would name a header called "*", not every header.
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{ServiceBuilder, ServiceExt};

    fn service()
    -> impl tower::Service<
        Request,
        Response = Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone {
        ServiceBuilder::new()
            .layer(CorsLayer::any_origin().allow_methods(&[Method::GET, Method::HEAD]))
            .service_fn(|_req: Request| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::from("inner")))
            })
    }

    #[tokio::test]
    async fn preflight_is_answered_204_with_the_allowed_methods_and_headers() {
        let request = http::Request::options("/file.txt")
            .header(ORIGIN, "https://example.com")
            .header(ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(ACCESS_CONTROL_REQUEST_HEADERS, "range, x-custom")
            .body(Body::empty())
            .unwrap();
        let response = service().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let headers = response.headers();
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_METHODS], "GET, HEAD, OPTIONS");
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_HEADERS], "range, x-custom");
        assert_eq!(headers[ACCESS_CONTROL_MAX_AGE], "86400");
    }

    async fn call(layer: CorsLayer, request: Request) -> Response {
        ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: Request| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::from("inner")))
            })
            .oneshot(request)
            .await
            .unwrap()
    }

    fn from_origin(method: Method, origin: &str) -> Request {
        http::Request::builder()
            .method(method)
            .uri("/api")
            .header(ORIGIN, origin)
            .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(ACCESS_CONTROL_REQUEST_HEADERS, "x-secret")
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn listed_origins_are_reflected_with_vary_and_others_get_nothing() {
        let layer = CorsLayer::allow_origins(["https://app.example.com"]).unwrap();
        let allowed = call(
            layer.clone(),
            from_origin(Method::GET, "https://app.example.com"),
        )
        .await;
        assert_eq!(
            allowed.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(allowed.headers()[VARY], "Origin");
        let refused = call(
            layer.clone(),
            from_origin(Method::GET, "https://evil.example"),
        )
        .await;
        assert!(!refused.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(refused.headers()[VARY], "Origin");
        let preflight = call(layer, from_origin(Method::OPTIONS, "https://evil.example")).await;
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert!(
            !preflight
                .headers()
                .contains_key(ACCESS_CONTROL_ALLOW_METHODS)
        );
    }

    #[tokio::test]
    async fn credentials_reflect_the_origin_and_fixed_headers_are_listed() {
        let layer = CorsLayer::any_origin()
            .allow_credentials(true)
            .allow_headers(&["content-type"])
            .unwrap()
            .max_age(std::time::Duration::from_secs(600));
        let preflight = call(
            layer.clone(),
            from_origin(Method::OPTIONS, "https://a.example"),
        )
        .await;
        let headers = preflight.headers();
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_HEADERS], "content-type");
        assert_eq!(headers[ACCESS_CONTROL_MAX_AGE], "600");
        let simple = call(layer, from_origin(Method::GET, "https://a.example")).await;
        assert_eq!(
            simple.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://a.example"
        );
        assert!(!simple.headers().contains_key(ACCESS_CONTROL_EXPOSE_HEADERS));
    }

    #[test]
    fn bad_origins_and_header_names_are_refused() {
        for bad in [
            "example.com",
            "https://a.example/path",
            "ftp://x",
            "https://a b",
        ] {
            assert!(CorsLayer::allow_origins([bad]).is_err(), "{bad}");
        }
        assert!(
            CorsLayer::any_origin()
                .allow_headers(&["bad header"])
                .is_err()
        );
        assert!(CorsLayer::allow_origins(["*"]).is_ok());
    }

    #[tokio::test]
    async fn simple_requests_get_the_allow_origin_header() {
        let request = http::Request::get("/file.txt")
            .header(ORIGIN, "https://example.com")
            .body(Body::empty())
            .unwrap();
        let response = service().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(response.headers()[ACCESS_CONTROL_EXPOSE_HEADERS], "*");
    }
}
