//! Serving one file: as it is (whole, a range, several ranges), compressed, or with the
//! live-reload script, after its preconditions.

use std::path::Path;

use bytes::Bytes;
use ferry_core::{Body, Response};
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, RANGE, VARY};
use http::request::Parts;
use http::{HeaderValue, Method};

use super::{Inner, is_html};
use crate::cache::CachedFile;
use crate::encoding::{self, Acceptable};
use crate::entity::{Entity, FileVersion};
use crate::live_reload;
use crate::multipart::Multipart;
use crate::range::RangePlan;
use crate::resolve::{Found, Missing};
use crate::variants::{self, Encoded, Variant};
use crate::{responses, selection, stream};

impl Inner {
    pub(super) async fn serve_file(&self, request: &Parts, found: Found) -> Response {
        let version = FileVersion::of(&found.metadata);
        let identity = match self.cache.get(&found.path, None, &version) {
            Some(file) => file,
            None => match self.cache.load(found.path.clone(), version).await {
                Ok(file) => file,
                Err(error) => return responses::refusal(Missing::from(error)),
            },
        };
        if self.options.live_reload && is_html(&identity.entity.content_type) {
            return self
                .serve_with_reload_script(request, &found.path, &identity)
                .await;
        }
        // Range responses are never compressed: byte offsets refer to the file as it is.
        let wants_range = request.method == Method::GET && request.headers.contains_key(RANGE);
        let accepted = if self.options.compress && !wants_range {
            encoding::acceptable(request.headers.get(ACCEPT_ENCODING))
        } else {
            Acceptable::default()
        };
        let variant = match variants::choose(
            &self.cache,
            &found.path,
            &identity,
            accepted,
            self.options.follow_symlinks,
        )
        .await
        {
            Ok(variant) => variant,
            Err(error) => return responses::refusal(Missing::from(error)),
        };
        let mut response = match variant {
            Variant::Identity => self.serve_identity(request, &found.path, &identity).await,
            Variant::Encoded(encoded) => self.serve_encoded(request, &found.path, encoded).await,
        };
        if self.options.compress {
            response
                .headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        // Rules match the file served too: `*.html` applies to `/` answered by index.html.
        if !self.options.header_rules.is_empty()
            && let Ok(relative) = found.path.strip_prefix(&self.root)
        {
            let url_path = format!("/{}", relative.to_string_lossy());
            self.apply_rules(&url_path, &mut response);
        }
        response
    }

    /// The file as it is, whole or in ranges.
    pub(super) async fn serve_identity(
        &self,
        request: &Parts,
        path: &Path,
        file: &CachedFile,
    ) -> Response {
        let entity = &file.entity;
        if let Some(refused) = self.preconditions(request, entity) {
            return refused;
        }
        let len = entity.version.len;
        let plan = match selection::range_plan(request, entity) {
            Ok(plan) => plan,
            Err(unsatisfiable) => return unsatisfiable.response(),
        };
        let head = request.method == Method::HEAD;
        let range = match plan {
            RangePlan::Whole => None,
            RangePlan::Single(range) => Some(range),
            RangePlan::Multiple(ranges) => {
                let multipart = Multipart::new(&ranges, &entity.content_type, len);
                let (content_type, length) = (multipart.content_type(), multipart.content_length());
                let body = if head {
                    None
                } else {
                    match stream::multipart_body(file, path, multipart).await {
                        Ok(body) => Some(body),
                        Err(error) => return responses::refusal(Missing::from(error)),
                    }
                };
                return responses::multipart(
                    entity,
                    &self.cache_control,
                    content_type,
                    length,
                    body,
                );
            }
        };
        let body = if head {
            None
        } else {
            let (start, len) = range.map_or((0, len), |r| (r.start, r.len()));
            match stream::file_body(file, path, start, len).await {
                Ok(body) => Some(body),
                Err(error) => return responses::refusal(Missing::from(error)),
            }
        };
        responses::file(entity, &self.cache_control, range, body)
    }

    /// A compressed representation: from memory, a precompressed copy, or compressed as
    /// it is sent.
    pub(super) async fn serve_encoded(
        &self,
        request: &Parts,
        original: &Path,
        encoded: Encoded,
    ) -> Response {
        let (entity, coding) = match &encoded {
            Encoded::InMemory(file) | Encoded::Precompressed { file, .. } => {
                (&file.entity, file.encoding)
            }
            Encoded::Streamed { coding, entity } => (entity, Some(*coding)),
        };
        if let Some(refused) = self.preconditions(request, entity) {
            return refused;
        }
        let body = if request.method == Method::HEAD {
            Ok(None)
        } else {
            match &encoded {
                Encoded::InMemory(file) => Ok(file.content.clone().map(Body::from)),
                Encoded::Precompressed { file, path } => {
                    stream::file_body(file, path, 0, file.entity.version.len)
                        .await
                        .map(Some)
                }
                Encoded::Streamed { coding, .. } => {
                    stream::compressed_body(*coding, original, entity.version.len)
                        .await
                        .map(Some)
                }
            }
        };
        let body = match body {
            Ok(body) => body,
            Err(error) => return responses::refusal(Missing::from(error)),
        };
        let mut response = match encoded {
            Encoded::Streamed { .. } => {
                responses::file_of_unknown_length(entity, &self.cache_control, body)
            }
            _ => responses::file(entity, &self.cache_control, None, body),
        };
        if let Some(coding) = coding {
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, coding.header_value());
        }
        response
    }

    /// An HTML file with the live-reload script added: whole (no ranges, no compression),
    /// with an entity tag of its own and the length of what is sent.
    pub(super) async fn serve_with_reload_script(
        &self,
        request: &Parts,
        path: &Path,
        file: &CachedFile,
    ) -> Response {
        let content = match &file.content {
            Some(content) => content.clone(),
            None => {
                let read_path = path.to_path_buf();
                match tokio::task::spawn_blocking(move || std::fs::read(read_path)).await {
                    Ok(Ok(content)) => Bytes::from(content),
                    Ok(Err(error)) => return responses::refusal(Missing::from(error)),
                    Err(error) => {
                        return responses::refusal(Missing::Failed(std::io::Error::other(error)));
                    }
                }
            }
        };
        let page = Bytes::from(live_reload::inject(&content));
        let entity = file.entity.variant("reload", Some(page.len() as u64));
        if let Some(refused) = self.preconditions(request, &entity) {
            return refused;
        }
        let body = (request.method != Method::HEAD).then(|| Body::from(page));
        responses::file(&entity, &self.cache_control, None, body)
    }

    /// 304 or 412 when the request's preconditions say so (RFC 9110 §13.2.2).
    pub(super) fn preconditions(&self, request: &Parts, entity: &Entity) -> Option<Response> {
        selection::preconditions(request, entity, &self.cache_control)
    }
}
