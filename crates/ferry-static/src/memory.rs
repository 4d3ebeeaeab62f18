//! Content held in memory — a script's asset, a generated file — answered exactly as the
//! file service answers a file: validators and conditional requests, single and multiple
//! byte ranges, HEAD, and compression negotiated with `Accept-Encoding` (each coding made
//! once, off the async threads, and kept beside the content).

use std::time::SystemTime;

use bytes::Bytes;
use ferry_core::{Body, Response};
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, RANGE, VARY};
use http::request::Parts;
use http::{HeaderValue, Method};
use tokio::sync::OnceCell;

use crate::compress::{self, Effort, MIN_COMPRESS_BYTES};
use crate::encoding::{self, ContentCoding};
use crate::entity::Entity;
use crate::multipart::Multipart;
use crate::range::RangePlan;
use crate::{responses, selection};

/// How an [`InMemoryFile`] is sent.
#[derive(Debug, Clone)]
pub struct InMemoryPolicy {
    /// Whether compressible content is compressed for clients that accept it.
    pub compress: bool,
    /// The `Cache-Control` value sent with it (`no-cache`: stored, revalidated each time).
    pub cache_control: HeaderValue,
}

impl Default for InMemoryPolicy {
    fn default() -> Self {
        InMemoryPolicy {
            compress: true,
            cache_control: HeaderValue::from_static("no-cache"),
        }
    }
}

/// One version of some content, held in memory and served as a file.
///
/// ```
/// use ferry_static::InMemoryFile;
/// use http::HeaderValue;
///
/// let logo = InMemoryFile::new(
///     &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
///     HeaderValue::from_static("image/svg+xml"),
///     HeaderValue::from_static("\"3f2a\""),
///     None,
/// );
/// assert_eq!(logo.len(), 41);
/// ```
#[derive(Debug)]
pub struct InMemoryFile {
    entity: Entity,
    content: Bytes,
    /// Each coding's result, made on first demand: `None` when it did not make the content
    /// smaller.
    encoded: [OnceCell<Option<Encoded>>; 3],
}

/// The content compressed with one coding, and its entity (a tag of its own).
#[derive(Debug)]
struct Encoded {
    entity: Entity,
    content: Bytes,
}

