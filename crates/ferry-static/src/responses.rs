//! The responses the file service builds: files (whole or a range), 304, 416, the directory
//! redirect and refusals.

use ferry_core::response::with_header_room;
use ferry_core::{Body, Response, status_response};
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED,
    LOCATION,
};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::entity::Entity;
use crate::path::RequestPath;
use crate::range::ByteRange;
use crate::resolve::Missing;

const BYTES: HeaderValue = HeaderValue::from_static("bytes");

/// A file response: 200 for the whole file, 206 for `range`. `body` is `None` for HEAD,
/// which still carries the `Content-Length` a GET would have.
pub(crate) fn file(
    entity: &Entity,
    cache_control: &HeaderValue,
    range: Option<ByteRange>,
    body: Option<Body>,
) -> Response {
    let total = entity.version.len;
    let len = range.map_or(total, |r| r.len());
    let mut response = with_body(body, Some(len));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, entity.content_type.clone());
    insert_validators(headers, entity, cache_control);
    headers.insert(ACCEPT_RANGES, BYTES);
    if let Some(range) = range {
        headers.insert(
            CONTENT_RANGE,
            header_value(format!("bytes {}-{}/{total}", range.start, range.end)),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    response
}

/// 200 with a body whose length is not known before it is sent (compressed on the fly).
pub(crate) fn file_of_unknown_length(
    entity: &Entity,
    cache_control: &HeaderValue,
    body: Option<Body>,
) -> Response {
    let mut response = with_body(body, None);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, entity.content_type.clone());
    insert_validators(headers, entity, cache_control);
    response
}

/// 206 with a `multipart/byteranges` body of `len` bytes (`None` for HEAD).
pub(crate) fn multipart(
    entity: &Entity,
    cache_control: &HeaderValue,
    content_type: HeaderValue,
    len: u64,
    body: Option<Body>,
) -> Response {
    let mut response = with_body(body, Some(len));
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    insert_validators(headers, entity, cache_control);
    headers.insert(ACCEPT_RANGES, BYTES);
    response
}

/// A response with `body`, or for HEAD (`None`) an empty one that still carries the
/// `Content-Length` a GET would have, when it is known.
fn with_body(body: Option<Body>, len: Option<u64>) -> Response {
    match body {
        Some(body) => with_header_room(body),
        None => {
            let mut response = with_header_room(Body::empty());
            if let Some(len) = len {
                response
                    .headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
            }
            response
        }
    }
}

/// A page (such as the custom not-found page) of `content_type`, not cached by browsers
/// longer than `cache_control` allows; `body` is `None` for HEAD.
pub(crate) fn page(
    content_type: HeaderValue,
    cache_control: &HeaderValue,
    len: u64,
    body: Option<Body>,
) -> Response {
    let mut response = with_body(body, Some(len));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CACHE_CONTROL, cache_control.clone());
    response
}

/// 304: the client's copy is current.
pub(crate) fn not_modified(entity: &Entity, cache_control: &HeaderValue) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    insert_validators(response.headers_mut(), entity, cache_control);
    response
}

/// 416 with `Content-Range: bytes */LEN`.
pub(crate) fn range_not_satisfiable(len: u64) -> Response {
    let mut response = status_response(StatusCode::RANGE_NOT_SATISFIABLE);
    let headers = response.headers_mut();
    headers.insert(CONTENT_RANGE, header_value(format!("bytes */{len}")));
    headers.insert(ACCEPT_RANGES, BYTES);
    response
}

/// 301 to the directory's URL with a trailing slash, keeping the query string.
pub(crate) fn redirect_to_directory(request: &Parts, path: &RequestPath) -> Response {
    let mut location = path.url_path(true);
    if let Some(query) = request.uri.query() {
        location.push('?');
        location.push_str(query);
    }
    let mut response = status_response(StatusCode::MOVED_PERMANENTLY);
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            response
        }
        Err(_) => status_response(StatusCode::BAD_REQUEST),
    }
}

/// 404, 403 or (logged) 500 for a path that cannot be served.
pub(crate) fn refusal(missing: Missing) -> Response {
    match missing {
        Missing::NotFound => status_response(StatusCode::NOT_FOUND),
        Missing::Forbidden => status_response(StatusCode::FORBIDDEN),
        Missing::Failed(error) => {
            tracing::error!(%error, "file service I/O error");
            status_response(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn insert_validators(headers: &mut http::HeaderMap, entity: &Entity, cache_control: &HeaderValue) {
    headers.insert(ETAG, entity.etag.clone());
    if let Some(last_modified) = &entity.last_modified {
        headers.insert(LAST_MODIFIED, last_modified.clone());
    }
    headers.insert(CACHE_CONTROL, cache_control.clone());
}

fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("digits, spaces and '-*/' are valid header text")
}
