//! Gives every request an id (`x-request-id`) and echoes it on the response.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue};

use crate::context::RequestId;
use crate::{Request, Response};

/// The request id header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied id that is kept; longer ones are replaced.
const MAX_CLIENT_ID_LEN: usize = 200;

/// Adds a [`RequestId`] to each request's extensions and an `x-request-id` header to its
/// response. A client's own `x-request-id` is kept when it is 1–200 visible ASCII
/// characters; otherwise a new 32-hex-digit id is generated.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

/// The service made by [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RequestIdService<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = match request.headers().get(X_REQUEST_ID) {
            Some(value) if is_usable_client_id(value) => value.clone(),
            _ => {
                let id = generate();
                request.headers_mut().insert(X_REQUEST_ID, id.clone());
                id
            }
        };
        request.extensions_mut().insert(RequestId(id.clone()));
        RequestIdFuture {
            inner: self.inner.call(request),
            id: Some(id),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestIdService`].
    pub struct RequestIdFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take() {
            response.headers_mut().entry(X_REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

fn is_usable_client_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_CLIENT_ID_LEN
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// A new id: a random per-process prefix and a counter, as 32 hex digits. Unique within the
/// process and unlikely to repeat across processes, at the cost of one atomic increment.
fn generate() -> HeaderValue {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut text = [0u8; 32];
    write_hex(&mut text[..16], prefix);
    write_hex(&mut text[16..], count);
    HeaderValue::from_bytes(&text).expect("hex digits are a valid header value")
}

fn write_hex(out: &mut [u8], mut value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use tower::{ServiceBuilder, ServiceExt};

    async fn echo_id(request: Request) -> Result<Response, std::convert::Infallible> {
        let id = request.extensions().get::<RequestId>().unwrap().to_string();
        Ok(Response::new(Body::from(id)))
    }

    #[tokio::test]
    async fn generated_ids_are_unique_hex_and_echoed() {
        let service = ServiceBuilder::new()
            .layer(RequestIdLayer)
            .service_fn(echo_id);
        let first = service
            .clone()
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        let second = service.oneshot(Request::new(Body::empty())).await.unwrap();
        let first_id = first.headers()[X_REQUEST_ID].to_str().unwrap().to_owned();
        assert_eq!(first_id.len(), 32);
        assert!(first_id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(first_id, second.headers()[X_REQUEST_ID]);
        let body = first.into_body().to_bytes(64).await.unwrap();
        assert_eq!(body, first_id.as_bytes());
    }

    #[tokio::test]
    async fn a_usable_client_id_is_kept() {
        let service = ServiceBuilder::new()
            .layer(RequestIdLayer)
            .service_fn(echo_id);
        let request = http::Request::builder()
            .header(X_REQUEST_ID, "trace-abc-123")
            .body(Body::empty())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.headers()[X_REQUEST_ID], "trace-abc-123");
    }

    #[tokio::test]
    async fn an_unusable_client_id_is_replaced() {
        let service = ServiceBuilder::new()
            .layer(RequestIdLayer)
            .service_fn(echo_id);
        let request = http::Request::builder()
            .header(X_REQUEST_ID, "has space")
            .body(Body::empty())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_ne!(response.headers()[X_REQUEST_ID], "has space");
        assert_eq!(response.headers()[X_REQUEST_ID].len(), 32);
    }
}
