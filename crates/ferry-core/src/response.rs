//! Turning handler results into HTTP responses.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::{Body, Response};

/// `text/plain; charset=utf-8`, used for plain-text answers.
pub const TEXT_PLAIN_UTF8: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
/// `application/json`, used for JSON answers.
pub const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A value a handler can return.
///
/// Implemented for [`Response`], strings and bytes (200 with a body), [`StatusCode`] (that
/// status with its reason phrase as the body), `(StatusCode, T)`, `(StatusCode, HeaderMap, T)`,
/// [`Json`] and `Result<T, E>` where both sides are responses.
///
/// ```
/// use ferry_core::{IntoResponse, Json};
/// use http::StatusCode;
///
/// let ok = "hello".into_response();
/// assert_eq!(ok.status(), StatusCode::OK);
///
/// let created = (StatusCode::CREATED, Json(serde_json::json!({"id": 7}))).into_response();
/// assert_eq!(created.status(), StatusCode::CREATED);
/// assert_eq!(created.headers()["content-type"], "application/json");
/// ```
pub trait IntoResponse {
    /// Converts `self` into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        status_response(self)
    }
}

fn text_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN_UTF8);
    response
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        text_response(Body::from(self))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        text_response(Body::from(self))
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        response
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(Body::empty())
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, HeaderMap, T) {
    fn into_response(self) -> Response {
        let mut response = self.2.into_response();
        *response.status_mut() = self.0;
        response.headers_mut().extend(self.1);
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

/// A JSON response body: serializes `T` and sets `Content-Type: application/json`.
///
/// If `T` cannot be serialized the answer is a 500 and the error is logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => {
                let mut response = Response::new(Body::from(bytes));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, APPLICATION_JSON);
                response
            }
            Err(error) => {
                tracing::error!(%error, "failed to serialize a JSON response");
                status_response(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// How many headers a response has room for from the start with [`with_header_room`]: a
/// file's own (type, validators, caching, ranges) plus what the stack adds (security and
/// isolation headers, the request id, CORS).
pub const HEADER_ROOM: usize = 20;

/// A 200 response with `body` whose header map has room for [`HEADER_ROOM`] headers: one
/// allocation where adding them one by one would grow the map three times.
pub fn with_header_room(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.headers_mut() = http::HeaderMap::with_capacity(HEADER_ROOM);
    response
}

/// A plain-text response with `status` whose body is the status line, e.g. `404 Not Found`.
///
/// HEAD requests get the same headers without the body (hyper drops it).
pub fn status_response(status: StatusCode) -> Response {
    let text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}\n", status.as_u16()),
        None => format!("{}\n", status.as_u16()),
    };
    let mut response = text_response(Body::from(text));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn status_response_names_the_status() {
        let response = status_response(StatusCode::NOT_FOUND);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[CONTENT_TYPE], TEXT_PLAIN_UTF8);
        let body = response.into_body().to_bytes(100).await.unwrap();
        assert_eq!(body, "404 Not Found\n");
    }

    #[test]
    fn result_uses_the_matching_side() {
        let ok: Result<&'static str, StatusCode> = Ok("fine");
        assert_eq!(ok.into_response().status(), StatusCode::OK);
        let err: Result<&'static str, StatusCode> = Err(StatusCode::BAD_REQUEST);
        assert_eq!(err.into_response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn tuple_with_headers_adds_them() {
        let mut headers = HeaderMap::new();
        headers.insert("x-test", HeaderValue::from_static("1"));
        let response = (StatusCode::ACCEPTED, headers, "queued").into_response();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["x-test"], "1");
    }
}
