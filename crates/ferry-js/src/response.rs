//! Turning what a handler returned into an HTTP response, checking every part: a mistake
//! gives the client a 500 and the script's author a message that says what was wrong and
//! how to fix it.

use base64::Engine as _;
use bytes::Bytes;
use ferry_core::response::{TEXT_PLAIN_UTF8, with_header_room};
use ferry_core::{Body, IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, StatusCode};
use rquickjs::{Ctx, Object, Type, Value};

use crate::thrown::Thrown;

const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// What is wrong with a handler's return value, written for the script's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidResponse {
    pub message: String,
    /// The part of the value being read when script code it ran (a getter, a `toJSON`, a
    /// proxy's trap) threw or was stopped.
    pub reading: Option<String>,
}

impl std::fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn invalid(message: impl Into<String>) -> InvalidResponse {
    InvalidResponse {
        message: message.into(),
        reading: None,
    }
}

/// Reading `part` failed: script code it ran threw (described, and cleared) or was stopped.
fn unreadable(ctx: &Ctx<'_>, error: &rquickjs::Error, part: String) -> InvalidResponse {
    let detail = Thrown::catch(ctx, error).message;
    InvalidResponse {
        message: format!("reading {part} threw {detail}"),
        reading: Some(part),
    }
}

/// `JSON.stringify(value)` (`None` for a value it skips, such as a function); what it threw
/// is the error of reading `part`.
fn stringify(value: &Value<'_>, part: &str) -> Result<Option<String>, InvalidResponse> {
    let ctx = value.ctx();
    match ctx.json_stringify(value.clone()) {
        Ok(text) => Ok(text.and_then(|text| text.to_string().ok())),
        Err(error) => Err(unreadable(ctx, &error, part.to_owned())),
    }
}

/// Converts a handler's return value: a string (200, `text/plain`) or an object
/// `{ status, body | bodyBase64, contentType, headers }`.
pub(crate) fn from_js(value: &Value<'_>) -> Result<Response, InvalidResponse> {
    if let Some(text) = value.as_string() {
        let text = text
            .to_string()
            .map_err(|error| invalid(format!("the returned string is not valid text: {error}")))?;
        let mut response = with_header_room(Body::from(text));
        response.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN_UTF8);
        return Ok(response);
    }
    let object = match value.type_of() {
        Type::Object | Type::Proxy => value
            .as_object()
            .ok_or_else(|| invalid("unexpected object"))?,
        other => {
            return Err(invalid(format!(
                "the handler returned {}; return a string, or an object such as {{ status: 200, body: \"...\" }} (ResponseBuilder.json(data) builds one)",
                describe_type(other)
            )));
        }
    };
    let status = status(object)?;
    let (mut response, body) = match body(object)? {
        Payload::Streamed(body) => (with_header_room(body), None),
        Payload::Bytes(bytes, default_type) => (
            with_header_room(Body::from(bytes.clone())),
            Some((bytes, default_type)),
        ),
    };
    *response.status_mut() = status;
    let content_type: Value = field(object, "contentType")?;
    if let Some(text) = content_type.as_string() {
        let text = text.to_string().unwrap_or_default();
        let value = HeaderValue::from_str(&text).map_err(|_| {
            invalid(format!(
                "contentType {text:?} is not a valid header value (no line breaks or control characters)"
            ))
        })?;
        response.headers_mut().insert(CONTENT_TYPE, value);
    } else if !content_type.is_undefined() && !content_type.is_null() {
        return Err(invalid(format!(
            "contentType must be a string such as \"text/html\", not {}",
            describe_type(content_type.type_of())
        )));
    } else if let Some((bytes, default_type)) = body
        && !bytes.is_empty()
    {
        response.headers_mut().insert(CONTENT_TYPE, default_type);
    }
    headers(object, response.headers_mut())?;
    Ok(response)
}

/// The answer of a handler whose value does not matter: `204`, no metadata.
pub(crate) fn no_metadata() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// Converts a GraphQL resolver's value to JSON text in a 200 (`undefined` is `null`).
pub(crate) fn json_from_js(value: &Value<'_>) -> Result<Response, InvalidResponse> {
    if value.is_undefined() {
        return Ok(Response::new(Body::from("null")));
    }
    let json = stringify(value, "the value (as JSON)")?.ok_or_else(|| {
        invalid("the value could not be turned into JSON (it must not be a function or a symbol)")
    })?;
    Ok(Response::new(Body::from(json)))
}

