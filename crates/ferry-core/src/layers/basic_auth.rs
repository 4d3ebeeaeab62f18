//! HTTP Basic authentication (RFC 7617) with one user name and password.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use subtle::ConstantTimeEq;

use crate::response::status_response;
use crate::{Request, Response};

/// Requires `Authorization: Basic` with the configured user name and password; anything else
/// is answered `401` with a `WWW-Authenticate` challenge, which makes browsers ask.
///
/// Credentials are compared as SHA-256 digests in constant time, so neither their content nor
/// their length leaks through timing.
///
/// ```
/// use ferry_core::layers::BasicAuthLayer;
///
/// let auth = BasicAuthLayer::new("admin", "s3cret", "ferry");
/// # let _ = auth;
/// ```
#[derive(Debug, Clone)]
pub struct BasicAuthLayer {
    credentials: Arc<Credentials>,
}

#[derive(Debug)]
struct Credentials {
    /// SHA-256 of `user:password`.
    expected: [u8; 32],
    challenge: HeaderValue,
}

impl BasicAuthLayer {
    /// Accepts `user` with `password`; `realm` names the protected area in the browser's
    /// prompt (quotes and backslashes in it are dropped).
    pub fn new(user: &str, password: &str, realm: &str) -> Self {
        let realm: String = realm.chars().filter(|c| *c != '"' && *c != '\\').collect();
        let challenge =
            HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
                .unwrap_or(HeaderValue::from_static(
                    "Basic realm=\"ferry\", charset=\"UTF-8\"",
                ));
        BasicAuthLayer {
            credentials: Arc::new(Credentials {
                expected: sha256(format!("{user}:{password}").as_bytes()),
                challenge,
            }),
        }
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl Credentials {
    fn accept(&self, header: Option<&HeaderValue>) -> bool {
        let Some(value) = header.and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        bool::from(sha256(&decoded).ct_eq(&self.expected))
    }
}

impl<S> tower::Layer<S> for BasicAuthLayer {
    type Service = BasicAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BasicAuth {
            inner,
            credentials: self.credentials.clone(),
        }
    }
}

/// The service made by [`BasicAuthLayer`].
#[derive(Debug, Clone)]
pub struct BasicAuth<S> {
    inner: S,
    credentials: Arc<Credentials>,
}

impl<S> tower::Service<Request> for BasicAuth<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BasicAuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if self
            .credentials
            .accept(request.headers().get(AUTHORIZATION))
        {
            BasicAuthFuture {
                inner: Some(self.inner.call(request)),
                challenge: None,
            }
        } else {
            BasicAuthFuture {
                inner: None,
                challenge: Some(self.credentials.challenge.clone()),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`BasicAuth`]: the inner service's, or a 401 challenge.
    pub struct BasicAuthFuture<F> {
        #[pin]
        inner: Option<F>,
        challenge: Option<HeaderValue>,
    }
}

impl<F, E> Future for BasicAuthFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(inner) = this.inner.as_pin_mut() {
            return inner.poll(cx);
        }
        let mut response = status_response(StatusCode::UNAUTHORIZED);
        if let Some(challenge) = this.challenge.take() {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use tower::{ServiceBuilder, ServiceExt};

    fn basic(credentials: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    async fn status_with(authorization: Option<&str>) -> (StatusCode, Option<HeaderValue>) {
        let service = ServiceBuilder::new()
            .layer(BasicAuthLayer::new("admin", "pa:ss wörd", "ferry"))
            .service_fn(|_req: Request| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::from("secret")))
            });
        let mut request = http::Request::get("/").body(Body::empty()).unwrap();
        if let Some(value) = authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        let response = service.oneshot(request).await.unwrap();
        (
            response.status(),
            response.headers().get(WWW_AUTHENTICATE).cloned(),
        )
    }

    #[tokio::test]
    async fn right_credentials_pass() {
        let (status, _) = status_with(Some(&basic("admin:pa:ss wörd"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) =
            status_with(Some(&format!("basic  {}", &basic("admin:pa:ss wörd")[6..]))).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn anything_else_gets_401_with_a_challenge() {
        for authorization in [
            None,
            Some(basic("admin:wrong")),
            Some(basic("admin")),
            Some(basic("")),
            Some("Basic !!!not-base64".to_owned()),
            Some("Bearer abc".to_owned()),
            Some("Basic".to_owned()),
        ] {
            let (status, challenge) = status_with(authorization.as_deref()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
            assert_eq!(
                challenge.unwrap(),
                "Basic realm=\"ferry\", charset=\"UTF-8\""
            );
        }
    }
}
