//! Cross-Origin Resource Sharing: answers preflight requests and marks responses as
//! readable from other origins.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ALLOW, ORIGIN, VARY,
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
/// A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered 204
/// with the allowed methods, the requested headers and a max-age of one day; it never reaches
/// the inner service. Other responses get `Access-Control-Allow-Origin` and
/// `Access-Control-Expose-Headers: *` so scripts can read headers such as `Content-Range`.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    policy: Arc<CorsPolicy>,
}

#[derive(Debug)]
struct CorsPolicy {
    allow_origin: HeaderValue,
    allow_methods: HeaderValue,
    max_age: HeaderValue,
}

impl CorsLayer {
    /// Allows requests from every origin, for GET, HEAD, POST and OPTIONS until narrowed
    /// with [`CorsLayer::allow_methods`].
    pub fn any_origin() -> Self {
        CorsLayer {
            policy: Arc::new(CorsPolicy {
                allow_origin: HeaderValue::from_static("*"),
                allow_methods: HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
                max_age: HeaderValue::from_static("86400"),
            }),
        }
    }

    /// The methods a preflight allows (OPTIONS is always added).
    pub fn allow_methods(self, methods: &[Method]) -> Self {
        let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        if !names.contains(&"OPTIONS") {
            names.push("OPTIONS");
        }
        let allow_methods =
            HeaderValue::from_str(&names.join(", ")).expect("method names are valid header text");
        CorsLayer {
            policy: Arc::new(CorsPolicy {
                allow_methods,
                allow_origin: self.policy.allow_origin.clone(),
                max_age: self.policy.max_age.clone(),
            }),
        }
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
            let headers = request.headers();
            let is_preflight =
                headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
            let preflight =
                self.preflight(is_preflight, headers.get(ACCESS_CONTROL_REQUEST_HEADERS));
            return CorsFuture {
                inner: None,
                preflight: Some(preflight),
                policy: self.policy.clone(),
            };
        }
        CorsFuture {
            inner: Some(self.inner.call(request)),
            preflight: None,
            policy: self.policy.clone(),
        }
    }
}

impl<S> Cors<S> {
    fn preflight(&self, is_preflight: bool, requested_headers: Option<&HeaderValue>) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(ALLOW, self.policy.allow_methods.clone());
        if is_preflight {
            headers.insert(
                ACCESS_CONTROL_ALLOW_ORIGIN,
                self.policy.allow_origin.clone(),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                self.policy.allow_methods.clone(),
            );
            if let Some(requested) = requested_headers {
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
            }
            headers.insert(ACCESS_CONTROL_MAX_AGE, self.policy.max_age.clone());
            headers.insert(
                VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
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
        headers
            .entry(ACCESS_CONTROL_ALLOW_ORIGIN)
            .or_insert_with(|| this.policy.allow_origin.clone());
        headers
            .entry(ACCESS_CONTROL_EXPOSE_HEADERS)
            .or_insert(HeaderValue::from_static("*"));
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