/// Converts what a stream customizer or a WebSocket's `open` returned: an object becomes
/// the connection's metadata (sent back as JSON in a 200), nothing (`undefined`/`null`) a
/// 204.
pub(crate) fn metadata_from_js(value: &Value<'_>) -> Result<Response, InvalidResponse> {
    if value.is_undefined() || value.is_null() {
        return Ok(no_metadata());
    }
    if !is_object(value.type_of()) {
        return Err(invalid(format!(
            "a stream customizer (or a WebSocket's open handler) returns the connection's metadata as an object, such as {{ room: context.request.query.room }}, or nothing (to use the query parameters); it returned {}",
            describe_type(value.type_of())
        )));
    }
    let json = stringify(value, "the metadata (as JSON)")?
        .ok_or_else(|| invalid("the stream customizer's metadata could not be turned into JSON"))?;
    let mut response = Response::new(Body::from(json));
    response.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn field<'js>(object: &Object<'js>, name: &str) -> Result<Value<'js>, InvalidResponse> {
    object
        .get(name)
        .map_err(|error| unreadable(object.ctx(), &error, format!("the response's {name}")))
}

fn status(object: &Object<'_>) -> Result<StatusCode, InvalidResponse> {
    let value: Value = field(object, "status")?;
    if value.is_undefined() {
        return Ok(StatusCode::OK);
    }
    let Some(number) = value.as_number() else {
        return Err(invalid(format!(
            "status must be a number such as 200, not {}",
            describe_type(value.type_of())
        )));
    };
    let valid = number.fract() == 0.0 && (100.0..=599.0).contains(&number);
    if valid {
        // In range and integral, so the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        if let Ok(status) = StatusCode::from_u16(number as u16) {
            return Ok(status);
        }
    }
    let mut message = format!("status {number} is not a valid HTTP status (100 to 599)");
    if let Some(guess) = suggest_status(number) {
        message.push_str(&format!("; did you mean {guess}?"));
    }
    Err(invalid(message))
}

/// A likely intended status for a mistyped one: 2000 → 200, 40 → 400, 200.5 → 200.
fn suggest_status(number: f64) -> Option<u16> {
    // Below 1 there is no digit to scale up (and 0 would never reach 100): no guess.
    if !number.is_finite() || number < 1.0 {
        return None;
    }
    let mut guess = number.trunc();
    while guess > 599.0 {
        guess = (guess / 10.0).trunc();
    }
    while guess < 100.0 {
        guess *= 10.0;
    }
    // Between 100 and 599 here.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let guess = guess as u16;
    (guess.to_string() != number.to_string()).then_some(guess)
}

/// A response's body: bytes (with the content type they have unless the response says
/// one), or one the script writes as it goes.
enum Payload {
    Bytes(Bytes, HeaderValue),
    Streamed(Body),
}

fn body(object: &Object<'_>) -> Result<Payload, InvalidResponse> {
    let (bytes, default_type) = body_bytes(object)?;
    if !bytes.is_empty() {
        return Ok(Payload::Bytes(bytes, default_type));
    }
    // No body given: a body the script writes as it goes (`bodyStream`,
    // bindings/body_stream.rs), or the HTML of a JSX element returned as the response.
    let streamed: Value = field(object, "bodyStream")?;
    if let Some(id) = streamed.as_number() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let body = crate::bindings::body_stream::take(id as u32)
            .ok_or_else(|| invalid("the streamed body is gone"))?;
        return Ok(Payload::Streamed(body));
    }
    if let Some(html) = element_html(object)? {
        return Ok(Payload::Bytes(Bytes::from(html), TEXT_HTML_UTF8));
    }
    Ok(Payload::Bytes(bytes, default_type))
}

fn body_bytes(object: &Object<'_>) -> Result<(Bytes, HeaderValue), InvalidResponse> {
    let encoded: Value = field(object, "bodyBase64")?;
    if let Some(text) = encoded.as_string() {
        let text = text.to_string().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|error| invalid(format!("bodyBase64 is not valid base64: {error}")))?;
        return Ok((Bytes::from(bytes), OCTET_STREAM));
    }
    if !encoded.is_undefined() && !encoded.is_null() {
        return Err(invalid(format!(
            "bodyBase64 must be a base64 string, not {}",
            describe_type(encoded.type_of())
        )));
    }
    let body: Value = field(object, "body")?;
    if let Some(text) = body.as_string() {
        let text = text
            .to_string()
            .map_err(|error| invalid(format!("body is not valid text: {error}")))?;
        return Ok((Bytes::from(text), TEXT_PLAIN_UTF8));
    }
    if body.is_undefined() || body.is_null() {
        return Ok((Bytes::new(), TEXT_PLAIN_UTF8));
    }
    if let Some(element) = body.as_object().filter(|_| is_object(body.type_of()))
        && let Some(html) = element_html(element)?
    {
        return Ok((Bytes::from(html), TEXT_HTML_UTF8));
    }
    let hint = match body.type_of() {
        Type::Object | Type::Proxy | Type::Array => {
            "; to send JSON use ResponseBuilder.json(data) or JSON.stringify(data), for binary data use bodyBase64"
        }
        _ => "; convert it with String(value)",
    };
    Err(invalid(format!(
        "body must be a string, not {}{hint}",
        describe_type(body.type_of())
    )))
}