impl InMemoryFile {
    /// `content` of `content_type`, whose strong entity tag is `etag` (quoted, and changed
    /// by its owner whenever the content changes) and which last changed at `modified`.
    pub fn new(
        content: impl Into<Bytes>,
        content_type: HeaderValue,
        etag: HeaderValue,
        modified: Option<SystemTime>,
    ) -> Self {
        let content = content.into();
        InMemoryFile {
            entity: Entity::in_memory(content.len() as u64, etag, modified, content_type),
            content,
            encoded: Default::default(),
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.content.len() as u64
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.content.is_empty()
    }

    /// The answer to `request` (GET or HEAD) for this content under `policy`.
    pub async fn respond(&self, request: &Parts, policy: &InMemoryPolicy) -> Response {
        let compressible = policy.compress && compress::is_compressible(&self.entity.content_type);
        // Range responses are never compressed: byte offsets refer to the content as it is.
        let wants_range = request.method == Method::GET && request.headers.contains_key(RANGE);
        let mut response = match self.encoding_for(request, compressible && !wants_range) {
            Some(coding) => match self.encoded(coding).await {
                Some(encoded) => self.send_encoded(request, policy, encoded, coding),
                None => self.send_identity(request, policy),
            },
            None => self.send_identity(request, policy),
        };
        if compressible {
            response
                .headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        response
    }

    /// The coding to send, if the client accepts one and compressing is worth it.
    fn encoding_for(&self, request: &Parts, compressible: bool) -> Option<ContentCoding> {
        if !compressible || self.len() < MIN_COMPRESS_BYTES {
            return None;
        }
        encoding::acceptable(request.headers.get(ACCEPT_ENCODING))
            .iter()
            .next()
    }

    /// The content in `coding`, compressed on the blocking pool the first time.
    async fn encoded(&self, coding: ContentCoding) -> Option<&Encoded> {
        let slot = &self.encoded[coding_index(coding)];
        slot.get_or_init(|| async {
            let content = self.content.clone();
            let compressed = tokio::task::spawn_blocking(move || {
                compress::compress(coding, &content, Effort::Cached)
            })
            .await
            .ok()?
            .ok()?;
            (compressed.len() < self.content.len()).then(|| Encoded {
                entity: self.entity.encoded(coding, Some(compressed.len() as u64)),
                content: Bytes::from(compressed),
            })
        })
        .await
        .as_ref()
    }

    fn send_identity(&self, request: &Parts, policy: &InMemoryPolicy) -> Response {
        let entity = &self.entity;
        let cache_control = &policy.cache_control;
        if let Some(refused) = selection::preconditions(request, entity, cache_control) {
            return refused;
        }
        let plan = match selection::range_plan(request, entity) {
            Ok(plan) => plan,
            Err(unsatisfiable) => return unsatisfiable.response(),
        };
        let head = request.method == Method::HEAD;
        match plan {
            RangePlan::Whole => {
                let body = (!head).then(|| Body::from(self.content.clone()));
                responses::file(entity, cache_control, None, body)
            }
            RangePlan::Single(range) => {
                let body = (!head).then(|| {
                    Body::from(
                        self.content
                            .slice(range.start as usize..=range.end as usize),
                    )
                });
                responses::file(entity, cache_control, Some(range), body)
            }
            RangePlan::Multiple(ranges) => {
                let multipart = Multipart::new(&ranges, &entity.content_type, entity.version.len);
                let (content_type, length) = (multipart.content_type(), multipart.content_length());
                let body = (!head).then(|| Body::new(multipart.body_from_memory(&self.content)));
                responses::multipart(entity, cache_control, content_type, length, body)
            }
        }
    }

    fn send_encoded(
        &self,
        request: &Parts,
        policy: &InMemoryPolicy,
        encoded: &Encoded,
        coding: ContentCoding,
    ) -> Response {
        let cache_control = &policy.cache_control;
        if let Some(refused) = selection::preconditions(request, &encoded.entity, cache_control) {
            return refused;
        }
        let body = (request.method != Method::HEAD).then(|| Body::from(encoded.content.clone()));
        let mut response = responses::file(&encoded.entity, cache_control, None, body);
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, coding.header_value());
        response
    }
}

fn coding_index(coding: ContentCoding) -> usize {
    match coding {
        ContentCoding::Brotli => 0,
        ContentCoding::Zstd => 1,
        ContentCoding::Gzip => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, StatusCode};

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri("/asset");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn text_file() -> InMemoryFile {
        let content = "hello, in-memory world. ".repeat(40);
        InMemoryFile::new(
            content,
            HeaderValue::from_static("text/plain; charset=utf-8"),
            HeaderValue::from_static("\"abc123\""),
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)),
        )
    }

    async fn body(response: Response) -> Bytes {
        response.into_body().to_bytes(usize::MAX).await.unwrap()
    }

    #[tokio::test]
    async fn whole_head_and_validators() {
        let file = text_file();
        let policy = InMemoryPolicy::default();
        let response = file.respond(&parts(Method::GET, &[]), &policy).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["etag"], "\"abc123\"");
        assert_eq!(headers["last-modified"], "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["accept-ranges"], "bytes");
        assert_eq!(headers["vary"], "Accept-Encoding");
        assert_eq!(body(response).await.len() as u64, file.len());

        let head = file.respond(&parts(Method::HEAD, &[]), &policy).await;
        assert_eq!(head.headers()["content-length"], file.len().to_string());
        assert!(body(head).await.is_empty());

        let again = parts(Method::GET, &[("if-none-match", "\"abc123\"")]);
        assert_eq!(
            file.respond(&again, &policy).await.status(),
            StatusCode::NOT_MODIFIED
        );
        let stale = parts(Method::GET, &[("if-match", "\"other\"")]);
        assert_eq!(
            file.respond(&stale, &policy).await.status(),
            StatusCode::PRECONDITION_FAILED
        );
    }

    #[tokio::test]
    async fn ranges_single_multiple_and_unsatisfiable() {
        let file = text_file();
        let policy = InMemoryPolicy::default();
        let single = file
            .respond(&parts(Method::GET, &[("range", "bytes=0-4")]), &policy)
            .await;
        assert_eq!(single.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            single.headers()["content-range"],
            format!("bytes 0-4/{}", file.len())
        );
        assert!(single.headers().get("content-encoding").is_none());
        assert_eq!(&body(single).await[..], b"hello");

        let several = file
            .respond(
                &parts(Method::GET, &[("range", "bytes=0-1,500-501")]),
                &policy,
            )
            .await;
        assert_eq!(several.status(), StatusCode::PARTIAL_CONTENT);
        let content_type = several.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("multipart/byteranges; boundary="));
        let length = http_body::Body::size_hint(several.body()).exact();
        let text = body(several).await;
        assert_eq!(Some(text.len() as u64), length);
        assert!(String::from_utf8_lossy(&text).contains("Content-Range: bytes 500-501/960"));

        let past = file
            .respond(&parts(Method::GET, &[("range", "bytes=5000-")]), &policy)
            .await;
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(past.headers()["content-range"], "bytes */960");

        // A stale If-Range gets the whole content.
        let changed = parts(
            Method::GET,
            &[("range", "bytes=0-4"), ("if-range", "\"older\"")],
        );
        assert_eq!(
            file.respond(&changed, &policy).await.status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn compressed_once_with_its_own_tag() {
        let file = text_file();
        let policy = InMemoryPolicy::default();
        let request = parts(Method::GET, &[("accept-encoding", "gzip")]);
        let response = file.respond(&request, &policy).await;
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(response.headers()["etag"], "\"abc123-gzip\"");
        let compressed = body(response).await;
        assert!(compressed.len() < file.len() as usize);
        assert_eq!(
            compress::tests::decompress(ContentCoding::Gzip, &compressed),
            file.content.to_vec()
        );
        let revalidate = parts(
            Method::GET,
            &[
                ("accept-encoding", "gzip"),
                ("if-none-match", "\"abc123-gzip\""),
            ],
        );
        assert_eq!(
            file.respond(&revalidate, &policy).await.status(),
            StatusCode::NOT_MODIFIED
        );
        let off = InMemoryPolicy {
            compress: false,
            ..InMemoryPolicy::default()
        };
        let plain = file.respond(&request, &off).await;
        assert!(plain.headers().get("content-encoding").is_none());
        assert!(plain.headers().get("vary").is_none());
    }

    #[tokio::test]
    async fn images_and_tiny_content_go_as_they_are() {
        let png = InMemoryFile::new(
            vec![0u8; 4096],
            HeaderValue::from_static("image/png"),
            HeaderValue::from_static("\"p\""),
            None,
        );
        let request = parts(Method::GET, &[("accept-encoding", "br, gzip")]);
        let response = png.respond(&request, &InMemoryPolicy::default()).await;
        assert!(response.headers().get("content-encoding").is_none());
        assert!(response.headers().get("last-modified").is_none());
        let tiny = InMemoryFile::new(
            "hi",
            HeaderValue::from_static("text/plain"),
            HeaderValue::from_static("\"t\""),
            None,
        );
        let response = tiny.respond(&request, &InMemoryPolicy::default()).await;
        assert!(response.headers().get("content-encoding").is_none());
        assert_eq!(&body(response).await[..], b"hi");
    }
}
