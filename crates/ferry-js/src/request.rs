//! The request as a script sees it: read and parsed on the async side (body, query, form,
//! multipart uploads), then turned into `context.request` on the worker.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use ferry_core::{IntoResponse, ReadBodyError, Request, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method};
use rquickjs::{Ctx, IntoJs, Object, Value};

/// A request's data, owned and ready to cross to a worker thread.
#[derive(Debug, Default)]
pub(crate) struct ScriptRequest {
    pub method: Method,
    /// The request target as received (its path and query give `path` and `target`).
    pub uri: http::Uri,
    pub query: Vec<(String, String)>,
    /// The headers as received; made into the script's object only if it reads them.
    pub headers: HeaderMap,
    pub params: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub body: Option<String>,
    pub files: Vec<UploadedFile>,
    /// The body's bytes as received (empty when there is none).
    pub raw_body: Bytes,
    pub request_id: Arc<str>,
    /// The client's address (after trusted proxies), when known.
    pub ip: Option<std::net::IpAddr>,
    /// The signed-in user the request is for, if any.
    pub user: Option<Arc<ferry_auth::User>>,
}

/// One file of a `multipart/form-data` request.
#[derive(Debug)]
pub(crate) struct UploadedFile {
    pub field: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// Why a request could not be handed to a script.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    /// Its body could not be read (too large, too slow, broken).
    #[error("the request {0}")]
    Body(#[from] ReadBodyError),
    #[error("malformed multipart/form-data body: {0}")]
    Multipart(String),
}

impl RequestError {
    /// The status the request is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            RequestError::Body(error) => error.status(),
            RequestError::Multipart(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        match self {
            RequestError::Body(error) => error.into_response(),
            multipart @ RequestError::Multipart(_) => (
                StatusCode::BAD_REQUEST,
                format!("400 Bad Request\n\n{multipart}\n"),
            )
                .into_response(),
        }
    }
}

/// Reads `request` (its body up to `body_limit` bytes) into a [`ScriptRequest`].
pub(crate) async fn read(
    request: Request,
    body_limit: usize,
) -> Result<ScriptRequest, RequestError> {
    let (parts, body) = request.into_parts();
    if let Some(length) = content_length(&parts.headers)
        && length > body_limit as u64
    {
        return Err(ReadBodyError::TooLarge { limit: body_limit }.into());
    }
    let bytes = body.to_bytes(body_limit).await?;
    let request_id = parts
        .extensions
        .get::<ferry_core::RequestId>()
        .map_or_else(|| Arc::from(""), |id| Arc::from(id.as_str()));
    let params = parts
        .extensions
        .get::<ferry_core::PathParams>()
        .map(|params| {
            params
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut script_request = ScriptRequest {
        raw_body: bytes.clone(),
        query: first_wins(form_urlencoded::parse(
            parts.uri.query().unwrap_or_default().as_bytes(),
        )),
        uri: parts.uri,
        headers: parts.headers,
        params,
        request_id,
        ip: ferry_core::client_addr::ClientAddr::of(&parts.extensions),
        user: parts
            .extensions
            .get::<ferry_auth::Identity>()
            .map(ferry_auth::Identity::shared_user),
        method: parts.method,
        ..ScriptRequest::default()
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "multipart/form-data" {
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|error| RequestError::Multipart(error.to_string()))?;
        read_multipart(bytes, boundary, &mut script_request).await?;
    } else {
        if essence == "application/x-www-form-urlencoded" {
            script_request.form = first_wins(form_urlencoded::parse(&bytes));
        }
        if !bytes.is_empty() {
            script_request.body = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(script_request)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The headers as scripts see them: each name once (lower case), its values joined with
/// `, ` (as HTTP allows for repeated headers), bytes that are not UTF-8 replaced.
fn joined_headers(map: &HeaderMap) -> Vec<(&str, String)> {
    let mut joined = Vec::with_capacity(map.keys_len());
    for name in map.keys() {
        let mut text = String::new();
        for value in map.get_all(name) {
            if !text.is_empty() {
                text.push_str(", ");
            }
            text.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        joined.push((name.as_str(), text));
    }
    joined
}

/// Each key once, with its first value (as `URLSearchParams.get` answers).
fn first_wins<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (key, value) in pairs {
        if !seen.iter().any(|(existing, _)| *existing == key) {
            seen.push((key.into_owned(), value.into_owned()));
        }
    }
    seen
}

async fn read_multipart(
    body: Bytes,
    boundary: String,
    request: &mut ScriptRequest,
) -> Result<(), RequestError> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed = |error: multer::Error| RequestError::Multipart(error.to_string());
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(malformed)?;
        if filename.is_some() {
            request.files.push(UploadedFile {
                field: name,
                filename,
                content_type,
                data,
            });
        } else if !request.form.iter().any(|(key, _)| *key == name) {
            request
                .form
                .push((name, String::from_utf8_lossy(&data).into_owned()));
        }
    }
    Ok(())
}

/// A field of `context.request`, in the order of the prelude's `requestFields`, then
/// `auth` (whose getter the prelude writes itself: it wraps the identity's data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestField {
    Path,
    Method,
    Headers,
    Query,
    Params,
    Form,
    Body,
    Files,
    Ip,
    /// The path and query as received (`export default { fetch }` builds its URL from it).
    Target,
    /// The body's bytes, or null.
    RawBody,
    Auth,
}

impl RequestField {
    const ALL: [RequestField; 12] = [
        RequestField::Path,
        RequestField::Method,
        RequestField::Headers,
        RequestField::Query,
        RequestField::Params,
        RequestField::Form,
        RequestField::Body,
        RequestField::Files,
        RequestField::Ip,
        RequestField::Target,
        RequestField::RawBody,
        RequestField::Auth,
    ];

    /// The field at `index` of the prelude's `requestFields`.
    pub(crate) fn from_index(index: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(index).ok()?).copied()
    }

    /// The property name scripts read.
    pub(crate) fn name(self) -> &'static str {
        match self {
            RequestField::Path => "path",
            RequestField::Method => "method",
            RequestField::Headers => "headers",
            RequestField::Query => "query",
            RequestField::Params => "params",
            RequestField::Form => "form",
            RequestField::Body => "body",
            RequestField::Files => "files",
            RequestField::Ip => "ip",
            RequestField::Target => "target",
            RequestField::RawBody => "rawBody",
            RequestField::Auth => "auth",
        }
    }
}

impl ScriptRequest {
    /// The value of `context.request[field]`.
    pub(crate) fn field_to_js<'js>(
        &self,
        ctx: &Ctx<'js>,
        field: RequestField,
    ) -> rquickjs::Result<Value<'js>> {
        match field {
            RequestField::Path => self.uri.path().into_js(ctx),
            RequestField::Method => self.method.as_str().into_js(ctx),
            RequestField::Headers => {
                let object = Object::new(ctx.clone())?;
                for (name, value) in joined_headers(&self.headers) {
                    object.set(name, value)?;
                }
                Ok(object.into_value())
            }
            RequestField::Query => pairs_object(ctx, &self.query).map(Object::into_value),
            RequestField::Params => pairs_object(ctx, &self.params).map(Object::into_value),
            RequestField::Form => pairs_object(ctx, &self.form).map(Object::into_value),
            RequestField::Body => self.body.as_deref().into_js(ctx),
            RequestField::Files => self.files_to_js(ctx).map(rquickjs::Array::into_value),
            RequestField::Ip => self.ip.map(|ip| ip.to_string()).into_js(ctx),
            RequestField::Target => self
                .uri
                .path_and_query()
                .map_or_else(|| self.uri.path(), http::uri::PathAndQuery::as_str)
                .into_js(ctx),
            RequestField::RawBody => {
                if self.raw_body.is_empty() {
                    Ok(Value::new_null(ctx.clone()))
                } else {
                    rquickjs::TypedArray::<u8>::new(ctx.clone(), self.raw_body.to_vec())
                        .map(|array| array.into_value())
                }
            }
            RequestField::Auth => user_to_js(ctx, self.user.as_deref()),
        }
    }

    fn files_to_js<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<rquickjs::Array<'js>> {
        let files = rquickjs::Array::new(ctx.clone())?;
        for (index, file) in self.files.iter().enumerate() {
            let entry = Object::new(ctx.clone())?;
            entry.set("field", file.field.as_str())?;
            entry.set("filename", file.filename.as_deref())?;
            entry.set("contentType", file.content_type.as_deref())?;
            entry.set(
                "data",
                base64::engine::general_purpose::STANDARD.encode(&file.data),
            )?;
            entry.set("size", file.data.len())?;
            files.set(index, entry)?;
        }
        Ok(files)
    }
}