/// `text/html; charset=utf-8`: the type of a JSX element's page.
const TEXT_HTML_UTF8: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// The HTML of `object` when it is a JSX element (its `__html` field is text).
fn element_html(object: &Object<'_>) -> Result<Option<String>, InvalidResponse> {
    let field: Value = field(object, "__html")?;
    let Some(text) = field.as_string() else {
        return Ok(None);
    };
    text.to_string()
        .map(Some)
        .map_err(|error| invalid(format!("the element's HTML is not valid text: {error}")))
}

/// The most a script's response headers may take together: clients refuse larger heads
/// (Node's limit is 16 KiB, browsers' and proxies' are of that order).
const MAX_HEADER_BYTES: usize = 64 * 1024;

fn headers(object: &Object<'_>, target: &mut http::HeaderMap) -> Result<(), InvalidResponse> {
    let value: Value = field(object, "headers")?;
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    let Some(headers) = value.as_object().filter(|_| is_object(value.type_of())) else {
        return Err(invalid(format!(
            "headers must be an object such as {{ \"Cache-Control\": \"no-store\" }}, not {}",
            describe_type(value.type_of())
        )));
    };
    let ctx = headers.ctx();
    let names: Vec<String> = headers
        .keys::<String>()
        .collect::<rquickjs::Result<_>>()
        .map_err(|error| unreadable(ctx, &error, "the response's headers".to_owned()))?;
    let mut total = 0;
    for name in names {
        let value: Value = headers
            .get(name.as_str())
            .map_err(|error| unreadable(ctx, &error, format!("the response's header {name:?}")))?;
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("{name:?} is not a valid header name")))?;
        if header == CONTENT_LENGTH || header == TRANSFER_ENCODING {
            // Ferry frames the body itself; a script's value could only be wrong.
            continue;
        }
        // An array is one header line per item (several Set-Cookie, say).
        let values: Vec<Value> = match value.as_array() {
            Some(array) => array
                .iter::<Value>()
                .collect::<rquickjs::Result<_>>()
                .map_err(|error| {
                    unreadable(ctx, &error, format!("the response's header {name:?}"))
                })?,
            None => vec![value],
        };
        target.remove(&header);
        for value in values {
            let text = header_text(&name, &value)?;
            total += name.len() + text.len() + 4;
            if total > MAX_HEADER_BYTES {
                return Err(invalid(format!(
                    "the response's headers are larger than {} KiB (header {name:?} passes the limit): clients would refuse them",
                    MAX_HEADER_BYTES / 1024
                )));
            }
            let header_value = HeaderValue::from_str(&text).map_err(|_| {
                invalid(format!(
                    "the value of header {name:?} is not valid (no line breaks or control characters)"
                ))
            })?;
            target.append(header.clone(), header_value);
        }
    }
    Ok(())
}

/// One value of header `name`: a string, or a number written out.
fn header_text(name: &str, value: &Value<'_>) -> Result<String, InvalidResponse> {
    if let Some(text) = value.as_string() {
        Ok(text.to_string().unwrap_or_default())
    } else if let Some(number) = value.as_number() {
        Ok(number.to_string())
    } else {
        Err(invalid(format!(
            "the value of header {name:?} must be a string (or an array of strings), not {}",
            describe_type(value.type_of())
        )))
    }
}

/// Whether a value of `kind` is read as an object of fields (a proxy is: its traps answer).
fn is_object(kind: Type) -> bool {
    matches!(kind, Type::Object | Type::Proxy)
}

pub(crate) fn describe_type(kind: Type) -> &'static str {
    match kind {
        Type::Undefined | Type::Uninitialized => "undefined",
        Type::Null => "null",
        Type::Bool => "a boolean",
        Type::Int | Type::Float => "a number",
        Type::String => "a string",
        Type::Array => "an array",
        Type::Function | Type::Constructor => "a function",
        Type::Promise => "a promise",
        Type::Symbol => "a symbol",
        Type::BigInt => "a BigInt",
        _ => "an object",
    }
}