/// The signed-in user's data for the prelude's `auth` object, or `null`.
pub(crate) fn user_to_js<'js>(
    ctx: &Ctx<'js>,
    user: Option<&ferry_auth::User>,
) -> rquickjs::Result<Value<'js>> {
    let Some(user) = user else {
        return Ok(Value::new_null(ctx.clone()));
    };
    let data = Object::new(ctx.clone())?;
    data.set("userId", user.id.as_str())?;
    data.set("userEmail", user.email.as_deref())?;
    data.set("userName", user.name.as_deref())?;
    data.set("provider", user.provider.as_str())?;
    data.set("role", user.role.as_str())?;
    data.set("groups", user.groups.clone())?;
    Ok(data.into_value())
}

fn pairs_object<'js>(ctx: &Ctx<'js>, pairs: &[(String, String)]) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    for (key, value) in pairs {
        object.set(key.as_str(), value.as_str())?;
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::Body;

    fn request(method: &str, uri: &str, content_type: &str, body: &'static [u8]) -> Request {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn query_and_urlencoded_form_keep_the_first_value_of_each_key() {
        let read = read(
            request(
                "POST",
                "/f?a=1&a=2&b=x%20y",
                "application/x-www-form-urlencoded",
                b"name=Ada&name=Bob&age=36",
            ),
            1024,
        )
        .await
        .unwrap();
        assert_eq!(
            read.query,
            [("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
        assert_eq!(
            read.form,
            [("name".into(), "Ada".into()), ("age".into(), "36".into())]
        );
        assert_eq!(read.body.as_deref(), Some("name=Ada&name=Bob&age=36"));
    }

    #[tokio::test]
    async fn multipart_splits_fields_and_files() {
        let body: &'static [u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHoliday\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"b.txt\"\r\n\r\nhello\r\n--XyZ--\r\n";
        let read = read(
            request("POST", "/up", "multipart/form-data; boundary=XyZ", body),
            4096,
        )
        .await
        .unwrap();
        assert_eq!(read.form, [("title".into(), "Holiday".into())]);
        assert_eq!(read.files.len(), 2);
        assert_eq!(read.files[0].filename.as_deref(), Some("a.png"));
        assert_eq!(read.files[0].content_type.as_deref(), Some("image/png"));
        assert_eq!(&read.files[0].data[..], b"\x89PNG");
        assert_eq!(&read.files[1].data[..], b"hello");
        assert!(read.body.is_none());
    }

    #[tokio::test]
    async fn malformed_multipart_is_an_error() {
        let error = read(
            request(
                "POST",
                "/up",
                "multipart/form-data; boundary=XyZ",
                b"--XyZ\r\nno headers end",
            ),
            4096,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, RequestError::Multipart(_)), "{error:?}");
    }

    #[tokio::test]
    async fn body_over_the_limit_is_refused() {
        let error = read(request("POST", "/", "text/plain", b"0123456789"), 4)
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            RequestError::Body(ReadBodyError::TooLarge { limit: 4 })
        ));
    }

    #[tokio::test]
    async fn repeated_headers_are_joined_and_names_lower_case() {
        let request = http::Request::builder()
            .uri("/")
            .header("X-Tag", "a")
            .header("x-tag", "b")
            .body(Body::empty())
            .unwrap();
        let read = read(request, 16).await.unwrap();
        assert_eq!(joined_headers(&read.headers), [("x-tag", "a, b".into())]);
        assert!(read.body.is_none());
    }
}