/// `Retry-After` for answers that depend on a database that cannot be reached now.
pub(crate) const RETRY_LATER: HeaderValue = HeaderValue::from_static("5");

/// 503 with `Retry-After`: the request could not be run now, but may be retried at once.
pub(crate) fn unavailable(reason: &str) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("503 Service Unavailable\n\n{reason}\n"),
    )
        .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(source: &str) -> Result<Response, InvalidResponse> {
        let runtime = rquickjs::Runtime::new().unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        context.with(|ctx| {
            let value: Value = ctx.eval(source).unwrap();
            from_js(&value)
        })
    }

    async fn body_text(response: Response) -> String {
        let bytes = response.into_body().to_bytes(1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_string_is_a_plain_text_200() {
        let response = convert("'hi'").unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(body_text(response).await, "hi");
    }

    #[tokio::test]
    async fn an_object_sets_status_type_and_headers() {
        let response = convert(
            "({ status: 201, body: '{}', contentType: 'application/json', headers: { 'X-Id': 7, 'Cache-Control': 'no-store' } })",
        )
        .unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()["x-id"], "7");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(body_text(response).await, "{}");
    }

    #[tokio::test]
    async fn body_base64_is_decoded_as_octets() {
        let response = convert("({ status: 200, bodyBase64: 'AAEC' })").unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/octet-stream");
        let bytes = response.into_body().to_bytes(100).await.unwrap();
        assert_eq!(&bytes[..], [0, 1, 2]);
    }

    #[test]
    fn empty_body_has_no_content_type_and_framing_headers_are_ignored() {
        let response = convert("({ status: 204, headers: { 'Content-Length': '99' } })").unwrap();
        assert_eq!(response.status(), 204);
        assert!(response.headers().get(CONTENT_TYPE).is_none());
        assert!(response.headers().get(CONTENT_LENGTH).is_none());
    }

    #[test]
    fn invalid_status_suggests_the_likely_one() {
        let error = convert("({ status: 2000, body: 'x' })").unwrap_err();
        assert_eq!(
            error.message,
            "status 2000 is not a valid HTTP status (100 to 599); did you mean 200?"
        );
        let error = convert("({ status: 40 })").unwrap_err();
        assert!(
            error.message.ends_with("did you mean 400?"),
            "{}",
            error.message
        );
        let error = convert("({ status: '200' })").unwrap_err();
        assert_eq!(
            error.message,
            "status must be a number such as 200, not a string"
        );
    }

    #[test]
    fn wrong_body_types_say_how_to_fix_them() {
        let error = convert("({ status: 200, body: { a: 1 } })").unwrap_err();
        assert!(
            error.message.contains("ResponseBuilder.json(data)"),
            "{}",
            error.message
        );
        let error = convert("({ body: 42 })").unwrap_err();
        assert!(error.message.contains("String(value)"), "{}", error.message);
        let error = convert("({ bodyBase64: '@@@' })").unwrap_err();
        assert!(
            error.message.starts_with("bodyBase64 is not valid base64"),
            "{}",
            error.message
        );
    }

    #[test]
    fn invalid_headers_are_named() {
        let error = convert("({ headers: { 'Bad Name': 'x' } })").unwrap_err();
        assert_eq!(error.message, "\"Bad Name\" is not a valid header name");
        let error = convert("({ headers: { 'X-A': 'line\\nbreak' } })").unwrap_err();
        assert!(error.message.contains("\"X-A\""), "{}", error.message);
        let error = convert("({ headers: { 'X-A': {} } })").unwrap_err();
        assert!(
            error.message.contains("must be a string"),
            "{}",
            error.message
        );
    }

    #[test]
    fn returning_nothing_is_explained() {
        let error = convert("undefined").unwrap_err();
        assert!(
            error.message.starts_with("the handler returned undefined"),
            "{}",
            error.message
        );
        let error = convert("[1]").unwrap_err();
        assert!(
            error.message.starts_with("the handler returned an array"),
            "{}",
            error.message
        );
    }

    #[test]
    fn status_suggestions() {
        assert_eq!(suggest_status(2000.0), Some(200));
        assert_eq!(suggest_status(4040.0), Some(404));
        assert_eq!(suggest_status(50.0), Some(500));
        assert_eq!(suggest_status(200.5), Some(200));
        assert_eq!(suggest_status(-1.0), None);
        assert_eq!(suggest_status(f64::NAN), None);
        // Found by the script_response fuzz target: a fraction below 1 looped forever.
        assert_eq!(suggest_status(0.5), None);
        assert_eq!(suggest_status(f64::MIN_POSITIVE), None);
        assert_eq!(suggest_status(1e300), Some(100));
    }
}
